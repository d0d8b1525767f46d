// rustc has a builtin `#[coroutine]` attribute: importing aiokit's and writing it bare is
// ambiguous. Write `#[aiokit::coroutine]`.
use aiokit::coroutine;

#[coroutine]
async fn brew() {}

fn main() {}
