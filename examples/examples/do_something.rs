//! The tutorial's low-level lifecycle: `loop.run_until_complete(do_something())` in a `try`,
//! `loop.close()` in its `finally`.
//!
//! Run with `cargo run -p aiokit-examples --example do_something`.
//!
//! Where the port differs: `time.sleep(5)` (which blocks the loop, as the tutorial's program
//! does on purpose) is a 5 ms `std::thread::sleep`; `try` / `finally` is "run, close, then
//! report the run's error": the loop is closed whether the run failed or not.

use std::time::Duration;

use aiokit::EventLoop;
use aiokit::event_loop::EventLoopError;
use aiokit_examples::Transcript;

async fn do_something(out: Transcript) {
    out.say("Starting Work");
    std::thread::sleep(Duration::from_millis(5));
    out.say("Finishing Work");
}

fn run(out: &Transcript) -> Result<(), EventLoopError> {
    let lp = EventLoop::new();
    let result = lp.run_until_complete(do_something(out.clone()));
    lp.close()?;
    out.say(format!("loop.is_closed(): {}", lp.is_closed()));
    result
}

fn main() -> Result<(), EventLoopError> {
    run(&Transcript::new())
}

#[test]
fn works_then_closes() {
    let out = Transcript::new();
    run(&out).unwrap();
    assert_eq!(
        out.lines(),
        ["Starting Work", "Finishing Work", "loop.is_closed(): true"]
    );
}
