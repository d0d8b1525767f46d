//! The tutorial's first `run_until_complete` programs: `trivial()` returning 'Hello world!',
//! and `outer` calling `nested` with `yield from` (`coro_sum` has an example of its own).
//!
//! Run with `cargo run -p aiokit-examples --example trivial`.
//!
//! Where the port differs: `@asyncio.coroutine` on a plain function is
//! `#[aiokit::coroutine]` on a plain `fn`, which makes it a lazy coroutine just the same;
//! `*args` is a `Vec`; `yield from nested(..)` is `nested(..).await`.

use aiokit::EventLoop;
use aiokit::event_loop::EventLoopError;
use aiokit_examples::Transcript;

#[aiokit::coroutine]
fn trivial_coro() -> &'static str {
    "Hello world!"
}

#[aiokit::coroutine]
fn nested(out: Transcript, args: Vec<i32>) -> Vec<i32> {
    out.say(format!("The 'nested' function ran with args: {args:?}"));
    args.iter().map(|i| i + 1).collect()
}

#[aiokit::coroutine]
async fn outer(out: Transcript, args: Vec<i32>) -> Vec<i32> {
    out.say(format!("The 'outer' function ran with args: {args:?}"));
    nested(out, args.iter().map(|i| i * 2).collect()).await
}

fn trivial(out: &Transcript) -> Result<(), EventLoopError> {
    let lp = EventLoop::new();
    let hello = lp.run_until_complete(trivial_coro())?;
    out.say(format!("{hello:?}"));
    let answer = lp.run_until_complete(outer(out.clone(), vec![2, 3, 5, 8]))?;
    out.say(format!("{answer:?}"));
    let answer = lp.run_until_complete(nested(out.clone(), vec![5, 10, 15]))?;
    out.say(format!("{answer:?}"));
    lp.close()
}

fn main() -> Result<(), EventLoopError> {
    trivial(&Transcript::new())
}

#[test]
fn run_until_complete_gives_each_coroutines_result() {
    let out = Transcript::new();
    trivial(&out).unwrap();
    assert_eq!(
        out.lines(),
        [
            r#""Hello world!""#,
            "The 'outer' function ran with args: [2, 3, 5, 8]",
            "The 'nested' function ran with args: [4, 6, 10, 16]",
            "[5, 7, 11, 17]",
            "The 'nested' function ran with args: [5, 10, 15]",
            "[6, 11, 16]",
        ]
    );
}
