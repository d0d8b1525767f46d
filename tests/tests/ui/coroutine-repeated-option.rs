#[aiokit::coroutine(send, name = "a", send)]
async fn brew() {}

fn main() {}
