//! Spawning task handles onto any executor: the [`Spawn`] / [`LocalSpawn`] traits, their impls
//! for the common executors (behind cargo features), and [`spawn_task`] / [`spawn_local_task`]
//! (all also at the crate root), with the boxed futures the traits take, [`SpawnFuture`] and
//! [`LocalSpawnFuture`].

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::panic::resume_unwind;
use std::rc::Rc;
use std::sync::Arc;

use pin_project_lite::pin_project;

use crate::task::{LocalTask, Payload, Step, Task, TaskCell, task_pair};
use crate::trace::{Ended, TaskTrace};

/// The future a [`Spawn`] executor is given to run: it drives one task to its end.
pub type SpawnFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The future a [`LocalSpawn`] executor is given to run on its own thread.
pub type LocalSpawnFuture = Pin<Box<dyn Future<Output = ()> + 'static>>;

/// An executor that runs `Send` futures, for [`spawn_task`].
///
/// Implemented, behind cargo features, for tokio's `Runtime` and `Handle` (`tokio`), smol's
/// and async-executor's `Executor` (`smol` / `async-executor`), futures' `ThreadPool`
/// (`futures-executor`); for `Arc`s of these; and for every `Fn(SpawnFuture)` closure or
/// function, to name any other executor:
///
/// ```
/// // `futures_executor::ThreadPool`: the futures-executor crate, `thread-pool` feature.
/// let pool = futures_executor::ThreadPool::new().unwrap();
/// let spawner = |fut: aiokit::spawn::SpawnFuture| pool.spawn_ok(fut);
/// let task = aiokit::spawn_task(&spawner, async { 1 });
/// # assert_eq!(futures::executor::block_on(task), Ok(1));
/// ```
///
/// The executor must run the future to its end or drop it. If it drops the future without
/// running it to the end (it shuts down, or it refuses the future), the task ends cancelled.
///
/// # Examples
///
/// An impl for an executor of one's own:
///
/// ```
/// // `futures_executor::ThreadPool`: the futures-executor crate, `thread-pool` feature.
/// struct MyPool(futures_executor::ThreadPool);
///
/// impl aiokit::Spawn for MyPool {
///     fn spawn_boxed(&self, fut: aiokit::spawn::SpawnFuture) {
///         self.0.spawn_ok(fut);
///     }
/// }
///
/// let pool = MyPool(futures_executor::ThreadPool::new().unwrap());
/// let task = aiokit::spawn_task(&pool, async { "tea" });
/// assert_eq!(futures::executor::block_on(task), Ok("tea"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an executor aiokit can spawn on",
    label = "not a `Spawn` executor",
    note = "aiokit implements `Spawn` behind cargo features: tokio's `Runtime` and `Handle` need the `tokio` feature, async-executor's and smol's `Executor` the `async-executor` or `smol` feature, futures' `ThreadPool` the `futures-executor` feature",
    note = "any other executor: pass a closure, `|fut: aiokit::spawn::SpawnFuture| executor.spawn(fut)`, or implement `aiokit::Spawn` for it"
)]
pub trait Spawn {
    /// Runs `fut` to its end on the executor, without waiting for it.
    fn spawn_boxed(&self, fut: SpawnFuture);
}

/// An executor that runs futures on its own thread, which need not be `Send`, for
/// [`spawn_local_task`].
///
/// Implemented, behind cargo features, for tokio's `LocalSet` (`tokio`), smol's and
/// async-executor's `LocalExecutor` (`smol` / `async-executor`), futures' `LocalSpawner`
/// (`futures-executor`); for `Rc`s of these; and for every `Fn(LocalSpawnFuture)` closure or
/// function.
///
/// The executor must run the future to its end or drop it; if it drops the future early,
/// the task ends cancelled.
///
/// # Examples
///
/// ```
/// use futures::task::LocalSpawnExt;
///
/// let mut pool = futures::executor::LocalPool::new();
/// let spawner = pool.spawner();
/// let via_closure = |fut: aiokit::spawn::LocalSpawnFuture| spawner.spawn_local(fut).unwrap();
/// let task = aiokit::spawn_local_task(&via_closure, async { std::rc::Rc::new(1) });
/// pool.run();
/// assert_eq!(**task.result().unwrap(), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a local executor aiokit can spawn on",
    label = "not a `LocalSpawn` executor",
    note = "aiokit implements `LocalSpawn` behind cargo features: tokio's `LocalSet` needs the `tokio` feature, async-executor's and smol's `LocalExecutor` the `async-executor` or `smol` feature, futures' `LocalSpawner` the `futures-executor` feature",
    note = "any other executor: pass a closure, `|fut: aiokit::spawn::LocalSpawnFuture| executor.spawn_local(fut)`, or implement `aiokit::LocalSpawn` for it"
)]
pub trait LocalSpawn {
    /// Runs `fut` to its end on the executor's thread, without waiting for it.
    fn spawn_local_boxed(&self, fut: LocalSpawnFuture);
}

impl<F> Spawn for F
where
    F: Fn(SpawnFuture),
{
    fn spawn_boxed(&self, fut: SpawnFuture) {
        self(fut)
    }
}

impl<F> LocalSpawn for F
where
    F: Fn(LocalSpawnFuture),
{
    fn spawn_local_boxed(&self, fut: LocalSpawnFuture) {
        self(fut)
    }
}

impl<S: Spawn + ?Sized> Spawn for Arc<S> {
    fn spawn_boxed(&self, fut: SpawnFuture) {
        (**self).spawn_boxed(fut)
    }
}

impl<S: LocalSpawn + ?Sized> LocalSpawn for Rc<S> {
    fn spawn_local_boxed(&self, fut: LocalSpawnFuture) {
        (**self).spawn_local_boxed(fut)
    }
}

/// Spawns `fut` on `spawner` and returns a [`Task`] handle to it (asyncio's `create_task`, on
/// the executor you name).
///
/// The task runs whether or not the handle is kept: dropping a handle that was never awaited
/// does not cancel it (fire and forget, as in asyncio). Dropping a handle whose by-value await
/// is in progress does, as asyncio cancels the task a cancelled `await` waited for (see
/// [`Task`]), and so does [`Task::cancel`]: the executor drops the future promptly, then the
/// task ends cancelled and its done-callbacks run on the executor's thread.
///
/// The output needs `Sync` because every handle reads it by reference ([`Task::result`]).
///
/// The task is named "Task-N" until the executor first polls it; a task running a
/// `#[aiokit::coroutine]` is then named after the coroutine (unless [`Task::set_name`] named it
/// first), as asyncio's task repr shows its coroutine.
///
/// # Panics
///
/// If `fut` panics (in a poll, or in its destructor), or the output that a cancel discards
/// panics when dropped, the task ends cancelled (its callbacks run, awaits return
/// `Err(CancelledError)`), then the panic goes on to the executor as it would without
/// aiokit.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `tokio` and `async-executor` features.
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let task = aiokit::spawn_task(rt.handle(), async { 1 + 1 });
/// assert_eq!(rt.block_on(task), Ok(2));
///
/// let ex = async_executor::Executor::new();
/// let task = aiokit::spawn_task(&ex, async { "smol" });
/// assert_eq!(futures::executor::block_on(ex.run(task)), Ok("smol"));
/// ```
#[doc(alias("create_task", "ensure_future"))]
pub fn spawn_task<S, F>(spawner: &S, fut: F) -> Task<F::Output>
where
    S: Spawn + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + Sync + 'static,
{
    let (task, completer) = task_pair();
    spawner.spawn_boxed(Box::pin(Driver {
        cell: TaskCell::new(fut, completer),
        trace: TaskTrace::created("spawn_task"),
    }));
    task
}

/// Spawns `fut`, which need not be `Send`, on a thread-local executor and returns a
/// [`LocalTask`] handle to it: a [`Task`] (it derefs to one; [`LocalTask::into_task`] gives
/// one) whose done-callbacks need not be `Send`, as they run on this thread. Otherwise as
/// [`spawn_task`].
///
/// # Panics
///
/// If `fut` panics, the task ends cancelled, then the panic goes on to the executor.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature.
/// use std::rc::Rc;
///
/// let mut pool = futures::executor::LocalPool::new();
/// let task = aiokit::spawn_local_task(&pool.spawner(), async { Rc::new("not Send") });
/// pool.run();
/// assert_eq!(**task.result().unwrap(), "not Send");
/// ```
pub fn spawn_local_task<S, F>(spawner: &S, fut: F) -> LocalTask<F::Output>
where
    S: LocalSpawn + ?Sized,
    F: Future + 'static,
    F::Output: 'static,
{
    let (task, completer) = task_pair();
    spawner.spawn_local_boxed(Box::pin(Driver {
        cell: TaskCell::new(fut, completer),
        trace: TaskTrace::created("spawn_local_task"),
    }));
    LocalTask::new(task)
}

/// A task handle and the future that drives it (what [`spawn_local_task`] hands the executor),
/// for executors of aiokit's own (the event loop) that run or poll the driver themselves.
#[cfg(feature = "event-loop")]
pub(crate) fn task_driver<F: Future>(fut: F) -> (Task<F::Output>, impl Future<Output = ()>) {
    let (task, completer) = task_pair();
    let driver = Driver {
        cell: TaskCell::new(fut, completer),
        trace: TaskTrace::created("create_task"),
    };
    (task, driver)
}

/// [`task_driver`] and the same handle with its output type erased (the loop's record of the
/// task), made together.
#[cfg(feature = "event-loop")]
pub(crate) fn erased_task_driver<F>(
    fut: F,
) -> (
    Task<F::Output>,
    crate::engine::task_cell::DynCellRef<dyn crate::task::TaskView>,
    impl Future<Output = ()>,
)
where
    F: Future,
    F::Output: 'static,
{
    let (task, erased, completer) = crate::task::task_trio();
    let driver = Driver {
        cell: TaskCell::new(fut, completer),
        trace: TaskTrace::created("create_task"),
    };
    (task, erased, driver)
}

pin_project! {
    /// Runs on the executor: drives the task's [`TaskCell`] to its end, then hands a panic of
    /// the future on to the executor.
    struct Driver<F: Future> {
        #[pin]
        cell: TaskCell<F, F::Output>,
        // The `tracing` feature's span (an empty type without it).
        trace: TaskTrace,
    }
}

impl<F: Future> Future for Driver<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let ended = ready!(poll_task(this.cell, this.trace, cx));
        // The task has ended (callbacks run, awaiters woken): a panic goes on to the executor
        // as it would without aiokit.
        if let Err(payload) = ended {
            resume_unwind(payload);
        }
        Poll::Ready(())
    }
}

/// Polls a task's cell one step under its trace and, once its future returned, ends the task
/// with the output: `Ready` once the task has ended (done, or cancelled on a request), with the
/// panic of its future (or of the future's destructor), if any, for the caller to report or
/// resume.
#[inline(always)]
pub(crate) fn poll_task<F: Future>(
    mut cell: Pin<&mut TaskCell<F, F::Output>>,
    trace: &mut TaskTrace,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Payload>> {
    let step = trace.poll(|| cell.as_mut().poll_step(cx));
    trace.record_name(|| cell.name());
    let (ended, how) = match step {
        Poll::Pending => return Poll::Pending,
        Poll::Ready(Step::Output(value)) => {
            // Cancelled if a cancel request came before the output.
            let how = if cfg!(feature = "tracing") && cell.is_cancel_requested() {
                Ended::Cancelled
            } else {
                Ended::Done
            };
            (cell.complete(value), how)
        }
        Poll::Ready(Step::Ended(ended)) => (ended, Ended::Cancelled),
    };
    trace.ended(if ended.is_err() { Ended::Panicked } else { how });
    Poll::Ready(ended)
}

#[cfg(feature = "tokio")]
mod tokio_impls {
    use super::{LocalSpawn, LocalSpawnFuture, Spawn, SpawnFuture};

    /// Detaches the task: the `JoinHandle` is not needed, the [`Task`](crate::Task) handle
    /// replaces it.
    impl Spawn for tokio::runtime::Handle {
        fn spawn_boxed(&self, fut: SpawnFuture) {
            drop(self.spawn(fut));
        }
    }

    impl Spawn for tokio::runtime::Runtime {
        fn spawn_boxed(&self, fut: SpawnFuture) {
            drop(self.spawn(fut));
        }
    }

    /// The future runs when the `LocalSet` is run or awaited.
    impl LocalSpawn for tokio::task::LocalSet {
        fn spawn_local_boxed(&self, fut: LocalSpawnFuture) {
            drop(self.spawn_local(fut));
        }
    }
}

#[cfg(feature = "async-executor")]
mod async_executor_impls {
    use super::{LocalSpawn, LocalSpawnFuture, Spawn, SpawnFuture};

    /// Also smol's `Executor` (the same type).
    impl Spawn for async_executor::Executor<'_> {
        fn spawn_boxed(&self, fut: SpawnFuture) {
            self.spawn(fut).detach();
        }
    }

    /// Also smol's `LocalExecutor` (the same type).
    impl LocalSpawn for async_executor::LocalExecutor<'_> {
        fn spawn_local_boxed(&self, fut: LocalSpawnFuture) {
            self.spawn(fut).detach();
        }
    }
}

#[cfg(feature = "futures-executor")]
mod futures_executor_impls {
    use futures_task::{LocalFutureObj, LocalSpawn as _};

    use super::{LocalSpawn, LocalSpawnFuture, Spawn, SpawnFuture};

    impl Spawn for futures_executor::ThreadPool {
        fn spawn_boxed(&self, fut: SpawnFuture) {
            self.spawn_ok(fut);
        }
    }

    /// If the `LocalPool` is gone, the future is dropped and the task ends cancelled.
    impl LocalSpawn for futures_executor::LocalSpawner {
        fn spawn_local_boxed(&self, fut: LocalSpawnFuture) {
            let _ = self.spawn_local_obj(LocalFutureObj::new(fut));
        }
    }
}
