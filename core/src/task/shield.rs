//! Awaiting a task by reference, never cancelling it.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::Task;
use crate::error::CancelledError;

/// Waits for `task` to end and gives its output by reference (asyncio's
/// `await asyncio.shield(task)`).
///
/// Dropping the returned future (a timeout, a `select!` that took another branch) does not
/// cancel the task, which runs on. An await of the handle by value does: dropping a `Task`
/// whose await is in progress cancels the task, as asyncio cancels the task a cancelled
/// `await` waited for; `shield` is the await that never cancels, in both. Unlike
/// `task.await`, the output is not cloned, so any `T` works. `(&task).await` is the same as
/// `shield(&task).await`.
///
/// The future completes only after every done-callback of the task has run.
///
/// # Cancel safety
///
/// Cancel safe: dropping it loses nothing and leaves the task running.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature and the futures-executor crate.
/// use aiokit::{shield, spawn_task};
///
/// # futures::executor::block_on(async {
/// let pool = futures_executor::ThreadPool::new().unwrap();
/// let (tx, rx) = futures::channel::oneshot::channel::<Vec<u8>>();
/// let task = spawn_task(&pool, async move { rx.await.unwrap() });
///
/// // Give up on the first await: the task is not cancelled.
/// let polled_once = futures::poll!(shield(&task));
/// assert!(polled_once.is_pending());
/// tx.send(vec![1, 2]).unwrap();
/// assert_eq!(shield(&task).await, Ok(&vec![1, 2]));
/// assert_eq!((&task).await, Ok(&vec![1, 2]));
/// # });
/// ```
pub fn shield<T>(task: &Task<T>) -> Shield<'_, T> {
    Shield {
        task,
        waiter: None,
        #[cfg(feature = "inspect")]
        awaited_by: crate::graph::AwaitRecord::new(),
    }
}

/// Future for the [`shield()`] function.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature.
/// let mut pool = futures::executor::LocalPool::new();
/// let task = aiokit::spawn_local_task(&pool.spawner(), async { 5 });
/// let shielded: aiokit::Shield<'_, i32> = aiokit::shield(&task);
/// pool.run();
/// assert_eq!(futures::executor::block_on(shielded), Ok(&5));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Shield<'a, T> {
    task: &'a Task<T>,
    waiter: Option<usize>,
    /// Who awaits the task through this future, for the call graph's `awaited_by`.
    #[cfg(feature = "inspect")]
    awaited_by: crate::graph::AwaitRecord,
}

impl<'a, T> Future for Shield<'a, T> {
    type Output = Result<&'a T, CancelledError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.task.inner.poll_finished(&mut this.waiter, cx) {
            Poll::Pending => {
                #[cfg(feature = "inspect")]
                this.awaited_by.pending(this.task.number());
                Poll::Pending
            }
            Poll::Ready(()) => {
                #[cfg(feature = "inspect")]
                this.awaited_by.ended();
                let task: &'a Task<T> = this.task;
                Poll::Ready(match task.inner.outcome() {
                    Some(Ok(value)) => Ok(value),
                    Some(Err(cancelled)) => Err(*cancelled),
                    None => unreachable!("a finished task has an outcome"),
                })
            }
        }
    }
}

impl<T> Drop for Shield<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.waiter.take() {
            self.task.inner.remove_waiter(key);
        }
    }
}

impl<T> fmt::Debug for Shield<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shield").field(self.task).finish()
    }
}
