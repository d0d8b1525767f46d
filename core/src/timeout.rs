//! `wait_for`, `timeout`, `timeout_at` and their deadline form `wait_for_deadline`
//! (asyncio's `wait_for`, `timeout` and `timeout_at`).

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;

use crate::TimeoutError;

cfg_timer! {
    use std::time::{Duration, Instant};

    use crate::timer::{Sleep, sleep, sleep_until};
}

cfg_timer! {
    /// Runs `fut` until it completes or `timeout` elapses (asyncio's `wait_for(aw, timeout)`).
    ///
    /// Gives `Ok(output)` if `fut` completes first, else `Err(`[`TimeoutError`]`)`. On expiry
    /// `fut` is dropped (cancelled) before the error is returned. An inner that completes in the
    /// same poll as the deadline passes wins. A zero `timeout` polls `fut` once: its output if it
    /// is ready, else the error, and `fut` is not polled again.
    ///
    /// The deadline is `now + timeout`, taken when `wait_for` is called; the timer is a
    /// [`Sleep`], so this needs a timer feature (`futures-timer`, the default, `tokio` or
    /// `async-io`). [`wait_for_deadline`] takes any future as the deadline instead.
    ///
    /// Timeouts nest: when an inner and an outer timeout expire in the same poll, only the outer
    /// one reports (`docs/semantics.md#nested-timeouts-only-the-outer-one-reports`). See
    /// [`WaitFor`].
    ///
    /// **Tasks**: as asyncio's `wait_for` cancels the task it timed out on, `wait_for(task, t)`
    /// cancels a [`Task`](crate::Task) handle's task on expiry (dropping a handle whose await is in
    /// progress cancels its task). The cancel is requested before the error is returned; the task
    /// ends cancelled (its done-callbacks see `cancelled()`) once its executor has dropped its
    /// future, which asyncio's `wait_for` waits for and this does not. Wrap the handle in
    /// [`shield(&task)`](crate::shield()) to leave the task running, as in asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use aiokit::{wait_for, TimeoutError};
    /// use futures::future;
    /// # futures::executor::block_on(async {
    /// assert_eq!(wait_for(async { 42 }, Duration::from_secs(10)).await, Ok(42));
    ///
    /// let never = future::pending::<()>();
    /// assert_eq!(wait_for(never, Duration::from_millis(1)).await, Err(TimeoutError::new()));
    /// # });
    /// ```
    ///
    /// A task timed out on is cancelled; a shielded one runs on:
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature and the futures-executor crate.
    /// use std::time::Duration;
    /// use aiokit::{CancelledError, TimeoutError, shield, wait_for};
    /// # futures::executor::block_on(async {
    /// let pool = futures_executor::ThreadPool::new().unwrap();
    /// let slow = aiokit::spawn_task(&pool, future::pending::<()>());
    /// assert_eq!(wait_for(slow.clone(), Duration::from_millis(1)).await, Err(TimeoutError::new()));
    /// assert_eq!(shield(&slow).await, Err(CancelledError::new()));
    ///
    /// let (tx, rx) = futures::channel::oneshot::channel::<u8>();
    /// let shielded = aiokit::spawn_task(&pool, async { rx.await.unwrap() });
    /// assert!(wait_for(shield(&shielded), Duration::from_millis(1)).await.is_err());
    /// tx.send(7).unwrap();
    /// assert_eq!(shielded.await, Ok(7));
    /// # });
    /// # use futures::future;
    /// ```
    ///
    /// # Panics
    ///
    /// As [`sleep()`](crate::sleep): with only the `tokio` timer feature, outside a Tokio
    /// runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops `fut` and the timer. Whatever `fut` had done stays
    /// done; on a timeout, the work `fut` had in flight is lost as when `fut` itself is dropped.
    pub fn wait_for<F: IntoFuture>(fut: F, timeout: Duration) -> WaitFor<F::IntoFuture, Sleep> {
        wait_for_deadline(fut, sleep(timeout))
    }

    /// [`wait_for`] with tokio's argument order: the duration first (asyncio's
    /// `async with timeout(delay)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # futures::executor::block_on(async {
    /// let slow = futures::future::pending::<u8>();
    /// assert!(aiokit::timeout(Duration::from_millis(1), slow).await.is_err());
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// As [`wait_for`].
    ///
    /// # Cancel safety
    ///
    /// As [`wait_for`].
    #[doc(alias = "async_timeout")]
    pub fn timeout<F: IntoFuture>(duration: Duration, fut: F) -> WaitFor<F::IntoFuture, Sleep> {
        wait_for_deadline(fut, sleep(duration))
    }

    /// Runs `fut` until it completes or the clock reaches `deadline` (asyncio's
    /// `async with timeout_at(when)`).
    ///
    /// A `deadline` already past behaves as a zero timeout: `fut` is polled once. Under tokio's
    /// paused test clock, take the deadline from tokio's clock
    /// (`tokio::time::Instant::now().into_std() + delay`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// # futures::executor::block_on(async {
    /// let past = Instant::now() - Duration::from_millis(1);
    /// assert_eq!(aiokit::timeout_at(past, async { "ready" }).await, Ok("ready"));
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// As [`wait_for`].
    ///
    /// # Cancel safety
    ///
    /// As [`wait_for`].
    pub fn timeout_at<F: IntoFuture>(deadline: Instant, fut: F) -> WaitFor<F::IntoFuture, Sleep> {
        wait_for_deadline(fut, sleep_until(deadline))
    }
}

/// Runs `fut` until it completes or `deadline` completes: the deadline form of `wait_for`,
/// for any timer or event (`tokio::time::sleep`, `async_io::Timer`, a shutdown signal...).
///
/// The same rules as `wait_for`: the output of `fut` if it completes first, or in the same
/// poll as the deadline; else `fut` is dropped, then `Err(`[`TimeoutError`]`)` is returned. A
/// deadline that is ready on its first poll is a zero timeout: `fut` is polled once. Needs no
/// timer feature and no `std`.
///
/// # Examples
///
/// ```
/// use aiokit::{wait_for_deadline, TimeoutError};
/// use futures::channel::oneshot;
/// use futures::{future, FutureExt};
/// # futures::executor::block_on(async {
/// let (fire, fired) = oneshot::channel::<()>();
/// // Any outcome of the channel (a value, or the sender dropped) is the deadline.
/// let mut job = wait_for_deadline(future::pending::<()>(), fired.map(drop));
/// assert!(futures::poll!(&mut job).is_pending());
/// fire.send(()).unwrap();
/// assert_eq!(job.await, Err(TimeoutError::new()));
/// # });
/// ```
///
/// # Cancel safety
///
/// As `wait_for` (a [`Task`](crate::Task) timed out on is cancelled); `deadline` is dropped
/// with it.
pub fn wait_for_deadline<F, D>(fut: F, deadline: D) -> WaitFor<F::IntoFuture, D::IntoFuture>
where
    F: IntoFuture,
    D: IntoFuture<Output = ()>,
{
    WaitFor {
        inner: Some(fut.into_future()),
        deadline: Some(deadline.into_future()),
    }
}

pin_project! {
    /// Future for the `wait_for()`, `timeout()`, `timeout_at()` and
    /// [`wait_for_deadline()`] functions (the first three need a timer feature).
    ///
    /// Output: `Ok` with the inner future's output, or `Err(TimeoutError)` once the deadline
    /// `D` has completed; the inner future has then already been dropped.
    ///
    /// Each poll polls the inner future, then (if it is still pending) the deadline, so an
    /// inner that completes in the same poll as the deadline wins, and an inner that is ready
    /// at once costs no timer registration.
    ///
    /// Nested timeouts: when a timeout nested in this one (polled from inside the inner
    /// future) reports its expiry, and this one's deadline has passed in the same poll, this
    /// one reports instead: `Err(TimeoutError)`, not `Ok(Err(TimeoutError))`, whatever the
    /// inner made of the nested error. That is asyncio's rule (the outer cancellation wins).
    /// Two `Sleep`s with one deadline always elapse in the same poll. Without the `std`
    /// feature there is no way to tell, and the nested timeout's error comes out as
    /// `Ok(Err(TimeoutError))`.
    ///
    /// # Panics
    ///
    /// Polling it again after it has completed panics; [`FusedFuture::is_terminated`] tells
    /// whether it has.
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::{wait_for_deadline, TimeoutError};
    /// use futures::future::{self, FusedFuture};
    /// # futures::executor::block_on(async {
    /// // A deadline that has already passed: the inner gets exactly one poll.
    /// let mut job = wait_for_deadline(future::pending::<()>(), future::ready(()));
    /// assert_eq!((&mut job).await, Err(TimeoutError::new()));
    /// assert!(job.is_terminated());
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct WaitFor<F, D> {
        // `None` once completed; both are dropped then.
        #[pin]
        inner: Option<F>,
        #[pin]
        deadline: Option<D>,
    }
}

impl<F: Future, D: Future<Output = ()>> Future for WaitFor<F, D> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let inner = this
            .inner
            .as_mut()
            .as_pin_mut()
            .expect("`WaitFor` polled after completion");
        let (polled, nested_expired) = nesting::poll_watching(|| inner.poll(cx));
        let deadline = this
            .deadline
            .as_mut()
            .as_pin_mut()
            .expect("the deadline lives as long as the inner future");
        // The deadline is only consulted when its answer can change the outcome.
        let expired = match polled {
            Poll::Ready(_) if !nested_expired => false,
            Poll::Ready(_) | Poll::Pending => deadline.poll(cx).is_ready(),
        };
        match polled {
            Poll::Ready(output) if !expired => {
                this.inner.set(None);
                this.deadline.set(None);
                Poll::Ready(Ok(output))
            }
            Poll::Pending if !expired => Poll::Pending,
            // Expired; an output here came from a nested timeout's expiry, which this
            // one's takes over.
            _ => {
                // Dropped before the error is returned, as asyncio's wait_for returns only
                // once the inner has finished cancelling.
                this.inner.set(None);
                this.deadline.set(None);
                nesting::report_expiry();
                Poll::Ready(Err(TimeoutError::new()))
            }
        }
    }
}

impl<F: Future, D: Future<Output = ()>> FusedFuture for WaitFor<F, D> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

impl<F, D> fmt::Debug for WaitFor<F, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor")
            .field("done", &self.inner.is_none())
            .finish()
    }
}

/// Lets a `WaitFor` learn whether a `WaitFor` nested in its inner future reported an expiry
/// during the poll of that inner future. A thread-local suffices: the inner future is polled
/// synchronously, on this thread, within the outer's poll.
#[cfg(feature = "std")]
mod nesting {
    use std::cell::Cell;

    std::thread_local! {
        // "A timeout reported its expiry": cleared before an inner poll, read after it.
        static EXPIRY_REPORTED: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `poll`, and tells whether a timeout inside it reported an expiry.
    pub(super) fn poll_watching<R>(poll: impl FnOnce() -> R) -> (R, bool) {
        // Puts back what the enclosing scope had seen so far (siblings polled before us),
        // plus what happened inside, also when `poll` panics. During thread teardown the
        // flag is gone: nesting is then not detected.
        struct Restore {
            before: bool,
        }
        impl Drop for Restore {
            fn drop(&mut self) {
                let _ = EXPIRY_REPORTED.try_with(|flag| flag.set(self.before || flag.get()));
            }
        }
        let _restore = Restore {
            before: EXPIRY_REPORTED
                .try_with(|flag| flag.replace(false))
                .unwrap_or(false),
        };
        let output = poll();
        let inside = EXPIRY_REPORTED.try_with(Cell::get).unwrap_or(false);
        (output, inside)
    }

    pub(super) fn report_expiry() {
        let _ = EXPIRY_REPORTED.try_with(|flag| flag.set(true));
    }
}

/// Without `std` there is no thread-local: nested timeouts each report their own expiry.
#[cfg(not(feature = "std"))]
mod nesting {
    pub(super) fn poll_watching<R>(poll: impl FnOnce() -> R) -> (R, bool) {
        (poll(), false)
    }

    pub(super) fn report_expiry() {}
}
