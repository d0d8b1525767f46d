fn add(a: u32, b: u32) -> u32 {
    a + b
}

fn main() {
    let _ = aiokit::partial!(add, _, 1);
}
