//! Trio's names for timeouts: `move_on_after` / `move_on_at` (give up quietly) and
//! `fail_after` / `fail_at` (give up with an error).

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;

use crate::timeout::WaitFor;
use crate::timer::Sleep;

/// Runs `fut` for at most `delay`: `Some(output)` if it completes in time, else `None`
/// (Trio's `with trio.move_on_after(delay):`).
///
/// It is [`timeout`](crate::timeout())`(delay, fut)` with the error turned into `None`: on
/// expiry `fut` is dropped (cancelled) and the code after it simply goes on. In asyncio terms:
/// `async with asyncio.timeout(delay)` inside `try: .. except TimeoutError: pass`. Use
/// [`fail_after`] when running out of time is an error to pass on, and
/// [`timeout_scope`](crate::timeout_scope()) when the deadline must move while `fut` runs
/// (Trio's `cancel_scope.deadline = ..`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # futures::executor::block_on(async {
/// let quick = aiokit::move_on_after(Duration::from_secs(60), async { "answer" });
/// assert_eq!(quick.await, Some("answer"));
///
/// let stuck = aiokit::move_on_after(Duration::from_millis(1), futures::future::pending::<u8>());
/// assert_eq!(stuck.await, None);
/// # });
/// ```
///
/// # Panics
///
/// As [`wait_for`](crate::wait_for()): with only the `tokio` timer feature, outside a Tokio
/// runtime.
///
/// # Cancel safety
///
/// As [`wait_for`](crate::wait_for()).
pub fn move_on_after<F: IntoFuture>(delay: Duration, fut: F) -> MoveOn<F::IntoFuture> {
    MoveOn {
        inner: crate::timeout(delay, fut),
    }
}

/// [`move_on_after`] with an absolute deadline (Trio's `move_on_at(deadline)`): `None` if
/// the clock reaches `deadline` before `fut` completes.
///
/// Under tokio's paused test clock, take the deadline from tokio's clock
/// (`tokio::time::Instant::now().into_std() + delay`).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// # futures::executor::block_on(async {
/// let past = Instant::now() - Duration::from_millis(1);
/// // A past deadline polls `fut` once.
/// assert_eq!(aiokit::move_on_at(past, async { 1 }).await, Some(1));
/// assert_eq!(aiokit::move_on_at(past, futures::future::pending::<u8>()).await, None);
/// # });
/// ```
///
/// # Panics
///
/// As [`move_on_after`].
///
/// # Cancel safety
///
/// As [`move_on_after`].
pub fn move_on_at<F: IntoFuture>(deadline: Instant, fut: F) -> MoveOn<F::IntoFuture> {
    MoveOn {
        inner: crate::timeout_at(deadline, fut),
    }
}

/// Runs `fut` for at most `delay`: `Ok(output)`, or `Err(`[`TimeoutError`](crate::TimeoutError)`)`
/// after dropping `fut` (Trio's `with trio.fail_after(delay):`, whose `TooSlowError` is
/// asyncio's `TimeoutError`).
///
/// The same future as [`timeout`](crate::timeout())`(delay, fut)` and
/// [`wait_for`](crate::wait_for())`(fut, delay)`, under the name Trio users know; see
/// [`move_on_after`] for the quiet form.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # futures::executor::block_on(async {
/// let stuck = aiokit::fail_after(Duration::from_millis(1), futures::future::pending::<u8>());
/// assert_eq!(stuck.await, Err(aiokit::TimeoutError::new()));
/// # });
/// ```
///
/// # Panics
///
/// As [`move_on_after`].
///
/// # Cancel safety
///
/// As [`move_on_after`].
pub fn fail_after<F: IntoFuture>(delay: Duration, fut: F) -> WaitFor<F::IntoFuture, Sleep> {
    crate::timeout(delay, fut)
}

/// [`fail_after`] with an absolute deadline (Trio's `fail_at(deadline)`); the same future as
/// [`timeout_at`](crate::timeout_at()).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// # futures::executor::block_on(async {
/// let soon = Instant::now() + Duration::from_millis(1);
/// assert!(aiokit::fail_at(soon, futures::future::pending::<u8>()).await.is_err());
/// # });
/// ```
///
/// # Panics
///
/// As [`move_on_after`].
///
/// # Cancel safety
///
/// As [`move_on_after`].
pub fn fail_at<F: IntoFuture>(deadline: Instant, fut: F) -> WaitFor<F::IntoFuture, Sleep> {
    crate::timeout_at(deadline, fut)
}

pin_project! {
    /// Future for the [`move_on_after()`] and [`move_on_at()`] functions: `Some(output)`, or
    /// `None` once the deadline has passed (the inner future has then been dropped).
    ///
    /// # Panics
    ///
    /// Polling it again after it has completed panics; [`FusedFuture::is_terminated`] tells
    /// whether it has.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::future::FusedFuture;
    /// # futures::executor::block_on(async {
    /// let never = futures::future::pending::<()>();
    /// let mut job = std::pin::pin!(aiokit::move_on_after(Duration::ZERO, never));
    /// assert_eq!(job.as_mut().await, None);
    /// assert!(job.is_terminated());
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct MoveOn<F> {
        #[pin]
        inner: WaitFor<F, Sleep>,
    }
}

impl<F: Future> Future for MoveOn<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(Result::ok)
    }
}

impl<F: Future> FusedFuture for MoveOn<F> {
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<F> fmt::Debug for MoveOn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MoveOn")
            .field("inner", &self.inner)
            .finish()
    }
}
