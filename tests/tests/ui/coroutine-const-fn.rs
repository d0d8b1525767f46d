#[aiokit::coroutine]
const fn brew() -> u32 {
    1
}

fn main() {}
