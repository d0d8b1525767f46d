#[aiokit::coroutine(sync)]
async fn brew() {}

fn main() {}
