#[aiokit::coroutine]
unsafe fn brew(cups: u32, _: ...) -> u32 {
    cups
}

fn main() {}
