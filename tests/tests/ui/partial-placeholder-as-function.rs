fn main() {
    let _ = aiokit::partial!(_, 1);
}
