#[aiokit::coroutine(name = "brew", name = "steep")]
async fn brew() {}

fn main() {}
