//! The tutorial's smallest loop program: `loop.run_until_complete(speak_async())`, then
//! `loop.close()`.
//!
//! Run with `cargo run -p aiokit-examples --example speak_async`.
//!
//! Where the port differs: `asyncio.get_event_loop()` is `EventLoop::new()`.

use aiokit::EventLoop;
use aiokit::event_loop::EventLoopError;
use aiokit_examples::Transcript;

async fn speak_async(out: Transcript) {
    out.say("OMG asynchronicity!");
}

fn speak(out: &Transcript) -> Result<(), EventLoopError> {
    let lp = EventLoop::new();
    lp.run_until_complete(speak_async(out.clone()))?;
    lp.close()
}

fn main() -> Result<(), EventLoopError> {
    speak(&Transcript::new())
}

#[test]
fn speaks_once() {
    let out = Transcript::new();
    speak(&out).unwrap();
    assert_eq!(out.lines(), ["OMG asynchronicity!"]);
}
