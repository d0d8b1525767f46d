#[aiokit::coroutine]
struct Kettle {
    water: u32,
}

fn main() {}
