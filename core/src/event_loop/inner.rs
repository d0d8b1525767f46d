//! The loop itself: its ready queue of callbacks, its timers, its run methods.

use core::cell::{Cell, RefCell};
use core::cmp::{Ordering as CmpOrdering, Reverse};
use core::future::{Future, IntoFuture};
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::any::Any;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use event_listener::Event;

use slab::Slab;

use super::backend::{Backend, Kind, LoopTimer};
use super::error::{EventLoopError, ExceptionContext};
use super::handle::{
    Callback, Handle, Pending, Ready, SOON, TimerHandle, run_remote, run_timer, soon,
};
use super::remote::{LoopHandle, Remote, Shared};
use super::task::{AnyTask, Entry, LoopTask, Tracked, Unwind};
use super::thread::ToThread;
use super::{RunningGuard, running_loop};
use crate::engine::task_cell::RawDriver;
use crate::engine::{Engine, Step};
use crate::spawn::erased_task_driver;
use crate::task::{Task, local_task_cell};

/// A timer in the loop's heap: its callback waits in the loop's table of timers under `key`
/// (gone from there if it was cancelled).
struct Timer {
    when: Instant,
    seq: u64,
    key: usize,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (self.when, self.seq).cmp(&(other.when, other.seq))
    }
}

/// An exception handler, as [`EventLoop::get_exception_handler`] gives it back.
pub type ExceptionHandler = Rc<dyn Fn(&ExceptionContext<'_>)>;

/// The blocking functions a loop started and that have not returned yet.
#[derive(Default)]
pub(crate) struct Jobs {
    running: AtomicUsize,
    /// Notified when `running` drops to zero.
    idle: Event,
}

/// Counts one blocking function as running until dropped (when it returns or unwinds, or is
/// dropped unrun).
struct JobGuard(Arc<Jobs>);

impl JobGuard {
    fn start(jobs: &Arc<Jobs>) -> Self {
        jobs.running.fetch_add(1, Ordering::AcqRel);
        JobGuard(jobs.clone())
    }
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify(usize::MAX);
        }
    }
}

/// asyncio's default `slow_callback_duration`: 0.1 s.
const DEFAULT_SLOW_CALLBACK_DURATION: Duration = Duration::from_millis(100);

/// A key of the loop's table of timers, as the ready queue keeps it.
fn table_key(key: usize) -> u32 {
    u32::try_from(key).expect("aiokit: more than 2^32 callbacks pending on one event loop")
}

/// asyncio's `_MIN_SCHEDULED_TIMER_HANDLES`: below this many timers, cancelled ones are only
/// removed when they reach the top of the heap.
const MIN_SCHEDULED_TIMER_HANDLES: usize = 100;

pub(crate) struct LoopInner {
    pub(crate) shared: Arc<Shared>,
    kind: Kind,
    /// The timers' callbacks not run yet (among the timers, or due in the ready queue); a
    /// cancelled one leaves at once.
    calls: RefCell<Slab<Pending>>,
    ready: RefCell<VecDeque<Ready>>,
    /// The position of the ready queue's first entry: every entry ever queued has the next
    /// position, so a `call_soon` handle finds its callback by its position.
    ready_head: Cell<u64>,
    timers: RefCell<BinaryHeap<Reverse<Timer>>>,
    /// Timers cancelled while in the heap, not removed from it yet (asyncio's
    /// `_timer_cancelled_count`).
    timer_cancelled: Cell<usize>,
    seq: Cell<u64>,
    stopping: Cell<bool>,
    running: Cell<bool>,
    closed: Cell<bool>,
    /// The driver is parked, waiting for work: a local `call_soon` must wake it.
    driver_waiting: Cell<bool>,
    backend: RefCell<Option<Rc<Backend>>>,
    tasks: RefCell<Slab<AnyTask>>,
    /// The tasks' cells (state and future in one allocation), which the loop polls itself,
    /// each with its own waker: the executor runs only the loop's driver (and
    /// `run_until_complete`'s future, and background futures).
    engine: RefCell<Engine<RawDriver<'static, ()>>>,
    /// Tasks created while the engine was being polled (by its tasks): they join it at the
    /// next turn. Others join it at once.
    created: RefCell<Vec<RawDriver<'static, ()>>>,
    /// A task was created since the engine was last polled: the next turn polls it.
    tasks_created: Cell<bool>,
    /// The engine's parent waker: marks that a task was woken and wakes the loop's driver.
    tasks_waker: Waker,
    /// Woken when the last task left `tasks` (for `aiokit::run`'s final cancellation).
    tasks_empty: Cell<Option<Waker>>,
    exception_handler: RefCell<Option<ExceptionHandler>>,
    debug: Cell<bool>,
    slow_callback_duration: Cell<Duration>,
    jobs: Arc<Jobs>,
    #[cfg(unix)]
    pub(crate) signal_handlers: super::signal::SignalHandlers,
}

/// asyncio's event loop, on the current thread.
///
/// See the [module documentation](crate::event_loop) for the rules it keeps and where it
/// differs from asyncio. `EventLoop` is a cheap-to-clone reference (every clone is the same
/// loop, as [`get_running_loop`](crate::get_running_loop) returns it) and is not `Send`: a loop
/// belongs to the thread that made it. Other threads reach it through a [`LoopHandle`].
///
/// Dropping the last reference closes the loop: pending callbacks and tasks are dropped (the
/// tasks end cancelled). A callback or task that holds a clone of its own loop keeps it alive
/// until it has run or the loop is closed: call [`close`](EventLoop::close) when done, as in
/// asyncio.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = aiokit::EventLoop::new();
/// lp.call_soon(|| println!("Hello world!")).unwrap();
/// let stopper = lp.clone();
/// lp.call_later(Duration::from_millis(10), move || stopper.stop()).unwrap();
/// lp.run_forever().unwrap();
///
/// let task = lp.create_task(async { "green tea" });
/// assert_eq!(lp.run_until_complete(task).unwrap(), Ok("green tea"));
/// lp.close().unwrap();
/// ```
#[doc(alias(
    "get_event_loop",
    "new_event_loop",
    "AbstractEventLoop",
    "BaseEventLoop"
))]
#[derive(Clone)]
pub struct EventLoop {
    pub(crate) inner: Rc<LoopInner>,
}

impl EventLoop {
    /// A new loop, not running: on tokio when the `tokio` feature is enabled
    /// (`EventLoop::tokio()`), else on the smol-rs crates ([`EventLoop::smol`]).
    ///
    /// # Panics
    ///
    /// If the tokio runtime cannot be built (the OS refused its I/O driver).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// assert!(!lp.is_running());
    /// assert!(!lp.is_closed());
    /// ```
    #[doc(alias("new_event_loop", "get_event_loop"))]
    pub fn new() -> Self {
        #[cfg(feature = "tokio")]
        {
            EventLoop::tokio()
        }
        #[cfg(not(feature = "tokio"))]
        {
            EventLoop::smol()
        }
    }

    /// A loop built on smol-rs's crates: async-executor's `LocalExecutor` runs its tasks,
    /// async-io's `block_on` drives it, with async-io's timers and reactor (so async-io and
    /// async-net sockets work inside it).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::smol();
    /// assert_eq!(lp.run_until_complete(async { 1 + 1 }), Ok(2));
    /// ```
    pub fn smol() -> Self {
        EventLoop::with_backend(Kind::Smol, Backend::smol())
    }

    /// A loop on a current-thread tokio runtime (all drivers enabled) with a `LocalSet`:
    /// tokio's timers, sockets and signals work inside it.
    ///
    /// # Panics
    ///
    /// If the runtime cannot be built (the OS refused its I/O driver).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::tokio();
    /// let out = lp.run_until_complete(async {
    ///     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     "slept"
    /// });
    /// assert_eq!(out, Ok("slept"));
    /// ```
    #[cfg(feature = "tokio")]
    pub fn tokio() -> Self {
        let backend = Backend::tokio().expect("aiokit::EventLoop::tokio: building the runtime");
        EventLoop::with_backend(Kind::Tokio, backend)
    }

    fn with_backend(kind: Kind, backend: Backend) -> Self {
        let shared = Arc::new(Shared::new(kind));
        let tasks_waker = Waker::from(shared.clone());
        EventLoop {
            inner: Rc::new(LoopInner {
                shared,
                kind,
                calls: RefCell::new(Slab::new()),
                ready: RefCell::new(VecDeque::new()),
                ready_head: Cell::new(0),
                timers: RefCell::new(BinaryHeap::new()),
                timer_cancelled: Cell::new(0),
                seq: Cell::new(0),
                stopping: Cell::new(false),
                running: Cell::new(false),
                closed: Cell::new(false),
                driver_waiting: Cell::new(false),
                backend: RefCell::new(Some(Rc::new(backend))),
                tasks: RefCell::new(Slab::new()),
                engine: RefCell::new(task_engine()),
                created: RefCell::new(Vec::new()),
                tasks_created: Cell::new(false),
                tasks_waker,
                tasks_empty: Cell::new(None),
                exception_handler: RefCell::new(None),
                debug: Cell::new(false),
                slow_callback_duration: Cell::new(DEFAULT_SLOW_CALLBACK_DURATION),
                jobs: Arc::default(),
                #[cfg(unix)]
                signal_handlers: Default::default(),
            }),
        }
    }

    /// Runs the loop until [`stop`](EventLoop::stop) is called (asyncio's `run_forever`).
    ///
    /// `stop()` from a callback: the loop returns once the callbacks that were queued when it
    /// was called have run. `stop()` before `run_forever()`: the loop runs one turn (the
    /// callbacks queued by then), then returns. The loop can be run again afterwards.
    ///
    /// # Errors
    ///
    /// [`EventLoopError::AlreadyRunning`] if this loop runs already,
    /// [`EventLoopError::AnotherLoopRunning`] if another loop (or a tokio runtime, for a tokio
    /// loop) runs on this thread, [`EventLoopError::Closed`] after [`close`](EventLoop::close).
    ///
    /// # Panics
    ///
    /// Never for a callback's or a task's panic: those go to the
    /// [exception handler](EventLoop::set_exception_handler).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let stopper = lp.clone();
    /// lp.call_soon(move || stopper.stop()).unwrap();
    /// lp.run_forever().unwrap();
    /// assert!(!lp.is_running());
    /// ```
    pub fn run_forever(&self) -> Result<(), EventLoopError> {
        let (_guard, backend) = self.inner.enter()?;
        backend.block_on(self.inner.drive());
        Ok(())
    }

    /// Runs the loop until `fut` is done, and returns its output (asyncio's
    /// `run_until_complete`).
    ///
    /// `fut` runs as a task of the loop ([`current_task`](crate::current_task) sees it), whose
    /// first step comes after the callbacks already queued; meanwhile the loop runs its
    /// callbacks and tasks. Once `fut` is done the loop stops as with [`stop`](EventLoop::stop).
    /// `fut` need not be `Send` nor `'static`: it may borrow from the caller. Anything that
    /// can be awaited is accepted: a future, a [`Task`] (by value, cloning its output) or
    /// `&task` (the output by reference).
    ///
    /// # Errors
    ///
    /// As [`run_forever`](EventLoop::run_forever), and
    /// [`EventLoopError::StoppedBeforeComplete`] if the loop was stopped before `fut` was done.
    /// asyncio leaves the unfinished task on the loop; here `fut` is dropped then (it may
    /// borrow from the caller), so its task ends cancelled.
    ///
    /// # Panics
    ///
    /// If `fut` panics, the panic goes on to the caller once the loop has left its running
    /// state (asyncio raises the coroutine's exception).
    ///
    /// # Examples
    ///
    /// ```
    /// #[aiokit::coroutine]
    /// fn coro_sum(numbers: Vec<i32>) -> i32 {
    ///     numbers.iter().sum()
    /// }
    ///
    /// let lp = aiokit::EventLoop::new();
    /// assert_eq!(lp.run_until_complete(coro_sum(vec![1, 2, 3, 4, 5])), Ok(15));
    ///
    /// let stopper = lp.clone();
    /// let stopped = lp.run_until_complete(async move {
    ///     stopper.stop();
    ///     std::future::pending::<()>().await
    /// });
    /// assert_eq!(stopped, Err(aiokit::event_loop::EventLoopError::StoppedBeforeComplete));
    /// ```
    pub fn run_until_complete<F: IntoFuture>(&self, fut: F) -> Result<F::Output, EventLoopError> {
        let (_guard, backend) = self.inner.enter()?;
        let fut = fut.into_future();
        let mut output = None;
        {
            let out = &mut output;
            let (_task, erased, driver) = erased_task_driver(async move {
                *out = Some(fut.await);
            });
            let entry = self.inner.register(AnyTask::new(erased));
            let main = Tracked::<_, Unwind>::new(driver, entry);
            let inner = &self.inner;
            let main = async move {
                main.await;
                inner.stop();
                core::future::pending::<()>().await
            };
            backend.block_on(first_of(self.inner.drive(), main));
        }
        output.ok_or(EventLoopError::StoppedBeforeComplete)
    }

    /// Stops the loop (asyncio's `stop`): [`run_forever`](EventLoop::run_forever) returns
    /// after the callbacks already queued have run. If the loop is not running, the next run
    /// runs one turn and returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// lp.call_soon(|| println!("runs in the one turn")).unwrap();
    /// lp.stop();
    /// lp.run_forever().unwrap();
    /// ```
    pub fn stop(&self) {
        self.inner.stop();
    }

    /// Whether the loop is running (in `run_forever` or `run_until_complete`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let inside = lp.clone();
    /// assert_eq!(lp.run_until_complete(async move { inside.is_running() }), Ok(true));
    /// assert!(!lp.is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.inner.running.get()
    }

    /// Closes the loop (asyncio's `close`): drops the callbacks still queued and the tasks
    /// still pending (they end cancelled), and refuses any later run or scheduling. Closing a
    /// closed loop does nothing.
    ///
    /// # Errors
    ///
    /// [`EventLoopError::CloseRunning`] on a running loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let task = lp.create_task(std::future::pending::<()>());
    /// lp.close().unwrap();
    /// lp.close().unwrap();
    /// assert!(lp.is_closed());
    /// assert!(task.cancelled());
    /// assert_eq!(lp.call_soon(|| {}).unwrap_err(), aiokit::event_loop::EventLoopError::Closed);
    /// ```
    pub fn close(&self) -> Result<(), EventLoopError> {
        if self.inner.running.get() {
            return Err(EventLoopError::CloseRunning);
        }
        self.inner.close();
        Ok(())
    }

    /// Whether [`close`](EventLoop::close) was called.
    ///
    /// # Examples
    ///
    /// See [`close`](EventLoop::close).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// The loop's monotonic clock (asyncio's `loop.time()`), the time base of
    /// [`call_at`](EventLoop::call_at) and [`TimerHandle::when`]. A tokio loop reads tokio's
    /// clock, so a paused tokio clock is the loop's clock too.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let a = lp.time();
    /// assert!(lp.time() >= a);
    /// ```
    pub fn time(&self) -> Instant {
        self.inner.kind.now()
    }

    /// Schedules `callback` to run once on a later turn of the loop, after the callbacks
    /// already queued (asyncio's `call_soon`). Closures and [`partial!`](macro@crate::partial)
    /// values are callbacks; see [`Callback`].
    ///
    /// # Errors
    ///
    /// [`EventLoopError::Closed`] after [`close`](EventLoop::close).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let lp = aiokit::EventLoop::new();
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// for word in ["first", "second"] {
    ///     let log = log.clone();
    ///     lp.call_soon(move || log.borrow_mut().push(word)).unwrap();
    /// }
    /// lp.stop();
    /// lp.run_forever().unwrap();
    /// assert_eq!(*log.borrow(), ["first", "second"]);
    /// ```
    pub fn call_soon<C: Callback>(&self, callback: C) -> Result<Handle, EventLoopError> {
        self.inner.call_soon(callback)
    }

    /// Schedules `callback` to run `delay` from now, on the loop's clock (asyncio's
    /// `call_later`). Callbacks run at or after their time, in time order (those set for the
    /// same instant in the order they were scheduled); a zero delay runs on a later turn,
    /// after the callbacks already queued.
    ///
    /// # Errors
    ///
    /// [`EventLoopError::Closed`] after [`close`](EventLoop::close).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = aiokit::EventLoop::new();
    /// let stopper = lp.clone();
    /// let timer = lp.call_later(Duration::from_millis(2), move || stopper.stop()).unwrap();
    /// lp.run_forever().unwrap();
    /// assert!(lp.time() >= timer.when());
    /// ```
    pub fn call_later<C: Callback>(
        &self,
        delay: Duration,
        callback: C,
    ) -> Result<TimerHandle, EventLoopError> {
        self.call_at(self.time() + delay, callback)
    }

    /// Schedules `callback` to run at `when`, on the loop's clock ([`time`](EventLoop::time));
    /// otherwise as [`call_later`](EventLoop::call_later).
    ///
    /// [`TimerHandle::cancel`] drops the callback at once. The heap entry (no user value) goes
    /// when it reaches the head, or sooner by asyncio's rule: once more than half of more than
    /// 100 timers are cancelled, the cancelled ones are removed together (checked at each
    /// cancel and each turn), so re-arming and cancelling a far-future timeout per request
    /// keeps the heap small.
    ///
    /// # Errors
    ///
    /// [`EventLoopError::Closed`] after [`close`](EventLoop::close).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = aiokit::EventLoop::new();
    /// let when = lp.time() + Duration::from_millis(1);
    /// let timer = lp.call_at(when, || println!("on time")).unwrap();
    /// assert_eq!(timer.when(), when);
    /// # lp.close().unwrap();
    /// ```
    pub fn call_at<C: Callback>(
        &self,
        when: Instant,
        callback: C,
    ) -> Result<TimerHandle, EventLoopError> {
        self.inner.call_at(when, callback)
    }

    /// Schedules `fut` as a task of the loop and returns its handle (asyncio's
    /// `loop.create_task`). The future need not be `Send`; none of it runs before the loop
    /// runs it, on a later turn. The task runs whether or not its handle is kept.
    ///
    /// # Panics
    ///
    /// On a closed loop (asyncio raises `RuntimeError`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let lp = aiokit::EventLoop::new();
    /// let task = lp.create_task(async { Rc::new("not Send") });
    /// assert!(!task.done()); // nothing ran yet
    /// lp.run_until_complete(&task).unwrap().unwrap();
    /// assert_eq!(**task.result().unwrap(), "not Send");
    /// ```
    #[doc(alias("ensure_future", "async"))]
    pub fn create_task<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.inner.closed.get() {
            panic!("aiokit::EventLoop::create_task: {}", EventLoopError::Closed);
        }
        self.inner.create_task(fut)
    }

    /// A `Send + Sync` handle to this loop, for other threads:
    /// [`call_soon_threadsafe`](LoopHandle::call_soon_threadsafe),
    /// [`create_task_threadsafe`](LoopHandle::create_task_threadsafe),
    /// [`run_coroutine_threadsafe`](crate::run_coroutine_threadsafe).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let handle = lp.handle();
    /// std::thread::spawn(move || {
    ///     handle.call_soon_threadsafe(|| println!("from a thread")).unwrap();
    /// })
    /// .join()
    /// .unwrap();
    /// lp.stop();
    /// lp.run_forever().unwrap();
    /// ```
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            shared: self.inner.shared.clone(),
        }
    }

    /// Runs the blocking function `f` on a thread pool and gives a future of its output
    /// (asyncio's `run_in_executor(None, f)`): tokio's blocking pool on a tokio loop, the
    /// `blocking` crate's pool otherwise. See [`to_thread`](crate::to_thread).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let work = lp.run_in_executor(|| (1..=10).product::<u64>());
    /// assert_eq!(lp.run_until_complete(work), Ok(3_628_800));
    /// ```
    pub fn run_in_executor<F, T>(&self, f: F) -> ToThread<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let job = JobGuard::start(&self.inner.jobs);
        let f = move || {
            let _job = job;
            f()
        };
        match self.inner.backend() {
            Some(backend) => backend.to_thread(f),
            None => ToThread::spawn(self.inner.kind, f),
        }
    }

    /// Waits until every blocking function this loop started
    /// ([`run_in_executor`](EventLoop::run_in_executor), [`to_thread`](crate::to_thread) on
    /// this loop) has returned, also those whose future was dropped after they started (asyncio's
    /// `shutdown_default_executor`, which [`aiokit::run`](crate::run) awaits before closing
    /// the loop, as `asyncio.run` does).
    ///
    /// The pool itself is not shut down (it is the process's, or the tokio runtime's), so
    /// `run_in_executor` still works afterwards (asyncio raises `RuntimeError`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let lp = aiokit::EventLoop::new();
    /// let done = Arc::new(AtomicBool::new(false));
    /// let flag = done.clone();
    /// let job = lp.run_in_executor(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(5));
    ///     flag.store(true, Ordering::SeqCst);
    /// });
    /// // Never awaited, yet waited for.
    /// lp.run_until_complete(lp.shutdown_default_executor()).unwrap();
    /// assert!(done.load(Ordering::SeqCst));
    /// drop(job);
    /// ```
    pub fn shutdown_default_executor(&self) -> impl Future<Output = ()> + 'static {
        let jobs = self.inner.jobs.clone();
        async move {
            loop {
                if jobs.running.load(Ordering::Acquire) == 0 {
                    return;
                }
                let idle = jobs.idle.listen();
                if jobs.running.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        }
    }

    /// Sets the handler that is told about a callback or task that panicked (asyncio's
    /// `set_exception_handler`); the loop goes on either way. The default handler prints
    /// [`ExceptionContext`]'s `Display` to stderr, like asyncio's "Exception in callback ...".
    ///
    /// # Examples
    ///
    /// See [`ExceptionContext`].
    pub fn set_exception_handler(&self, handler: impl Fn(&ExceptionContext<'_>) + 'static) {
        let old = self.inner.exception_handler.replace(Some(Rc::new(handler)));
        drop(old);
    }

    /// Restores the default exception handler (asyncio's `set_exception_handler(None)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// lp.set_exception_handler(|_: &aiokit::event_loop::ExceptionContext<'_>| {});
    /// lp.clear_exception_handler();
    /// ```
    pub fn clear_exception_handler(&self) {
        let old = self.inner.exception_handler.replace(None);
        drop(old);
    }

    /// The handler set by [`set_exception_handler`](EventLoop::set_exception_handler), or
    /// `None` for the default one (asyncio's `get_exception_handler`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// assert!(lp.get_exception_handler().is_none());
    /// lp.set_exception_handler(|_: &aiokit::event_loop::ExceptionContext<'_>| {});
    /// let handler = lp.get_exception_handler().unwrap();
    /// handler(&aiokit::event_loop::ExceptionContext::new("called directly"));
    /// ```
    pub fn get_exception_handler(&self) -> Option<ExceptionHandler> {
        self.inner.exception_handler.borrow().clone()
    }

    /// Hands `context` to the loop's exception handler, or to the
    /// [default one](EventLoop::default_exception_handler) (asyncio's
    /// `call_exception_handler`). If the handler panics, the default handler reports that
    /// panic ("Unhandled error in exception handler") and the original context; nothing
    /// unwinds out of this call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// use aiokit::event_loop::ExceptionContext;
    ///
    /// let lp = aiokit::EventLoop::new();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let log = seen.clone();
    /// lp.set_exception_handler(move |ctx: &ExceptionContext<'_>| {
    ///     log.borrow_mut().push(ctx.message().to_string())
    /// });
    /// lp.call_exception_handler(&ExceptionContext::new("Connection lost"));
    /// assert_eq!(*seen.borrow(), ["Connection lost"]);
    /// ```
    pub fn call_exception_handler(&self, context: &ExceptionContext<'_>) {
        self.inner.call_exception_handler(context);
    }

    /// The default exception handler (asyncio's `default_exception_handler`): prints
    /// `aiokit: ` and the context's `Display` to stderr (asyncio logs it with `logging`).
    /// A custom handler may call it to keep the default report.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let default = lp.clone();
    /// lp.set_exception_handler(move |ctx: &aiokit::event_loop::ExceptionContext<'_>| {
    ///     // Count it somewhere, then report as usual.
    ///     default.default_exception_handler(ctx);
    /// });
    /// ```
    pub fn default_exception_handler(&self, context: &ExceptionContext<'_>) {
        default_exception_handler(context);
    }

    /// Calls `callback` on the loop, by [`call_soon`](EventLoop::call_soon), each time the
    /// process receives `signal` (asyncio's `add_signal_handler`, Unix only as in asyncio).
    /// A handler set for the same signal before is replaced. The signal is caught from this
    /// call on (its default action, such as ending the process for `SIGTERM`, no longer
    /// happens); the loop hears of it while it runs.
    ///
    /// Where aiokit differs: [`remove_signal_handler`](EventLoop::remove_signal_handler) and
    /// [`close`](EventLoop::close) stop the calls but do not restore the signal's default
    /// action (the signal is then ignored), as async-signal, which does the catching, leaves
    /// its handler installed; the callback takes no arguments (bind them in the closure).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`](std::io::ErrorKind::InvalidInput) for a signal that
    /// cannot be caught (`SIGKILL`, `SIGSTOP`, and `SIGILL`, `SIGFPE`, `SIGSEGV`); an error
    /// wrapping [`EventLoopError::Closed`] on a closed loop; the OS's error if registering
    /// failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::event_loop::Signal;
    ///
    /// let lp = aiokit::EventLoop::new();
    /// let stopper = lp.clone();
    /// lp.add_signal_handler(Signal::Usr1, move || {
    ///     println!("got SIGUSR1");
    ///     stopper.stop();
    /// })
    /// .unwrap();
    /// lp.call_soon(|| {
    ///     rustix::process::kill_process(
    ///         rustix::process::getpid(),
    ///         rustix::process::Signal::USR1,
    ///     )
    ///     .unwrap()
    /// })
    /// .unwrap();
    /// lp.run_forever().unwrap(); // stopped by the handler
    /// assert!(lp.remove_signal_handler(Signal::Usr1));
    /// ```
    #[cfg(unix)]
    pub fn add_signal_handler(
        &self,
        signal: super::signal::Signal,
        callback: impl Fn() + 'static,
    ) -> std::io::Result<()> {
        super::signal::add(&self.inner, signal, callback)
    }

    /// Removes the handler of `signal`; whether there was one (asyncio's
    /// `remove_signal_handler`). See [`add_signal_handler`](EventLoop::add_signal_handler).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// assert!(!lp.remove_signal_handler(aiokit::event_loop::Signal::Usr2));
    /// ```
    #[cfg(unix)]
    pub fn remove_signal_handler(&self, signal: super::signal::Signal) -> bool {
        self.inner.signal_handlers.remove(signal)
    }

    /// Whether the loop is in debug mode (asyncio's `get_debug`); off by default.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// assert!(!lp.get_debug());
    /// lp.set_debug(true);
    /// assert!(lp.get_debug());
    /// ```
    pub fn get_debug(&self) -> bool {
        self.inner.debug.get()
    }

    /// Turns debug mode on or off (asyncio's `set_debug`). In debug mode, a callback that
    /// runs for [`slow_callback_duration`](EventLoop::slow_callback_duration) or longer is
    /// reported to the exception handler as `Executing <Handle NAME> took 0.150 seconds`
    /// (asyncio logs that warning with `logging`; a task's step is not timed here). asyncio's
    /// other debug checks (calls from the wrong thread, coroutines never awaited) are always on
    /// in aiokit: the types refuse the first, and a never-awaited coroutine is reported anyway.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    ///
    /// let lp = aiokit::EventLoop::new();
    /// let warnings = Rc::new(RefCell::new(Vec::new()));
    /// let log = warnings.clone();
    /// lp.set_exception_handler(move |ctx: &aiokit::event_loop::ExceptionContext<'_>| {
    ///     log.borrow_mut().push(ctx.message().to_string())
    /// });
    /// lp.set_debug(true);
    /// lp.set_slow_callback_duration(Duration::from_millis(5));
    /// lp.call_soon(|| std::thread::sleep(Duration::from_millis(10))).unwrap();
    /// lp.stop();
    /// lp.run_forever().unwrap();
    /// assert!(warnings.borrow()[0].starts_with("Executing <Handle "));
    /// ```
    pub fn set_debug(&self, enabled: bool) {
        self.inner.debug.set(enabled);
    }

    /// How long a callback may run before debug mode reports it (asyncio's
    /// `slow_callback_duration`): 100 ms unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// assert_eq!(lp.slow_callback_duration(), std::time::Duration::from_millis(100));
    /// ```
    pub fn slow_callback_duration(&self) -> Duration {
        self.inner.slow_callback_duration.get()
    }

    /// Sets [`slow_callback_duration`](EventLoop::slow_callback_duration) (asyncio assigns
    /// the attribute).
    ///
    /// # Examples
    ///
    /// See [`set_debug`](EventLoop::set_debug).
    pub fn set_slow_callback_duration(&self, duration: Duration) {
        self.inner.slow_callback_duration.set(duration);
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        EventLoop::new()
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<EventLoop {} running={} closed={}>",
            self.inner.kind.name(),
            self.is_running(),
            self.is_closed()
        )
    }
}

/// asyncio's `default_exception_handler`: the context's `Display` on stderr. Printing never
/// unwinds (a closed stderr loses the report).
fn default_exception_handler(context: &ExceptionContext<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "aiokit: {context}");
}

/// Runs `a` and `b` together until `a` is done (`b` is polled after `a`, until it is done).
async fn first_of<A: Future<Output = ()>, B: Future<Output = ()>>(a: A, b: B) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut b_done = false;
    core::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if !b_done && b.as_mut().poll(cx).is_ready() {
            b_done = true;
        }
        Poll::Pending
    })
    .await
}

/// An engine for the loop's tasks: queued mode from the start (each turn polls only the woken
/// tasks), slots reused (memory bounded by the tasks alive at once).
fn task_engine() -> Engine<RawDriver<'static, ()>> {
    let mut engine = Engine::with_capacity(crate::engine::DIRECT_MAX + 1);
    engine.reuse_slots();
    engine
}

/// Returns `Pending` once, waking itself: lets the executor run its tasks.
async fn yield_now() {
    let mut yielded = false;
    core::future::poll_fn(|cx| {
        if mem::replace(&mut yielded, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

impl LoopInner {
    pub(crate) fn backend(&self) -> Option<Rc<Backend>> {
        self.backend.borrow().clone()
    }

    /// Checks that the loop may run here and marks it running until the guard is dropped.
    fn enter(self: &Rc<Self>) -> Result<(RunningGuard, Rc<Backend>), EventLoopError> {
        if self.closed.get() {
            return Err(EventLoopError::Closed);
        }
        if self.running.get() {
            return Err(EventLoopError::AlreadyRunning);
        }
        if running_loop().is_some() {
            return Err(EventLoopError::AnotherLoopRunning);
        }
        #[cfg(feature = "tokio")]
        if self.kind == Kind::Tokio && tokio::runtime::Handle::try_current().is_ok() {
            return Err(EventLoopError::AnotherLoopRunning);
        }
        let backend = self.backend().ok_or(EventLoopError::Closed)?;
        self.running.set(true);
        self.shared.set_running(true);
        Ok((RunningGuard::enter(self), backend))
    }

    /// Called by the guard when a run ends, also by unwinding.
    pub(crate) fn leave(&self) {
        self.running.set(false);
        self.stopping.set(false);
        self.driver_waiting.set(false);
        self.shared.set_running(false);
    }

    pub(crate) fn stop(&self) {
        self.stopping.set(true);
        self.wake_driver();
    }

    fn wake_driver(&self) {
        if self.driver_waiting.replace(false) {
            self.shared.wake();
        }
    }

    pub(crate) fn check_open(&self) -> Result<(), EventLoopError> {
        if self.closed.get() {
            Err(EventLoopError::Closed)
        } else {
            Ok(())
        }
    }

    fn next_seq(&self) -> u64 {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        seq
    }

    pub(crate) fn call_soon<C: Callback>(
        self: &Rc<Self>,
        callback: C,
    ) -> Result<Handle, EventLoopError> {
        self.check_open()?;
        let (ready, name) = soon(callback);
        let position = self.push_ready(ready);
        self.wake_driver();
        Ok(Handle::local(Rc::downgrade(self), SOON, position, name))
    }

    /// Queues `ready`; gives its position.
    pub(crate) fn push_ready(&self, ready: Ready) -> u64 {
        let mut queue = self.ready.borrow_mut();
        let position = self.ready_head.get() + queue.len() as u64;
        queue.push_back(ready);
        position
    }

    /// Takes the first entry of the ready queue.
    fn pop_ready(&self) -> Option<Ready> {
        let next = self.ready.borrow_mut().pop_front();
        if next.is_some() {
            self.ready_head.set(self.ready_head.get() + 1);
        }
        next
    }

    fn call_at<C: Callback>(
        self: &Rc<Self>,
        when: Instant,
        callback: C,
    ) -> Result<TimerHandle, EventLoopError> {
        self.check_open()?;
        let seq = self.next_seq();
        let (pending, name) = Pending::new(seq, callback, true);
        let key = self.calls.borrow_mut().insert(pending);
        table_key(key);
        self.timers
            .borrow_mut()
            .push(Reverse(Timer { when, seq, key }));
        self.wake_driver();
        Ok(TimerHandle {
            handle: Handle::local(Rc::downgrade(self), key, seq, name),
            when,
        })
    }

    /// Takes the timer `key` out of the loop's table if it is still the one of `seq`.
    fn take_call(&self, key: usize, seq: u64) -> Option<Pending> {
        let mut calls = self.calls.borrow_mut();
        match calls.get(key) {
            Some(pending) if pending.seq() == seq => Some(calls.remove(key)),
            _ => None,
        }
    }

    /// [`take_call`](Self::take_call) for a due timer's ready-queue entry, which keeps the low 32 bits of
    /// the sequence number.
    fn take_ready(&self, key: u32, seq: u32) -> Option<Pending> {
        let key = key as usize;
        let mut calls = self.calls.borrow_mut();
        match calls.get(key) {
            Some(pending) if pending.seq() as u32 == seq => Some(calls.remove(key)),
            _ => None,
        }
    }

    fn is_live(&self, key: usize, seq: u64) -> bool {
        matches!(self.calls.borrow().get(key), Some(pending) if pending.seq() == seq)
    }

    /// A handle's `cancel`: the callback leaves the loop's queue or table and is dropped now
    /// (outside the loop's borrows); a timer's heap entry is counted, and the heap purged if
    /// cancelled timers are most of it.
    pub(crate) fn cancel_local(&self, key: usize, seq: u64) {
        if key == SOON {
            self.cancel_soon(seq);
            return;
        }
        let Some(pending) = self.take_call(key, seq) else {
            return;
        };
        if pending.in_heap() {
            self.timer_cancelled.set(self.timer_cancelled.get() + 1);
            self.purge_cancelled_timers();
        }
        drop(pending);
    }

    /// A `call_soon` handle's `cancel`: the callback at `position` in the ready queue, if the
    /// loop has not reached it, is dropped now (outside the loop's borrows).
    fn cancel_soon(&self, position: u64) {
        let cancelled = {
            let mut queue = self.ready.borrow_mut();
            let index = position.checked_sub(self.ready_head.get());
            match index.and_then(|i| queue.get_mut(usize::try_from(i).ok()?)) {
                Some(entry @ Ready::Soon(_)) => Some(mem::replace(entry, Ready::Cancelled)),
                _ => None,
            }
        };
        drop(cancelled);
    }

    /// asyncio's rule (`_run_once`): when the heap holds more than
    /// [`MIN_SCHEDULED_TIMER_HANDLES`] timers and more than half of them are cancelled, the
    /// cancelled ones are removed at once.
    fn purge_cancelled_timers(&self) {
        let cancelled = self.timer_cancelled.get();
        let scheduled = self.timers.borrow().len();
        if scheduled <= MIN_SCHEDULED_TIMER_HANDLES || cancelled * 2 <= scheduled {
            return;
        }
        let calls = self.calls.borrow();
        self.timers.borrow_mut().retain(
            |Reverse(t)| matches!(calls.get(t.key), Some(pending) if pending.seq() == t.seq),
        );
        self.timer_cancelled.set(0);
    }

    /// How many timers the loop's heap holds, cancelled ones not yet removed included.
    #[cfg(test)]
    pub(crate) fn scheduled_timers(&self) -> usize {
        self.timers.borrow().len()
    }

    /// Runs `fut` on the loop's executor without making it a task of the loop: `all_tasks`
    /// does not list it, `aiokit::run`'s shutdown does not cancel it; it is dropped when the
    /// loop closes. A panic is reported to the exception handler under `name`.
    pub(crate) fn spawn_background<F: Future<Output = ()> + 'static>(
        self: &Rc<Self>,
        name: &'static str,
        fut: F,
    ) {
        let Some(backend) = self.backend() else {
            return;
        };
        let lp = Rc::downgrade(self);
        let mut fut = Box::pin(fut);
        backend.spawn(async move {
            let outcome = core::future::poll_fn(|cx| {
                match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                    Ok(poll) => poll.map(Ok),
                    Err(payload) => Poll::Ready(Err(payload)),
                }
            })
            .await;
            if let (Err(payload), Some(lp)) = (outcome, lp.upgrade()) {
                let message = format!("Exception in background future {name}");
                lp.report(&message, name, &*payload);
            }
        });
    }

    /// Makes `fut` a task of the loop: one allocation (the task's state and its future), queued
    /// for the engine, whose first poll comes at the next turn.
    pub(crate) fn create_task<F>(self: &Rc<Self>, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let (task, driver) = local_task_cell(|completer| {
            let entry = self.register(AnyTask::new(completer.erased()));
            LoopTask::new(fut, completer, entry)
        });
        let mut created = self.created.borrow_mut();
        match self.engine.try_borrow_mut() {
            // Behind the tasks still queued, so that tasks first run in the order they were
            // created.
            Ok(mut engine) if created.is_empty() => {
                engine.push(driver);
            }
            // Created by a task, while the engine polls it (or behind such tasks).
            _ => created.push(driver),
        }
        drop(created);
        self.tasks_created.set(true);
        self.wake_driver();
        task
    }

    /// Polls the tasks that were woken, and first those created since the last call.
    fn run_tasks(&self) {
        self.shared.take_tasks_woken();
        self.tasks_created.set(false);
        let mut engine = self.engine.borrow_mut();
        engine.push_all(&mut self.created.borrow_mut());
        let mut cx = Context::from_waker(&self.tasks_waker);
        // A task's output is `()`, its panic was reported: nothing to keep.
        engine.poll_drive(&mut cx, |_, output| {
            *output = None;
            Step::Continue
        });
    }

    /// Lists `task` among the loop's tasks until its driver gives back the entry.
    pub(crate) fn register(self: &Rc<Self>, task: AnyTask) -> Entry {
        let key = self.tasks.borrow_mut().insert(task);
        Entry {
            lp: Rc::downgrade(self),
            key,
        }
    }

    /// The registered task at `key` (see [`register`](Self::register)).
    pub(crate) fn task(&self, key: usize) -> Option<AnyTask> {
        self.tasks.borrow().get(key).cloned()
    }

    pub(crate) fn unregister(&self, key: usize) {
        let (removed, empty) = {
            let mut tasks = self.tasks.borrow_mut();
            (tasks.try_remove(key), tasks.is_empty())
        };
        if empty {
            if let Some(waker) = self.tasks_empty.take() {
                waker.wake();
            }
        }
        drop(removed);
    }

    pub(crate) fn all_tasks(&self) -> Vec<AnyTask> {
        self.tasks
            .borrow()
            .iter()
            .map(|(_, task)| task.clone())
            .filter(|task| !task.done())
            .collect()
    }

    /// Cancels every task of the loop and runs it until they have all ended (the end of
    /// `aiokit::run`).
    pub(crate) fn cancel_all_tasks(self: &Rc<Self>) {
        if self.tasks.borrow().is_empty() {
            return;
        }
        let Ok((_guard, backend)) = self.enter() else {
            return;
        };
        let finished = async {
            core::future::poll_fn(|cx| {
                let tasks: Vec<AnyTask> =
                    self.tasks.borrow().iter().map(|(_, t)| t.clone()).collect();
                if tasks.is_empty() {
                    return Poll::Ready(());
                }
                // Again on every wake-up: a task dropped while cancelled may have made others.
                for task in &tasks {
                    task.cancel();
                }
                self.tasks_empty.set(Some(cx.waker().clone()));
                Poll::Pending
            })
            .await;
            self.stop();
            core::future::pending::<()>().await
        };
        backend.block_on(first_of(self.drive(), finished));
    }

    /// Reports a panic to the exception handler.
    pub(crate) fn report(&self, message: &str, name: &str, payload: &(dyn Any + Send)) {
        let ctx = ExceptionContext::new(message)
            .with_name(name)
            .with_payload(payload);
        self.call_exception_handler(&ctx);
    }

    /// asyncio's `call_exception_handler`: the handler's own panic goes to the default
    /// handler, with the context it was given.
    fn call_exception_handler(&self, ctx: &ExceptionContext<'_>) {
        let handler = self.exception_handler.borrow().clone();
        let Some(handler) = handler else {
            default_exception_handler(ctx);
            return;
        };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler(ctx))) {
            let failure = ExceptionContext::new("Unhandled error in exception handler")
                .with_name(ctx.name)
                .with_payload(&*payload);
            default_exception_handler(&failure);
            default_exception_handler(ctx);
        }
    }

    /// Debug mode's report of a callback that ran for `slow_callback_duration` or longer.
    fn report_slow(&self, name: &str, took: Duration) {
        let message = format!(
            "Executing <Handle {name}> took {:.3} seconds",
            took.as_secs_f64()
        );
        self.call_exception_handler(&ExceptionContext::new(&message).with_name(name));
    }

    /// The earliest timer's time, dropping cancelled timers from the top of the heap (their
    /// callbacks were dropped when they were cancelled).
    fn next_timer(&self) -> Option<Instant> {
        let mut timers = self.timers.borrow_mut();
        loop {
            let Reverse(t) = timers.peek()?;
            if self.is_live(t.key, t.seq) {
                return Some(t.when);
            }
            timers.pop();
            self.timer_cancelled
                .set(self.timer_cancelled.get().saturating_sub(1));
        }
    }

    fn has_work(&self, now: Option<Instant>) -> bool {
        !self.ready.borrow().is_empty()
            || self.stopping.get()
            || self.shared.has_remote_work()
            || self.shared.tasks_woken()
            || self.tasks_created.get()
            || matches!((self.next_timer(), now), (Some(when), Some(now)) if when <= now)
    }

    /// Ready when the loop has a turn to run; otherwise waits for a callback, a stop, a remote
    /// call or the earliest timer.
    fn poll_turn(&self, cx: &mut Context<'_>, timer: &mut LoopTimer) -> Poll<()> {
        // Set again below if the driver parks: until then nobody needs to wake it.
        self.driver_waiting.set(false);
        if self.has_work(None) {
            return Poll::Ready(());
        }
        self.shared.register(cx.waker());
        self.driver_waiting.set(true);
        let now = self.kind.now();
        if self.has_work(Some(now)) {
            self.driver_waiting.set(false);
            return Poll::Ready(());
        }
        if let Some(when) = self.next_timer() {
            if timer.poll_at(when, cx).is_ready() {
                self.driver_waiting.set(false);
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }

    /// One turn (asyncio's `_run_once`): take in remote calls and due timers, then run the
    /// callbacks queued at this point, each once.
    fn run_once(self: &Rc<Self>) {
        if self.shared.take_stop() {
            self.stopping.set(true);
        }
        for remote in self.shared.take_remote() {
            match remote {
                Remote::Call(ready) => {
                    self.push_ready(ready);
                }
                Remote::Spawn(spawn) => spawn(self),
            }
        }
        self.purge_cancelled_timers();
        let now = self.kind.now();
        {
            let mut timers = self.timers.borrow_mut();
            let mut calls = self.calls.borrow_mut();
            // Positions are implicit (the head's plus the index): pushing here keeps them.
            let mut ready = self.ready.borrow_mut();
            while let Some(Reverse(t)) = timers.peek() {
                match calls.get_mut(t.key) {
                    Some(pending) if pending.seq() == t.seq => {
                        if t.when > now {
                            break;
                        }
                        pending.leave_heap();
                        ready.push_back(Ready::Timer {
                            key: t.key as u32,
                            seq: t.seq as u32,
                        });
                    }
                    // Cancelled: its callback is gone already.
                    _ => self
                        .timer_cancelled
                        .set(self.timer_cancelled.get().saturating_sub(1)),
                }
                timers.pop();
            }
        }
        let ntodo = self.ready.borrow().len();
        for _ in 0..ntodo {
            let Some(ready) = self.pop_ready() else {
                break;
            };
            match ready {
                Ready::Soon(mut call) => {
                    let start = self.debug.get().then(|| self.kind.now());
                    let (name, outcome) = call.run();
                    if outcome.is_err() || start.is_some() {
                        self.ran(start, &name, outcome);
                    }
                }
                Ready::Timer { key, seq } => {
                    // Gone if it was cancelled.
                    let Some(mut pending) = self.take_ready(key, seq) else {
                        continue;
                    };
                    let start = self.debug.get().then(|| self.kind.now());
                    let (name, outcome) = run_timer(&mut pending);
                    if outcome.is_err() || start.is_some() {
                        self.ran(start, &name, outcome);
                    }
                }
                Ready::Cancelled => {}
                Ready::Remote(call) => {
                    if call.cancelled() {
                        continue;
                    }
                    let start = self.debug.get().then(|| self.kind.now());
                    let outcome = run_remote(&call);
                    if outcome.is_err() || start.is_some() {
                        self.ran(start, call.name(), outcome);
                    }
                }
            }
        }
    }

    /// After a callback that panicked, or any in debug mode: its panic to the exception
    /// handler, and in debug mode, the report of a slow callback (asyncio's `_run_once`).
    #[cold]
    fn ran(&self, start: Option<Instant>, name: &str, outcome: Result<(), Box<dyn Any + Send>>) {
        if let Err(payload) = outcome {
            let message = format!("Exception in callback {name}");
            self.report(&message, name, &*payload);
        }
        if let Some(start) = start {
            let took = self.kind.now().saturating_duration_since(start);
            if took >= self.slow_callback_duration.get() {
                self.report_slow(name, took);
            }
        }
    }

    /// The loop's driver: turns until a turn ends with the loop stopping.
    pub(crate) async fn drive(self: &Rc<Self>) {
        let mut timer = LoopTimer::new(self.kind);
        loop {
            core::future::poll_fn(|cx| self.poll_turn(cx, &mut timer)).await;
            self.run_once();
            if self.stopping.replace(false) {
                return;
            }
            self.run_tasks();
            yield_now().await;
        }
    }

    /// Closes the loop: everything it still holds is dropped, outside its borrows.
    pub(crate) fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        let remote = self.shared.close();
        let ready = mem::take(&mut *self.ready.borrow_mut());
        self.ready_head
            .set(self.ready_head.get() + ready.len() as u64);
        let timers = mem::take(&mut *self.timers.borrow_mut());
        self.timer_cancelled.set(0);
        let calls = mem::take(&mut *self.calls.borrow_mut());
        let backend = self.backend.borrow_mut().take();
        let tasks = mem::take(&mut *self.tasks.borrow_mut());
        let created = mem::take(&mut *self.created.borrow_mut());
        let engine = mem::replace(&mut *self.engine.borrow_mut(), Engine::from_iter([]));
        let handler = self.exception_handler.borrow_mut().take();
        #[cfg(unix)]
        self.signal_handlers.clear();
        drop(remote);
        drop(ready);
        drop(timers);
        drop(calls);
        // Dropping the tasks' futures ends them cancelled; the executor's futures (the loop's
        // background futures) go next, while the runtime the tasks may use still exists.
        drop(created);
        drop(engine);
        drop(backend);
        drop(tasks);
        drop(handler);
    }
}

impl Drop for LoopInner {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loops() -> Vec<EventLoop> {
        #[cfg(feature = "tokio")]
        return vec![EventLoop::smol(), EventLoop::tokio()];
        #[cfg(not(feature = "tokio"))]
        return vec![EventLoop::smol()];
    }

    /// asyncio's `_run_once`: cancelled timers are purged once they are more than half of a
    /// heap of more than `_MIN_SCHEDULED_TIMER_HANDLES`; here `cancel` applies the rule too.
    mod cancelled_timers_are_purged_when_they_are_most_of_the_heap {
        use super::*;

        #[test]
        fn a_server_rearming_a_far_future_timeout_per_request_keeps_the_heap_bounded() {
            for lp in loops() {
                let mut most = 0;
                for _ in 0..10_000 {
                    let timeout = lp.call_later(Duration::from_secs(3600), || {}).unwrap();
                    timeout.cancel();
                    most = most.max(lp.inner.scheduled_timers());
                }
                assert!(most <= 2 * MIN_SCHEDULED_TIMER_HANDLES + 1, "{most}");
                assert!(lp.inner.calls.borrow().is_empty());
                lp.close().unwrap();
            }
        }

        #[test]
        fn live_timers_survive_the_purge_and_run_in_time_order() {
            for lp in loops() {
                let log = Rc::new(RefCell::new(Vec::new()));
                let start = lp.time();
                let mut doomed = Vec::new();
                for i in 0..300u64 {
                    let log = log.clone();
                    let timer = lp
                        .call_at(start + Duration::from_micros(300 - i), move || {
                            log.borrow_mut().push(i)
                        })
                        .unwrap();
                    if i % 3 != 0 {
                        doomed.push(timer);
                    }
                }
                for timer in &doomed {
                    timer.cancel();
                }
                // The 151st cancel made them more than half of 300: those 151 were purged;
                // the 49 cancelled after are under half of the 149 left, so they stay.
                assert_eq!(lp.inner.scheduled_timers(), 149);
                let stopper = lp.clone();
                lp.call_at(start + Duration::from_millis(1), move || stopper.stop())
                    .unwrap();
                lp.run_forever().unwrap();
                let expected: Vec<u64> = (0..300).rev().filter(|i| i % 3 == 0).collect();
                assert_eq!(*log.borrow(), expected);
                assert_eq!(lp.inner.scheduled_timers(), 0);
                lp.close().unwrap();
            }
        }

        #[test]
        fn a_small_heap_keeps_its_cancelled_timers_until_they_reach_the_head() {
            for lp in loops() {
                let far = lp.call_later(Duration::from_secs(3600), || {}).unwrap();
                let near = lp.call_later(Duration::from_secs(1), || {}).unwrap();
                far.cancel();
                // Below the threshold: nothing purged.
                assert_eq!(lp.inner.scheduled_timers(), 2);
                near.cancel();
                // One turn: the cancelled ones at the head are popped.
                lp.stop();
                lp.run_forever().unwrap();
                assert_eq!(lp.inner.scheduled_timers(), 0);
                assert_eq!(lp.inner.timer_cancelled.get(), 0);
                lp.close().unwrap();
            }
        }
    }
}
