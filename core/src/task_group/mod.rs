//! `TaskGroup` and `LocalTaskGroup`: asyncio 3.11's structured concurrency, polled in place.
//!
//! The run future owns everything: the group (which the body and the children borrow), the
//! body's future, and the runner holding the children in an engine. A child made by
//! `create_task` is queued in the group (the engine may be in the middle of polling the child
//! that made it) and pushed into the engine between drive passes.
//!
//! The queue holds children that borrow for `'scope`, the very borrow of the group itself, so
//! the group must have no drop glue that mentions `'scope` (the borrow checker would see the
//! group dropped while borrowed): the queue sits in a `ManuallyDrop`, and the runner, which is
//! made before the body is called and dropped before the group, takes it (children and buffer)
//! on every path: finish, abort, panic (even one in the call that makes the body's future),
//! cancellation.
//!
//! - this module: the public API and its rules;
//! - `child`: the queue (with the group's status) and the future that drives one child;
//! - `runner`: the runner, which drives the body and the children in passes;
//! - `infallible`: children and groups that cannot fail (`spawn`, `run_infallible`);
//! - `eager`: `create_task_eager`, which polls the child once inside the call;
//! - `start`: `start`, Trio's ready handshake;
//! - `cancel`: `run_cancellable` and `Cancellable::cancel`, the early exit;
//! - `supervise`: `supervise`, a group whose children's failures cancel nothing;
//! - `discard`: `add_task`, a child without a handle, freed as soon as it ends.

mod cancel;
mod child;
mod discard;
mod eager;
mod infallible;
mod runner;
mod spawning;
mod start;
mod supervise;

pub use self::cancel::Cancellable;
pub use self::infallible::SendPlainBody;
pub use self::spawning::{SpawningTaskGroup, TaskGroupOn};
pub use self::start::{StartError, TaskStatus};
pub use self::supervise::Supervised;

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::{Pin, pin};

use self::child::{Child, Core, LocalChild, SendChild, Status};
use self::runner::Runner;
use crate::error::ExceptionGroup;
use crate::task::{Task, local_task_cell, send_task_cell};

/// asyncio's `TaskGroup` (3.11): a body and the tasks it creates, run together; the group
/// ends when all of them have, and the first failure cancels the rest.
///
/// [`TaskGroup::run`] takes the body, an async closure that receives the group. Inside it,
/// [`create_task`](TaskGroup::create_task) starts a child and returns its [`Task`] handle.
/// Everything is polled in place, inside the task that awaits `run`: nothing is spawned,
/// so children may borrow from the caller's stack, and no executor is needed beyond the one
/// that runs the caller. The body runs concurrently with its children: a child created
/// before the body's next `.await` starts during that await.
///
/// This group's children and body must be `Send`, and then the future of `run` is `Send`
/// (usable with `tokio::spawn`) when the values it returns are. For children or a body that
/// are not `Send` (`Rc`, `RefCell`), use [`LocalTaskGroup`], which is the same in every other
/// way.
///
/// # Rules (asyncio's, with Rust's differences)
///
/// - `run` returns once the body and every child have finished: `Ok` with the body's value.
/// - The first child that returns `Err` makes the group abort: every other child and the body
///   are dropped (cancelled). Children that fail in the same pass of the group are all
///   collected. `run` returns `Err(ExceptionGroup)` holding every error, in the order the
///   children failed. An `Err` returned by the body aborts the group the same way; when it
///   comes with children's errors (the body was already resuming when they failed, see
///   "Passes" in [`run`](TaskGroup::run)), it comes after them.
/// - A child cancelled through its own handle ([`Task::cancel`]) is not a failure: the others
///   go on.
/// - A panic in a child or in the body drops every child and the body, then resumes the panic.
/// - Children may create more children while the group finishes (the body has returned);
///   `create_task` while the group aborts (from a destructor, or a sibling polled after a
///   failure) is refused: the future is dropped without being polled, and the returned handle
///   is already cancelled. asyncio raises `RuntimeError` instead.
/// - Nested groups work: an inner group's `ExceptionGroup` is an error like any other for the
///   outer body (with `?`, it becomes the outer body's error).
/// - Dropping the future of `run` drops the body and every child.
///
/// # Memory
///
/// A child's future and allocation are freed as soon as it ends (its value too, unless a
/// handle holds it), and a new child takes the slot of one that ended: a group that runs a child
/// per connection for days holds memory for the children running at once, not for every one it
/// ran. [`add_task`](TaskGroup::add_task) starts a child without a handle.
///
/// # More
///
/// [`run_cancellable`](TaskGroup::run_cancellable) gives a group that can end early without
/// an error (asyncio 3.15's `TaskGroup.cancel()`); [`supervise`](TaskGroup::supervise) one in
/// which a child's failure cancels nothing (Kotlin's `supervisorScope`);
/// [`start`](TaskGroup::start) waits until a child is ready (Trio's `nursery.start`).
///
/// Handles outlive the group: after `run` returns, each handle gives its child's outcome. A
/// child that failed has its error in the `ExceptionGroup` (errors are not cloned), so its
/// handle ends cancelled. A child that is a [`#[aiokit::coroutine]`](macro@crate::coroutine) is named
/// after it (unless named with [`Task::set_name`] before its first poll); other children are
/// "Task-N".
///
/// # Examples
///
/// Children borrow from the caller; the body awaits a handle:
///
/// ```
/// use aiokit::TaskGroup;
///
/// # futures::executor::block_on(async {
/// let menu = vec!["green", "black"];
/// let teas = TaskGroup::run(async |tg| {
///     let green = tg.create_task(async { Ok::<_, String>(format!("{} tea", menu[0])) });
///     let black = tg.create_task(async { Ok(format!("{} tea", menu[1])) });
///     let first = green.clone().await.unwrap();
///     Ok((first, black))
/// })
/// .await;
/// let (first, black) = teas.unwrap();
/// assert_eq!(first, "green tea");
/// assert_eq!(black.result().unwrap(), "black tea"); // handles outlive the group
/// # });
/// ```
///
/// The first failure cancels the rest; the errors come back together:
///
/// ```
/// use aiokit::TaskGroup;
///
/// # futures::executor::block_on(async {
/// let result: Result<(), _> = TaskGroup::run(async |tg| {
///     let slow = tg.create_task(std::future::pending::<Result<(), &str>>());
///     tg.create_task(async { Err::<(), _>("no milk") });
///     std::future::pending::<()>().await; // the body is cancelled too
///     drop(slow);
///     Ok(())
/// })
/// .await;
/// let errors = result.unwrap_err();
/// assert_eq!(errors.into_inner(), ["no milk"]);
/// # });
/// ```
///
/// The group future is `Send` when its children and body are:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let joined = tokio::spawn(aiokit::TaskGroup::run(async |tg| {
///     let shared = std::sync::Arc::new(std::sync::Mutex::new(0));
///     for i in 1..=3 {
///         let shared = shared.clone();
///         tg.create_task(async move {
///             tokio::task::yield_now().await;
///             *shared.lock().unwrap() += i;
///             Ok::<(), std::io::Error>(())
///         });
///     }
///     Ok(shared)
/// }));
/// let total = joined.await.unwrap().unwrap();
/// # drop(total);
/// # }
/// ```
///
/// # Panics
///
/// A panic of a child or of the body is resumed by `run` after every child was dropped.
/// Polling the future of `run` again after it returned panics.
///
/// # See also
///
/// [`LocalTaskGroup`], [`ExceptionGroup`], [`gather()`](crate::gather()) (no handles, no
/// children added on the way).
pub struct TaskGroup<'scope, 'env: 'scope, E> {
    core: Core<'scope, SendChild<'scope, E>>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<E> TaskGroup<'_, '_, E> {
    /// A group with no children: what every entry point hands its body.
    fn empty() -> Self {
        TaskGroup {
            core: Core::new(),
            _env: PhantomData,
        }
    }

    /// Runs `body` with a new group, polling it and every child it creates together, until
    /// all have finished; see [`TaskGroup`] for the rules.
    ///
    /// `body` is an async closure, `async |tg| { ...; Ok(value) }`; it may borrow anything
    /// that outlives the call, and so may the children.
    ///
    /// # Passes, and the body's error beside the children's
    ///
    /// Each poll of the returned future runs passes. A pass polls the body if its waker fired
    /// since its last poll (the first pass always does), then adds the children created since
    /// the last pass, then polls the children that need it (never-polled ones, then woken
    /// ones), each at most once. A poll runs another pass while children keep creating
    /// children, up to a bound, then yields.
    ///
    /// When a child fails, the body is *already resuming* if its waker fired after its last
    /// poll and before the group saw the first failure of the pass, other than by the end of
    /// that failed child's handle (a body awaiting that handle, or woken by one of its
    /// done-callbacks, is not resuming). In asyncio's terms: its wake-up was scheduled before
    /// the failed child's done-callbacks, the first of which is the group's, which cancels the
    /// body. Such a body is polled once more, at the end of that pass, while the group aborts
    /// (it can no longer create children): if it returns `Err`, its error is added after the
    /// children's. If it returns `Ok` (the value is dropped) or `Pending`, it is dropped and
    /// only the children's errors are reported. A body not already resuming is dropped without
    /// another poll, as one woken only after the failure is: asyncio cancels it before it runs.
    /// Two cases that give both errors, as asyncio (3.11 to 3.13) does: the body awaits a
    /// child's handle, and that child finishes before a sibling fails in the same pass; or the
    /// body yields (`yield_now`) right after creating a child that fails on its first poll.
    ///
    /// During that last poll, the handles of the children that failed are done and cancelled
    /// (their errors are in the group): awaiting one gives [`CancelledError`](crate::CancelledError), where asyncio
    /// raises the child's error in the body. A body that awaits several handles in turn
    /// should match on their results (or use `?`) rather than unwrap them, or it panics there.
    ///
    /// # Examples
    ///
    /// More in [`TaskGroup`]. A body already resuming when a child fails reports its error
    /// after the child's:
    ///
    /// ```
    /// use aiokit::TaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let result: Result<(), _> = TaskGroup::run(async |tg| {
    ///     let tea = tg.create_task(async { Ok("tea") });
    ///     tg.create_task(async { Err::<(), _>("no milk") });
    ///     // `tea` finishes (waking the body) before its sibling fails, in the same pass.
    ///     tea.await.unwrap();
    ///     Err("no cup")
    /// })
    /// .await;
    /// assert_eq!(result.unwrap_err().into_inner(), ["no milk", "no cup"]);
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn run<'env, B, R>(
        body: B,
    ) -> impl Future<Output = Result<R, ExceptionGroup<E>>> + use<'env, B, R, E>
    where
        B: for<'scope> AsyncFnOnce(&'scope TaskGroup<'scope, 'env, E>) -> Result<R, E>
            + for<'scope> SendBody<&'scope TaskGroup<'scope, 'env, E>, R, E>,
    {
        async move {
            let group = TaskGroup::empty();
            let slot = pin!(None);
            let mut runner = Runner::new(&group.core, slot);
            // Called once the runner exists: children the call creates before it returns (or
            // panics) are the runner's to drop.
            // Type-erased (one allocation per group) so that the body's future type, a
            // projection on `B`, is not held across the await below: rustc checks `Send` for
            // such types with their lifetimes made independent, which no body satisfies.
            let body: Pin<Box<dyn Future<Output = Result<R, E>> + Send + '_>> =
                Box::pin(SendBody::call(body, &group));
            runner.start(body);
            runner.await
        }
    }
}

/// The body of a [`TaskGroup`]: a function of the group (`Arg` is `&TaskGroup`) whose future
/// is `Send`.
///
/// Implemented for every `FnOnce(Arg) -> impl Future<Output = Result<R, E>> + Send`, async
/// closures included; [`TaskGroup::run`] asks for it beside `AsyncFnOnce` because stable Rust
/// cannot yet say "an async closure whose future is `Send`" otherwise. Not meant to be
/// implemented or called by hand.
///
/// # Examples
///
/// ```
/// use aiokit::TaskGroup;
/// use aiokit::task::SendBody;
///
/// fn is_body<B>(_: &B)
/// where
///     B: for<'scope> SendBody<&'scope TaskGroup<'scope, 'static, ()>, u8, ()>,
/// {
/// }
///
/// is_body(&async |_tg: &TaskGroup<'_, 'static, ()>| Ok(1));
/// ```
pub trait SendBody<Arg, R, E>: sealed::Sealed<Arg, R, E> {
    /// The body's future.
    type Future: Future<Output = Result<R, E>> + Send;

    /// Calls the body with the group.
    fn call(self, group: Arg) -> Self::Future;
}

mod sealed {
    use core::future::Future;

    /// Keeps [`SendBody`](super::SendBody) implemented by closures only.
    pub trait Sealed<Arg, R, E> {}

    impl<Arg, R, E, B, Fut> Sealed<Arg, R, E> for B
    where
        B: FnOnce(Arg) -> Fut,
        Fut: Future<Output = Result<R, E>> + Send,
    {
    }
}

impl<Arg, R, E, B, Fut> SendBody<Arg, R, E> for B
where
    B: FnOnce(Arg) -> Fut,
    Fut: Future<Output = Result<R, E>> + Send,
{
    type Future = Fut;

    fn call(self, group: Arg) -> Fut {
        self(group)
    }
}

impl<'scope, E> TaskGroup<'scope, '_, E> {
    /// Starts `fut` as a child of the group and returns its handle (asyncio's
    /// `tg.create_task(coro)`).
    ///
    /// The child is first polled during the body's next `.await` (or, when a child calls
    /// this, in the same poll of the group). Its `Ok` value is the handle's result; an `Err`
    /// aborts the group. Dropping the handle does not cancel the child; [`Task::cancel`] does,
    /// and that is not a failure.
    ///
    /// While the group aborts or after it finished, the child is refused: `fut` is dropped
    /// without being polled and the handle is already cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let cups = aiokit::TaskGroup::run(async |tg| {
    ///     let cup = tg.create_task(async { Ok::<_, ()>("tea") });
    ///     Ok(cup.await)
    /// })
    /// .await;
    /// assert_eq!(cups, Ok(Ok("tea")));
    /// # });
    /// ```
    pub fn create_task<F, T>(&self, fut: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'scope,
        T: Send + Sync + 'scope,
        E: Send,
    {
        self.core
            .create(|| send_task_cell(|completer| Child::new(fut, completer)))
    }

    /// Whether the group still accepts children: false once it aborts or has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// aiokit::TaskGroup::run(async |tg| {
    ///     assert!(tg.is_open());
    ///     Ok::<_, ()>(())
    /// })
    /// .await
    /// .unwrap();
    /// # });
    /// ```
    pub fn is_open(&self) -> bool {
        self.core.status() == Status::Open
    }
}

impl<E> fmt::Debug for TaskGroup<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt(f)
    }
}

/// A [`TaskGroup`] whose children need not be `Send` (they may hold `Rc`, `RefCell`, ...).
///
/// Everything else is as for [`TaskGroup`]; the future of [`LocalTaskGroup::run`] is not
/// `Send`, so it runs where it was made (`block_on`, a `LocalSet`, a local executor).
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// use aiokit::LocalTaskGroup;
///
/// # futures::executor::block_on(async {
/// let log = Rc::new(RefCell::new(Vec::new()));
/// LocalTaskGroup::run(async |tg| {
///     for cup in ["green", "black"] {
///         let log = log.clone();
///         tg.create_task(async move {
///             log.borrow_mut().push(cup);
///             Ok::<_, ()>(Rc::new(cup))
///         });
///     }
///     Ok(())
/// })
/// .await
/// .unwrap();
/// assert_eq!(*log.borrow(), ["green", "black"]);
/// # });
/// ```
pub struct LocalTaskGroup<'scope, 'env: 'scope, E> {
    core: Core<'scope, LocalChild<'scope, E>>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<E> LocalTaskGroup<'_, '_, E> {
    /// A group with no children: what every entry point hands its body.
    fn empty() -> Self {
        LocalTaskGroup {
            core: Core::new(),
            _env: PhantomData,
        }
    }

    /// Runs `body` with a new group; see [`TaskGroup::run`].
    ///
    /// # Examples
    ///
    /// See [`LocalTaskGroup`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn run<'env, B, R>(
        body: B,
    ) -> impl Future<Output = Result<R, ExceptionGroup<E>>> + use<'env, B, R, E>
    where
        B: for<'scope> AsyncFnOnce(&'scope LocalTaskGroup<'scope, 'env, E>) -> Result<R, E>,
    {
        async move {
            let group = LocalTaskGroup::empty();
            let slot = pin!(None);
            let mut runner = Runner::new(&group.core, slot);
            // Called once the runner exists (see `TaskGroup::run`).
            runner.start(body(&group));
            runner.await
        }
    }
}

impl<'scope, E> LocalTaskGroup<'scope, '_, E> {
    /// Starts `fut` as a child of the group; see [`TaskGroup::create_task`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let shared = std::rc::Rc::new(5);
    /// let out = aiokit::LocalTaskGroup::run(async |tg| {
    ///     let task = tg.create_task(async { Ok::<_, ()>(*shared + 1) });
    ///     Ok(task)
    /// })
    /// .await
    /// .unwrap();
    /// assert_eq!(out.result(), Ok(&6));
    /// # });
    /// ```
    pub fn create_task<F, T>(&self, fut: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'scope,
        T: 'scope,
    {
        self.core
            .create(|| local_task_cell(|completer| Child::new(fut, completer)))
    }

    /// Whether the group still accepts children; see [`TaskGroup::is_open`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// aiokit::LocalTaskGroup::run(async |tg| {
    ///     assert!(tg.is_open());
    ///     Ok::<_, ()>(())
    /// })
    /// .await
    /// .unwrap();
    /// # });
    /// ```
    pub fn is_open(&self) -> bool {
        self.core.status() == Status::Open
    }
}

impl<E> fmt::Debug for LocalTaskGroup<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt(f)
    }
}
