//! The helper types of [`wait`](crate::wait()) (asyncio's `wait(fs, return_when=...)`, which
//! runs children until all, the first, or the first failed one completes, and hands back
//! `(done, pending)`): the kinds of [`crate::ReturnWhen`] ([`OnCompletion`],
//! [`OnFailure`]) and their sealed [`ReturnCondition`], [`Outcome`] (which outputs are
//! failures), [`NoDeadline`], and [`IntoChildren`] (what `gather`, `wait` and `as_completed`
//! take).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::TypeId;
use core::fmt;
use core::future::{Future, IntoFuture};
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};

pub use crate::pending::IntoChildren;

use futures_core::future::FusedFuture;

use crate::CancelledError;
use crate::engine::{Drive, Step};
use crate::pending::Pending;

cfg_timer! {
    use core::time::Duration;

    use crate::timer::{Sleep, sleep};
}

/// When [`wait`] returns (asyncio's `return_when`): [`AllCompleted`](ReturnWhen::AllCompleted),
/// [`FirstCompleted`](ReturnWhen::FirstCompleted) or
/// [`FirstException`](ReturnWhen::FirstException).
///
/// The three are constants of this type rather than variants of an enum so that
/// `FirstException`, which has to tell failures from successes, is a compile error for children
/// whose output has no failures (see [`Outcome`]); the other two take any output. The type
/// parameter records which kind a constant is: [`OnCompletion`] or [`OnFailure`].
///
/// # Examples
///
/// ```
/// use aiokit::ReturnWhen;
/// assert_eq!(ReturnWhen::FirstCompleted, ReturnWhen::FirstCompleted);
/// assert_ne!(ReturnWhen::AllCompleted, ReturnWhen::FirstCompleted);
/// assert_eq!(format!("{:?}", ReturnWhen::FirstException), "FirstException");
/// ```
#[doc(alias = "return_when")]
pub struct ReturnWhen<K> {
    mode: Mode,
    kind: PhantomData<fn() -> K>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    AllCompleted,
    FirstCompleted,
    FirstException,
}

/// The kind of [`ReturnWhen::AllCompleted`] and [`ReturnWhen::FirstCompleted`]: any output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OnCompletion(());

/// The kind of [`ReturnWhen::FirstException`]: outputs that implement [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OnFailure(());

#[allow(non_upper_case_globals)] // named as asyncio's constants, in Rust's variant casing
impl ReturnWhen<OnCompletion> {
    /// Return when every child has completed (asyncio's `ALL_COMPLETED`, the default).
    #[doc(alias = "ALL_COMPLETED")]
    pub const AllCompleted: Self = ReturnWhen::new(Mode::AllCompleted);
    /// Return as soon as at least one child has completed (asyncio's `FIRST_COMPLETED`).
    /// `done` then holds every child that had completed by then, which may be more than one.
    #[doc(alias = "FIRST_COMPLETED")]
    pub const FirstCompleted: Self = ReturnWhen::new(Mode::FirstCompleted);
}

#[allow(non_upper_case_globals)]
impl ReturnWhen<OnFailure> {
    /// Return as soon as a child fails, that is completes with an output that
    /// [`Outcome::is_failure`] calls a failure, such as an `Err` (asyncio's `FIRST_EXCEPTION`).
    /// With no failure it is [`AllCompleted`](ReturnWhen::AllCompleted).
    ///
    /// Children whose output is not an [`Outcome`] cannot fail, so this does not compile for
    /// them (use `AllCompleted`, which is what it would mean):
    ///
    /// ```compile_fail
    /// # futures::executor::block_on(async {
    /// let (done, _) = aiokit::wait([async { 1 }], aiokit::ReturnWhen::FirstException).await;
    /// # });
    /// ```
    #[doc(alias = "FIRST_EXCEPTION")]
    pub const FirstException: Self = ReturnWhen::new(Mode::FirstException);
}

impl<K> ReturnWhen<K> {
    const fn new(mode: Mode) -> Self {
        ReturnWhen {
            mode,
            kind: PhantomData,
        }
    }
}

impl<K> Clone for ReturnWhen<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for ReturnWhen<K> {}

impl<K> PartialEq for ReturnWhen<K> {
    fn eq(&self, other: &Self) -> bool {
        self.mode == other.mode
    }
}

impl<K> Eq for ReturnWhen<K> {}

impl<K> fmt::Debug for ReturnWhen<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.mode, f)
    }
}

/// An output that may be a failure: what [`ReturnWhen::FirstException`] stops at (asyncio's
/// "the child raised").
///
/// Implemented for `Result<T, E>`: `Err` is a failure, except `Err(`[`CancelledError`]`)`, the
/// output of a cancelled [`Task`](crate::Task) handle, because asyncio does not count a
/// cancelled child as a failure. Implement it for your own output types as you see fit.
///
/// # Examples
///
/// ```
/// use aiokit::CancelledError;
/// use aiokit::wait::Outcome;
/// assert!(Err::<(), _>("burnt").is_failure());
/// assert!(!Ok::<_, ()>(1).is_failure());
/// assert!(!Err::<(), _>(CancelledError::new()).is_failure());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no failures, so `ReturnWhen::FirstException` cannot tell when to return",
    label = "outputs of this type are never failures",
    note = "use `ReturnWhen::AllCompleted`, which is what `FirstException` means when no child can fail, \
            or give the children a `Result` output"
)]
pub trait Outcome {
    /// Whether this output is a failure.
    fn is_failure(&self) -> bool;
}

impl<T, E: 'static> Outcome for Result<T, E> {
    #[inline]
    fn is_failure(&self) -> bool {
        // A constant once monomorphized: only `CancelledError` itself is exempt.
        self.is_err() && TypeId::of::<E>() != TypeId::of::<CancelledError>()
    }
}

/// How a [`ReturnWhen`] kind reads an output; implemented for [`OnCompletion`] (any output)
/// and [`OnFailure`] (outputs that are an [`Outcome`]). Sealed: it cannot be implemented
/// elsewhere.
pub trait ReturnCondition<T>: sealed::Sealed {
    /// Whether `output` ends a `FirstException` wait.
    #[doc(hidden)]
    fn is_failure(output: &T) -> bool;
}

mod sealed {
    /// Keeps [`ReturnCondition`](super::ReturnCondition) to the two kinds of [`ReturnWhen`](super::ReturnWhen).
    pub trait Sealed {}

    impl Sealed for super::OnCompletion {}
    impl Sealed for super::OnFailure {}
}

impl<T> ReturnCondition<T> for OnCompletion {
    fn is_failure(_: &T) -> bool {
        false
    }
}

impl<T: Outcome> ReturnCondition<T> for OnFailure {
    fn is_failure(output: &T) -> bool {
        output.is_failure()
    }
}

/// A child that completed: its original index, its output and its name.
///
/// The index is the child's position in the input of the first `wait` / `as_completed` /
/// `gather` it was given to; a [`Pending`] set passed on keeps it.
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let (done, _) = aiokit::wait(['a', 'b'].map(std::future::ready), aiokit::ReturnWhen::AllCompleted).await;
/// assert_eq!(done[1], aiokit::Done::new(1, 'b'));
/// assert_eq!((done[1].index, done[1].output), (1, 'b'));
/// assert_eq!(done[1].clone().into_output(), 'b');
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Done<T> {
    /// The child's position in the original input.
    pub index: usize,
    /// What the child returned.
    pub output: T,
    // Only learned with the `inspect` feature; without it, no room is spent on it.
    #[cfg(feature = "inspect")]
    name: Option<&'static str>,
}

impl<T> Done<T> {
    /// A completed child with no name (to compare with what `wait` returned).
    ///
    /// # Examples
    ///
    /// ```
    /// let done = aiokit::Done::new(2, "tea");
    /// assert_eq!((done.index, done.output), (2, "tea"));
    /// ```
    pub const fn new(index: usize, output: T) -> Self {
        Done {
            index,
            output,
            #[cfg(feature = "inspect")]
            name: None,
        }
    }

    /// The child's name: the name of the [`Coroutine`](crate::Coroutine) it was (what a
    /// `#[aiokit::coroutine]` function returns), of the first coroutine it ran inline (an
    /// `async` block awaiting one), or of the [`boxed!`](crate::boxed!) coroutine; `None` for
    /// other futures.
    ///
    /// Needs the `inspect` feature: names are learned only when it is on, so that code which
    /// never asks pays nothing for them.
    ///
    /// The name is learned while the child runs: a coroutine hands its name to the `wait`
    /// driving it on its first poll, as does a named [`Boxed`](crate::boxed::Boxed). A coroutine that the child boxes itself (`Box::pin(make_tea())`) lives outside
    /// the child and is not heard. asyncio's `wait` hands back tasks, whose `get_name()` is
    /// `Task-N` when unnamed; [`Done::name_or_default`] gives that form. A task handle as a
    /// child has no name here (its name is a `String` that `set_name` may change); the
    /// task's own [`name`](crate::Task::name) gives it.
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::{ReturnWhen, wait};
    ///
    /// #[aiokit::coroutine]
    /// async fn make_tea() -> &'static str {
    ///     "tea"
    /// }
    ///
    /// # futures::executor::block_on(async {
    /// let children = [aiokit::boxed!(make_tea()), aiokit::boxed!(async { "water" })];
    /// let (done, _) = wait(children, ReturnWhen::AllCompleted).await;
    /// assert!(done[0].name().unwrap().ends_with("make_tea"));
    /// assert_eq!(done[1].name(), None);
    /// assert_eq!(done[1].name_or_default(), "<future #1>");
    /// # });
    /// ```
    #[cfg(feature = "inspect")]
    pub fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// The name, or `<future #i>` (`i` the index) for a child without one: the form the
    /// combinators' `Debug` output uses.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aiokit::Done::new(3, ()).name_or_default(), "<future #3>");
    /// ```
    #[cfg(feature = "inspect")]
    pub fn name_or_default(&self) -> alloc::borrow::Cow<'static, str> {
        match self.name {
            Some(name) => alloc::borrow::Cow::Borrowed(name),
            None => alloc::borrow::Cow::Owned(alloc::format!("<future #{}>", self.index)),
        }
    }

    /// The output, without the index.
    pub fn into_output(self) -> T {
        self.output
    }
}

/// The deadline type of a [`Wait`] or [`AsCompleted`](crate::AsCompleted) that has none.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDeadline(());

/// Runs `children` until `return_when` is met and returns `(done, pending)` (asyncio's
/// `done, pending = await wait(aws, return_when=...)`).
///
/// - [`ReturnWhen::AllCompleted`]: when every child has completed.
/// - [`ReturnWhen::FirstCompleted`]: as soon as at least one has; `done` holds every child that
///   completed by then.
/// - [`ReturnWhen::FirstException`]: as soon as one fails (see [`Outcome`]); else when all have
///   completed. A compile error for outputs that cannot fail.
///
/// `done` lists the completed children, each with its original index ([`Done`]), in the order
/// they completed (sort by `index` for input order). `pending` is the live set of the children
/// still running: pass it to `wait`, [`gather`](crate::gather()) or
/// [`as_completed`](crate::as_completed()) again and nothing is rebuilt, so looping
/// `wait(pending, FirstCompleted)` over N children costs O(N) in total.
///
/// `wait` never cancels anything and never fails because a child did: failures are outputs like
/// any other. [`Wait::timeout`] and [`Wait::deadline`] return early with what is done by then.
///
/// Task handles as children: a [`Task`](crate::Task) child is awaited by value, and dropping it
/// while its await is in progress cancels its task (see [`Task`](crate::Task)), so a `pending`
/// set of tasks that is dropped cancels them. asyncio's `wait` leaves the pending tasks
/// running: to do that, wait on [`shield(&task)`](crate::shield()) children, which never cancel.
///
/// Empty input (or an empty `pending` set): ready at once with `(vec![], pending)` where
/// `pending` is empty, for every `return_when`. asyncio raises `ValueError` there; an empty
/// result lets a loop `while !pending.is_empty()` end without a special case.
///
/// Children are polled in place, inside the task that awaits the `Wait`, as by `gather`.
///
/// So plain futures given to `wait` run only while a `Wait` polls them: those left in
/// `pending` make no progress while the caller does something else. asyncio's `wait` is given
/// tasks, which go on running on the loop; for that behaviour create tasks first and wait on
/// their [`Task`](crate::Task) handles (on aiokit's loop with
/// [`create_task`](crate::create_task), on any executor with
/// [`spawn_task`](crate::spawn_task)), by reference with [`shield`](crate::shield) so that
/// dropping the pending set never cancels them:
///
/// ```
/// # #[cfg(feature = "event-loop")]
/// aiokit::run(async {
///     let (tx, rx) = futures::channel::oneshot::channel::<&str>();
///     let slow = aiokit::create_task(async { rx.await.unwrap() });
///     let quick = aiokit::create_task(async { "quick" });
///     let handles = [aiokit::shield(&slow), aiokit::shield(&quick)];
///     let (done, pending) = aiokit::wait(handles, aiokit::ReturnWhen::FirstCompleted).await;
///     assert_eq!(done[0].output, Ok(&"quick"));
///     drop(pending); // `slow` runs on
///     tx.send("slow").unwrap();
///     assert_eq!(slow.await, Ok("slow"));
/// });
/// ```
///
/// # Examples
///
/// ```
/// use aiokit::{wait, ReturnWhen};
/// use futures::channel::oneshot;
/// # futures::executor::block_on(async {
/// let (tx0, rx0) = oneshot::channel();
/// let (tx1, rx1) = oneshot::channel::<&str>();
/// let (tx2, rx2) = oneshot::channel();
/// tx2.send("oolong").unwrap();
///
/// let (done, pending) = wait([rx0, rx1, rx2], ReturnWhen::FirstCompleted).await;
/// assert_eq!(done.len(), 1);
/// assert_eq!((done[0].index, done[0].output), (2, Ok("oolong")));
/// assert_eq!(pending.len(), 2);
///
/// tx0.send("green").unwrap();
/// drop(tx1); // child 1 now fails with `Canceled`
/// let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
/// assert_eq!(done.len(), 2);
/// assert!(pending.is_empty());
/// # });
/// ```
///
/// # Panics
///
/// A child's panic propagates out of `poll`; the other children are dropped as the `Wait`
/// unwinds. Polling the `Wait` again after it returned its output panics.
///
/// # Cancel safety
///
/// Dropping the `Wait` before it is ready drops every child it holds (reporting no never-polled
/// [`Coroutine`](crate::Coroutine) as never awaited: they were handed over on purpose, see
/// [`set_never_awaited_hook`](crate::hooks::set_never_awaited_hook)): the outputs of children
/// that completed meanwhile are lost with it. Once it has returned, nothing is lost: every
/// completed child is in `done`, every other in `pending`.
///
/// # See also
///
/// [`as_completed`](crate::as_completed()) to take the outputs one by one: for a loop that
/// handles one completion at a time it costs less than `wait(pending, FirstCompleted)` rounds,
/// each of which returns a fresh `done` vector (over ten children woken one at a time, about
/// half the time per completion in the project's benchmarks); [`gather`](crate::gather()) for
/// all of them in input order.
pub fn wait<C, K>(children: C, return_when: ReturnWhen<K>) -> Wait<C::Future>
where
    C: IntoChildren,
    K: ReturnCondition<<C::Future as Future>::Output>,
{
    let mut pending = children.into_pending();
    if return_when.mode == Mode::FirstCompleted {
        // Typically called in a loop, one completion at a time: each wait must cost
        // O(children woken), also for a few children.
        pending.engine_mut().use_queue();
    }
    let done = match return_when.mode {
        // Usually one or a few: let the `Vec` grow, so a `FirstCompleted` loop stays O(N).
        Mode::FirstCompleted => Vec::new(),
        // One allocation however many children complete.
        Mode::AllCompleted | Mode::FirstException => Vec::with_capacity(pending.len()),
    };
    Wait {
        pending: Some(pending),
        done,
        mode: return_when.mode,
        is_failure: K::is_failure,
        deadline: None,
    }
}

/// Future for the [`wait()`] function; `D` is the deadline set by [`Wait::timeout`] or
/// [`Wait::deadline`], if any.
///
/// Output: `(done, pending)`, see [`wait()`].
///
/// It is `Unpin`, with or without a deadline (the deadline is boxed): poll it through `&mut`
/// (`futures::poll!(&mut waiting)`, `select!`) without pinning it first.
#[must_use = "futures do nothing unless polled"]
pub struct Wait<F: Future, D = NoDeadline> {
    // `None` once the output was returned.
    pending: Option<Pending<F>>,
    done: Vec<Done<F::Output>>,
    mode: Mode,
    is_failure: fn(&F::Output) -> bool,
    // Boxed, so that a `Wait` with a deadline is `Unpin` too; one allocation per `timeout` /
    // `deadline` call, none without a deadline.
    deadline: Option<Pin<Box<D>>>,
}

cfg_timer! {
    impl<F: Future> Wait<F> {
        /// Returns after `timeout` at the latest, with what is done by then; the rest stay in
        /// `pending`, untouched and still runnable (asyncio's `wait(.., timeout=...)`). A child
        /// that completes in the same poll as the timeout elapses counts as done.
        ///
        /// The deadline is `now + timeout`, taken when this is called; the timer is a
        /// [`Sleep`], so this needs a timer feature. [`deadline`](Wait::deadline) takes any future.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        /// use aiokit::{wait, ReturnWhen};
        /// use futures::future::{pending, ready, Either};
        /// # futures::executor::block_on(async {
        /// let children = [Either::Left(ready(1)), Either::Right(pending())];
        /// let (done, pending) = wait(children, ReturnWhen::AllCompleted)
        ///     .timeout(Duration::from_millis(1))
        ///     .await;
        /// assert_eq!((done.len(), pending.len()), (1, 1));
        /// # });
        /// ```
        ///
        /// # Panics
        ///
        /// As [`sleep()`](crate::sleep): with only the `tokio` timer feature, outside a Tokio
        /// runtime.
        ///
        /// # Cancel safety
        ///
        /// As [`wait()`].
        pub fn timeout(self, timeout: Duration) -> Wait<F, Sleep> {
            self.deadline(sleep(timeout))
        }
    }
}

impl<F: Future> Wait<F> {
    /// Returns when `deadline` completes at the latest, with what is done by then; the rest
    /// stay in `pending`, untouched. Each poll polls the children first, so a child that
    /// completes in the same poll as the deadline counts as done, and a deadline that is ready
    /// at once still gives every child one poll. Needs no timer feature.
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::{wait, ReturnWhen};
    /// use futures::{channel::oneshot, FutureExt};
    /// # futures::executor::block_on(async {
    /// let (fire, fired) = oneshot::channel::<()>();
    /// let (tx, rx) = oneshot::channel::<u8>();
    /// let mut waiting = wait([rx], ReturnWhen::AllCompleted).deadline(fired.map(drop));
    /// assert!(futures::poll!(&mut waiting).is_pending());
    /// fire.send(()).unwrap();
    /// let (done, pending) = waiting.await;
    /// assert!(done.is_empty());
    /// assert_eq!(pending.len(), 1); // not cancelled: it can still complete
    /// tx.send(7).unwrap();
    /// assert_eq!(aiokit::gather(pending).await, [Ok(7)]);
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As [`wait()`]; the deadline is dropped with the `Wait`.
    pub fn deadline<D>(self, deadline: D) -> Wait<F, D::IntoFuture>
    where
        D: IntoFuture<Output = ()>,
    {
        Wait {
            pending: self.pending,
            done: self.done,
            mode: self.mode,
            is_failure: self.is_failure,
            deadline: Some(Box::pin(deadline.into_future())),
        }
    }
}

// Nothing in a `Wait` is ever pinned: the children sit in the engine's heap slots, the outputs
// are plain values and the deadline is boxed.
impl<F: Future, D> Unpin for Wait<F, D> {}

type WaitOutput<F> = (Vec<Done<<F as Future>::Output>>, Pending<F>);

impl<F: Future, D: Future<Output = ()>> Future for Wait<F, D> {
    type Output = WaitOutput<F>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let ready = poll_wait(
            &mut this.pending,
            &mut this.done,
            this.mode,
            this.is_failure,
            this.deadline.as_mut().map(Pin::as_mut),
            cx,
        );
        if ready.is_ready() {
            this.deadline = None;
        }
        ready
    }
}

impl<F: Future> Future for Wait<F, NoDeadline> {
    type Output = WaitOutput<F>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The first poll of each round of a `FirstCompleted` loop finds nothing to do, most of
        // the time: it only registers the waker, with no drive and no set-up for one.
        if this.mode == Mode::FirstCompleted && this.pending.as_ref().is_some_and(|p| p.idle(cx)) {
            return Poll::Pending;
        }
        poll_wait::<F, core::future::Pending<()>>(
            &mut this.pending,
            &mut this.done,
            this.mode,
            this.is_failure,
            None,
            cx,
        )
    }
}

#[inline(never)]
fn poll_wait<F: Future, D: Future<Output = ()>>(
    pending: &mut Option<Pending<F>>,
    done: &mut Vec<Done<F::Output>>,
    mode: Mode,
    is_failure: fn(&F::Output) -> bool,
    deadline: Option<Pin<&mut D>>,
    cx: &mut Context<'_>,
) -> Poll<WaitOutput<F>> {
    let set = pending
        .as_mut()
        .expect("`Wait` polled after it returned its output");
    let check_failures = mode == Mode::FirstException;
    // A `FirstCompleted` wait returns once a child completed: its drive then ends without
    // registering the waker (see `Engine::poll_drive_settling`).
    let settle = mode == Mode::FirstCompleted;
    let mut failed = false;
    #[cfg(feature = "inspect")]
    let named_from = done.len();
    let drive = set.drive("aiokit::wait", cx, settle, |index, out| {
        let output = out.take().expect("the engine hands over each output once");
        let stop = check_failures && is_failure(&output);
        if done.capacity() == 0 {
            // What the first push would reserve (a `FirstCompleted` round starts with no
            // allocation), without `Vec`'s out-of-line growth path.
            *done = Vec::with_capacity(4);
        }
        done.push(Done::new(index, output));
        if stop {
            failed = true;
            Step::Stop
        } else {
            Step::Continue
        }
    });
    // The names heard in the drive are known once it has returned.
    #[cfg(feature = "inspect")]
    for d in &mut done[named_from..] {
        d.name = set.name(d.index);
    }
    // Children first, then the deadline: a child completing in the deadline's poll is done.
    let finished = match drive {
        Drive::AllDone => true,
        _ if failed => true,
        _ if mode == Mode::FirstCompleted && !done.is_empty() => true,
        _ => deadline.is_some_and(|d| d.poll(cx).is_ready()),
    };
    if finished {
        let set = pending.take().expect("checked above");
        Poll::Ready((core::mem::take(done), set))
    } else {
        Poll::Pending
    }
}

impl<F: Future, D: Future<Output = ()>> FusedFuture for Wait<F, D> {
    fn is_terminated(&self) -> bool {
        self.pending.is_none()
    }
}

impl<F: Future> FusedFuture for Wait<F, NoDeadline> {
    fn is_terminated(&self) -> bool {
        self.pending.is_none()
    }
}

impl<F: Future, D> fmt::Debug for Wait<F, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("return_when", &self.mode)
            .field("pending", &self.pending)
            .field("done", &self.done.len())
            .field("has_deadline", &self.deadline.is_some())
            .finish()
    }
}
