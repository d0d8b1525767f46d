//! The loop's tasks: what the loop knows of each (for `all_tasks` and `current_task`), and the
//! free functions that reach the running loop.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Weak;

use pin_project_lite::pin_project;

use super::inner::LoopInner;
use super::running_loop;
use crate::engine::task_cell::DynCellRef;
use crate::spawn::poll_task;
use crate::task::{Task, TaskCell, TaskCompleter, TaskView};
use crate::trace::TaskTrace;

/// A handle to any task of the loop, whatever its output type: what
/// [`current_task`](crate::current_task) and [`all_tasks`](crate::all_tasks) return.
///
/// It offers the part of [`Task`] that does not need the output: name, state, cancelling.
/// It is not `Send`: it lives on the loop's thread.
///
/// # Examples
///
/// ```
/// aiokit::run(async {
///     let me = aiokit::current_task().unwrap();
///     me.set_name("main");
///     assert_eq!(format!("{me:?}"), "<Task pending name='main'>");
///     assert!(!me.done());
/// });
/// ```
#[derive(Clone)]
pub struct AnyTask {
    /// The task's own allocation, its output type erased: no allocation of its own.
    inner: DynCellRef<dyn TaskView>,
}

impl AnyTask {
    /// The loop's record of a task, made with its handle (see `spawn::task_driver`).
    pub(crate) fn new(inner: DynCellRef<dyn TaskView>) -> Self {
        AnyTask { inner }
    }

    /// The task's name, as [`Task::name`].
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::run(async {
    ///     assert!(aiokit::current_task().unwrap().name().starts_with("Task-"));
    /// });
    /// ```
    pub fn name(&self) -> String {
        self.inner.name()
    }

    /// Renames the task, as [`Task::set_name`].
    ///
    /// # Examples
    ///
    /// See [`AnyTask`].
    pub fn set_name(&self, name: impl Into<String>) {
        self.inner.set_name(name.into())
    }

    /// Whether the task has ended, as [`Task::done`].
    ///
    /// # Examples
    ///
    /// See [`AnyTask`].
    pub fn done(&self) -> bool {
        self.inner.done()
    }

    /// Whether the task ended cancelled, as [`Task::cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::run(async {
    ///     assert!(!aiokit::current_task().unwrap().cancelled());
    /// });
    /// ```
    pub fn cancelled(&self) -> bool {
        self.inner.cancelled()
    }

    /// Asks for the task to be cancelled, as [`Task::cancel`].
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::run(async {
    ///     aiokit::create_task(std::future::pending::<()>());
    ///     for task in aiokit::all_tasks() {
    ///         if task.name() != aiokit::current_task().unwrap().name() {
    ///             assert!(task.cancel());
    ///         }
    ///     }
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.inner.cancel()
    }

    /// Whether both refer to the same task.
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::run(async {
    ///     let a = aiokit::current_task().unwrap();
    ///     assert!(a.same(&aiokit::current_task().unwrap()));
    /// });
    /// ```
    pub fn same(&self, other: &AnyTask) -> bool {
        DynCellRef::ptr_eq(&self.inner, &other.inner)
    }

    /// The task's number, unique in the program (for the call graph's `awaited_by`).
    #[cfg(feature = "inspect")]
    pub(crate) fn number(&self) -> u64 {
        self.inner.number()
    }
}

impl fmt::Debug for AnyTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

thread_local! {
    /// The key, in the running loop's registry, of the task whose future is being polled on
    /// this thread, if it is a loop's task: a plain word, so that a poll clones no handle.
    static CURRENT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The loop's record of one of its tasks, kept by the task's driver: where the task sits in
/// the loop's registry (which holds its handle).
pub(crate) struct Entry {
    pub(crate) lp: Weak<LoopInner>,
    pub(crate) key: usize,
}

impl Entry {
    fn unregister(self) {
        if let Some(lp) = self.lp.upgrade() {
            lp.unregister(self.key);
        }
    }

    /// The task ended: its panic, if any, goes to the loop's exception handler (under the
    /// task's name), then the task leaves the loop's tasks.
    fn end(self, panic: Option<&(dyn core::any::Any + Send)>) {
        if let Some(payload) = panic {
            if let Some(lp) = self.lp.upgrade() {
                let name = lp.task(self.key).map_or_else(String::new, |t| t.name());
                let message = format!("Task exception was never retrieved: {name}");
                lp.report(&message, &name, payload);
            }
        }
        self.unregister();
    }
}

pin_project! {
    /// Wraps a task's driver: makes it the current task while it is polled, reports its panic
    /// to the loop's exception handler ([`Report`]) or lets it unwind ([`Unwind`], for
    /// `run_until_complete`'s future), and removes it from the loop's tasks once it ended.
    ///
    /// The panic policy is a type rather than a field: in the executor's task allocation a
    /// flag would take a whole word.
    pub(crate) struct Tracked<D, P> {
        #[pin]
        driver: D,
        entry: Option<Entry>,
        policy: PhantomData<P>,
    }

    impl<D, P> PinnedDrop for Tracked<D, P> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(entry) = this.project().entry.take() {
                entry.unregister();
            }
        }
    }
}

/// What a [`Tracked`] task does with a panic of its driver.
pub(crate) trait PanicPolicy {
    /// Report it to the loop's exception handler (and go on), or let it unwind.
    const REPORT: bool;
}

/// A loop task's panic goes to the loop's exception handler.
pub(crate) enum Report {}

impl PanicPolicy for Report {
    const REPORT: bool = true;
}

/// The panic unwinds out of the loop (`run_until_complete`'s future).
pub(crate) enum Unwind {}

impl PanicPolicy for Unwind {
    const REPORT: bool = false;
}

impl<D, P: PanicPolicy> Tracked<D, P> {
    pub(crate) fn new(driver: D, entry: Entry) -> Self {
        Tracked {
            driver,
            entry: Some(entry),
            policy: PhantomData,
        }
    }
}

/// Puts back the previous current task, also when a poll unwinds.
struct Restore(Option<usize>);

impl Restore {
    /// Makes the task of `entry` the current one until the guard drops; `None` once the task
    /// has left the loop's tasks (it ended: nothing more to poll).
    #[inline]
    fn enter(entry: &Option<Entry>) -> Option<Self> {
        let key = entry.as_ref()?.key;
        Some(Restore(CURRENT.with(|c| c.replace(Some(key)))))
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.0));
    }
}

impl<D: Future<Output = ()>, P: PanicPolicy> Future for Tracked<D, P> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let Some(restore) = Restore::enter(this.entry) else {
            return Poll::Ready(());
        };
        let driver = this.driver;
        let poll = if P::REPORT {
            catch_unwind(AssertUnwindSafe(|| driver.poll(cx)))
        } else {
            Ok(driver.poll(cx))
        };
        drop(restore);
        // On a panic, the driver already ended the task cancelled: report it, go on.
        let panic = match poll {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(())) => None,
            Err(payload) => Some(payload),
        };
        if let Some(entry) = this.entry.take() {
            entry.end(panic.as_deref());
        }
        Poll::Ready(())
    }
}

pin_project! {
    /// A task of the loop as the loop's engine runs it, in the task's own allocation (its state
    /// and this future are one cell): the task's lifecycle ([`TaskCell`]), made the current
    /// task while it is polled; its panic goes to the loop's exception handler, under the
    /// task's name, and it leaves the loop's tasks once it ended (or is dropped).
    pub(crate) struct LoopTask<F: Future> {
        #[pin]
        cell: TaskCell<F, F::Output>,
        // The `tracing` feature's span (an empty type without it).
        trace: TaskTrace,
        entry: Option<Entry>,
    }

    impl<F: Future> PinnedDrop for LoopTask<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(entry) = this.project().entry.take() {
                entry.unregister();
            }
        }
    }
}

impl<F: Future> LoopTask<F> {
    pub(crate) fn new(fut: F, completer: TaskCompleter<F::Output>, entry: Entry) -> Self {
        LoopTask {
            cell: TaskCell::new(fut, completer),
            trace: TaskTrace::created("create_task"),
            entry: Some(entry),
        }
    }
}

impl<F: Future> Future for LoopTask<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let Some(restore) = Restore::enter(this.entry) else {
            return Poll::Ready(());
        };
        // The task's cell catches its future's panics: it has ended (cancelled) by now.
        let ended = ready!(poll_task(this.cell, this.trace, cx));
        drop(restore);
        if let Some(entry) = this.entry.take() {
            entry.end(ended.as_ref().err().map(|payload| &**payload));
        }
        Poll::Ready(())
    }
}

/// Schedules `fut` as a task of the running loop and returns its handle (asyncio's
/// `asyncio.create_task`): [`EventLoop::create_task`](crate::EventLoop::create_task) on
/// [`get_running_loop`](crate::get_running_loop)'s loop, with no spawner to name.
///
/// # Panics
///
/// Outside a running loop (asyncio raises `RuntimeError: no running event loop`). Use
/// [`spawn_task`](crate::spawn_task) / [`spawn_local_task`](crate::spawn_local_task) on other
/// executors.
///
/// # Examples
///
/// ```
/// let out = aiokit::run(async {
///     let task = aiokit::create_task(async { 6 * 7 });
///     task.await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
#[doc(alias("ensure_future", "async"))]
pub fn create_task<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match running_loop() {
        Some(lp) => lp.create_task(fut),
        None => panic!(
            "aiokit::create_task: no running event loop (use aiokit::run, or spawn_task on another executor)"
        ),
    }
}

/// The task being polled on this thread (asyncio's `asyncio.current_task()`), or `None` outside
/// a loop's task (in a callback, or outside any loop). The future given to
/// [`run`](crate::run) or [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete)
/// runs as a task too.
///
/// # Examples
///
/// ```
/// assert!(aiokit::current_task().is_none());
/// aiokit::run(async {
///     let task = aiokit::create_task(async {
///         aiokit::current_task().unwrap().name()
///     });
///     task.set_name("brew");
///     assert_eq!(task.await.unwrap(), "brew");
/// });
/// ```
pub fn current_task() -> Option<AnyTask> {
    let key = CURRENT.with(Cell::get)?;
    running_loop()?.inner.task(key)
}

/// The unfinished tasks of the running loop (asyncio's `asyncio.all_tasks()`), in no
/// particular order; empty outside a running loop.
///
/// # Examples
///
/// ```
/// aiokit::run(async {
///     let sleeper = aiokit::create_task(std::future::pending::<()>());
///     sleeper.set_name("sleeper");
///     let names: Vec<String> = aiokit::all_tasks().iter().map(|t| t.name()).collect();
///     assert!(names.contains(&"sleeper".to_string()));
///     // aiokit::run cancels it at the end.
/// });
/// ```
pub fn all_tasks() -> Vec<AnyTask> {
    running_loop().map_or_else(Vec::new, |lp| lp.inner.all_tasks())
}
