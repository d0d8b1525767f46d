//! The tutorial's loop in a background thread: `run_loop_forever_in_background`, then
//! `loop.is_running()` and `loop.call_soon_threadsafe(functools.partial(print, 'Hello world'))`
//! from the main thread.
//!
//! Run with `cargo run -p aiokit-examples --example background_loop`.
//!
//! Where the port differs: an `EventLoop` belongs to the thread that runs it (it is not
//! `Send`), so the loop is made inside the thread and hands a `LoopHandle` back, through which
//! the main thread reaches it. The tutorial notes that its loop is hard to stop; the handle's
//! `stop()` stops it, so the program ends. The main thread waits for the loop to be running
//! before asking (the tutorial's interpreter prompt gave it that time).

use std::sync::mpsc;
use std::thread;

use aiokit::event_loop::{EventLoopError, LoopHandle};
use aiokit::{EventLoop, partial};
use aiokit_examples::{Transcript, print};

fn run_loop_forever_in_background() -> (LoopHandle, thread::JoinHandle<Result<(), EventLoopError>>)
{
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let lp = EventLoop::new();
        tx.send(lp.handle())
            .expect("the main thread waits for the handle");
        lp.run_forever()?;
        lp.close()
    });
    let handle = rx.recv().expect("the loop thread sends its handle");
    (handle, thread)
}

fn background_loop(out: &Transcript) -> Result<(), EventLoopError> {
    let (lp, thread) = run_loop_forever_in_background();
    while !lp.is_running() {
        thread::yield_now();
    }
    out.say(format!("loop.is_running(): {}", lp.is_running()));

    let (done_tx, done_rx) = mpsc::channel();
    let handle = lp.call_soon_threadsafe(partial!(print, out.clone(), "Hello world"))?;
    // Wait for it on the loop: a callback queued after it runs after it. (The tutorial's
    // "Hello world" shows up after its prompt: the two threads race; here main waits.)
    lp.call_soon_threadsafe(move || done_tx.send(()).expect("main waits"))?;
    done_rx.recv().expect("the loop runs the callback");
    out.say(format!("call_soon_threadsafe returned {handle:?}"));

    lp.stop();
    thread.join().expect("the loop thread does not panic")?;
    out.say(format!(
        "after stop: loop.is_running(): {}",
        lp.is_running()
    ));
    Ok(())
}

fn main() -> Result<(), EventLoopError> {
    background_loop(&Transcript::new())
}

#[test]
fn the_background_loop_runs_the_threadsafe_callback() {
    let out = Transcript::new();
    background_loop(&out).unwrap();
    assert_eq!(
        out.lines(),
        [
            "loop.is_running(): true",
            "Hello world",
            r#"call_soon_threadsafe returned <Handle partial(print, <stdout>, "Hello world")>"#,
            "after stop: loop.is_running(): false",
        ]
    );
}
