//! The timer layer: [`sleep()`] and [`sleep_until()`], used by the `Duration` forms of the
//! timeout APIs (and by `wait` / `as_completed` for theirs).
//!
//! The engine never owns a timer. This module picks one among the timer
//! features that are enabled, when a [`Sleep`] is created:
//!
//! 1. `tokio`: [`tokio::time::sleep_until`] when the caller runs inside a Tokio runtime
//!    context (so tokio's paused test clock applies), else the next one below.
//! 2. `async-io`: [`async_io::Timer`], the reactor smol and async-std already drive.
//! 3. `futures-timer` (default): [`futures_timer::Delay`], executor-neutral; its one global
//!    helper thread is spawned on first use.
//!
//! With only `tokio` enabled, a [`Sleep`] made outside a Tokio runtime panics when polled.
//! Outside tokio, the timer is only made on the first poll, so a timeout whose inner future
//! is ready at once never touches a timer.
//!
//! Why futures-timer is the default: it has no dependencies and no I/O reactor, works under
//! every executor (futures' `block_on`, tokio, smol, embassy-std...), and its helper thread is
//! only started by the first timer. async-io's `Timer` is just as neutral, but pulls in a
//! whole I/O reactor (polling, rustix, concurrent-queue, ...) and starts its "async-io"
//! thread too, which only pays off for programs that already run that reactor: hence its own
//! feature.

use core::fmt;
use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

/// Waits until `duration` has elapsed (asyncio's `asyncio.sleep(delay)`).
///
/// The deadline is taken when `sleep` is called, on the clock of the timer it picks (see
/// [`Sleep`]). A zero `duration` gives a [`Sleep`] that is ready on its first poll and
/// registers no timer; a `duration` too large for [`Instant`] never elapses.
///
/// Available with one of the timer features `futures-timer` (default), `tokio`, `async-io`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// # futures::executor::block_on(async {
/// let start = Instant::now();
/// aiokit::sleep(Duration::from_millis(5)).await;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # });
/// ```
///
/// # Panics
///
/// With the `tokio` timer feature alone, when made outside a Tokio runtime context, then
/// polled; when made inside a Tokio runtime built without `enable_time`, as tokio's own
/// `sleep` does.
pub fn sleep(duration: Duration) -> Sleep {
    if duration.is_zero() {
        return Sleep::from_state(State::Elapsed);
    }
    #[cfg(feature = "tokio")]
    if let Some(state) = tokio_timer::sleep(duration) {
        return Sleep::from_state(state);
    }
    match Instant::now().checked_add(duration) {
        Some(deadline) => Sleep::from_state(State::Unstarted { deadline }),
        None => Sleep::from_state(State::Never),
    }
}

/// Waits until the clock reaches `deadline`.
///
/// A `deadline` that has already passed gives a [`Sleep`] that is ready on its first poll and
/// registers no timer. Under tokio's paused test clock, build the deadline from tokio's clock
/// (`tokio::time::Instant::now().into_std() + delay`): the std clock does not advance with it.
///
/// Available with one of the timer features `futures-timer` (default), `tokio`, `async-io`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// # futures::executor::block_on(async {
/// let deadline = Instant::now() + Duration::from_millis(5);
/// aiokit::sleep_until(deadline).await;
/// assert!(Instant::now() >= deadline);
/// # });
/// ```
///
/// # Panics
///
/// As [`sleep()`].
pub fn sleep_until(deadline: Instant) -> Sleep {
    #[cfg(feature = "tokio")]
    if let Some(state) = tokio_timer::sleep_until(deadline) {
        return Sleep::from_state(state);
    }
    if deadline <= Instant::now() {
        return Sleep::from_state(State::Elapsed);
    }
    Sleep::from_state(State::Unstarted { deadline })
}

pin_project! {
    /// Future for the [`sleep()`] and [`sleep_until()`] functions; the timer of the `Duration`
    /// forms of [`wait_for()`](crate::wait_for), [`timeout()`](crate::timeout) and
    /// [`timeout_at()`](crate::timeout_at).
    ///
    /// It completes once its deadline has passed (it also reads the clock when polled, so
    /// two `Sleep`s with one deadline are ready in the same poll); polled again after that, it
    /// is ready again. Dropping it cancels the timer. It is `!Unpin`, as tokio's `Sleep`:
    /// pin it (`std::pin::pin!`, `Box::pin`) to poll it through `&mut`.
    ///
    /// # Timer features
    ///
    /// The timer behind it is chosen when it is created, among the enabled features:
    ///
    /// 1. `tokio`: tokio's `sleep_until`, if created inside a Tokio runtime context; the
    ///    deadline is then measured on tokio's clock, which tests may pause.
    /// 2. `async-io`: `async_io::Timer`, driven by the reactor smol and async-std run anyway.
    /// 3. `futures-timer` (default): `futures_timer::Delay`, for any executor; one global
    ///    helper thread, started by the first timer.
    ///
    /// So enabling `tokio` or `async-io` never needs `default-features = false`. Outside
    /// tokio the timer is made on the first poll: a timeout whose inner future is ready at
    /// once never touches a timer. Zero and past deadlines use no timer at all.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let sleep: aiokit::Sleep = aiokit::sleep(Duration::ZERO);
    /// assert_eq!(futures::executor::block_on(sleep), ());
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Sleep {
        #[pin]
        state: State,
        // !Unpin whatever the features (tokio's timer is !Unpin): a feature enabled by another
        // crate must not take `Unpin` away from code that relied on it.
        #[pin]
        _pinned: PhantomPinned,
    }
}

impl Sleep {
    fn from_state(state: State) -> Self {
        Sleep {
            state,
            _pinned: PhantomPinned,
        }
    }
}

pin_project! {
    #[project = StateProj]
    enum State {
        // Zero or past deadline, or a timer that has fired (and was dropped, freeing its slot).
        Elapsed,
        // A deadline beyond what `Instant` can hold.
        Never,
        // Outside tokio, the timer is made on the first poll: a timeout whose inner future
        // is ready at once then costs no timer (futures-timer's `Delay::new` registers with
        // its thread at once).
        Unstarted { deadline: Instant },
        Tokio { #[pin] sleep: TokioSleep },
        AsyncIo { timer: AsyncIoTimer },
        FuturesTimer { delay: FuturesTimerDelay },
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.project().state;
        if let StateProj::Unstarted { deadline } = state.as_mut().project() {
            let deadline = *deadline;
            if Instant::now() >= deadline {
                state.set(State::Elapsed);
                return Poll::Ready(());
            }
            state.set(start_fallback(deadline));
        }
        let fired = match state.as_mut().project() {
            StateProj::Elapsed => return Poll::Ready(()),
            StateProj::Never => return Poll::Pending,
            StateProj::Unstarted { .. } => unreachable!("started above"),
            StateProj::Tokio { sleep } => sleep.poll(cx),
            StateProj::AsyncIo { timer } => Pin::new(timer).poll(cx),
            StateProj::FuturesTimer { delay } => Pin::new(delay).poll(cx),
        };
        if fired.is_ready() {
            state.set(State::Elapsed);
        }
        fired
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timer = match self.state {
            State::Elapsed => "elapsed",
            State::Never => "never",
            State::Unstarted { .. } => FALLBACK,
            State::Tokio { .. } => "tokio",
            State::AsyncIo { .. } => "async-io",
            State::FuturesTimer { .. } => "futures-timer",
        };
        f.debug_struct("Sleep").field("timer", &timer).finish()
    }
}

/// Stands for the timer of a disabled feature: the variant holding it cannot be built.
#[allow(dead_code)]
enum Disabled {}

#[allow(dead_code)]
impl Future for Disabled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        match *self {}
    }
}

#[cfg(feature = "tokio")]
use tokio_timer::TokioSleep;
#[cfg(not(feature = "tokio"))]
type TokioSleep = Disabled;

#[cfg(feature = "async-io")]
type AsyncIoTimer = clock_checked::ClockChecked<async_io::Timer>;
#[cfg(not(feature = "async-io"))]
type AsyncIoTimer = Disabled;

#[cfg(feature = "futures-timer")]
type FuturesTimerDelay = clock_checked::ClockChecked<futures_timer::Delay>;
#[cfg(not(feature = "futures-timer"))]
type FuturesTimerDelay = Disabled;

// The timer used outside a Tokio runtime, by precedence: async-io, then futures-timer. It is
// made for a deadline still ahead.

#[cfg(feature = "async-io")]
const FALLBACK: &str = "async-io";

#[cfg(feature = "async-io")]
fn start_fallback(deadline: Instant) -> State {
    State::AsyncIo {
        timer: clock_checked::ClockChecked::new(async_io::Timer::at(deadline), deadline),
    }
}

#[cfg(all(feature = "futures-timer", not(feature = "async-io")))]
const FALLBACK: &str = "futures-timer";

#[cfg(all(feature = "futures-timer", not(feature = "async-io")))]
fn start_fallback(deadline: Instant) -> State {
    let delay = futures_timer::Delay::new(deadline.saturating_duration_since(Instant::now()));
    State::FuturesTimer {
        delay: clock_checked::ClockChecked::new(delay, deadline),
    }
}

#[cfg(not(any(feature = "futures-timer", feature = "async-io")))]
const FALLBACK: &str = "none";

// Only `tokio` is enabled and the sleep was made outside a Tokio runtime.
#[cfg(not(any(feature = "futures-timer", feature = "async-io")))]
fn start_fallback(_deadline: Instant) -> State {
    panic!(
        "aiokit: a Duration timeout made outside a Tokio runtime context needs the \
         `futures-timer` or `async-io` feature (only `tokio` is enabled); or use the deadline \
         form `wait_for_deadline`"
    )
}

#[cfg(any(feature = "futures-timer", feature = "async-io"))]
mod clock_checked {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::time::Instant;

    /// A timer that also reads the clock when polled: it is ready as soon as the deadline
    /// has passed, even if the timer thread has not fired it yet. Two timeouts with one
    /// deadline then elapse in the same poll, which lets the outer one report
    /// (`docs/semantics.md#nested-timeouts-only-the-outer-one-reports`).
    pub(super) struct ClockChecked<T> {
        timer: T,
        deadline: Instant,
    }

    impl<T> ClockChecked<T> {
        pub(super) fn new(timer: T, deadline: Instant) -> Self {
            ClockChecked { timer, deadline }
        }
    }

    impl<T: Future + Unpin> Future for ClockChecked<T> {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if Instant::now() >= self.deadline {
                return Poll::Ready(());
            }
            Pin::new(&mut self.timer).poll(cx).map(drop)
        }
    }
}

#[cfg(feature = "tokio")]
mod tokio_timer {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use pin_project_lite::pin_project;

    use super::State;

    fn in_runtime() -> bool {
        tokio::runtime::Handle::try_current().is_ok()
    }

    /// A tokio sleep measured on tokio's clock (it may be paused), inside a Tokio runtime;
    /// `None` outside one.
    pub(super) fn sleep(duration: Duration) -> Option<State> {
        if !in_runtime() {
            return None;
        }
        Some(match tokio::time::Instant::now().checked_add(duration) {
            Some(deadline) => State::Tokio {
                sleep: TokioSleep {
                    sleep: tokio::time::sleep_until(deadline),
                },
            },
            None => State::Never,
        })
    }

    /// A tokio sleep, inside a Tokio runtime; `None` outside one.
    pub(super) fn sleep_until(deadline: Instant) -> Option<State> {
        if !in_runtime() {
            return None;
        }
        let deadline = tokio::time::Instant::from_std(deadline);
        Some(if deadline <= tokio::time::Instant::now() {
            State::Elapsed
        } else {
            State::Tokio {
                sleep: TokioSleep {
                    sleep: tokio::time::sleep_until(deadline),
                },
            }
        })
    }

    pin_project! {
        pub(super) struct TokioSleep {
            #[pin]
            sleep: tokio::time::Sleep,
        }
    }

    impl Future for TokioSleep {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let sleep = self.project().sleep;
            // Tokio rounds deadlines up to its next millisecond tick; reading the clock makes
            // two timers with one deadline elapse in the same poll (see `ClockChecked`).
            if tokio::time::Instant::now() >= sleep.deadline() {
                return Poll::Ready(());
            }
            sleep.poll(cx)
        }
    }
}

// Outside a Tokio runtime, these need a timer that works without one.
#[cfg(all(test, any(feature = "futures-timer", feature = "async-io")))]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn timer_of(sleep: &Sleep) -> String {
        format!("{sleep:?}")
    }

    #[test]
    fn zero_past_and_unreachable_deadlines_need_no_timer() {
        assert_eq!(
            timer_of(&sleep(Duration::ZERO)),
            r#"Sleep { timer: "elapsed" }"#
        );
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(
            timer_of(&sleep_until(past)),
            r#"Sleep { timer: "elapsed" }"#
        );
        assert_eq!(
            timer_of(&sleep(Duration::MAX)),
            r#"Sleep { timer: "never" }"#
        );
        block_on(sleep(Duration::ZERO));
    }

    #[test]
    fn outside_tokio_async_io_comes_before_futures_timer() {
        let expected = if cfg!(feature = "async-io") {
            r#"Sleep { timer: "async-io" }"#
        } else {
            r#"Sleep { timer: "futures-timer" }"#
        };
        assert_eq!(timer_of(&sleep(Duration::from_secs(60))), expected);
    }

    #[test]
    fn a_sleep_is_ready_once_its_deadline_passed_and_stays_ready() {
        let deadline = Instant::now() + Duration::from_millis(2);
        let mut sleep = core::pin::pin!(sleep_until(deadline));
        block_on(sleep.as_mut());
        assert!(Instant::now() >= deadline);
        // The timer is released after firing; polling again is still ready.
        assert_eq!(timer_of(&sleep), r#"Sleep { timer: "elapsed" }"#);
        block_on(sleep.as_mut());
    }

    #[test]
    fn two_sleeps_with_one_deadline_are_ready_together() {
        let deadline = Instant::now() + Duration::from_millis(2);
        let (first, second) = (sleep_until(deadline), sleep_until(deadline));
        block_on(first);
        // No waiting for the timer thread to fire the second one: the clock says it is due.
        let waker = futures::task::noop_waker();
        let poll = core::pin::pin!(second).poll(&mut Context::from_waker(&waker));
        assert_eq!(poll, Poll::Ready(()));
    }
}
