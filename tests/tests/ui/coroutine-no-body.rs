trait Kettle {
    #[aiokit::coroutine]
    fn boil(&self) -> u32;
}

fn main() {}
