#[aiokit::coroutine(name = "")]
async fn brew() {}

fn main() {}
