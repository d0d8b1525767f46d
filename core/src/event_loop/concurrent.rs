//! `run_coroutine_threadsafe` and its `concurrent.futures.Future`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::error::EventLoopError;
use super::remote::LoopHandle;
use crate::error::{CancelledError, TimeoutError};
use crate::task::Task;

struct Slot<T> {
    outcome: Option<Result<T, CancelledError>>,
    taken: bool,
    waker: Option<Waker>,
}

struct State<T> {
    slot: Mutex<Slot<T>>,
    ready: Condvar,
}

impl<T> State<T> {
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        // No user code runs under this lock.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, outcome: Result<T, CancelledError>) {
        let waker = {
            let mut slot = self.lock();
            if slot.outcome.is_some() || slot.taken {
                return;
            }
            slot.outcome = Some(outcome);
            slot.waker.take()
        };
        self.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Sets the outcome when the coroutine is dropped unfinished: it was cancelled.
struct Completer<T>(Option<Arc<State<T>>>);

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(state) = self.0.take() {
            state.set(Err(CancelledError::new()));
        }
    }
}

/// Why [`ConcurrentFuture::result`] gave no output.
///
/// # Examples
///
/// ```
/// let err = aiokit::event_loop::ConcurrentError::Timeout(aiokit::TimeoutError::new());
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConcurrentError {
    /// The timeout passed before the coroutine finished (`concurrent.futures.TimeoutError`).
    Timeout(TimeoutError),
    /// The coroutine's task was cancelled (or its loop closed) before it finished.
    Cancelled(CancelledError),
    /// The output was already taken, by an earlier `result` or by awaiting the future.
    Taken,
}

impl fmt::Display for ConcurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConcurrentError::Timeout(e) => fmt::Display::fmt(e, f),
            ConcurrentError::Cancelled(e) => fmt::Display::fmt(e, f),
            ConcurrentError::Taken => f.write_str("the result was already taken"),
        }
    }
}

impl std::error::Error for ConcurrentError {}

/// The result of a coroutine running on a loop in another thread (asyncio's
/// `concurrent.futures.Future` from `run_coroutine_threadsafe`): wait for it from a plain
/// thread with [`result`](ConcurrentFuture::result), or await it from any executor.
///
/// The output is moved out once: by `result` or by the await. Dropping the future does not
/// cancel the coroutine; [`cancel`](ConcurrentFuture::cancel) does.
#[must_use = "the coroutine runs anyway; the future is the only way to its result"]
pub struct ConcurrentFuture<T> {
    state: Arc<State<T>>,
    task: Task<()>,
}

impl<T> ConcurrentFuture<T> {
    /// Blocks this thread until the coroutine finished, or `timeout` passed (`None`: no
    /// timeout), and moves its output out.
    ///
    /// Do not call it on the loop's own thread: the loop could not run the coroutine.
    ///
    /// # Errors
    ///
    /// [`ConcurrentError::Timeout`] if `timeout` passed first (call again to wait more);
    /// [`ConcurrentError::Cancelled`] if the task was cancelled or the loop closed first;
    /// [`ConcurrentError::Taken`] if the output was already taken.
    ///
    /// # Examples
    ///
    /// See [`run_coroutine_threadsafe`].
    pub fn result(&self, timeout: Option<Duration>) -> Result<T, ConcurrentError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut slot = self.state.lock();
        loop {
            if slot.taken {
                return Err(ConcurrentError::Taken);
            }
            if let Some(outcome) = slot.outcome.take() {
                slot.taken = true;
                return outcome.map_err(ConcurrentError::Cancelled);
            }
            slot = match deadline {
                None => self
                    .state
                    .ready
                    .wait(slot)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(ConcurrentError::Timeout(TimeoutError::new()));
                    }
                    self.state
                        .ready
                        .wait_timeout(slot, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Cancels the coroutine's task on its loop; returns false if it had finished already.
    ///
    /// # Examples
    ///
    /// See [`run_coroutine_threadsafe`].
    pub fn cancel(&self) -> bool {
        !self.done() && self.task.cancel()
    }

    /// Whether the coroutine finished or was cancelled.
    ///
    /// # Examples
    ///
    /// See [`run_coroutine_threadsafe`].
    pub fn done(&self) -> bool {
        let slot = self.state.lock();
        slot.outcome.is_some() || slot.taken
    }

    /// Whether the coroutine was cancelled.
    ///
    /// # Examples
    ///
    /// See [`run_coroutine_threadsafe`].
    pub fn cancelled(&self) -> bool {
        matches!(self.state.lock().outcome, Some(Err(_))) || self.task.cancelled()
    }
}

/// Awaiting gives the output, or `Err(CancelledError)` if the task was cancelled.
///
/// # Panics
///
/// If polled after the output was taken.
impl<T> Future for ConcurrentFuture<T> {
    type Output = Result<T, CancelledError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.state.lock();
        assert!(
            !slot.taken,
            "ConcurrentFuture polled after its output was taken"
        );
        match slot.outcome.take() {
            Some(outcome) => {
                slot.taken = true;
                Poll::Ready(outcome)
            }
            None => {
                match &slot.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => slot.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.cancelled() {
            "cancelled"
        } else if self.done() {
            "finished"
        } else {
            "pending"
        };
        write!(f, "<ConcurrentFuture {state}>")
    }
}

/// Submits `fut` to the loop behind `handle` from any thread (asyncio's
/// `asyncio.run_coroutine_threadsafe`), as a task of that loop, and returns a
/// [`ConcurrentFuture`] for its output.
///
/// # Errors
///
/// [`EventLoopError::Closed`] if the loop was closed or dropped.
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
///
/// let (tx, rx) = mpsc::channel();
/// let thread = std::thread::spawn(move || {
///     let lp = aiokit::EventLoop::new();
///     tx.send(lp.handle()).unwrap();
///     lp.run_forever().unwrap();
/// });
/// let handle = rx.recv().unwrap();
///
/// let sum = aiokit::run_coroutine_threadsafe(async { 1 + 2 }, &handle).unwrap();
/// assert_eq!(sum.result(Some(Duration::from_secs(10))), Ok(3));
///
/// let never = aiokit::run_coroutine_threadsafe(std::future::pending::<()>(), &handle).unwrap();
/// assert!(never.cancel());
/// assert!(matches!(never.result(None), Err(aiokit::event_loop::ConcurrentError::Cancelled(_))));
///
/// handle.stop();
/// thread.join().unwrap();
/// ```
pub fn run_coroutine_threadsafe<F>(
    fut: F,
    handle: &LoopHandle,
) -> Result<ConcurrentFuture<F::Output>, EventLoopError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let state = Arc::new(State {
        slot: Mutex::new(Slot {
            outcome: None,
            taken: false,
            waker: None,
        }),
        ready: Condvar::new(),
    });
    let mut completer = Completer(Some(state.clone()));
    let task = handle.create_task_threadsafe(async move {
        let value = fut.await;
        if let Some(state) = completer.0.take() {
            state.set(Ok(value));
        }
    })?;
    Ok(ConcurrentFuture { state, task })
}
