//! asyncio's event loop: [`run`], [`EventLoop`], and the free functions that reach
//! the running loop ([`get_running_loop`],
//! [`create_task`], [`current_task`],
//! [`all_tasks`], [`to_thread`],
//! [`run_coroutine_threadsafe`]).
//!
//! The loop is built on well-kept executors, not a scheduler of its own: by default smol-rs's
//! async-executor (`LocalExecutor`) driven by async-io's `block_on` (timers and a reactor, so
//! async-io / async-net sockets work inside it); with the `tokio` feature, [`EventLoop::new`]
//! runs on a current-thread tokio runtime with a `LocalSet` instead (tokio's timers, sockets
//! and signals work inside it), and [`EventLoop::smol`] / `EventLoop::tokio()` pick one
//! explicitly. The loop itself keeps asyncio's ready queue of callbacks and its heap of timers,
//! and polls its tasks itself, as a [`TaskGroup`](crate::TaskGroup) polls its children: a task
//! made by [`create_task`](EventLoop::create_task) is one allocation (its state and its
//! future), polled with its own waker by the loop's driver, which the executor runs (so
//! everything the executor's context offers works inside tasks). The executor runs the
//! driver, [`run_until_complete`](EventLoop::run_until_complete)'s future, servers, and the
//! tasks of [`create_task_threadsafe`](LoopHandle::create_task_threadsafe).
//!
//! # The rules (asyncio's `base_events.py`)
//!
//! - [`call_soon`](EventLoop::call_soon) callbacks run once each, in FIFO order, on the loop's
//!   thread; a cancelled [`Handle`] never runs.
//! - [`call_later`](EventLoop::call_later) / [`call_at`](EventLoop::call_at) callbacks run at
//!   or after their time, in time order; a delay of zero runs on a later turn, after the
//!   callbacks already queued. [`TimerHandle::when`] is the loop time it was set for.
//! - [`stop`](EventLoop::stop) from a callback: [`run_forever`](EventLoop::run_forever)
//!   returns once the callbacks queued when `stop` was called have run; `stop` before
//!   `run_forever`: one turn, then return. A loop can run again after that.
//! - Running a running loop or a closed one, closing a running loop, scheduling on a closed
//!   loop: an [`EventLoopError`]. Closing twice is fine.
//! - [`run_until_complete`](EventLoop::run_until_complete) gives the future's output, or
//!   [`EventLoopError::StoppedBeforeComplete`].
//! - [`LoopHandle::call_soon_threadsafe`] wakes a loop idle in `run_forever`.
//! - [`create_task`](EventLoop::create_task) runs none of the future at once; the loop's tasks
//!   run between the awaits of any other code on the loop, so `wait`, `gather` and
//!   `as_completed` over [`Task`](crate::Task) handles behave as asyncio's do over tasks.
//! - A callback or task that panics is reported to the
//!   [exception handler](EventLoop::set_exception_handler) and the loop goes on;
//!   [`call_exception_handler`](EventLoop::call_exception_handler) reports anything else, and
//!   in [debug mode](EventLoop::set_debug) a callback slower than
//!   [`slow_callback_duration`](EventLoop::slow_callback_duration) is reported.
//! - [`Handle::cancel`] drops the callback at once; cancelled timers leave the heap when they
//!   reach its head, or all at once when they are more than half of more than 100 timers.
//! - [`add_signal_handler`](EventLoop::add_signal_handler) (Unix) schedules its callback on
//!   the loop at each delivery of the signal.
//! - A server started on the loop ([`start_server`](crate::start_server)) is not one of its
//!   tasks: [`all_tasks`] does not list it; closing the loop closes it.
//!
//! # Where aiokit differs
//!
//! - The scheduling methods return `Result` where asyncio raises `RuntimeError`;
//!   [`run`] panics (and [`try_run`] returns the error) when
//!   called inside a running loop.
//! - The loop's tasks and callbacks run in two queues: the order among callbacks, and among
//!   tasks, is asyncio's; between a task's step and a callback it is not specified (a turn
//!   runs the callbacks due, then the tasks woken or created before; a task that wakes itself
//!   may take a few more steps in the same turn, up to a bound).
//! - `run_until_complete`'s future may borrow from the caller; if the loop is stopped before
//!   it finishes, it is dropped (asyncio leaves the task pending on the loop).
//! - A callback from [`call_soon_threadsafe`](LoopHandle::call_soon_threadsafe) that is
//!   cancelled is dropped when the loop reaches it, on the loop's thread (one of the loop's own
//!   thread is dropped by `cancel`, as in asyncio).
//! - Debug mode reports slow callbacks to the exception handler (asyncio logs them), and does
//!   not time a task's steps.
//! - [`remove_signal_handler`](EventLoop::remove_signal_handler) does not restore a signal's
//!   default action.
//! - Not provided: `set_task_factory`, `create_future`, `add_reader` / `sock_*` and the other
//!   transport methods (the streams module, async-net or tokio's types), `shutdown_asyncgens`
//!   (no async generators);
//!   [`shutdown_default_executor`](EventLoop::shutdown_default_executor) waits for the
//!   blocking functions but shuts no pool down (the pool is the process's or the tokio
//!   runtime's).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! async fn make_tea(variety: &str) -> String {
//!     aiokit::sleep(Duration::from_millis(1)).await;
//!     format!("{variety} tea")
//! }
//!
//! let teas = aiokit::run(async {
//!     // Tasks run on the loop while main awaits something else.
//!     let green = aiokit::create_task(make_tea("green"));
//!     let black = aiokit::create_task(make_tea("black"));
//!     aiokit::gather([green, black]).await
//! });
//! assert_eq!(teas, [Ok("green tea".to_string()), Ok("black tea".to_string())]);
//! ```

mod backend;
mod concurrent;
mod error;
mod handle;
mod inner;
mod remote;
#[cfg(unix)]
mod signal;
mod task;
mod thread;

use core::future::IntoFuture;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

pub use concurrent::{ConcurrentError, ConcurrentFuture, run_coroutine_threadsafe};
pub use error::{EventLoopError, ExceptionContext};
pub use handle::{Callback, Handle, TimerHandle};
pub use inner::{EventLoop, ExceptionHandler};
pub use remote::LoopHandle;
#[cfg(unix)]
pub use signal::Signal;
pub use task::{AnyTask, all_tasks, create_task, current_task};
pub use thread::{ToThread, to_thread};

use inner::LoopInner;

thread_local! {
    /// The loop running on this thread, if any.
    static RUNNING: RefCell<Option<Weak<LoopInner>>> = const { RefCell::new(None) };
}

/// The loop running on this thread.
pub(crate) fn running_loop() -> Option<EventLoop> {
    RUNNING
        .try_with(|r| r.borrow().as_ref().and_then(Weak::upgrade))
        .ok()
        .flatten()
        .map(|inner| EventLoop { inner })
}

/// Marks a loop as the running loop of this thread; undoes it when dropped (also on unwind).
pub(crate) struct RunningGuard {
    lp: Rc<LoopInner>,
    previous: Option<Weak<LoopInner>>,
}

impl RunningGuard {
    pub(crate) fn enter(lp: &Rc<LoopInner>) -> Self {
        let previous = RUNNING.with(|r| r.replace(Some(Rc::downgrade(lp))));
        RunningGuard {
            lp: lp.clone(),
            previous,
        }
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = RUNNING.try_with(|r| *r.borrow_mut() = previous);
        self.lp.leave();
    }
}

/// The loop running on this thread (asyncio's `asyncio.get_running_loop()`).
///
/// # Errors
///
/// [`EventLoopError::NoRunningLoop`] outside a running loop.
///
/// # Examples
///
/// ```
/// assert_eq!(aiokit::get_running_loop().unwrap_err(), aiokit::event_loop::EventLoopError::NoRunningLoop);
/// aiokit::run(async {
///     let lp = aiokit::get_running_loop().unwrap();
///     assert!(lp.is_running());
/// });
/// ```
#[doc(alias = "get_event_loop")]
pub fn get_running_loop() -> Result<EventLoop, EventLoopError> {
    running_loop().ok_or(EventLoopError::NoRunningLoop)
}

/// Runs `fut` on a new event loop on this thread and returns its output (asyncio's
/// `asyncio.run`).
///
/// The loop is [`EventLoop::new`]'s. `fut` runs as the loop's main task; once it is done,
/// every task still pending on the loop is cancelled and awaited, the blocking functions it
/// started ([`to_thread`]) are waited for
/// ([`shutdown_default_executor`](EventLoop::shutdown_default_executor)), and the loop is
/// closed.
/// `fut` need not be `Send` nor `'static`.
///
/// # Panics
///
/// Inside a running loop (asyncio raises `RuntimeError`); [`try_run`] returns the error
/// instead. If `fut` panics, the loop is closed (its tasks cancelled) and the panic goes on.
///
/// # Examples
///
/// ```
/// async fn main_coro() -> &'static str {
///     let task = aiokit::create_task(async { "tea" });
///     task.await.unwrap()
/// }
///
/// assert_eq!(aiokit::run(main_coro()), "tea");
/// ```
pub fn run<F: IntoFuture>(fut: F) -> F::Output {
    match try_run(fut) {
        Ok(output) => output,
        Err(e) => panic!("aiokit::run: {e}"),
    }
}

/// [`run`], returning an error instead of panicking.
///
/// # Errors
///
/// [`EventLoopError::RunFromRunningLoop`] inside a running loop (with the `tokio` feature,
/// also inside a tokio runtime, where a nested runtime would panic);
/// [`EventLoopError::StoppedBeforeComplete`] if `fut` stopped the loop before it was done.
///
/// # Examples
///
/// ```
/// let nested = aiokit::run(async { aiokit::event_loop::try_run(async { 1 }) });
/// assert_eq!(nested, Err(aiokit::event_loop::EventLoopError::RunFromRunningLoop));
/// ```
pub fn try_run<F: IntoFuture>(fut: F) -> Result<F::Output, EventLoopError> {
    if running_loop().is_some() {
        return Err(EventLoopError::RunFromRunningLoop);
    }
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(EventLoopError::RunFromRunningLoop);
    }
    let lp = EventLoop::new();
    let output = lp.run_until_complete(fut);
    lp.inner.cancel_all_tasks();
    // asyncio.run's `shutdown_default_executor` step: the blocking functions the loop started
    // return before the loop closes.
    lp.run_until_complete(lp.shutdown_default_executor())?;
    lp.close()?;
    output
}
