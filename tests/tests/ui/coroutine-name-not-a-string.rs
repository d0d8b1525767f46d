#[aiokit::coroutine(name = brew)]
async fn brew() {}

fn main() {}
