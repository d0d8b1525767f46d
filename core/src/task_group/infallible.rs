//! Children and groups that cannot fail: [`TaskGroup::spawn`] takes a future of any output (no
//! `Ok` wrapping), and [`TaskGroup::run_infallible`] runs a body that returns a plain value in
//! a group whose error type is [`Infallible`], so that nothing needs an error annotation.

use alloc::boxed::Box;
use core::convert::Infallible;
use core::future::Future;
use core::pin::{Pin, pin};

use super::child::Child;
use super::runner::Runner;
use super::{LocalTaskGroup, TaskGroup};
use crate::error::ExceptionGroup;
use crate::task::{Task, local_task_cell, send_task_cell};

/// The body of [`TaskGroup::run_infallible`]: a function of the group (`Arg` is `&TaskGroup`)
/// whose future is `Send` and returns a plain value.
///
/// Implemented for every `FnOnce(Arg) -> impl Future<Output = R> + Send`, async closures
/// included; asked for beside `AsyncFnOnce` for the reason given in [`SendBody`](crate::task::SendBody).
/// Not meant to be implemented or called by hand.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
///
/// use aiokit::TaskGroup;
/// use aiokit::task::SendPlainBody;
///
/// fn is_body<B>(_: &B)
/// where
///     B: for<'scope> SendPlainBody<&'scope TaskGroup<'scope, 'static, Infallible>, u8>,
/// {
/// }
///
/// is_body(&async |_tg: &TaskGroup<'_, 'static, Infallible>| 1);
/// ```
pub trait SendPlainBody<Arg, R>: sealed::Sealed<Arg, R> {
    /// The body's future.
    type Future: Future<Output = R> + Send;

    /// Calls the body with the group.
    fn call(self, group: Arg) -> Self::Future;
}

mod sealed {
    use core::future::Future;

    /// Keeps [`SendPlainBody`](super::SendPlainBody) implemented by closures only.
    pub trait Sealed<Arg, R> {}

    impl<Arg, R, B, Fut> Sealed<Arg, R> for B
    where
        B: FnOnce(Arg) -> Fut,
        Fut: Future<Output = R> + Send,
    {
    }
}

impl<Arg, R, B, Fut> SendPlainBody<Arg, R> for B
where
    B: FnOnce(Arg) -> Fut,
    Fut: Future<Output = R> + Send,
{
    type Future = Fut;

    fn call(self, group: Arg) -> Fut {
        self(group)
    }
}

/// The value of a group that cannot fail: its `Err` holds no error (`Infallible` has no
/// value), so it never happens.
fn unwrap_infallible<R>(result: Result<R, ExceptionGroup<Infallible>>) -> R {
    match result {
        Ok(value) => value,
        Err(errors) => match errors.into_inner().into_iter().next() {
            Some(never) => match never {},
            None => unreachable!("an ExceptionGroup holds at least one error"),
        },
    }
}

impl TaskGroup<'_, '_, Infallible> {
    /// Runs `body` with a group whose children cannot fail, and returns the body's value
    /// (asyncio's `TaskGroup` where no child raises; Trio's nursery, moro's scope).
    ///
    /// The body returns a plain value (no `Ok`), and the group's error type is [`Infallible`],
    /// so no annotation is needed: children are started with [`spawn`](TaskGroup::spawn) (a
    /// child returning `Result<T, Infallible>` through [`create_task`](TaskGroup::create_task)
    /// works too). Every other rule is [`run`](TaskGroup::run)'s: the group ends when the body
    /// and every child have; a panic drops everything, then is resumed.
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::TaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let cups = ["green", "black"];
    /// let total = TaskGroup::run_infallible(async |tg| {
    ///     let lengths: Vec<_> = cups.iter().map(|cup| tg.spawn(async { cup.len() })).collect();
    ///     let mut total = 0;
    ///     for length in lengths {
    ///         total += length.await.unwrap();
    ///     }
    ///     total
    /// })
    /// .await;
    /// assert_eq!(total, 10);
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn run_infallible<'env, B, R>(body: B) -> impl Future<Output = R> + use<'env, B, R>
    where
        B: for<'scope> AsyncFnOnce(&'scope TaskGroup<'scope, 'env, Infallible>) -> R
            + for<'scope> SendPlainBody<&'scope TaskGroup<'scope, 'env, Infallible>, R>,
    {
        async move {
            let group = TaskGroup::empty();
            let slot = pin!(None);
            let mut runner = Runner::new(&group.core, slot);
            // As in `TaskGroup::run`: called once the runner exists, and type-erased.
            let body = SendPlainBody::call(body, &group);
            let body: Pin<Box<dyn Future<Output = Result<R, Infallible>> + Send + '_>> =
                Box::pin(async move { Ok(body.await) });
            runner.start(body);
            unwrap_infallible(runner.await)
        }
    }
}

impl<'scope, E> TaskGroup<'scope, '_, E> {
    /// Starts a child that cannot fail and returns its handle: `fut`'s output, whatever it is,
    /// is the handle's result (no `Ok` wrapping), and never aborts the group.
    ///
    /// Works in every group: in one of [`run_infallible`](TaskGroup::run_infallible) it needs
    /// no annotation; in one with an error type, a child spawned this way that returns a
    /// `Result` hands it to its handle instead of failing the group. Everything else is as
    /// for [`create_task`](TaskGroup::create_task): the child is first polled during the
    /// body's next `.await`; while the group aborts or after it finished, `fut` is dropped
    /// unpolled and the handle is already cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let result = aiokit::TaskGroup::run(async |tg| {
    ///     let parsed = tg.spawn(async { "x".parse::<u8>() }); // its error is its own
    ///     tg.create_task(async { Ok::<_, String>(()) });
    ///     Ok(parsed.await.unwrap().is_err())
    /// })
    /// .await;
    /// assert_eq!(result, Ok(true));
    /// # });
    /// ```
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'scope,
        F::Output: Send + Sync + 'scope,
        E: Send,
    {
        self.core.create(|| {
            send_task_cell(|completer| Child::new(async move { Ok::<_, E>(fut.await) }, completer))
        })
    }
}

impl LocalTaskGroup<'_, '_, Infallible> {
    /// Runs `body` with a group whose children cannot fail, and returns the body's value; see
    /// [`TaskGroup::run_infallible`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// # futures::executor::block_on(async {
    /// let cup = aiokit::LocalTaskGroup::run_infallible(async |tg| {
    ///     tg.spawn(async { Rc::new("tea") }).await.unwrap()
    /// })
    /// .await;
    /// assert_eq!(*cup, "tea");
    /// # });
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the body and every child.
    pub fn run_infallible<'env, B, R>(body: B) -> impl Future<Output = R> + use<'env, B, R>
    where
        B: for<'scope> AsyncFnOnce(&'scope LocalTaskGroup<'scope, 'env, Infallible>) -> R,
    {
        async move {
            let group = LocalTaskGroup::empty();
            let slot = pin!(None);
            let mut runner = Runner::new(&group.core, slot);
            let body = body(&group);
            runner.start(async move { Ok::<_, Infallible>(body.await) });
            unwrap_infallible(runner.await)
        }
    }
}

impl<'scope, E> LocalTaskGroup<'scope, '_, E> {
    /// Starts a child that cannot fail and returns its handle; see [`TaskGroup::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let cup = aiokit::LocalTaskGroup::run_infallible(async |tg| {
    ///     let cup = tg.spawn(async { std::rc::Rc::new("tea") });
    ///     cup.await.unwrap()
    /// })
    /// .await;
    /// assert_eq!(*cup, "tea");
    /// # });
    /// ```
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'scope,
        F::Output: 'scope,
    {
        self.core.create(|| {
            local_task_cell(|completer| Child::new(async move { Ok::<_, E>(fut.await) }, completer))
        })
    }
}
