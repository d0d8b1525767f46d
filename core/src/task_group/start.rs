//! Trio's `nursery.start`: [`TaskGroup::start`] starts a child and waits until it reports it
//! is ready, through a [`TaskStatus`], with a value; [`LocalTaskGroup::start`] is the same for a
//! local group.

use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use std::sync::{Mutex, PoisonError};

use super::{LocalTaskGroup, TaskGroup};
use crate::task::{Task, TaskCompleter, task_pair};

/// What a child started by [`TaskGroup::start`] hands back: the value of `started`, or the
/// error it failed with before it.
struct Slot<V, E> {
    value: Option<V>,
    error: Option<E>,
}

type Shared<V, E> = Arc<Mutex<Slot<V, E>>>;

fn take<V, E>(shared: &Shared<V, E>) -> Slot<V, E> {
    let mut slot = shared.lock().unwrap_or_else(PoisonError::into_inner);
    Slot {
        value: slot.value.take(),
        error: slot.error.take(),
    }
}

/// Given to a child started by [`TaskGroup::start`]: [`started`](TaskStatus::started) tells
/// the caller the child is ready (Trio's `task_status`).
pub struct TaskStatus<V, E> {
    shared: Shared<V, E>,
    ready: TaskCompleter<()>,
}

impl<V, E> TaskStatus<V, E> {
    /// Reports the child ready: the `start` call returns `Ok(value)`. From here on, the child
    /// is an ordinary child of the group: its failure aborts the group.
    ///
    /// # Examples
    ///
    /// See [`TaskGroup::start`].
    pub fn started(self, value: V) {
        let previous = {
            let mut slot = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            slot.value.replace(value)
        };
        drop(previous);
        self.ready.complete(());
    }
}

impl<V, E> fmt::Debug for TaskStatus<V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskStatus").finish_non_exhaustive()
    }
}

/// Why [`TaskGroup::start`] gives no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError<E> {
    /// The child returned this error before calling `started` (the group goes on: the error
    /// is the caller's, as Trio raises it from `start`).
    Failed(E),
    /// The child ended without calling `started` (Trio raises `RuntimeError`).
    NotStarted,
    /// The child was cancelled (through the group's abort) before calling `started`.
    Cancelled,
}

impl<E: fmt::Display> fmt::Display for StartError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Failed(error) => write!(f, "the child failed before it started: {error}"),
            StartError::NotStarted => f.write_str("the child ended without calling started"),
            StartError::Cancelled => f.write_str("the child was cancelled before it started"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for StartError<E> {}

/// The caller's side of a `start`: shared by [`TaskGroup::start`] and
/// [`LocalTaskGroup::start`], which differ only in how the child is created.
struct Handshake<V, E> {
    shared: Shared<V, E>,
    ready: Task<()>,
}

impl<V, E> Handshake<V, E> {
    /// The caller's side, and the [`TaskStatus`] to give the child.
    fn new() -> (Self, TaskStatus<V, E>) {
        let shared: Shared<V, E> = Arc::new(Mutex::new(Slot {
            value: None,
            error: None,
        }));
        let (ready, completer) = task_pair::<()>();
        let status = TaskStatus {
            shared: shared.clone(),
            ready: completer,
        };
        (Handshake { shared, ready }, status)
    }

    /// The future to run as the child `fut`: it hands an error returned before `started` to
    /// the caller (`Ok(None)` for the group), and is the child itself after.
    fn route<Fut, T>(
        &self,
        fut: Fut,
    ) -> impl Future<Output = Result<Option<T>, E>> + use<Fut, T, V, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let watch = self.ready.clone();
        let route = self.shared.clone();
        async move {
            match fut.await {
                Ok(value) => Ok(Some(value)),
                // Not started: the error is the caller's.
                Err(error) if watch.result().is_err() => {
                    let mut slot = route.lock().unwrap_or_else(PoisonError::into_inner);
                    slot.error = Some(error);
                    Ok(None)
                }
                Err(error) => Err(error),
            }
        }
    }

    /// Waits for `started` (or for the child's end, to tell why it never came); `handle` is the
    /// child's.
    async fn wait<T>(self, handle: Task<Option<T>>) -> Result<V, StartError<E>> {
        let Handshake { shared, ready } = self;
        if ready.await.is_ok() {
            let value = take(&shared).value;
            return value.ok_or(StartError::NotStarted);
        }
        // The status was dropped unused: wait for the child's end to tell why.
        let ended = (&handle).await.is_ok();
        let slot = take(&shared);
        match (slot.error, ended) {
            (Some(error), _) => Err(StartError::Failed(error)),
            (None, true) => Err(StartError::NotStarted),
            (None, false) => Err(StartError::Cancelled),
        }
    }
}

impl<'scope, E> TaskGroup<'scope, '_, E> {
    /// Starts a child and waits until it is ready (Trio's `nursery.start`): `child` receives a
    /// [`TaskStatus`] and calls [`started(value)`](TaskStatus::started) once it is ready (a
    /// server bound to its port, say); this then returns `Ok(value)`, while the child goes on
    /// in the group.
    ///
    /// Before `started`, the child's failure is the caller's, not the group's: its `Err(e)`
    /// makes this return [`StartError::Failed(e)`](StartError::Failed), and its siblings go
    /// on. A child that ends with `Ok` without calling `started` (or drops its `TaskStatus`)
    /// gives [`StartError::NotStarted`] once it has ended. After `started`, the child is an
    /// ordinary one: its failure aborts the group. Unlike Trio, the child runs in the group
    /// from the start (a failure of a sibling cancels it even before `started`: then this
    /// returns [`StartError::Cancelled`], if the caller still runs).
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::TaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let (to_server, requests) = futures::channel::oneshot::channel::<u32>();
    /// let reply = TaskGroup::run(async |tg| {
    ///     let port = tg
    ///         .start(|status| async move {
    ///             status.started(8080); // bound and listening
    ///             let request = requests.await.unwrap_or(0);
    ///             Ok::<_, &str>(request + 1)
    ///         })
    ///         .await
    ///         .unwrap();
    ///     to_server.send(port).unwrap();
    ///     Ok(port)
    /// })
    /// .await;
    /// assert_eq!(reply, Ok(8080));
    /// # });
    /// ```
    pub fn start<V, S, Fut, T>(
        &self,
        child: S,
    ) -> impl Future<Output = Result<V, StartError<E>>> + use<'scope, V, S, Fut, T, E>
    where
        S: FnOnce(TaskStatus<V, E>) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'scope,
        T: Send + Sync + 'scope,
        V: Send + 'scope,
        E: Send + 'scope,
    {
        let (handshake, status) = Handshake::new();
        let handle = self.create_task(handshake.route(child(status)));
        handshake.wait(handle)
    }
}

impl<'scope, E> LocalTaskGroup<'scope, '_, E> {
    /// Starts a child and waits until it is ready (Trio's `nursery.start`); see
    /// [`TaskGroup::start`], whose rules are the same. The child, its values and its error need
    /// not be `Send`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// use aiokit::LocalTaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let reply = LocalTaskGroup::run(async |tg| {
    ///     let port = tg
    ///         .start(|status| async move {
    ///             status.started(Rc::new(8080)); // bound and listening
    ///             Ok::<_, Rc<str>>(())
    ///         })
    ///         .await
    ///         .unwrap();
    ///     Ok(*port)
    /// })
    /// .await;
    /// assert_eq!(reply, Ok(8080));
    /// # });
    /// ```
    pub fn start<V, S, Fut, T>(
        &self,
        child: S,
    ) -> impl Future<Output = Result<V, StartError<E>>> + use<'scope, V, S, Fut, T, E>
    where
        S: FnOnce(TaskStatus<V, E>) -> Fut,
        Fut: Future<Output = Result<T, E>> + 'scope,
        T: 'scope,
        V: 'scope,
        E: 'scope,
    {
        let (handshake, status) = Handshake::new();
        let handle = self.create_task(handshake.route(child(status)));
        handshake.wait(handle)
    }
}
