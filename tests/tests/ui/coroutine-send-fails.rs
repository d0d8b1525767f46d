use std::rc::Rc;

async fn pause() {}

#[aiokit::coroutine(send)]
async fn brew() -> u32 {
    let cups = Rc::new(1);
    pause().await;
    *cups
}

fn main() {}
