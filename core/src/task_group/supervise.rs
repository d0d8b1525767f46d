//! Supervision (Kotlin's `supervisorScope`): [`TaskGroup::supervise`] runs a group in which a
//! child's failure is reported, to a handler and in the result, instead of cancelling the rest.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};

use super::child::Outcome;
use super::runner::Runner;
use super::{Cancellable, LocalTaskGroup, SendBody, TaskGroup};
use crate::error::ExceptionGroup;

/// How a supervising group ended ([`TaskGroup::supervise`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervised<R, E> {
    /// The body's value; or the error it returned, which cancelled every child still running.
    pub body: Result<R, E>,
    /// Every child that failed, in the order they failed: its task name and its error (each
    /// also given to the handler).
    pub failures: Vec<(String, E)>,
}

impl<R, E> Supervised<R, E> {
    /// The body's value if nothing failed; otherwise every error, the children's (in the order
    /// they failed) then the body's: the result [`TaskGroup::run`] would give, had no child
    /// failure cancelled anything.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let ended = aiokit::TaskGroup::supervise(|_, _| {}, async |tg| {
    ///     tg.create_task(async { Err::<(), _>("no milk") });
    ///     Ok(1)
    /// })
    /// .await;
    /// assert_eq!(ended.into_result().unwrap_err().into_inner(), ["no milk"]);
    /// # });
    /// ```
    pub fn into_result(self) -> Result<R, ExceptionGroup<E>> {
        let mut errors = ExceptionGroup::new();
        for (name, error) in self.failures {
            errors.push_child(name, error);
        }
        match self.body {
            Ok(value) if errors.is_empty() => Ok(value),
            Ok(_) => Err(errors),
            Err(error) => {
                errors.push_body(error);
                Err(errors)
            }
        }
    }
}

/// Runs a supervising group's runner to its end, handing each failure to `on_failure` after the
/// poll that saw it (no lock of the group is held then). The body's value is `None` after an
/// early exit before it returned (only a cancellable group has one).
async fn supervise<C, B, R, E>(
    mut runner: Runner<'_, '_, C, B, R, E>,
    mut on_failure: impl FnMut(&str, &E),
) -> Supervised<Option<R>, E>
where
    C: Future<Output = Outcome<E>>,
    B: Future<Output = Result<R, E>>,
{
    let mut reported = 0;
    let ended = poll_fn(|cx| {
        let poll = runner.poll_run(cx);
        for (name, error) in &runner.failures()[reported..] {
            reported += 1;
            on_failure(name, error);
        }
        poll
    })
    .await;
    let body = match ended {
        Ok(output) => Ok(output),
        // A child's failure is not an error here: the only error is the body's.
        Err(errors) => Err(errors
            .into_inner()
            .pop()
            .expect("an ExceptionGroup holds at least one error")),
    };
    Supervised {
        body,
        failures: runner.take_failures(),
    }
}

impl<E> TaskGroup<'_, '_, E> {
    /// Runs `body` with a supervising group (Kotlin's `supervisorScope`): a child's failure
    /// cancels nothing; it is handed to `on_failure` (the task's name and the error) and kept
    /// in the result.
    ///
    /// Every other rule is [`run`](TaskGroup::run)'s: the group ends when the body and every
    /// child have; the body's `Err` cancels every child still running (it is then
    /// [`Supervised::body`]'s error); a panic of a child or of the body drops everything, then
    /// is resumed (as is a panic of `on_failure`). A failed child's handle ends cancelled, its
    /// error being in [`Supervised::failures`].
    ///
    /// `on_failure` is called in the group's poll, after the pass that saw the failure, with
    /// no lock of the group held: it may create children (a supervisor restarting a worker
    /// does it from the body or a child instead, as it has no group here). asyncio has no
    /// such group (its `TaskGroup` always cancels the rest); Trio neither.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    ///
    /// use aiokit::TaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let seen = Mutex::new(Vec::new());
    /// let ended = TaskGroup::supervise(
    ///     |task, error: &&str| seen.lock().unwrap().push(format!("{task}: {error}")),
    ///     async |tg| {
    ///         let fine = tg.create_task(async { Ok("green tea") });
    ///         tg.create_task(async { Err::<(), _>("no milk") });
    ///         Ok(fine.await.unwrap()) // the sibling's failure cancelled nothing
    ///     },
    /// )
    /// .await;
    /// assert_eq!(ended.body, Ok("green tea"));
    /// assert_eq!(ended.failures.len(), 1);
    /// assert_eq!(seen.lock().unwrap().len(), 1);
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn supervise<'env, H, B, R>(
        on_failure: H,
        body: B,
    ) -> impl Future<Output = Supervised<R, E>> + use<'env, H, B, R, E>
    where
        H: FnMut(&str, &E),
        B: for<'scope> AsyncFnOnce(&'scope TaskGroup<'scope, 'env, E>) -> Result<R, E>
            + for<'scope> SendBody<&'scope TaskGroup<'scope, 'env, E>, R, E>,
    {
        async move {
            let group = TaskGroup::empty();
            let slot = pin!(None);
            let mut runner = Runner::new(&group.core, slot);
            runner.supervise();
            // As in `TaskGroup::run`: called once the runner exists, and type-erased.
            let body: Pin<Box<dyn Future<Output = Result<R, E>> + Send + '_>> =
                Box::pin(SendBody::call(body, &group));
            runner.start(body);
            supervise(runner, on_failure).await.expect_returned()
        }
    }
}

impl<E> LocalTaskGroup<'_, '_, E> {
    /// Runs `body` with a supervising group; see [`TaskGroup::supervise`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let mut failed = 0;
    /// let ended = aiokit::LocalTaskGroup::supervise(
    ///     |_, _| failed += 1,
    ///     async |tg| {
    ///         tg.create_task(async { Err::<std::rc::Rc<u8>, _>("no milk") });
    ///         Ok(())
    ///     },
    /// )
    /// .await;
    /// assert_eq!((ended.body, failed), (Ok(()), 1));
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn supervise<'env, H, B, R>(
        on_failure: H,
        body: B,
    ) -> impl Future<Output = Supervised<R, E>> + use<'env, H, B, R, E>
    where
        H: FnMut(&str, &E),
        B: for<'scope> AsyncFnOnce(&'scope LocalTaskGroup<'scope, 'env, E>) -> Result<R, E>,
    {
        async move {
            let group = LocalTaskGroup::empty();
            let slot = pin!(None);
            let mut runner = Runner::new(&group.core, slot);
            runner.supervise();
            runner.start(body(&group));
            supervise(runner, on_failure).await.expect_returned()
        }
    }
}

impl<R, E> Supervised<Option<R>, E> {
    /// The ending of a group that cannot exit early: its body returned.
    fn expect_returned(self) -> Supervised<R, E> {
        Supervised {
            body: self
                .body
                .map(|output| output.expect("only a cancellable group exits early")),
            failures: self.failures,
        }
    }
}

impl<R, E> Supervised<R, E> {
    /// Whether no child failed and the body returned a value.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let ended = aiokit::TaskGroup::supervise(|_, _: &()| {}, async |_| Ok(())).await;
    /// assert!(ended.is_clean());
    /// # });
    /// ```
    pub fn is_clean(&self) -> bool {
        self.body.is_ok() && self.failures.is_empty()
    }
}

impl<E> TaskGroup<'_, '_, E> {
    /// Runs `body` with a supervising group that can also be ended early: the rules of
    /// [`supervise`](TaskGroup::supervise) (a child's failure cancels nothing, and goes to
    /// `on_failure` and [`Supervised::failures`]) and the early exit of
    /// [`run_cancellable`](TaskGroup::run_cancellable) (the body receives a
    /// [`Cancellable`] group, whose [`cancel`](Cancellable::cancel) drops the body and every
    /// child at once).
    ///
    /// [`Supervised::body`] is `Ok(Some(value))` when the body returned, `Ok(None)` when the
    /// group was cancelled before it did, `Err` when it returned an error (which cancelled
    /// every child). The failures seen before the cancel stay in [`Supervised::failures`] and
    /// were handed to `on_failure`; none can come after it, as nothing is polled after it.
    ///
    /// A separate entry point, as for `run_cancellable`: the result of a group that can end
    /// before its body returns has room for no value. Kotlin's `supervisorScope` is cancelled
    /// by cancelling its caller; asyncio has no supervising group.
    ///
    /// # Examples
    ///
    /// A worker's failure cancels nothing; a sentinel ends the group:
    ///
    /// ```
    /// use aiokit::TaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let ended = TaskGroup::supervise_cancellable(
    ///     |_, _| {},
    ///     async |tg| {
    ///         tg.create_task(async { Err::<(), _>("no milk") });
    ///         tg.create_task(async {
    ///             tg.cancel(); // ends the group: the body and the siblings are dropped
    ///             Ok(())
    ///         });
    ///         std::future::pending::<()>().await;
    ///         Ok("never")
    ///     },
    /// )
    /// .await;
    /// assert_eq!(ended.body, Ok(None));
    /// assert_eq!(ended.failures.len(), 1); // seen before the cancel
    /// assert_eq!(ended.failures[0].1, "no milk");
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn supervise_cancellable<'env, H, B, R>(
        on_failure: H,
        body: B,
    ) -> impl Future<Output = Supervised<Option<R>, E>> + use<'env, H, B, R, E>
    where
        H: FnMut(&str, &E),
        B: for<'scope> AsyncFnOnce(&'scope Cancellable<TaskGroup<'scope, 'env, E>>) -> Result<R, E>
            + for<'scope> SendBody<&'scope Cancellable<TaskGroup<'scope, 'env, E>>, R, E>,
    {
        async move {
            let group = Cancellable {
                group: TaskGroup::empty(),
            };
            let slot = pin!(None);
            let mut runner = Runner::new(&group.group.core, slot);
            runner.supervise();
            // As in `TaskGroup::run`: called once the runner exists, and type-erased.
            let body: Pin<Box<dyn Future<Output = Result<R, E>> + Send + '_>> =
                Box::pin(SendBody::call(body, &group));
            runner.start(body);
            supervise(runner, on_failure).await
        }
    }
}

impl<E> LocalTaskGroup<'_, '_, E> {
    /// Runs `body` with a supervising group that can be ended early; see
    /// [`TaskGroup::supervise_cancellable`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let mut failed = 0;
    /// let ended = aiokit::LocalTaskGroup::supervise_cancellable(
    ///     |_, _| failed += 1,
    ///     async |tg| {
    ///         let failing = tg.create_task(async { Err::<std::rc::Rc<u8>, _>("no milk") });
    ///         // The child fails, which cancels nothing; its handle ends cancelled.
    ///         assert!(failing.await.is_err());
    ///         tg.cancel();
    ///         std::future::pending::<()>().await;
    ///         Ok(())
    ///     },
    /// )
    /// .await;
    /// assert_eq!((ended.body, ended.failures.len(), failed), (Ok(None), 1, 1));
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn supervise_cancellable<'env, H, B, R>(
        on_failure: H,
        body: B,
    ) -> impl Future<Output = Supervised<Option<R>, E>> + use<'env, H, B, R, E>
    where
        H: FnMut(&str, &E),
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
            runner.supervise();
            runner.start(body(&group));
            supervise(runner, on_failure).await
        }
    }
}
