fn add(a: u32, b: u32) -> u32 {
    a + b
}

fn main() {
    let a = 1;
    let _ = aiokit::partial!(add a);
}
