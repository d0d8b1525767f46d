#[aiokit::coroutine]
extern "C" fn brew() -> u32 {
    1
}

fn main() {}
