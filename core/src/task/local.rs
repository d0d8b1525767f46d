//! The handle of a local task, which accepts `!Send` done-callbacks.

use core::fmt;
use core::future::{Future, IntoFuture};
use core::marker::PhantomData;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::rc::Rc;

use super::callback::{boxed_local, next_id, run_callback};
use super::state::LocalFns;
use super::{CallbackId, DoneCallback, Shield, Task, shield};
use crate::error::CancelledError;

/// The handle [`spawn_local_task`](crate::spawn_local_task) returns: a [`Task`] (it derefs to
/// one, so every `Task` method works on it) whose done-callbacks need not be `Send`.
///
/// A local task runs on the thread that spawned it; so does everything this handle registers.
/// `LocalTask` is `!Send`: its `!Send` callbacks (capturing an `Rc<RefCell<..>>`, say) stay
/// on that thread, kept there until the task's driver runs them. Through the `Task` it derefs
/// to, or the one [`into_task`](LocalTask::into_task) gives, other threads may still await
/// the task, cancel it and add `Send` callbacks, when `T` allows.
///
/// Awaiting, cancelling and dropping work as for [`Task`]: dropping a `LocalTask` whose
/// by-value await is in progress cancels the task.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature.
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use aiokit::Task;
///
/// let mut pool = futures::executor::LocalPool::new();
/// let task = aiokit::spawn_local_task(&pool.spawner(), async { 7 });
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let log = seen.clone();
/// task.add_done_callback(move |t: &Task<i32>| log.borrow_mut().push(*t.result().unwrap()));
/// pool.run();
/// assert_eq!(*seen.borrow(), [7]);
/// ```
pub struct LocalTask<T> {
    task: Task<T>,
    /// How to reach this thread's store of `!Send` callbacks for a `T`.
    fns: LocalFns<T>,
    /// `!Send` and `!Sync`: `add_done_callback` takes `!Send` callbacks for this thread only.
    _local: PhantomData<Rc<()>>,
}

impl<T> LocalTask<T> {
    pub(crate) fn new(task: Task<T>) -> Self
    where
        T: 'static,
    {
        LocalTask {
            task,
            fns: LocalFns::new(),
            _local: PhantomData,
        }
    }

    /// The task's handle, which may go to other threads when `T` is `Send + Sync`. Callbacks
    /// added through it must be `Send`; those already added through this `LocalTask` stay on
    /// this thread and still run.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task: aiokit::Task<i32> =
    ///     aiokit::spawn_local_task(&pool.spawner(), async { 3 }).into_task();
    /// pool.run();
    /// assert_eq!(task.result(), Ok(&3));
    /// ```
    pub fn into_task(self) -> Task<T> {
        self.task
    }

    /// [`Task::add_done_callback`], for callbacks that need not be `Send`: they run on this
    /// thread, the task's, when it completes (or at once, if it is done).
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature.
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use aiokit::Task;
    ///
    /// let mut pool = futures::executor::LocalPool::new();
    /// let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    /// let calls = Rc::new(Cell::new(0));
    /// let c = calls.clone();
    /// let id = task.add_done_callback(move |_: &Task<i32>| c.set(c.get() + 1));
    /// assert_eq!(task.remove_done_callback_id(id), 1);
    /// let c = calls.clone();
    /// task.add_done_callback(move |_: &Task<i32>| c.set(c.get() + 10));
    /// pool.run();
    /// assert_eq!(calls.get(), 10);
    /// ```
    pub fn add_done_callback<C>(&self, callback: C) -> CallbackId
    where
        C: DoneCallback<T> + 'static,
    {
        let id = next_id();
        if let Some(callback) = self
            .task
            .inner
            .push_local(id, boxed_local(callback), self.fns)
        {
            run_callback(id, callback, &self.task);
        }
        id
    }
}

impl<T> Deref for LocalTask<T> {
    type Target = Task<T>;

    fn deref(&self) -> &Task<T> {
        &self.task
    }
}

impl<T> From<LocalTask<T>> for Task<T> {
    fn from(task: LocalTask<T>) -> Self {
        task.into_task()
    }
}

impl<T> Clone for LocalTask<T> {
    fn clone(&self) -> Self {
        LocalTask {
            task: self.task.clone(),
            fns: self.fns,
            _local: PhantomData,
        }
    }
}

impl<T> fmt::Debug for LocalTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.task, f)
    }
}

/// As for [`Task`]: the output, cloned; dropping an await in progress cancels the task.
impl<T: Clone> Future for LocalTask<T> {
    type Output = Result<T, CancelledError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.get_mut().task).poll(cx)
    }
}

/// `(&task).await` is [`shield(&task)`](shield): the output by reference; never cancels.
impl<'a, T> IntoFuture for &'a LocalTask<T> {
    type Output = Result<&'a T, CancelledError>;
    type IntoFuture = Shield<'a, T>;

    fn into_future(self) -> Shield<'a, T> {
        shield(&self.task)
    }
}
