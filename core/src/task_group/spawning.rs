//! `TaskGroup::on(&spawner)`: a task group whose children are spawned on an executor, so that
//! they run on as many cores as it has, under the rules of the in-place group.
//!
//! The body is polled in place, inside the task that awaits `run`, as in [`TaskGroup::run`].
//! Each child is a task cell (its future and its handle's state in one allocation, as for an
//! in-place child) registered in the group as a [`Member`], and the executor runs a [`Spawned`]
//! future that polls it: the same [`Child`] driver as the in-place group, which runs the task
//! lifecycle of every aiokit task (`TaskCell`: cancel requests, naming, the one outcome, a
//! panic ending the task first). A child costs its cell, the boxed `Spawned` the executor is
//! given, and the executor's own task: the member lives in the group's registry, under the
//! group's lock, not in an allocation of its own.
//!
//! A member's slot holds the child's driver while nobody works on it (`Idle`); whoever polls or
//! drops it takes it out (`Busy`, with the thread) and never holds a lock while the child's
//! code runs. So the drop of `run`'s future can end every child itself, on its own thread: it
//! takes and drops the idle ones, and waits only for polls in progress on other threads, which
//! needs nothing from the executor (a blocked executor thread cannot deadlock it).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;
use core::future::{Future, poll_fn};
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

use atomic_waker::AtomicWaker;

use super::child::{Child, Outcome, SendChild, Status};
use super::{Cancellable, Supervised, TaskGroup};
use crate::coroutine::suppress_never_awaited;
use crate::engine::send_cell_ref::SendDynCellRef;
use crate::error::ExceptionGroup;
use crate::spawn::Spawn;
use crate::task::{SendBody, SendPlainBody, Task, TaskView, send_task_cell};

/// A panic payload, as `catch_unwind` gives it.
type Payload = Box<dyn Any + Send + 'static>;

/// The body's future, type-erased (see `TaskGroup::run`).
type Body<'a, R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send + 'a>>;

impl TaskGroup<'_, '_, Infallible> {
    /// A task group whose children are spawned on `spawner`, so that they run in parallel on
    /// its threads; start it with [`run`](TaskGroupOn::run) (see [`SpawningTaskGroup`] for the
    /// rules).
    ///
    /// `spawner` is any [`Spawn`] executor: tokio's `Runtime` or `Handle` (feature `tokio`),
    /// async-executor's `Executor` (`async-executor`), futures' `ThreadPool`
    /// (`futures-executor`), or a closure `|fut: SpawnFuture| ..`.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `tokio` feature.
    /// use aiokit::TaskGroup;
    ///
    /// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// let sum = rt.block_on(TaskGroup::on(&rt).run(async |tg| {
    ///     let parts: Vec<_> = (1..=4u64)
    ///         .map(|i| tg.create_task(async move { Ok::<_, String>((0..i * 1000).sum::<u64>()) }))
    ///         .collect();
    ///     let mut sum = 0;
    ///     for part in parts {
    ///         sum += part.await.unwrap();
    ///     }
    ///     Ok(sum)
    /// }));
    /// assert_eq!(sum.unwrap(), 499_500 + 1_999_000 + 4_498_500 + 7_998_000);
    /// ```
    pub fn on<S: Spawn + Sync>(spawner: &S) -> TaskGroupOn<'_, S> {
        TaskGroupOn { spawner }
    }
}

/// A task group to be run on the executor named by [`TaskGroup::on`]: call
/// [`run`](TaskGroupOn::run), [`run_infallible`](TaskGroupOn::run_infallible),
/// [`run_cancellable`](TaskGroupOn::run_cancellable) (early exit) or
/// [`supervise`](TaskGroupOn::supervise) (failures cancel nothing).
///
/// # Examples
///
/// See [`TaskGroup::on`].
#[must_use = "a TaskGroupOn does nothing until `run` is called and awaited"]
pub struct TaskGroupOn<'s, S> {
    spawner: &'s S,
}

impl<S> Clone for TaskGroupOn<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for TaskGroupOn<'_, S> {}

impl<S> fmt::Debug for TaskGroupOn<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupOn").finish_non_exhaustive()
    }
}

impl<'s, S: Spawn + Sync> TaskGroupOn<'s, S> {
    /// Runs `body` with a new [`SpawningTaskGroup`], until the body and every child it
    /// created have ended; see [`SpawningTaskGroup`] for the rules, the same as
    /// [`TaskGroup::run`]'s.
    ///
    /// The body is polled in place, inside the task that awaits the returned future, and may
    /// borrow from the caller; the children are spawned on the executor, so they, their
    /// values and the error type `E` are `Send + 'static`.
    ///
    /// # Examples
    ///
    /// The first failure cancels the siblings, wherever they run:
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use aiokit::TaskGroup;
    ///
    /// let pool = futures_executor::ThreadPool::builder().pool_size(2).create().unwrap();
    /// let result: Result<(), _> = futures::executor::block_on(TaskGroup::on(&pool).run(async |tg| {
    ///     let slow = tg.create_task(std::future::pending::<Result<(), &str>>());
    ///     tg.create_task(async { Err::<(), _>("no milk") });
    ///     assert!(slow.clone().await.is_err()); // cancelled by its sibling's failure
    ///     Ok(())
    /// }));
    /// assert_eq!(result.unwrap_err().into_inner(), ["no milk"]);
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body, then cancels every child and waits for it
    /// to end: see "Nothing outlives `run`" in [`SpawningTaskGroup`].
    pub fn run<B, R, E>(
        self,
        body: B,
    ) -> impl Future<Output = Result<R, ExceptionGroup<E>>> + use<'s, S, B, R, E>
    where
        B: for<'g> AsyncFnOnce(&'g SpawningTaskGroup<'s, E>) -> Result<R, E>
            + for<'g> SendBody<&'g SpawningTaskGroup<'s, E>, R, E>,
        E: Send + 'static,
    {
        let spawner: &'s (dyn Spawn + Sync) = self.spawner;
        async move {
            let group = SpawningTaskGroup::new(spawner);
            // Made before the body's call: children the call creates before it returns (or
            // panics) are the runner's to end.
            let mut runner = GroupRun::new(group.shared.clone());
            // Type-erased for the reason given in `TaskGroup::run`.
            let body: Body<'_, R, E> = Box::pin(SendBody::call(body, &group));
            runner.body = Some(body);
            (&mut runner)
                .await
                .map(|output| output.expect("only a cancellable group exits early"))
        }
    }

    /// Runs `body` with a [`SpawningTaskGroup`] that can be ended early, without an error, by
    /// [`Cancellable::cancel`]: [`TaskGroup::run_cancellable`] with the children spawned on the
    /// executor.
    ///
    /// The result is `Ok(Some(value))` when the body returned, `Ok(None)` when the group was
    /// cancelled before it did. `cancel()` (from the body: children are `'static` and cannot
    /// hold the group) drops the body at once and asks every child to cancel; each is dropped
    /// at its next wake-up on the executor, and `run_cancellable` returns once every child has
    /// ended (nothing outlives it). A failure the group recorded before the cancel wins
    /// (`cancel` returns `false`, the result is `Err`); so does one a child returned on
    /// another thread before the cancel reached it, recorded after it (the failures race on
    /// many threads).
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use aiokit::TaskGroup;
    ///
    /// let pool = futures_executor::ThreadPool::new().unwrap();
    /// let ended = futures::executor::block_on(TaskGroup::on(&pool).run_cancellable(async |tg| {
    ///     let slow = tg.create_task(std::future::pending::<Result<(), ()>>());
    ///     let fast = tg.create_task(async { Ok(42) });
    ///     let answer = fast.await.unwrap();
    ///     tg.cancel(); // `slow` is dropped; so is the body, before it returns
    ///     assert!(!tg.is_open());
    ///     drop(slow);
    ///     std::future::pending::<()>().await;
    ///     Ok(answer)
    /// }));
    /// assert_eq!(ended, Ok(None));
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As for [`run`](TaskGroupOn::run).
    pub fn run_cancellable<B, R, E>(
        self,
        body: B,
    ) -> impl Future<Output = Result<Option<R>, ExceptionGroup<E>>> + use<'s, S, B, R, E>
    where
        B: for<'g> AsyncFnOnce(&'g Cancellable<SpawningTaskGroup<'s, E>>) -> Result<R, E>
            + for<'g> SendBody<&'g Cancellable<SpawningTaskGroup<'s, E>>, R, E>,
        E: Send + 'static,
    {
        let spawner: &'s (dyn Spawn + Sync) = self.spawner;
        async move {
            let group = Cancellable {
                group: SpawningTaskGroup::new(spawner),
            };
            let mut runner = GroupRun::new(group.group.shared.clone());
            let body: Body<'_, R, E> = Box::pin(SendBody::call(body, &group));
            runner.body = Some(body);
            (&mut runner).await
        }
    }

    /// Runs `body` with a supervising [`SpawningTaskGroup`]: [`TaskGroup::supervise`] with the
    /// children spawned on the executor. A child's failure cancels nothing: it is handed to
    /// `on_failure` (the task's name and the error) and kept in [`Supervised::failures`].
    ///
    /// `on_failure` is called on the thread that awaits the returned future, in its poll
    /// after the group recorded the failure, with no lock of the group held, once per failure
    /// in the order they were recorded (children fail at the same moment on different
    /// threads). The body's `Err` still cancels every child, and a panic still drops everything
    /// then is resumed (as is a panic of `on_failure`).
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use aiokit::TaskGroup;
    ///
    /// let pool = futures_executor::ThreadPool::new().unwrap();
    /// let mut seen = Vec::new();
    /// let ended = futures::executor::block_on(TaskGroup::on(&pool).supervise(
    ///     |_task, error: &&str| seen.push(error.to_string()),
    ///     async |tg| {
    ///         let bad = tg.create_task(async { Err::<(), _>("no milk") });
    ///         let good = tg.create_task(async { Ok("green tea") });
    ///         assert!(bad.await.is_err()); // its error is in the result
    ///         Ok(good.await.unwrap()) // the failure cancelled nothing
    ///     },
    /// ));
    /// assert_eq!(ended.body, Ok("green tea"));
    /// assert_eq!(ended.failures.len(), 1);
    /// assert_eq!(ended.failures[0].1, "no milk");
    /// assert_eq!(seen, ["no milk"]);
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As for [`run`](TaskGroupOn::run).
    pub fn supervise<H, B, R, E>(
        self,
        mut on_failure: H,
        body: B,
    ) -> impl Future<Output = Supervised<R, E>> + use<'s, S, H, B, R, E>
    where
        H: FnMut(&str, &E),
        B: for<'g> AsyncFnOnce(&'g SpawningTaskGroup<'s, E>) -> Result<R, E>
            + for<'g> SendBody<&'g SpawningTaskGroup<'s, E>, R, E>,
        E: Send + 'static,
    {
        let spawner: &'s (dyn Spawn + Sync) = self.spawner;
        async move {
            let group = SpawningTaskGroup::new(spawner);
            let shared = group.shared.clone();
            shared.lock().supervised = true;
            let mut runner = GroupRun::new(group.shared.clone());
            let body: Body<'_, R, E> = Box::pin(SendBody::call(body, &group));
            runner.body = Some(body);
            let mut failures = Vec::new();
            let ended = poll_fn(|cx| {
                let poll = Pin::new(&mut runner).poll(cx);
                // Taken out of the lock before any user code runs.
                let new = mem::take(&mut shared.lock().failures);
                for (name, error) in new {
                    on_failure(&name, &error);
                    failures.push((name, error));
                }
                poll
            })
            .await;
            let body = match ended {
                Ok(output) => Ok(output.expect("only a cancellable group exits early")),
                // A child's failure is not an error here: the only error is the body's.
                Err(errors) => Err(errors
                    .into_inner()
                    .pop()
                    .expect("an ExceptionGroup holds at least one error")),
            };
            Supervised { body, failures }
        }
    }

    /// Runs `body` with a group whose children cannot fail, and returns the body's value; see
    /// [`TaskGroup::run_infallible`] and [`SpawningTaskGroup::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `tokio` feature.
    /// use aiokit::TaskGroup;
    ///
    /// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// let lengths = rt.block_on(TaskGroup::on(rt.handle()).run_infallible(async |tg| {
    ///     let cups = ["green", "black"].map(|cup| tg.spawn(async move { cup.len() }));
    ///     let mut lengths = Vec::new();
    ///     for cup in cups {
    ///         lengths.push(cup.await.unwrap());
    ///     }
    ///     lengths
    /// }));
    /// assert_eq!(lengths, [5, 5]);
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As for [`run`](TaskGroupOn::run).
    pub fn run_infallible<B, R>(self, body: B) -> impl Future<Output = R> + use<'s, S, B, R>
    where
        B: for<'g> AsyncFnOnce(&'g SpawningTaskGroup<'s, Infallible>) -> R
            + for<'g> SendPlainBody<&'g SpawningTaskGroup<'s, Infallible>, R>,
    {
        let spawner: &'s (dyn Spawn + Sync) = self.spawner;
        async move {
            let group = SpawningTaskGroup::new(spawner);
            let mut runner = GroupRun::new(group.shared.clone());
            let body = SendPlainBody::call(body, &group);
            let body: Body<'_, R, Infallible> = Box::pin(async move { Ok(body.await) });
            runner.body = Some(body);
            match (&mut runner).await {
                Ok(value) => value.expect("only a cancellable group exits early"),
                Err(errors) => match errors.into_inner().into_iter().next() {
                    Some(never) => match never {},
                    None => unreachable!("an ExceptionGroup holds at least one error"),
                },
            }
        }
    }
}

/// asyncio's `TaskGroup` with its children spawned on an executor, so that they run in
/// parallel on its threads: made by [`TaskGroup::on`]`(&spawner)`, started with
/// [`run`](TaskGroupOn::run), which gives this group to the body.
///
/// [`TaskGroup`] polls its children in place, inside the task that awaits it: they share one
/// core. This group spawns each child on the executor (any [`Spawn`]): CPU-bound children run
/// on every worker thread at once. The body is still polled in place, in the task that awaits
/// `run`.
///
/// # Rules (those of [`TaskGroup::run`])
///
/// - `run` returns once the body and every child have ended: `Ok` with the body's value.
/// - The first child that returns `Err` cancels every other child (wherever it runs: the
///   executor drops its future at its next wake-up, or `run`'s own thread does, see below)
///   and the body (dropped in place). `run` returns `Err(ExceptionGroup)` holding every error,
///   in the order the children failed, each named after its task: the first failure and every
///   one that happened before its cancellation reached the others (children failing at the
///   same time on other threads). An `Err` of the body aborts the group the same way, and
///   comes last.
/// - A child cancelled through its own handle ([`Task::cancel`]) is not a failure.
/// - A panic in a child (caught on the executor's thread, which does not see it) or in the
///   body cancels every child and the body; once every child has ended, `run` resumes the
///   panic (the first one, if several children panicked).
/// - Only the body creates children (it holds the group; children are `'static`).
///   `create_task` once the group aborts is refused: the future is dropped without being
///   polled and the handle is already cancelled.
/// - Handles outlive the group, as for [`TaskGroup`].
///
/// # Nothing outlives `run`
///
/// When the future of `run` returns, or is dropped, every child has ended: its future has
/// been dropped (its destructor has run) and its handle holds its outcome. On a failure or a
/// panic, `run` waits asynchronously for the cancelled children to end. When the future of
/// `run` is dropped before it finished, its destructor drops the body, cancels every child,
/// drops on the dropping thread every child that is not being polled at that moment, and
/// blocks until the polls in progress on other threads return (then drops those children
/// too): it needs nothing from the executor, so it cannot deadlock on a busy or blocked
/// executor thread, but it does wait out a child's long poll. (A child whose own poll drops
/// the future of `run` cannot be waited for: it ends as soon as that poll returns.)
///
/// The executor keeps an empty shell of each spawned child (a few pointers) until it polls or
/// drops it; no user code or value is left in it. An executor that drops a child without
/// running it to its end (it shuts down, or refuses the future) ends it then: the child's
/// future is dropped, its handle ends cancelled, and the group counts it as cancelled, not as
/// a failure. An executor that never polls nor drops a spawned future makes `run` wait
/// forever, as a `JoinSet` would.
///
/// # Differences from the in-place [`TaskGroup`]
///
/// - Children are `Send + 'static` (they are spawned); the body may still borrow.
/// - Children cannot create children: only the body holds the group.
/// - There are no passes: children fail at the same moment on different threads, and
///   whichever failure the group records first cancels the others; a child that returns `Err`
///   after its cancellation reached it is cancelled, not failed (one outcome per child). The
///   body is not polled again once the group has recorded a failure ("already resuming" does
///   not apply), but the abort runs on another thread: the body may see a sibling's handle end
///   cancelled before it is dropped.
/// - Each child costs, besides its task cell, the boxed future handed to the executor and the
///   executor's own task (an allocation each) and a queue operation: for children that do
///   little work, the in-place group is cheaper.
///
/// # Examples
///
/// CPU-bound children on a 2-worker tokio runtime:
///
/// ```
/// // Needs aiokit's `tokio` feature.
/// use aiokit::TaskGroup;
///
/// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// let result = rt.block_on(TaskGroup::on(&rt).run(async |tg| {
///     let squares: Vec<_> = (0..8u64)
///         .map(|i| tg.create_task(async move { Ok::<_, String>(i * i) }))
///         .collect();
///     let mut total = 0;
///     for square in &squares {
///         total += *square.await.unwrap();
///     }
///     Ok(total)
/// }));
/// assert_eq!(result, Ok(140));
/// ```
///
/// # Panics
///
/// `run` resumes the panic of a child or of the body once every child has ended. Polling the
/// future of `run` again after it returned panics.
pub struct SpawningTaskGroup<'s, E> {
    spawner: &'s (dyn Spawn + Sync + 's),
    shared: Arc<Shared<E>>,
}

impl<'s, E> SpawningTaskGroup<'s, E> {
    /// An empty group whose children go to `spawner`.
    fn new(spawner: &'s (dyn Spawn + Sync + 's)) -> Self {
        SpawningTaskGroup {
            spawner,
            shared: Arc::new(Shared::new()),
        }
    }
}

impl<E: Send + 'static> SpawningTaskGroup<'_, E> {
    /// Spawns `fut` as a child of the group and returns its handle (asyncio's
    /// `tg.create_task(coro)`, on the group's executor).
    ///
    /// Its `Ok` value is the handle's result; an `Err` aborts the group. Dropping the handle
    /// does not cancel the child; [`Task::cancel`] does, and that is not a failure. While the
    /// group aborts, the child is refused: `fut` is dropped without being polled and the handle
    /// is already cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let pool = futures_executor::ThreadPool::new().unwrap();
    /// let cup = futures::executor::block_on(aiokit::TaskGroup::on(&pool).run(async |tg| {
    ///     let cup = tg.create_task(async { Ok::<_, ()>("tea") });
    ///     Ok(cup.await)
    /// }));
    /// assert_eq!(cup, Ok(Ok("tea")));
    /// ```
    pub fn create_task<F, T>(&self, fut: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + Sync + 'static,
    {
        let (task, driver) = send_task_cell(|completer| Child::new(fut, completer));
        let (index, id) = match self.shared.admit(task.erased_send(), driver) {
            Ok(place) => place,
            Err((driver, refused)) => {
                // Refused on purpose: dropping the driver drops the future unpolled, then ends
                // the handle cancelled.
                suppress_never_awaited(|| drop(driver));
                if let Some(error) = refused {
                    panic!("SpawningTaskGroup::create_task: cannot register the child: {error}");
                }
                return task;
            }
        };
        self.spawner.spawn_boxed(Box::pin(Spawned {
            shared: self.shared.clone(),
            index,
            id,
        }));
        task
    }

    /// Spawns `fut` as a child with no handle (Swift's `DiscardingTaskGroup.addTask`); see
    /// [`TaskGroup::add_task`]. Its `Ok` value is dropped as it finishes; its `Err` aborts the
    /// group. Each child's place in the group is freed as it ends and taken by a later one: a
    /// group that spawns a child per connection holds memory for the children running at once.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let pool = futures_executor::ThreadPool::new().unwrap();
    /// let served = Arc::new(AtomicUsize::new(0));
    /// futures::executor::block_on(aiokit::TaskGroup::on(&pool).run(async |tg| {
    ///     for _connection in 0..100 {
    ///         let served = served.clone();
    ///         tg.add_task(async move {
    ///             served.fetch_add(1, Ordering::Relaxed);
    ///             Ok::<_, std::io::Error>(())
    ///         });
    ///     }
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// assert_eq!(served.load(Ordering::Relaxed), 100);
    /// ```
    pub fn add_task<F, T>(&self, fut: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + Sync + 'static,
    {
        drop(self.create_task(fut));
    }

    /// Spawns a child that cannot fail and returns its handle: `fut`'s output, whatever it is,
    /// is the handle's result; see [`TaskGroup::spawn`].
    ///
    /// # Examples
    ///
    /// See [`TaskGroupOn::run_infallible`].
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + Sync + 'static,
    {
        self.create_task(async move { Ok::<_, E>(fut.await) })
    }

    /// Whether the group still accepts children: false once it aborts or has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let pool = futures_executor::ThreadPool::new().unwrap();
    /// futures::executor::block_on(aiokit::TaskGroup::on(&pool).run(async |tg| {
    ///     assert!(tg.is_open());
    ///     Ok::<_, ()>(())
    /// }))
    /// .unwrap();
    /// ```
    pub fn is_open(&self) -> bool {
        self.shared.lock().status == Status::Open
    }
}

impl<E: Send + 'static> Cancellable<SpawningTaskGroup<'_, E>> {
    /// Ends the group early, without an error (asyncio 3.15's `TaskGroup.cancel()`): the body
    /// is dropped as soon as its poll returns, every child is asked to cancel (dropped at its
    /// next wake-up on the executor), children are refused from here on, and
    /// [`run_cancellable`](TaskGroupOn::run_cancellable) returns `Ok(None)` once every child
    /// has ended (`Ok(Some(value))` if the body had returned before).
    ///
    /// Returns whether this call ended the group: `false` when it was already cancelled,
    /// aborting on a failure, or finished.
    ///
    /// # Examples
    ///
    /// See [`TaskGroupOn::run_cancellable`].
    pub fn cancel(&self) -> bool {
        self.group.shared.cancel()
    }

    /// Whether [`cancel`](Self::cancel) ended the group.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let pool = futures_executor::ThreadPool::new().unwrap();
    /// futures::executor::block_on(aiokit::TaskGroup::on(&pool).run_cancellable(async |tg| {
    ///     assert!(tg.cancel());
    ///     assert!(tg.is_cancelled() && !tg.cancel());
    ///     Ok::<_, ()>(())
    /// }))
    /// .unwrap();
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.group.shared.lock().cancelled
    }
}

impl<E> fmt::Debug for SpawningTaskGroup<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Read, then released before writing: the formatter writes to the caller's sink.
        let (status, live) = {
            let state = self.shared.lock();
            (state.status, state.live)
        };
        f.debug_struct("SpawningTaskGroup")
            .field("status", &status)
            .field("live", &live)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// The state the group shares with its spawned children
// ---------------------------------------------------------------------------------------------

/// How a child ended, as its group records it.
enum Ended<E> {
    /// Succeeded, or was cancelled (through its handle, by the group, by the executor).
    Done,
    /// Failed: the task's name and its error.
    Failed(String, E),
    /// Panicked (its handle has ended cancelled).
    Panicked(Payload),
}

impl<E> From<Outcome<E>> for Ended<E> {
    fn from(outcome: Outcome<E>) -> Self {
        match outcome {
            Outcome::Done => Ended::Done,
            Outcome::Failed(name, error) => Ended::Failed(name, error),
        }
    }
}

struct Shared<E> {
    state: Mutex<State<E>>,
    /// Signalled when a `Busy` member is given back or ends, if someone waits for it
    /// (`waited`).
    idle: Condvar,
    /// The waker of the task that polls `run`: woken when the group aborts and when the last
    /// child ends (a body awaiting a handle is woken by the handle itself).
    waker: AtomicWaker,
}

struct State<E> {
    status: Status,
    /// The children that have not ended, at the index their `Spawned` records.
    members: Vec<Option<Member<E>>>,
    free: Vec<usize>,
    /// The id of the next child (see [`Member::id`]).
    next_id: u64,
    /// How many children have not ended.
    live: usize,
    errors: ExceptionGroup<E>,
    panic: Option<Payload>,
    /// Ended early by `Cancellable::cancel`.
    cancelled: bool,
    /// Supervising (`TaskGroupOn::supervise`): a child's failure goes to `failures` and
    /// cancels nothing.
    supervised: bool,
    failures: Vec<(String, E)>,
}

impl<E> Shared<E> {
    fn new() -> Self {
        Shared {
            state: Mutex::new(State {
                status: Status::Open,
                members: Vec::new(),
                free: Vec::new(),
                next_id: 0,
                live: 0,
                errors: ExceptionGroup::new(),
                panic: None,
                cancelled: false,
                supervised: false,
                failures: Vec::new(),
            }),
            idle: Condvar::new(),
            waker: AtomicWaker::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<E>> {
        // No user code runs and nothing panics under this lock (the members' vector grows with
        // `try_reserve`); its state is consistent between statements anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new child, its handle and its idle driver, and returns its index and id;
    /// unless the group no longer accepts any: then the driver comes back with `None`, or with
    /// the error if the registry could not grow (the handle is dropped, the task lives on).
    #[allow(clippy::type_complexity)]
    fn admit(
        &self,
        task: SendDynCellRef<dyn TaskView + Send + Sync>,
        driver: SendChild<'static, E>,
    ) -> Result<
        (usize, u64),
        (
            SendChild<'static, E>,
            Option<alloc::collections::TryReserveError>,
        ),
    > {
        let mut state = self.lock();
        if state.status != Status::Open {
            drop(state);
            return Err((driver, None));
        }
        let index = match state.free.pop() {
            Some(index) => index,
            None => {
                // Room for every index in `free`, so that `end` never allocates.
                let room = state.members.len() + 1 - state.free.len();
                if let Err(error) = state
                    .members
                    .try_reserve(1)
                    .and_then(|()| state.free.try_reserve(room))
                {
                    drop(state);
                    return Err((driver, Some(error)));
                }
                state.members.push(None);
                state.members.len() - 1
            }
        };
        let id = state.next_id;
        state.next_id += 1;
        state.members[index] = Some(Member {
            id,
            task,
            slot: Slot::Idle(driver),
        });
        state.live += 1;
        Ok((index, id))
    }

    /// Records the end of child `index` (called once per child, by whoever took its driver
    /// and ended it): its member leaves the registry, and whoever waits for it is woken. The
    /// first failure or panic aborts the group: the other children are asked to cancel.
    fn end(&self, index: usize, ended: Ended<E>) {
        let mut extra_panic = None;
        let mut supervised_failure = false;
        let (removed, to_cancel, wake) = {
            let mut state = self.lock();
            let removed = state.members.get_mut(index).and_then(Option::take);
            if removed.is_some() {
                state.free.push(index); // reserved in `admit`
            }
            state.live -= 1;
            let failed = match ended {
                Ended::Done => false,
                Ended::Failed(name, error) if state.supervised => {
                    // Cancels nothing; the group's poll hands it to the handler.
                    state.failures.push((name, error));
                    supervised_failure = true;
                    false
                }
                Ended::Failed(name, error) => {
                    state.errors.push_child(name, error);
                    true
                }
                Ended::Panicked(payload) => {
                    if state.panic.is_none() {
                        state.panic = Some(payload);
                    } else {
                        extra_panic = Some(payload);
                    }
                    true
                }
            };
            let to_cancel = if failed {
                state.start_abort()
            } else {
                Vec::new()
            };
            (
                removed,
                to_cancel,
                failed || supervised_failure || state.live == 0,
            )
        };
        // Outside the lock: a cancel wakes an executor; a second panic's payload is user data;
        // the last handle of a task drops its output.
        for task in &to_cancel {
            task.cancel();
        }
        let waited = matches!(
            removed,
            Some(Member {
                slot: Slot::Busy { waited: true, .. },
                ..
            })
        );
        drop((removed, to_cancel));
        if waited {
            self.idle.notify_all();
        }
        if let Some(payload) = extra_panic {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        }
        if wake {
            self.waker.wake();
        }
    }

    /// The early exit: aborts the group if it is open (and then only), asks every child to
    /// cancel, and wakes the task that polls `run`. Returns whether it ended the group.
    fn cancel(&self) -> bool {
        let members = {
            let mut state = self.lock();
            if state.status != Status::Open {
                return false;
            }
            state.cancelled = true;
            state.start_abort()
        };
        // Outside the lock: a cancel wakes an executor.
        for task in &members {
            task.cancel();
        }
        drop(members);
        self.waker.wake();
        true
    }

    /// Aborts the group (if it is open) and asks every child to cancel; returns the index and
    /// id of each.
    fn abort(&self) -> Vec<(usize, u64)> {
        let (tasks, places) = {
            let mut state = self.lock();
            if state.status == Status::Open {
                state.status = Status::Aborting;
            }
            let members = state.members.iter().enumerate();
            members
                .filter_map(|(index, member)| {
                    let member = member.as_ref()?;
                    Some((member.task.clone(), (index, member.id)))
                })
                .unzip::<_, _, Vec<_>, Vec<_>>()
        };
        for task in &tasks {
            task.cancel();
        }
        drop(tasks);
        places
    }

    /// Takes the driver of child `index` (id `id`) if it is idle, marking it busy for this
    /// thread. `Err` tells why not: `None` if the child has ended (or another took its place),
    /// `Some(thread)` if it is busy on `thread`.
    fn take_idle(
        state: &mut State<E>,
        index: usize,
        id: u64,
    ) -> Result<SendChild<'static, E>, Option<ThreadId>> {
        let Some(member) = state.member_mut(index, id) else {
            return Err(None);
        };
        match mem::replace(
            &mut member.slot,
            Slot::Busy {
                thread: thread::current().id(),
                waited: false,
            },
        ) {
            Slot::Idle(driver) => Ok(driver),
            busy => {
                let thread = match busy {
                    Slot::Busy { thread, .. } => thread,
                    Slot::Idle(_) => unreachable!("matched above"),
                };
                member.slot = busy;
                Err(Some(thread))
            }
        }
    }

    /// Ends child `index` (id `id`) on this thread: drops it if it is idle, or waits until a
    /// poll on another thread gives it back (or ends it). Returns at once if this thread is
    /// polling it, or if it has ended.
    fn end_now(&self, index: usize, id: u64) {
        let me = thread::current().id();
        let mut state = self.lock();
        loop {
            match Self::take_idle(&mut state, index, id) {
                Ok(driver) => {
                    drop(state);
                    self.end(index, drop_child(driver));
                    return;
                }
                Err(None) => return,
                // This thread is polling it (the child's own poll drops the group): it ends
                // when that poll returns, its cancel requested.
                Err(Some(thread)) if thread == me => return,
                Err(Some(_)) => {
                    if let Some(Member {
                        slot: Slot::Busy { waited, .. },
                        ..
                    }) = state.member_mut(index, id)
                    {
                        *waited = true;
                    }
                    state = self
                        .idle
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }
}

impl<E> State<E> {
    /// The first failure: no child is accepted from now on, and every other one is to be
    /// cancelled (returned, for the caller to do outside the lock).
    fn start_abort(&mut self) -> Vec<SendDynCellRef<dyn TaskView + Send + Sync>> {
        if self.status != Status::Open {
            return Vec::new();
        }
        self.status = Status::Aborting;
        self.members
            .iter()
            .flatten()
            .map(|member| member.task.clone())
            .collect()
    }

    /// The member at `index`, if it is still child `id`'s.
    fn member_mut(&mut self, index: usize, id: u64) -> Option<&mut Member<E>> {
        self.members
            .get_mut(index)?
            .as_mut()
            .filter(|member| member.id == id)
    }
}

// ---------------------------------------------------------------------------------------------
// One child: its slot, and the future the executor runs
// ---------------------------------------------------------------------------------------------

/// A child's driver and who works on it.
enum Slot<E> {
    /// Nobody polls or drops it now.
    Idle(SendChild<'static, E>),
    /// Taken out by a poll or a drop on `thread`; `waited` if someone waits for it to come back.
    Busy { thread: ThreadId, waited: bool },
}

/// A child of the group, in its registry: its handle (to cancel it) and its slot. Leaves the
/// registry when the child ends.
struct Member<E> {
    /// Tells this child from a later one that takes its index once it ended: its `Spawned`
    /// (which the executor may poll or drop later) then finds nothing to do.
    id: u64,
    task: SendDynCellRef<dyn TaskView + Send + Sync>,
    slot: Slot<E>,
}

/// Drops a child's driver (the child's future, then its handle's end, cancelled), on purpose:
/// a never-polled coroutine is not reported as forgotten. A panic of the future's drop is
/// the child's panic.
fn drop_child<E>(driver: SendChild<'static, E>) -> Ended<E> {
    match catch_unwind(AssertUnwindSafe(|| suppress_never_awaited(|| drop(driver)))) {
        Ok(()) => Ended::Done,
        Err(payload) => Ended::Panicked(payload),
    }
}

/// What the executor runs for one child: polls its driver, then reports its end to the group.
struct Spawned<E> {
    shared: Arc<Shared<E>>,
    /// The child's place in the registry.
    index: usize,
    id: u64,
}

impl<E> Future for Spawned<E> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let shared = &*this.shared;
        let (index, id) = (this.index, this.id);
        let Ok(mut driver) = Shared::take_idle(&mut shared.lock(), index, id) else {
            // Ended by the group (the drop of `run`), or being ended there.
            return Poll::Ready(());
        };
        // `Child` runs the task's lifecycle: a panic of the child reaches here once its handle
        // has ended; the group, not the executor, hands it on.
        let ended = match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut driver).poll(cx))) {
            Ok(Poll::Pending) => {
                let waited = {
                    let mut state = shared.lock();
                    let member = state
                        .member_mut(index, id)
                        .expect("a busy child stays in the registry");
                    matches!(
                        mem::replace(&mut member.slot, Slot::Idle(driver)),
                        Slot::Busy { waited: true, .. }
                    )
                };
                if waited {
                    shared.idle.notify_all();
                }
                return Poll::Pending;
            }
            Ok(Poll::Ready(outcome)) => {
                // The child's future was dropped when it finished; the driver is an empty shell.
                drop(driver);
                Ended::from(outcome)
            }
            Err(payload) => {
                // The child's task has ended and its future is gone; the shell holds nothing.
                let _ = catch_unwind(AssertUnwindSafe(move || drop(driver)));
                Ended::Panicked(payload)
            }
        };
        // Its member leaves the registry with the end recorded: whoever waits for it finds both.
        shared.end(index, ended);
        Poll::Ready(())
    }
}

impl<E> Drop for Spawned<E> {
    fn drop(&mut self) {
        // The executor drops the child without running it to its end (it shuts down, or
        // refuses the future): the child ends cancelled. Nothing to do if it ended already.
        let shared = &*self.shared;
        let taken = Shared::take_idle(&mut shared.lock(), self.index, self.id);
        if let Ok(driver) = taken {
            shared.end(self.index, drop_child(driver));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The future of `run`
// ---------------------------------------------------------------------------------------------

/// Polls the body in place and waits for the children; ends them all on every path.
struct GroupRun<'a, R, E> {
    shared: Arc<Shared<E>>,
    body: Option<Body<'a, R, E>>,
    output: Option<R>,
    body_error: Option<E>,
    done: bool,
}

// Nothing is pinned in place: the body is boxed, the output moved out.
impl<R, E> Unpin for GroupRun<'_, R, E> {}

impl<R, E> GroupRun<'_, R, E> {
    fn new(shared: Arc<Shared<E>>) -> Self {
        GroupRun {
            shared,
            body: None,
            output: None,
            body_error: None,
            done: false,
        }
    }

    /// Drops the body (cancelled); a panic of its drop is a panic of the body.
    fn drop_body(&mut self) -> Option<Payload> {
        let body = self.body.take()?;
        catch_unwind(AssertUnwindSafe(|| suppress_never_awaited(|| drop(body)))).err()
    }

    /// Records a panic of the body (kept unless a child's came first) and aborts.
    fn body_panicked(&mut self, payload: Payload) {
        let extra = {
            let mut state = self.shared.lock();
            if state.panic.is_some() {
                Some(payload)
            } else {
                state.panic = Some(payload);
                None
            }
        };
        drop(self.shared.abort());
        if let Some(extra) = extra {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(extra)));
        }
    }
}

impl<R, E> Future for GroupRun<'_, R, E> {
    /// `Ok(None)` after an early exit before the body returned (only a cancellable group).
    type Output = Result<Option<R>, ExceptionGroup<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "a task group polled after it returned");
        this.shared.waker.register(cx.waker());
        let open = this.shared.lock().status == Status::Open;
        if open {
            if let Some(body) = this.body.as_mut() {
                match catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => {}
                    Ok(Poll::Ready(Ok(output))) => {
                        this.body = None;
                        this.output = Some(output);
                    }
                    Ok(Poll::Ready(Err(error))) => {
                        this.body = None;
                        this.body_error = Some(error);
                        drop(this.shared.abort());
                    }
                    Err(payload) => {
                        // Its drop panicking too is the same failure, reported once.
                        let _ = this.drop_body();
                        this.body_panicked(payload);
                    }
                }
            }
        }
        let (open, live) = {
            let state = this.shared.lock();
            (state.status == Status::Open, state.live)
        };
        if !open {
            // Cancelled with the children, by a failure or a panic.
            if let Some(payload) = this.drop_body() {
                this.body_panicked(payload);
            }
        }
        if live > 0 || (open && this.body.is_some()) {
            return Poll::Pending;
        }
        // Every child has ended, and the body too.
        this.done = true;
        let (mut errors, panic) = {
            let mut state = this.shared.lock();
            state.status = Status::Finished;
            (
                mem::replace(&mut state.errors, ExceptionGroup::new()),
                state.panic.take(),
            )
        };
        if let Some(payload) = panic {
            drop(errors);
            resume_unwind(payload);
        }
        if let Some(error) = this.body_error.take() {
            errors.push_body(error);
        }
        if !errors.is_empty() {
            return Poll::Ready(Err(errors));
        }
        // `None` only if the group was cancelled before the body returned.
        Poll::Ready(Ok(this.output.take()))
    }
}

impl<R, E> Drop for GroupRun<'_, R, E> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped before it finished (cancelled), or the call that makes the body panicked:
        // the body first, then every child, each ended before this returns.
        let mut panic = self.drop_body();
        for (index, id) in self.shared.abort() {
            self.shared.end_now(index, id);
        }
        let (errors, failures, child_panic) = {
            let mut state = self.shared.lock();
            state.status = Status::Finished;
            (
                mem::replace(&mut state.errors, ExceptionGroup::new()),
                mem::take(&mut state.failures),
                state.panic.take(),
            )
        };
        // User values (errors, a panic's payload), dropped here: nothing outlives `run`.
        let dropped = catch_unwind(AssertUnwindSafe(move || drop((errors, failures))));
        panic = panic.or(child_panic).or(dropped.err());
        if let Some(payload) = panic {
            if !thread::panicking() {
                resume_unwind(payload);
            }
        }
    }
}
