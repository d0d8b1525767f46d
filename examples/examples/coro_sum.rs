//! The tutorial's `coro_sum(*args)` under `@asyncio.coroutine`, run with
//! `loop.run_until_complete(coro_sum(1, 2, 3, 4, 5))`, and the `next(coro)` /
//! `StopIteration` look under the hood.
//!
//! Run with `cargo run -p aiokit-examples --example coro_sum`.
//!
//! Where the port differs: `*args` is a `Vec`; "what happens under the hood" (one `next()`
//! call raising `StopIteration` with the value) is one poll of the coroutine that returns
//! `Poll::Ready(15)`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aiokit::EventLoop;
use aiokit::event_loop::EventLoopError;
use aiokit_examples::Transcript;

#[aiokit::coroutine]
fn coro_sum(args: Vec<i32>) -> i32 {
    let mut answer = 0;
    for i in args {
        answer += i;
    }
    answer
}

fn sum(out: &Transcript) -> Result<(), EventLoopError> {
    let lp = EventLoop::new();
    out.say(
        lp.run_until_complete(coro_sum(vec![1, 2, 3, 4, 5]))?
            .to_string(),
    );

    // Calling it does not run it: it is a coroutine.
    let coro = coro_sum(vec![1, 2, 3, 4, 5]);
    out.say(format!("{coro:?}"));
    // Under the hood: one step, which finishes at once with the value.
    let mut coro = pin!(coro);
    if let Poll::Ready(value) = coro.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        out.say(format!("Poll::Ready({value})"));
    }
    lp.close()
}

fn main() -> Result<(), EventLoopError> {
    sum(&Transcript::new())
}

#[test]
fn sums_to_fifteen() {
    let out = Transcript::new();
    sum(&out).unwrap();
    assert_eq!(
        out.lines(),
        ["15", "<coroutine coro_sum pending>", "Poll::Ready(15)"]
    );
}
