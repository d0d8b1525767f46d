//! `TaskGroup` and `LocalTaskGroup`: asyncio 3.11's structured concurrency, polled in place.
//!
//! The run future owns everything: the group (which the body and the children borrow), the
//! body's future, and the engine holding the children. A child made by `create_task` is
//! queued in the group (the engine may be in the middle of polling the child that made it) and
//! pushed into the engine between drive passes.
//!
//! The queue holds children that borrow for `'scope`, the very borrow of the group itself, so
//! the group must have no drop glue that mentions `'scope` (the borrow checker would see the
//! group dropped while borrowed): the queue sits in a `ManuallyDrop`, and the runner, which is
//! dropped before the group, empties it on every path (finish, abort, panic, cancellation).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pin_project_lite::pin_project;

use crate::coroutine::{probe, suppress_never_awaited};
use crate::engine::task_cell::{RawDriver, SendDriver};
use crate::engine::{DIRECT_MAX, Drive, Engine, Step};
use crate::error::ExceptionGroup;
use crate::task::{Task, TaskCompleter, local_task_cell, send_task_cell};

/// How many times one poll of the group may drive the children again because children
/// created more children, before it yields to the executor (which it wakes first).
const PASSES: usize = 8;

/// A child as the engine holds it: type-erased, `Send` for [`TaskGroup`]. A pointer to the one
/// allocation that holds both the child's future and its handle's state.
type SendChild<'scope, E> = SendDriver<'scope, Outcome<E>>;
/// A child as the engine holds it: type-erased, any future for [`LocalTaskGroup`].
type LocalChild<'scope, E> = RawDriver<'scope, Outcome<E>>;

/// What a finished child tells the group.
enum Outcome<E> {
    /// Succeeded, or was cancelled through its handle: not a failure.
    Done,
    /// Failed: the task's name and its error.
    Failed(String, E),
}

/// Where the group is in its life; `create_task` is accepted only while `Open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Running, or finishing: the body returned and the children still run (they may add more).
    Open,
    /// A failure or a panic: everything is being dropped.
    Aborting,
    /// `run` has returned (or was dropped).
    Finished,
}

/// The part of a group that `create_task` touches, shared by both kinds of group.
struct Core<'scope, C> {
    queue: Mutex<Queue<C>>,
    _scope: PhantomData<&'scope mut &'scope ()>,
}

struct Queue<C> {
    status: Status,
    /// Emptied by the runner, never dropped with the group (see the module docs).
    children: ManuallyDrop<Vec<C>>,
}

impl<C> Core<'_, C> {
    fn new() -> Self {
        Core {
            queue: Mutex::new(Queue {
                status: Status::Open,
                children: ManuallyDrop::new(Vec::new()),
            }),
            _scope: PhantomData,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<C>> {
        // No user code runs under this lock (children are made before it and dropped after
        // it), so a poisoned lock can only come from a failed allocation: keep going.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues the child that `make` builds (with its handle), or refuses it: then the child's
    /// future is dropped unpolled and the handle ends cancelled.
    fn create<T>(&self, make: impl FnOnce() -> (Task<T>, C)) -> Task<T> {
        // Made outside the lock: the allocation, and the future's move into it.
        let (task, child) = make();
        let mut queue = self.lock();
        if queue.status == Status::Open {
            queue.children.push(child);
            return task;
        }
        drop(queue);
        // Refused on purpose: not a forgotten coroutine. Dropping the child drops its future,
        // then its completer, which ends the task cancelled, as its handle reports.
        suppress_never_awaited(|| drop(child));
        task
    }

    fn status(&self) -> Status {
        self.lock().status
    }

    fn set_status(&self, status: Status) {
        self.lock().status = status;
    }

    /// Moves the queued children into `spare` (which must be empty); keeps both allocations.
    fn swap_queue(&self, spare: &mut Vec<C>) {
        let mut queue = self.lock();
        mem::swap(&mut *queue.children, spare);
    }

    fn has_queued(&self) -> bool {
        !self.lock().children.is_empty()
    }
}

impl<C> fmt::Debug for Core<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queue = self.lock();
        f.debug_struct("TaskGroup")
            .field("status", &queue.status)
            .field("queued", &queue.children.len())
            .finish_non_exhaustive()
    }
}

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
///   children failed; an `Err` returned by the body aborts the group the same way, and its
///   error comes after the children's.
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
/// Handles outlive the group: after `run` returns, each handle gives its child's outcome. A
/// child that failed has its error in the `ExceptionGroup` (errors are not cloned), so its
/// handle ends cancelled. A child that is a [`#[aiokit::coroutine]`](crate::coroutine) is named
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
    /// Runs `body` with a new group, polling it and every child it creates together, until
    /// all have finished; see [`TaskGroup`] for the rules.
    ///
    /// `body` is an async closure, `async |tg| { ...; Ok(value) }`; it may borrow anything
    /// that outlives the call, and so may the children.
    ///
    /// # Examples
    ///
    /// See [`TaskGroup`].
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
            let group = TaskGroup {
                core: Core::new(),
                _env: PhantomData,
            };
            // Type-erased (one allocation per group) so that the body's future type, a
            // projection on `B`, is not held across the await below: rustc checks `Send` for
            // such types with their lifetimes made independent, which no body satisfies.
            let body: Pin<Box<dyn Future<Output = Result<R, E>> + Send + '_>> =
                Box::pin(SendBody::call(body, &group));
            let body = pin!(Some(body));
            Runner::new(&group.core, body).await
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
/// use aiokit::{SendBody, TaskGroup};
///
/// fn is_body<B>(_: &B)
/// where
///     B: for<'scope> SendBody<&'scope TaskGroup<'scope, 'static, ()>, u8, ()>,
/// {
/// }
///
/// is_body(&async |_tg: &TaskGroup<'_, 'static, ()>| Ok(1));
/// ```
pub trait SendBody<Arg, R, E> {
    /// The body's future.
    type Future: Future<Output = Result<R, E>> + Send;

    /// Calls the body with the group.
    fn call(self, group: Arg) -> Self::Future;
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
            let group = LocalTaskGroup {
                core: Core::new(),
                _env: PhantomData,
            };
            let body = pin!(Some(body(&group)));
            Runner::new(&group.core, body).await
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

pin_project! {
    /// A child and its handle's completer: completes the handle and tells the group whether
    /// the child failed.
    struct Child<F, T> {
        #[pin]
        fut: Option<F>,
        completer: Option<TaskCompleter<T>>,
        polled: bool,
    }
}

impl<F, T> Child<F, T> {
    fn new(fut: F, completer: TaskCompleter<T>) -> Self {
        Child {
            fut: Some(fut),
            completer: Some(completer),
            polled: false,
        }
    }
}

impl<F, T, E> Future for Child<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Outcome<E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<E>> {
        let mut this = self.project();
        let (Some(completer), Some(fut)) =
            (this.completer.as_ref(), this.fut.as_mut().as_pin_mut())
        else {
            return Poll::Ready(Outcome::Done);
        };
        let cancelled = if completer.is_cancel_requested() {
            true
        } else {
            let ready = if *this.polled {
                fut.poll(cx)
            } else {
                *this.polled = true;
                let (ready, name) = probe::listen(|| fut.poll(cx));
                if let Some(name) = name {
                    completer.set_default_name(name);
                }
                ready
            };
            match ready {
                Poll::Ready(Ok(value)) => {
                    // Dropped before completing, so the handle's awaiters and callbacks find
                    // the child's resources released.
                    this.fut.set(None);
                    if let Some(completer) = this.completer.take() {
                        completer.complete(value);
                    }
                    return Poll::Ready(Outcome::Done);
                }
                // A cancel requested before the error came wins, as it does for a value.
                Poll::Ready(Err(_)) if completer.is_cancel_requested() => true,
                Poll::Ready(Err(error)) => {
                    this.fut.set(None);
                    let name = completer.name();
                    // Its error goes to the group; the handle ends cancelled.
                    drop(this.completer.take());
                    return Poll::Ready(Outcome::Failed(name, error));
                }
                // Registered only now: a child that finishes on its first poll (the common
                // case) never pays for the waker clone.
                Poll::Pending => completer.poll_cancel_requested(cx),
            }
        };
        if !cancelled {
            return Poll::Pending;
        }
        suppress_never_awaited(|| this.fut.set(None));
        if let Some(completer) = this.completer.take() {
            completer.cancel();
        }
        Poll::Ready(Outcome::Done)
    }
}

/// Drives a group: the body and the children, until all are done or one fails.
struct Runner<'a, 'scope, C: Future<Output = Outcome<E>>, B, R, E> {
    core: &'scope Core<'scope, C>,
    body: Pin<&'a mut Option<B>>,
    engine: Engine<C>,
    /// The queue's other buffer: children move from the queue into the engine through it.
    spare: Vec<C>,
    errors: ExceptionGroup<E>,
    output: Option<R>,
    done: bool,
}

// The body is pinned through `body`; nothing else is ever pinned.
impl<C: Future<Output = Outcome<E>>, B, R, E> Unpin for Runner<'_, '_, C, B, R, E> {}

impl<'a, 'scope, C, B, R, E> Runner<'a, 'scope, C, B, R, E>
where
    C: Future<Output = Outcome<E>>,
    B: Future<Output = Result<R, E>>,
{
    fn new(core: &'scope Core<'scope, C>, body: Pin<&'a mut Option<B>>) -> Self {
        Runner {
            core,
            body,
            // Room for a small group in direct mode from the start: no shared allocation and no
            // growth until the group outgrows it.
            engine: Engine::with_capacity(DIRECT_MAX),
            spare: Vec::new(),
            errors: ExceptionGroup::new(),
            output: None,
            done: false,
        }
    }

    /// Moves the children created since the last call into the engine.
    fn flush(&mut self) {
        self.core.swap_queue(&mut self.spare);
        for child in self.spare.drain(..) {
            self.engine.push(child);
        }
    }

    fn step(&mut self, cx: &mut Context<'_>) -> Poll<Result<R, ExceptionGroup<E>>> {
        for _ in 0..PASSES {
            if let Some(body) = self.body.as_mut().as_pin_mut() {
                match body.poll(cx) {
                    Poll::Pending => {}
                    Poll::Ready(Ok(output)) => {
                        self.body.set(None);
                        self.output = Some(output);
                    }
                    Poll::Ready(Err(error)) => {
                        self.body.set(None);
                        self.errors.push_body(error);
                        return Poll::Ready(Err(self.abort()));
                    }
                }
            }
            self.flush();
            let core = self.core;
            let errors = &mut self.errors;
            let drive = self.engine.poll_drive(cx, |_, out| {
                if let Some(Outcome::Failed(name, error)) = out.take() {
                    if errors.is_empty() {
                        // Siblings polled later in this pass may no longer add children.
                        core.set_status(Status::Aborting);
                    }
                    errors.push_child(name, error);
                }
                // The rest of the pass still runs, so that children failing together are
                // all reported.
                Step::Continue
            });
            if !self.errors.is_empty() {
                return Poll::Ready(Err(self.abort()));
            }
            if self.core.has_queued() {
                continue;
            }
            if drive == Drive::AllDone && self.body.is_none() {
                self.core.set_status(Status::Finished);
                self.done = true;
                let output = self.output.take().expect("the body returned a value");
                return Poll::Ready(Ok(output));
            }
            return Poll::Pending;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn abort(&mut self) -> ExceptionGroup<E> {
        self.cancel_everything();
        mem::replace(&mut self.errors, ExceptionGroup::new())
    }
}

impl<C: Future<Output = Outcome<E>>, B, R, E> Runner<'_, '_, C, B, R, E> {
    /// Drops the body and every child (queued ones included); no child can be added after.
    fn cancel_everything(&mut self) {
        self.done = true;
        let mut queued = Vec::new();
        {
            let mut queue = self.core.lock();
            queue.status = Status::Aborting;
            mem::swap(&mut *queue.children, &mut queued);
        }
        // Cancelled on purpose: never-polled coroutines among them are not forgotten ones.
        // Destructors may call `create_task`, which is refused now, so no lock is held here.
        suppress_never_awaited(|| {
            self.body.set(None);
            self.engine.cancel_all();
            drop(queued);
            self.spare.clear();
        });
        self.core.set_status(Status::Finished);
    }
}

impl<C, B, R, E> Future for Runner<'_, '_, C, B, R, E>
where
    C: Future<Output = Outcome<E>>,
    B: Future<Output = Result<R, E>>,
{
    type Output = Result<R, ExceptionGroup<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "a task group polled after it returned");
        match catch_unwind(AssertUnwindSafe(|| this.step(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                this.cancel_everything();
                resume_unwind(payload)
            }
        }
    }
}

impl<C: Future<Output = Outcome<E>>, B, R, E> Drop for Runner<'_, '_, C, B, R, E> {
    fn drop(&mut self) {
        if !self.done {
            // The group's future was dropped (cancelled) before it finished.
            self.cancel_everything();
        }
    }
}

impl<C: Future<Output = Outcome<E>>, B, R, E> fmt::Debug for Runner<'_, '_, C, B, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("engine", &self.engine)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
