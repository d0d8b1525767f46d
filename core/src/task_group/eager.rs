//! Eager start (asyncio 3.12's `eager_start`): [`TaskGroup::create_task_eager`] polls the child
//! once inside the call; a child that finishes then is never queued.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::child::{Child, Core, Outcome};
use super::{LocalTaskGroup, TaskGroup};
use crate::task::{Task, local_task_cell, send_task_cell};

/// Polls a new child once (with a no-op waker: the group polls every child it adds at least
/// once, registering its own), then queues it unless it finished. A failure is queued as a
/// child that reports it at once, so that the group aborts on its next pass, as for a child
/// that fails on its first poll there.
fn start_eagerly<'scope, C, E, T>(
    core: &Core<'scope, C>,
    open: bool,
    (task, mut child): (Task<T>, C),
    failed: impl FnOnce(Outcome<E>) -> C,
) -> Task<T>
where
    C: Future<Output = Outcome<E>> + Unpin + super::child::KeepView<'scope, T>,
{
    if !open {
        // Refused as `create_task` refuses it: dropped unpolled, the handle cancelled.
        return core.create(|| (task, child));
    }
    match Pin::new(&mut child).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Pending => core.create(|| (task, child)),
        Poll::Ready(Outcome::Done) => task,
        Poll::Ready(outcome) => {
            drop(child);
            // The handle is already done (cancelled: the error goes to the group).
            drop(core.create(|| (task.clone(), failed(outcome))));
            task
        }
    }
}

impl<'scope, E> TaskGroup<'scope, '_, E> {
    /// Starts `fut` as a child and polls it once before returning (asyncio 3.12's
    /// `eager_start=True`, opt-in here as there).
    ///
    /// A child that finishes in that poll is never queued: its handle is done when this
    /// returns. One that is pending is queued as by [`create_task`](TaskGroup::create_task),
    /// and the group polls it again. One that fails in that poll makes the group abort on its
    /// next pass (its handle ends cancelled, its error in the group), as asyncio's eager task
    /// does. A panic in that poll unwinds out of this call (and then out of the group). While
    /// the group aborts or after it finished, `fut` is dropped unpolled and the handle is
    /// cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// aiokit::TaskGroup::run(async |tg| {
    ///     let cup = tg.create_task_eager(async { Ok::<_, ()>("tea") });
    ///     assert_eq!(cup.result(), Ok(&"tea")); // done before the body's first await
    ///     Ok(())
    /// })
    /// .await
    /// .unwrap();
    /// # });
    /// ```
    pub fn create_task_eager<F, T>(&self, fut: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'scope,
        T: Send + Sync + 'scope,
        E: Send + 'scope,
    {
        start_eagerly(
            &self.core,
            self.is_open(),
            send_task_cell(|completer| Child::new(fut, completer)),
            |outcome| send_task_cell(|_: crate::task::TaskCompleter<()>| async { outcome }).1,
        )
    }
}

impl<'scope, E> LocalTaskGroup<'scope, '_, E> {
    /// Starts `fut` as a child and polls it once before returning; see
    /// [`TaskGroup::create_task_eager`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// aiokit::LocalTaskGroup::run(async |tg| {
    ///     let cup = tg.create_task_eager(async { Ok::<_, ()>(std::rc::Rc::new("tea")) });
    ///     assert!(cup.done());
    ///     Ok(())
    /// })
    /// .await
    /// .unwrap();
    /// # });
    /// ```
    pub fn create_task_eager<F, T>(&self, fut: F) -> Task<T>
    where
        F: Future<Output = Result<T, E>> + 'scope,
        T: 'scope,
        E: 'scope,
    {
        start_eagerly(
            &self.core,
            self.is_open(),
            local_task_cell(|completer| Child::new(fut, completer)),
            |outcome| local_task_cell(|_: crate::task::TaskCompleter<()>| async { outcome }).1,
        )
    }
}
