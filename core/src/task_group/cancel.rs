//! Early exit (asyncio 3.15's `TaskGroup.cancel()`, moro's `terminate`): a group run by
//! [`TaskGroup::run_cancellable`] hands its body a [`Cancellable`] group, whose
//! [`cancel`](Cancellable::cancel) ends the group at once, without an error.

use alloc::boxed::Box;
use core::fmt;
use core::future::{Future, poll_fn};
use core::ops::Deref;
use core::pin::{Pin, pin};

use super::runner::Runner;
use super::{LocalTaskGroup, SendBody, TaskGroup};
use crate::error::ExceptionGroup;

/// A group that can be ended early: a [`TaskGroup`], a [`LocalTaskGroup`] or a
/// [`SpawningTaskGroup`](super::SpawningTaskGroup) (everything they do is reached through
/// `Deref`), plus [`cancel`](Cancellable::cancel).
///
/// Made by [`TaskGroup::run_cancellable`], [`LocalTaskGroup::run_cancellable`] and
/// [`TaskGroupOn::run_cancellable`](super::TaskGroupOn::run_cancellable), whose result says
/// whether the body returned: `Ok(Some(value))`, or `Ok(None)` when the group was cancelled
/// before it did; and by [`TaskGroup::supervise_cancellable`] (a supervising group).
///
/// # Examples
///
/// The first child to find the answer ends the search:
///
/// ```
/// use aiokit::TaskGroup;
///
/// # futures::executor::block_on(async {
/// let found = std::sync::Mutex::new(None);
/// let ended = TaskGroup::run_cancellable(async |tg| {
///     for n in [3, 4, 5] {
///         let found = &found;
///         tg.create_task(async move {
///             if n % 2 == 0 {
///                 *found.lock().unwrap() = Some(n);
///                 tg.cancel(); // the siblings and the body are dropped
///             }
///             std::future::pending::<Result<(), ()>>().await
///         });
///     }
///     std::future::pending::<()>().await;
///     Ok(())
/// })
/// .await;
/// assert_eq!(ended, Ok(None)); // cancelled before the body returned
/// assert_eq!(*found.lock().unwrap(), Some(4));
/// # });
/// ```
pub struct Cancellable<G> {
    pub(super) group: G,
}

impl<G> Deref for Cancellable<G> {
    type Target = G;

    fn deref(&self) -> &G {
        &self.group
    }
}

impl<G: fmt::Debug> fmt::Debug for Cancellable<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.group.fmt(f)
    }
}

impl<E> Cancellable<TaskGroup<'_, '_, E>> {
    /// Ends the group at once, without an error (asyncio 3.15's `TaskGroup.cancel()`).
    ///
    /// Every child and the body (if it still runs) are dropped, as the group's abort drops
    /// them: each child's handle ends cancelled and its done-callbacks run; nothing of the
    /// group is polled after this call returns (a child that calls it is not polled again,
    /// nor are the siblings after it in the same pass); children are refused from here on.
    /// [`run_cancellable`](TaskGroup::run_cancellable) then returns `Ok(None)`, or
    /// `Ok(Some(value))` if the body had returned `Ok(value)` before.
    ///
    /// Returns whether this call ended the group: `false` when it was already cancelled,
    /// aborting on a failure (the failure wins: `run_cancellable` returns its errors) or
    /// finished. Calling it again is harmless.
    ///
    /// Where aiokit differs: asyncio cancels the tasks and the body, which may still run
    /// `finally` blocks and `await` in them; here they are dropped, so only their destructors
    /// run, synchronously, in the group's next poll (or right after this call, when it is made
    /// from the body or a child: the group regains control when that poll returns).
    ///
    /// # Examples
    ///
    /// See [`Cancellable`].
    pub fn cancel(&self) -> bool {
        self.group.core.request_exit()
    }

    /// Whether [`cancel`](Self::cancel) ended the group.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// aiokit::TaskGroup::run_cancellable(async |tg| {
    ///     assert!(!tg.is_cancelled());
    ///     assert!(tg.cancel());
    ///     assert!(tg.is_cancelled() && !tg.is_open());
    ///     assert!(!tg.cancel()); // idempotent
    ///     Ok::<_, ()>(())
    /// })
    /// .await
    /// .unwrap();
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.group.core.exit_requested()
    }
}

impl<E> Cancellable<LocalTaskGroup<'_, '_, E>> {
    /// Ends the group at once, without an error; see [`Cancellable::cancel`] for a
    /// [`TaskGroup`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let ended = aiokit::LocalTaskGroup::run_cancellable(async |tg| {
    ///     tg.create_task(async { Ok::<_, ()>(std::rc::Rc::new(1)) });
    ///     tg.cancel();
    ///     std::future::pending::<()>().await;
    ///     Ok(())
    /// })
    /// .await;
    /// assert_eq!(ended, Ok(None));
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.group.core.request_exit()
    }

    /// Whether [`cancel`](Self::cancel) ended the group.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// aiokit::LocalTaskGroup::run_cancellable(async |tg| {
    ///     tg.cancel();
    ///     assert!(tg.is_cancelled());
    ///     Ok::<_, ()>(())
    /// })
    /// .await
    /// .unwrap();
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.group.core.exit_requested()
    }
}

impl<E> TaskGroup<'_, '_, E> {
    /// Runs `body` with a group that can be ended early, without an error, by
    /// [`Cancellable::cancel`] (asyncio 3.15's `TaskGroup.cancel()`, moro's `terminate`).
    ///
    /// Every rule of [`run`](TaskGroup::run) holds, and the result says whether the body
    /// returned: `Ok(Some(value))` when it did (the group finished, or was cancelled while
    /// only children were left), `Ok(None)` when the group was cancelled before it did.
    /// A failure before the cancel wins (`Err` with the errors, the cancel does nothing); a
    /// failure after it cannot happen, as nothing is polled after it.
    ///
    /// Why a separate entry point: after an early exit there is no body value to return, and
    /// `run`'s `Result<R, _>` has no room for that; a group whose body can cancel it must
    /// say so in its type. The body receives `&Cancellable<TaskGroup>`, which is a
    /// [`TaskGroup`] (through `Deref`) that also has `cancel`; children reach it through the
    /// reference they capture. moro's `terminate(value)` instead makes the scope return the
    /// given value; asyncio's `async with` has no value at all.
    ///
    /// # Examples
    ///
    /// See [`Cancellable`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn run_cancellable<'env, B, R>(
        body: B,
    ) -> impl Future<Output = Result<Option<R>, ExceptionGroup<E>>> + use<'env, B, R, E>
    where
        B: for<'scope> AsyncFnOnce(&'scope Cancellable<TaskGroup<'scope, 'env, E>>) -> Result<R, E>
            + for<'scope> SendBody<&'scope Cancellable<TaskGroup<'scope, 'env, E>>, R, E>,
    {
        async move {
            let group = Cancellable {
                group: TaskGroup::empty(),
            };
            let slot = pin!(None);
            let mut runner = Runner::new(&group.group.core, slot);
            // As in `TaskGroup::run`: called once the runner exists, and type-erased.
            let body: Pin<Box<dyn Future<Output = Result<R, E>> + Send + '_>> =
                Box::pin(SendBody::call(body, &group));
            runner.start(body);
            poll_fn(|cx| runner.poll_run(cx)).await
        }
    }
}

impl<E> LocalTaskGroup<'_, '_, E> {
    /// Runs `body` with a group that can be ended early; see [`TaskGroup::run_cancellable`].
    ///
    /// # Examples
    ///
    /// See [`Cancellable::cancel`] for a [`LocalTaskGroup`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn run_cancellable<'env, B, R>(
        body: B,
    ) -> impl Future<Output = Result<Option<R>, ExceptionGroup<E>>> + use<'env, B, R, E>
    where
        B: for<'scope> AsyncFnOnce(
            &'scope Cancellable<LocalTaskGroup<'scope, 'env, E>>,
        ) -> Result<R, E>,
    {
        async move {
            let group = Cancellable {
                group: LocalTaskGroup::empty(),
            };
            let slot = pin!(None);
            let mut runner = Runner::new(&group.group.core, slot);
            runner.start(body(&group));
            poll_fn(|cx| runner.poll_run(cx)).await
        }
    }
}
