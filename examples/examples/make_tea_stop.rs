//! The tutorial's `make_tea` task that stops the loop: `asyncio.async(make_tea('chamomile'))`,
//! `task.done()` / `task.result()` before the loop runs, `loop.run_forever()`, then `done()` /
//! `result()` again.
//!
//! Run with `cargo run -p aiokit-examples --example make_tea_stop`.
//!
//! Where the port differs: `asyncio.async` (today `ensure_future`) is `EventLoop::create_task`;
//! `result()` on a pending task returns an `InvalidStateError` instead of raising it, and the
//! result is given by reference. `asyncio.get_event_loop()` inside the coroutine is
//! `aiokit::get_running_loop()`.

use aiokit::EventLoop;
use aiokit::event_loop::EventLoopError;
use aiokit_examples::Transcript;

#[aiokit::coroutine]
fn make_tea(out: Transcript, variety: &'static str) -> String {
    out.say(format!("Now making {variety} tea."));
    aiokit::get_running_loop()
        .expect("make_tea runs on the loop")
        .stop();
    format!("{variety} tea")
}

fn make_tea_stop(out: &Transcript) -> Result<(), EventLoopError> {
    let lp = EventLoop::new();
    let task = lp.create_task(make_tea(out.clone(), "chamomile"));
    out.say(format!("task.done(): {}", task.done()));
    match task.result() {
        Ok(tea) => out.say(format!("task.result(): {tea:?}")),
        Err(e) => out.say(format!("task.result(): {e}")),
    }
    lp.run_forever()?;
    out.say(format!("task.done(): {}", task.done()));
    match task.result() {
        Ok(tea) => out.say(format!("task.result(): {tea:?}")),
        Err(e) => out.say(format!("task.result(): {e}")),
    }
    lp.close()
}

fn main() -> Result<(), EventLoopError> {
    make_tea_stop(&Transcript::new())
}

#[test]
fn the_task_runs_once_the_loop_runs_and_stops_it() {
    let out = Transcript::new();
    make_tea_stop(&out).unwrap();
    assert_eq!(
        out.lines(),
        [
            "task.done(): false",
            "task.result(): invalid state: result is not set",
            "Now making chamomile tea.",
            "task.done(): true",
            r#"task.result(): "chamomile tea""#,
        ]
    );
}
