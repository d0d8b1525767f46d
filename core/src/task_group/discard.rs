//! Children without handles (Swift's `DiscardingTaskGroup`): [`TaskGroup::add_task`] starts a
//! child whose value is dropped as soon as it finishes, with its future and its slot.

use core::future::Future;

use super::child::Child;
use super::{LocalTaskGroup, TaskGroup};
use crate::task::{local_task_cell, send_task_cell};

impl<'scope, E> TaskGroup<'scope, '_, E> {
    /// Starts `fut` as a child with no handle (Swift's `DiscardingTaskGroup.addTask`): its
    /// `Ok` value is dropped as soon as it finishes, and so are its future and its allocation;
    /// its `Err` aborts the group, as for [`create_task`](TaskGroup::create_task).
    ///
    /// A group frees each child as it ends, and a new child takes the place of one that ended
    /// (see "Memory" in [`TaskGroup`]): a server that adds a child per connection for days
    /// holds memory for the connections open at once, not for every one it served. A child
    /// started by `create_task` whose handle is dropped is freed the same way; `add_task` only
    /// saves the handle. While the group aborts or after it finished, `fut` is dropped
    /// unpolled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// # futures::executor::block_on(async {
    /// let served = AtomicUsize::new(0);
    /// aiokit::TaskGroup::run(async |tg| {
    ///     for _connection in 0..1000 {
    ///         tg.add_task(async {
    ///             served.fetch_add(1, Ordering::Relaxed);
    ///             Ok::<_, std::io::Error>(())
    ///         });
    ///         futures::future::ready(()).await;
    ///     }
    ///     Ok(())
    /// })
    /// .await
    /// .unwrap();
    /// assert_eq!(served.load(Ordering::Relaxed), 1000);
    /// # });
    /// ```
    pub fn add_task<F, T>(&self, fut: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'scope,
        T: Send + Sync + 'scope,
        E: Send,
    {
        drop(
            self.core
                .create(|| send_task_cell(|completer| Child::new(fut, completer))),
        );
    }
}

impl<'scope, E> LocalTaskGroup<'scope, '_, E> {
    /// Starts `fut` as a child with no handle; see [`TaskGroup::add_task`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// # futures::executor::block_on(async {
    /// let served = Cell::new(0);
    /// aiokit::LocalTaskGroup::run(async |tg| {
    ///     for _ in 0..3 {
    ///         tg.add_task(async {
    ///             served.set(served.get() + 1);
    ///             Ok::<_, ()>(())
    ///         });
    ///     }
    ///     Ok(())
    /// })
    /// .await
    /// .unwrap();
    /// assert_eq!(served.get(), 3);
    /// # });
    /// ```
    pub fn add_task<F, T>(&self, fut: F)
    where
        F: Future<Output = Result<T, E>> + 'scope,
        T: 'scope,
    {
        drop(
            self.core
                .create(|| local_task_cell(|completer| Child::new(fut, completer))),
        );
    }
}
