#[aiokit::coroutine(send = x)]
async fn brew() {}

fn main() {}
