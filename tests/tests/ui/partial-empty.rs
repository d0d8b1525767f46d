fn main() {
    let _ = aiokit::partial!();
}
