//! Task handles and their helper types: [`Task`] and [`LocalTask`] (asyncio's `Task` for
//! futures spawned on any executor, also at the crate root), the [`DoneCallback`] trait and
//! its [`CallbackId`], [`TaskStateError`] (what [`Task::result`] reports before the end), and
//! [`SendBody`], the bound of [`TaskGroup::run`](crate::TaskGroup::run)'s body.

pub(crate) mod callback;
mod lifecycle;
mod local;
mod shield;
mod state;

use crate::engine::send_cell_ref::SendDynCellRef;
use crate::engine::task_cell::{CellRef, DynCellRef};
use crate::error::{CancelledError, InvalidStateError};
use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};

pub use crate::task_group::{
    Cancellable, SendBody, SendPlainBody, SpawningTaskGroup, StartError, Supervised, TaskGroupOn,
    TaskStatus,
};
pub use callback::{CallbackId, DoneCallback};
pub(crate) use lifecycle::{Step, TaskCell};
pub use local::LocalTask;
pub use shield::{Shield, shield};
#[cfg(feature = "event-loop")]
pub(crate) use state::task_trio;
pub(crate) use state::{Payload, TaskCompleter, local_task_cell, send_task_cell, task_pair};

use callback::{boxed_send, next_id, run_callback};
use state::Inner;

/// A handle to a task running on some executor (asyncio's `Task`, and its base `Future`).
///
/// Made by [`spawn_task`](crate::spawn_task), by [`spawn_local_task`](crate::spawn_local_task)
/// (a [`LocalTask`], which derefs to a `Task` and converts into one), or by a task group.
/// Handles are cheap to clone; every clone refers to the same task.
///
/// - **State**: [`done`](Task::done), [`cancelled`](Task::cancelled),
///   [`result`](Task::result) (a `&T`, no clone), [`exception`](Task::exception) for tasks
///   whose output is a `Result`.
/// - **Cancelling**: [`cancel`](Task::cancel) asks the task's driver to drop the future; the
///   driver does so on its executor at once (it is woken), then the task is cancelled.
/// - **Awaiting**: `task.await` gives `Result<T, CancelledError>` (cloning `T`, so it needs
///   `T: Clone`); `shield(&task).await` or `(&task).await` gives `Result<&T, CancelledError>`
///   for any `T`. An await returns only after every done-callback of the task has run.
/// - **Dropping is cancelling, for an await in progress**: a handle awaited by value (polled
///   at least once, directly or as a child of [`wait_for`](crate::wait_for_deadline), of a
///   combinator, of a `select!`) and dropped before the task ended cancels the task, as
///   asyncio cancels the task that a cancelled `await` (or a `wait_for` that timed out) was
///   waiting for. A handle never polled is only a reference: dropping it cancels nothing, so a
///   spawned task whose handles are all dropped runs to its end (fire and forget). Awaiting by
///   reference never cancels: `(&task).await`, [`shield(&task)`](shield), and `shield(&task)`
///   as a child of [`wait`](crate::wait()), [`gather`](crate::gather()) or
///   [`as_completed`](crate::as_completed()).
/// - **Callbacks**: [`add_done_callback`](Task::add_done_callback),
///   [`remove_done_callback`](Task::remove_done_callback).
/// - **Name**: [`name`](Task::name) is "Task-N" (a program-wide counter, as in asyncio)
///   until [`set_name`](Task::set_name). `Debug` prints `<Task pending name='Task-1'>`.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature and the futures-executor crate.
/// use aiokit::{Task, spawn_task};
///
/// # futures::executor::block_on(async {
/// let pool = futures_executor::ThreadPool::new().unwrap();
/// let task = spawn_task(&pool, async { 6 * 7 });
/// task.add_done_callback(|task: &Task<i32>| println!("{} gave {:?}", task.name(), task.result()));
/// assert_eq!(task.clone().await, Ok(42));
/// assert!(task.done());
/// assert_eq!(task.result(), Ok(&42));
/// # });
/// ```
///
/// Dropping is cancelling, for an await in progress only:
///
/// ```
/// // Needs aiokit's `futures-executor` feature and the futures-executor crate.
/// use aiokit::{CancelledError, shield, spawn_task};
/// use futures::future::{self, Either};
///
/// # futures::executor::block_on(async {
/// let pool = futures_executor::ThreadPool::new().unwrap();
/// let (tx, rx) = futures::channel::oneshot::channel::<u8>();
/// let task = spawn_task(&pool, async { rx.await.unwrap() });
///
/// drop(task.clone()); // never polled: only a reference, nothing happens
/// // `select` polls both and drops the loser, an await in progress: the task is cancelled.
/// match future::select(task.clone(), future::ready("fast")).await {
///     Either::Left(_) => unreachable!(),
///     Either::Right((winner, _task)) => assert_eq!(winner, "fast"),
/// }
/// assert_eq!(shield(&task).await, Err(CancelledError::new()));
/// # drop(tx);
/// # });
/// ```
#[doc(alias = "Future")]
pub struct Task<T> {
    /// One allocation shared by every handle and the task's driver; for a TaskGroup child it
    /// also holds the child's future (see `engine::task_cell`).
    inner: CellRef<Inner<T>>,
    /// This handle's slot among the task's awaiters while it is being awaited (see
    /// [`WaiterKey`]). Set exactly while the handle, polled as a future, is not ready yet: an
    /// await is in progress, and dropping the handle cancels the task.
    waiter: WaiterKey,
    /// Who awaits the task through this handle, for the call graph's `awaited_by`.
    #[cfg(feature = "inspect")]
    awaited_by: crate::graph::AwaitRecord,
}

/// A waiter key (`None`, or a key of `Inner::poll_finished`) in one word, so that a handle is
/// two words: key `k` is stored as `k + 2` (wrapping: the fast slot's `usize::MAX` is 1), and
/// zero is `None`. A slow-part key is an index into a vector, never `usize::MAX - 1`.
#[derive(Clone, Copy, Default)]
struct WaiterKey(Option<core::num::NonZeroUsize>);

impl WaiterKey {
    fn get(self) -> Option<usize> {
        self.0.map(|k| k.get().wrapping_sub(2))
    }

    fn set(&mut self, key: Option<usize>) {
        self.0 = key.and_then(|k| core::num::NonZeroUsize::new(k.wrapping_add(2)));
        debug_assert_eq!(self.get(), key, "waiter key out of range");
    }

    fn is_some(self) -> bool {
        self.0.is_some()
    }
}

// A handle is two words, as a `Vec` of many handles shows (`inspect` adds its await record).
#[cfg(not(feature = "inspect"))]
const _: () = assert!(core::mem::size_of::<Task<()>>() == 2 * core::mem::size_of::<usize>());

impl<T> Task<T> {
    fn from_inner(inner: CellRef<Inner<T>>) -> Self {
        Task {
            inner,
            waiter: WaiterKey::default(),
            #[cfg(feature = "inspect")]
            awaited_by: crate::graph::AwaitRecord::new(),
        }
    }

    /// The task's number, unique in the program.
    #[cfg(feature = "inspect")]
    pub(crate) fn number(&self) -> u64 {
        self.inner.number()
    }

    /// Whether a `cancel()` on this task has returned true (read after the task ended: whether
    /// a cancel came before its outcome).
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.inner.is_cancel_requested()
    }

    /// Whether the task has ended: with an output, or cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    /// assert!(!task.done());
    /// pool.run();
    /// assert!(task.done());
    /// ```
    pub fn done(&self) -> bool {
        self.inner.outcome().is_some()
    }

    /// Whether the task ended cancelled. A [`cancel`](Task::cancel) request makes this true
    /// once the driver has dropped the future, not at once.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), std::future::pending::<()>());
    /// assert!(task.cancel());
    /// assert!(!task.cancelled()); // requested; the executor has not run the driver yet
    /// pool.run();
    /// assert!(task.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        matches!(self.inner.outcome(), Some(Err(_)))
    }

    /// Asks for the task to be cancelled; returns false, changing nothing, if it is done.
    ///
    /// The task's driver is woken and drops the future on its executor, then the task ends
    /// cancelled and its done-callbacks run. Once `cancel()` has returned true, the task is
    /// certain to end cancelled, even if its future produced a value in the meantime (the
    /// value is dropped). Calling it again before the task ended returns true again.
    ///
    /// asyncio's `Task.cancel()` throws `CancelledError` into the coroutine, which may catch it;
    /// a Rust future cannot refuse to be dropped, so here the request always wins.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature and the futures-executor crate.
    /// # futures::executor::block_on(async {
    /// let pool = futures_executor::ThreadPool::new().unwrap();
    /// let task = aiokit::spawn_task(&pool, std::future::pending::<()>());
    /// assert!(task.cancel());
    /// assert_eq!(task.clone().await, Err(aiokit::CancelledError::new()));
    /// assert!(!task.cancel()); // done now
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.inner.cancel()
    }

    /// The task's output: `Ok(&T)` once it is done; asyncio's `InvalidStateError` while it is
    /// pending, `CancelledError` if it was cancelled.
    ///
    /// The output stays in the task, so `result()` can be called any number of times; for a
    /// task whose output is a `Result`, this is `Ok(&Err(e))` when the task failed (see
    /// [`exception`](Task::exception)).
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use aiokit::task::TaskStateError;
    ///
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), async { String::from("tea") });
    /// assert!(matches!(task.result(), Err(TaskStateError::InvalidState(_))));
    /// pool.run();
    /// assert_eq!(task.result().unwrap(), "tea");
    /// ```
    pub fn result(&self) -> Result<&T, TaskStateError> {
        match self.inner.outcome() {
            None => Err(TaskStateError::InvalidState(InvalidStateError::new(
                "result is not set",
            ))),
            Some(Ok(value)) => Ok(value),
            Some(Err(cancelled)) => Err(TaskStateError::Cancelled(*cancelled)),
        }
    }

    /// The task's name; "Task-N" unless set by [`set_name`](Task::set_name).
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), async {});
    /// assert!(task.name().starts_with("Task-"));
    /// ```
    pub fn name(&self) -> String {
        self.inner.name()
    }

    /// Renames the task (asyncio's `Task.set_name`); every handle sees the new name.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), async {});
    /// task.set_name("brew");
    /// assert_eq!(task.clone().name(), "brew");
    /// assert_eq!(format!("{task:?}"), "<Task pending name='brew'>");
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        self.inner.set_name(name.into());
    }

    /// Registers `callback` to be called with this task once it is done; returns the id of
    /// this registration (for [`remove_done_callback_id`](Task::remove_done_callback_id)).
    ///
    /// Callbacks run in registration order, each once, after the outcome is set
    /// (`task.done()` is true inside them), on the thread that completes the task: for a
    /// spawned task, the executor thread that ran it, right after the future returned (or
    /// was dropped, if cancelled). Awaits of the task return only after all callbacks ran.
    ///
    /// **A callback added to a task that is already done runs at once, on the calling
    /// thread, before `add_done_callback` returns.** asyncio instead schedules it on the
    /// event loop ("soon, never synchronously"); aiokit has no loop to schedule on, and
    /// running it at once keeps the order: it still runs after every callback registered
    /// before it. Do not hold a lock in the caller that the callback needs. (If the task is
    /// done but its callbacks are still running on another thread, the new one is queued
    /// behind them and runs there.)
    ///
    /// A callback that panics is reported through the hook set by
    /// [`set_done_callback_panic_hook`](crate::hooks::set_done_callback_panic_hook) (by default one line on stderr) and the other
    /// callbacks still run.
    ///
    /// Closures need their argument type written out: `|task: &Task<_>| ...` (see
    /// [`DoneCallback`]).
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use std::sync::{Arc, Mutex};
    /// use aiokit::Task;
    ///
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// for label in ["first", "second"] {
    ///     let log = log.clone();
    ///     task.add_done_callback(move |t: &Task<i32>| {
    ///         log.lock().unwrap().push((label, *t.result().unwrap()))
    ///     });
    /// }
    /// pool.run();
    /// assert_eq!(*log.lock().unwrap(), [("first", 1), ("second", 1)]);
    ///
    /// // Already done: runs before add_done_callback returns.
    /// let log2 = log.clone();
    /// task.add_done_callback(move |_: &Task<i32>| log2.lock().unwrap().push(("late", 0)));
    /// assert_eq!(log.lock().unwrap().len(), 3);
    /// ```
    pub fn add_done_callback<C>(&self, callback: C) -> CallbackId
    where
        C: DoneCallback<T> + Send + 'static,
    {
        let id = next_id();
        if let Some(callback) = self.inner.push_send(id, boxed_send(callback)) {
            run_callback(id, callback, self);
        }
        id
    }

    /// Removes every pending registration of a callback equal to `callback` (same type and
    /// `==`); returns how many were removed (asyncio's `remove_done_callback`).
    ///
    /// asyncio compares callbacks with `==`; so does this, on callbacks of the type `C`. Use it
    /// with callbacks that have a meaningful `PartialEq`: function pointers (cast a function
    /// item, `on_done as fn(&Task<i32>)`, both when adding and when removing, since a function
    /// item and a pointer to it are different types), `partial!()` values, or types of one's
    /// own. Closures are not `PartialEq`; remove them by the id that
    /// [`add_done_callback`](Task::add_done_callback) returned, with
    /// [`remove_done_callback_id`](Task::remove_done_callback_id).
    ///
    /// Callbacks that already ran (or are being run) are not removed: returns 0 then, as in
    /// asyncio once the future is done.
    ///
    /// The comparisons (`C::eq`, user code) run with no lock held: `eq` may look at the task
    /// (its name, its `Debug`) or add callbacks. A task completing on another thread meanwhile
    /// waits for the comparison at hand before it runs that callback, so that callbacks still
    /// run once each and in order. Callbacks added through a [`LocalTask`] (which may be
    /// `!Send`) are compared only on the task's own thread.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use aiokit::Task;
    ///
    /// fn on_done(_: &Task<i32>) {}
    ///
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    /// let f = on_done as fn(&Task<i32>);
    /// task.add_done_callback(f);
    /// task.add_done_callback(|_: &Task<i32>| {});
    /// task.add_done_callback(f);
    /// assert_eq!(task.remove_done_callback(&f), 2);
    /// assert_eq!(task.remove_done_callback(&f), 0);
    /// ```
    pub fn remove_done_callback<C>(&self, callback: &C) -> usize
    where
        C: PartialEq + 'static,
    {
        self.inner.remove_equal(&self.inner, callback)
    }

    /// Removes the registration `id` if it has not run yet; returns how many were removed
    /// (0 or 1). A callback added through a [`LocalTask`] and removed from another thread is
    /// dropped on the task's thread, never run.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use aiokit::Task;
    ///
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    /// let id = task.add_done_callback(|_: &Task<i32>| unreachable!());
    /// assert_eq!(task.remove_done_callback_id(id), 1);
    /// pool.run();
    /// assert_eq!(task.remove_done_callback_id(id), 0);
    /// ```
    pub fn remove_done_callback_id(&self, id: CallbackId) -> usize {
        self.inner.remove_id(id)
    }
}

impl<T, E> Task<Result<T, E>> {
    /// asyncio's `exception()` for a task whose output is a `Result`: `Ok(Some(&e))` if it
    /// ended with `Err(e)`, `Ok(None)` if it succeeded; `InvalidStateError` while pending,
    /// `CancelledError` if it was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let mut pool = futures::executor::LocalPool::new();
    /// let ok = aiokit::spawn_local_task(&pool.spawner(), async { Ok::<u8, String>(1) });
    /// let err = aiokit::spawn_local_task(&pool.spawner(), async { Err::<u8, _>("no milk".to_string()) });
    /// assert!(ok.exception().is_err()); // pending
    /// pool.run();
    /// assert_eq!(ok.exception(), Ok(None));
    /// assert_eq!(err.exception(), Ok(Some(&"no milk".to_string())));
    /// ```
    pub fn exception(&self) -> Result<Option<&E>, TaskStateError> {
        self.result().map(|r| r.as_ref().err())
    }
}

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        Task::from_inner(self.inner.clone())
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        let awaiting = self.waiter.is_some();
        if let Some(key) = self.waiter.get() {
            self.inner.remove_waiter(key);
        }
        // An await in progress, abandoned: dropping is cancelling (asyncio cancels the task a
        // cancelled `await` waited for). A handle never polled cancels nothing.
        if awaiting && !self.done() {
            self.inner.cancel();
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        TaskView::fmt(&*self.inner, f)
    }
}

/// What a handle that does not know the output type offers (the event loop's `AnyTask`),
/// implemented by the task's shared state so that such a handle needs no allocation of its
/// own (see [`Task::erased`]).
#[cfg_attr(
    not(feature = "event-loop"),
    allow(dead_code, reason = "only the event loop's AnyTask calls all of them")
)]
pub(crate) trait TaskView {
    fn name(&self) -> String;
    fn set_name(&self, name: String);
    fn done(&self) -> bool;
    fn cancelled(&self) -> bool;
    fn cancel(&self) -> bool;
    /// The task's number, unique in the program.
    #[cfg(feature = "inspect")]
    fn number(&self) -> u64;
    /// `Debug` as [`Task`]'s: `<Task pending name='Task-1'>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T> TaskView for Inner<T> {
    fn name(&self) -> String {
        Inner::name(self)
    }
    fn set_name(&self, name: String) {
        Inner::set_name(self, name)
    }
    fn done(&self) -> bool {
        self.outcome().is_some()
    }
    fn cancelled(&self) -> bool {
        matches!(self.outcome(), Some(Err(_)))
    }
    fn cancel(&self) -> bool {
        Inner::cancel(self)
    }
    #[cfg(feature = "inspect")]
    fn number(&self) -> u64 {
        Inner::number(self)
    }
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.outcome() {
            None if self.is_cancel_requested() => "cancelling",
            None => "pending",
            Some(Ok(_)) => "finished",
            Some(Err(_)) => "cancelled",
        };
        write!(f, "<Task {state} name='{}'>", Inner::name(self))
    }
}

impl<T: 'static> Task<T> {
    /// A handle to this task that does not name its output type; it shares the task's
    /// allocation (no allocation of its own).
    #[cfg_attr(
        not(feature = "event-loop"),
        allow(dead_code, reason = "only the event loop erases handles")
    )]
    pub(crate) fn erased(&self) -> DynCellRef<dyn TaskView> {
        erase(self.inner.clone())
    }
}

/// A task's cell, seen through [`TaskView`]: the handle's count moves into the erased one.
fn erase<T: 'static>(inner: CellRef<Inner<T>>) -> DynCellRef<dyn TaskView> {
    fn view<T: 'static>(inner: &Inner<T>) -> &(dyn TaskView + 'static) {
        inner
    }
    inner.into_dyn(view::<T>)
}

impl<T: Send + Sync + 'static> Task<T> {
    /// A handle to this task that does not name its output type and may cross threads (a
    /// spawning task group's registry); it shares the task's allocation.
    pub(crate) fn erased_send(&self) -> SendDynCellRef<dyn TaskView + Send + Sync + 'static> {
        fn view<T: Send + Sync + 'static>(
            inner: &Inner<T>,
        ) -> &(dyn TaskView + Send + Sync + 'static) {
            inner
        }
        SendDynCellRef::new(self.inner.clone(), view::<T>)
    }
}

impl<T> Task<T> {
    /// A handle to this task that does not name its output type, for as long as the output
    /// may live (a task group's child, for the group's `Debug`).
    #[cfg(feature = "inspect")]
    pub(crate) fn erased_in<'a>(&self) -> DynCellRef<dyn TaskView + 'a>
    where
        T: 'a,
    {
        fn view<'a, T: 'a>(inner: &Inner<T>) -> &(dyn TaskView + 'a) {
            inner
        }
        self.inner.clone().into_dyn(view::<T>)
    }
}

/// Awaiting a handle waits for the task's end and clones its output. Dropping the handle
/// while the await is in progress (polled, not ready) cancels the task; await `&task` or
/// [`shield(&task)`](shield) to wait without that. Polling again after completion gives the
/// output again.
impl<T: Clone> Future for Task<T> {
    type Output = Result<T, CancelledError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut key = this.waiter.get();
        let poll = this.inner.poll_finished(&mut key, cx);
        // `Pending` leaves a key, `Ready` none: the key tells whether an await is in progress.
        debug_assert_eq!(
            poll.is_pending(),
            key.is_some(),
            "an await in progress has a key"
        );
        this.waiter.set(key);
        match poll {
            Poll::Pending => {
                #[cfg(feature = "inspect")]
                this.awaited_by.pending(this.inner.number());
                Poll::Pending
            }
            Poll::Ready(()) => {
                #[cfg(feature = "inspect")]
                this.awaited_by.ended();
                Poll::Ready(
                    this.inner
                        .outcome()
                        .expect("a finished task has an outcome")
                        .clone(),
                )
            }
        }
    }
}

/// `(&task).await` is [`shield(&task)`](shield): the output by reference, for any `T`.
impl<'a, T> IntoFuture for &'a Task<T> {
    type Output = Result<&'a T, CancelledError>;
    type IntoFuture = Shield<'a, T>;

    fn into_future(self) -> Shield<'a, T> {
        shield(self)
    }
}

/// Why [`Task::result`] or [`Task::exception`] gave no output: the task is still pending
/// (asyncio's `InvalidStateError`) or was cancelled (asyncio's `CancelledError`).
///
/// # Examples
///
/// ```
/// use aiokit::CancelledError;
/// use aiokit::task::TaskStateError;
///
/// let err = TaskStateError::from(CancelledError::new());
/// assert!(err.is_cancelled());
/// assert_eq!(err.to_string(), "task was cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStateError {
    /// The task is still pending.
    InvalidState(InvalidStateError),
    /// The task was cancelled.
    Cancelled(CancelledError),
}

impl TaskStateError {
    /// Whether the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = aiokit::task::TaskStateError::from(aiokit::InvalidStateError::new("pending"));
    /// assert!(!err.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskStateError::Cancelled(_))
    }
}

impl fmt::Display for TaskStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskStateError::InvalidState(e) => fmt::Display::fmt(e, f),
            TaskStateError::Cancelled(e) => fmt::Display::fmt(e, f),
        }
    }
}

// No `source()`: Display already prints the inner error, which would show twice in a report.
impl std::error::Error for TaskStateError {}

impl From<InvalidStateError> for TaskStateError {
    fn from(e: InvalidStateError) -> Self {
        TaskStateError::InvalidState(e)
    }
}

impl From<CancelledError> for TaskStateError {
    fn from(e: CancelledError) -> Self {
        TaskStateError::Cancelled(e)
    }
}
