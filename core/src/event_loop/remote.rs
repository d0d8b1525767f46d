//! The part of a loop other threads reach: [`LoopHandle`].

use core::future::Future;
use core::task::Waker;
use std::fmt;
use std::mem;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use atomic_waker::AtomicWaker;

use super::backend::Kind;
use super::error::EventLoopError;
use super::handle::{Callback, Handle, Ready, RemoteCall};
use super::inner::LoopInner;
use super::task::{AnyTask, Report, Tracked};
use crate::spawn::task_driver;
use crate::task::Task;

/// Creates a task on the loop's thread.
pub(crate) type SpawnFn = Box<dyn FnOnce(&Rc<LoopInner>) + Send>;

/// What another thread asks the loop to do on its next turn.
pub(crate) enum Remote {
    Call(Ready),
    Spawn(SpawnFn),
}

pub(crate) struct Shared {
    kind: Kind,
    remote: Mutex<RemoteQueue>,
    remote_pending: AtomicBool,
    stop_requested: AtomicBool,
    running: AtomicBool,
    closed: AtomicBool,
    /// One of the loop's tasks was woken (see the [`Wake`](std::task::Wake) impl).
    tasks_woken: AtomicBool,
    waker: AtomicWaker,
}

#[derive(Default)]
struct RemoteQueue {
    items: Vec<RemoteItem>,
    closed: bool,
}

enum RemoteItem {
    Call(RemoteCall),
    Spawn(SpawnFn),
}

/// The waker the loop's engine of tasks is polled with (its parent waker): a woken task marks
/// the loop as having work and wakes its driver, from any thread.
impl std::task::Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.tasks_woken.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }
}

impl Shared {
    pub(crate) fn new(kind: Kind) -> Self {
        Shared {
            kind,
            remote: Mutex::new(RemoteQueue::default()),
            remote_pending: AtomicBool::new(false),
            stop_requested: AtomicBool::new(false),
            running: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            tasks_woken: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RemoteQueue> {
        // No user code runs under this lock.
        self.remote.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Release);
    }

    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    pub(crate) fn has_remote_work(&self) -> bool {
        self.remote_pending.load(Ordering::Acquire) || self.stop_requested.load(Ordering::Acquire)
    }

    /// Whether a task of the loop was woken since the last [`take_tasks_woken`](Self::take_tasks_woken).
    pub(crate) fn tasks_woken(&self) -> bool {
        self.tasks_woken.load(Ordering::Acquire)
    }

    /// Clears the mark of woken tasks (before the loop polls them).
    pub(crate) fn take_tasks_woken(&self) -> bool {
        self.tasks_woken.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn take_stop(&self) -> bool {
        self.stop_requested.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn take_remote(&self) -> Vec<Remote> {
        if !self.remote_pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        let items = mem::take(&mut self.lock().items);
        taken_in(items)
    }

    fn push(&self, item: RemoteItem) -> Result<(), (EventLoopError, RemoteItem)> {
        {
            let mut queue = self.lock();
            if queue.closed {
                return Err((EventLoopError::Closed, item));
            }
            queue.items.push(item);
        }
        self.remote_pending.store(true, Ordering::Release);
        self.waker.wake();
        Ok(())
    }

    /// Refuses every later remote call; returns the calls not taken in yet (to be dropped by
    /// the caller, outside the lock).
    pub(crate) fn close(&self) -> Vec<Remote> {
        self.closed.store(true, Ordering::Release);
        let items = {
            let mut queue = self.lock();
            queue.closed = true;
            mem::take(&mut queue.items)
        };
        self.remote_pending.store(true, Ordering::Release);
        taken_in(items)
    }
}

/// A `Send + Sync` handle to an [`EventLoop`](super::EventLoop), for other threads (made by
/// [`EventLoop::handle`](super::EventLoop::handle)). Every call wakes the loop if it is idle.
///
/// # Examples
///
/// A loop in a background thread, fed from the main thread:
///
/// ```
/// use std::sync::mpsc;
///
/// let (tx, rx) = mpsc::channel();
/// let thread = std::thread::spawn(move || {
///     let lp = aiokit::EventLoop::new();
///     tx.send(lp.handle()).unwrap();
///     lp.run_forever().unwrap();
/// });
/// let handle = rx.recv().unwrap();
/// let (done_tx, done_rx) = mpsc::channel();
/// handle.call_soon_threadsafe(move || done_tx.send("Hello world").unwrap()).unwrap();
/// assert_eq!(done_rx.recv().unwrap(), "Hello world");
/// assert!(handle.is_running());
/// handle.stop();
/// thread.join().unwrap();
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    pub(crate) shared: Arc<Shared>,
}

impl LoopHandle {
    /// Schedules `callback` on the loop from any thread and wakes the loop (asyncio's
    /// `call_soon_threadsafe`). It runs on the loop's thread, after the callbacks the loop has
    /// taken in before it.
    ///
    /// # Errors
    ///
    /// [`EventLoopError::Closed`] if the loop was closed or dropped.
    ///
    /// # Examples
    ///
    /// See [`LoopHandle`].
    pub fn call_soon_threadsafe<C: Callback + Send>(
        &self,
        callback: C,
    ) -> Result<Handle, EventLoopError> {
        let (ready, handle) = Ready::remote(callback);
        self.shared
            .push(RemoteItem::Call(ready))
            .map_err(|(e, _)| e)?;
        Ok(handle)
    }

    /// Schedules `fut` as a task of the loop from any thread and returns its handle at once
    /// (the task is created on the loop's next turn).
    ///
    /// # Errors
    ///
    /// [`EventLoopError::Closed`] if the loop was closed or dropped. If the loop closes after
    /// this returned but before it took the task in, the task ends cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let handle = lp.handle();
    /// let task = std::thread::spawn(move || handle.create_task_threadsafe(async { 7 }))
    ///     .join()
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(lp.run_until_complete(task), Ok(Ok(7)));
    /// ```
    pub fn create_task_threadsafe<F>(&self, fut: F) -> Result<Task<F::Output>, EventLoopError>
    where
        F: Future + Send + 'static,
        F::Output: Send + Sync + 'static,
    {
        let (task, driver) = task_driver(fut);
        let handle = task.clone();
        let spawn = move |inner: &Rc<LoopInner>| {
            if let Some(backend) = inner.backend() {
                let entry = inner.register(AnyTask::new(handle.erased()));
                backend.spawn(Tracked::<_, Report>::new(driver, entry));
            }
        };
        self.shared
            .push(RemoteItem::Spawn(Box::new(spawn)))
            .map_err(|(e, _)| e)?;
        Ok(task)
    }

    /// Stops the loop from any thread, as [`EventLoop::stop`](super::EventLoop::stop) (asyncio:
    /// `loop.call_soon_threadsafe(loop.stop)`).
    ///
    /// # Examples
    ///
    /// See [`LoopHandle`].
    pub fn stop(&self) {
        self.shared.stop_requested.store(true, Ordering::Release);
        self.shared.wake();
    }

    /// Whether the loop is running.
    ///
    /// # Examples
    ///
    /// See [`LoopHandle`].
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Whether the loop was closed (or dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let handle = lp.handle();
    /// drop(lp);
    /// assert!(handle.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<LoopHandle {} running={} closed={}>",
            self.shared.kind.name(),
            self.is_running(),
            self.is_closed()
        )
    }
}

/// The queued items as the loop takes them in.
fn taken_in(items: Vec<RemoteItem>) -> Vec<Remote> {
    items
        .into_iter()
        .map(|item| match item {
            RemoteItem::Call(call) => Remote::Call(Ready::Remote(call)),
            RemoteItem::Spawn(spawn) => Remote::Spawn(spawn),
        })
        .collect()
}
