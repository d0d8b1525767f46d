//! The first loop programs of the asyncio tutorial: `hello_world` and `stop_loop` registered
//! with `loop.call_soon`, the same with `functools.partial(print, 'Hello world!')`, the same
//! with `loop.call_later`, and a partial's `func` / `args`.
//!
//! Run with `cargo run -p aiokit-examples --example hello_loop`.
//!
//! Where the port differs: the tutorial's `call_later` delays of 10 and 20 seconds are 10 and
//! 20 milliseconds; `print` writes through a [`Transcript`] (so the test can read the lines);
//! the loop is made with `EventLoop::new()` and closed at the end, where the tutorial uses the
//! default loop of `asyncio.get_event_loop()`. `partial.func` prints the function's name
//! (`func_name()`), since a Rust function has no repr.

use std::time::Duration;

use aiokit::event_loop::EventLoopError;
use aiokit::{EventLoop, partial};
use aiokit_examples::{Transcript, print};

fn hello_world(out: Transcript) {
    out.say("Hello world!");
}

fn stop_loop(out: Transcript, lp: EventLoop) {
    out.say("Stopping loop.");
    lp.stop();
}

fn hello_loop(out: &Transcript) -> Result<(), EventLoopError> {
    let lp = EventLoop::new();
    out.say(format!("loop.is_running(): {}", lp.is_running()));

    // loop.call_soon(hello_world); loop.call_soon(functools.partial(stop_loop, loop))
    let hello = out.clone();
    lp.call_soon(move || hello_world(hello))?;
    lp.call_soon(partial!(stop_loop, out.clone(), lp.clone()))?;
    lp.run_forever()?;

    // The same with functools.partial(print, 'Hello world!').
    lp.call_soon(partial!(print, out.clone(), "Hello world!"))?;
    lp.call_soon(partial!(stop_loop, out.clone(), lp.clone()))?;
    lp.run_forever()?;

    // loop.call_later(10, hello_world); loop.call_later(20, functools.partial(stop_loop, loop))
    lp.call_later(
        Duration::from_millis(10),
        partial!(hello_world, out.clone()),
    )?;
    let timer = lp.call_later(
        Duration::from_millis(20),
        partial!(stop_loop, out.clone(), lp.clone()),
    )?;
    lp.run_forever()?;
    out.say(format!(
        "the stop_loop timer ran at or after its time: {}",
        lp.time() >= timer.when()
    ));

    // partial = functools.partial(stop_loop, loop); partial.func; partial.args
    let p = partial!(stop_loop, out.clone(), lp.clone());
    out.say(format!("partial.func: {}", p.func_name()));
    out.say(format!("partial.args: {:?}", p.args()));
    lp.close()
}

fn main() -> Result<(), EventLoopError> {
    hello_loop(&Transcript::new())
}

#[test]
fn prints_what_asyncio_prints_in_its_order() {
    let out = Transcript::new();
    hello_loop(&out).unwrap();
    let lines = out.lines();
    assert_eq!(
        lines[..9],
        [
            "loop.is_running(): false",
            "Hello world!",
            "Stopping loop.",
            "Hello world!",
            "Stopping loop.",
            "Hello world!",
            "Stopping loop.",
            "the stop_loop timer ran at or after its time: true",
            "partial.func: stop_loop",
        ]
    );
    assert!(lines[9].starts_with("partial.args: (<stdout>, <EventLoop "));
    assert_eq!(lines.len(), 10);
}
