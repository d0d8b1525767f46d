//! A group's children: the queue that `create_task` fills (with the group's status), and
//! [`Child`], the future that drives one child and completes its handle.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::{Mutex, MutexGuard, PoisonError};

use atomic_waker::AtomicWaker;
use core::sync::atomic::{AtomicBool, Ordering};
use pin_project_lite::pin_project;

use std::panic::resume_unwind;

use crate::coroutine::suppress_never_awaited;
use crate::engine::task_cell::{RawDriver, SendDriver};
use crate::task::{Step, Task, TaskCell, TaskCompleter};
use crate::trace::{Ended, TaskTrace};
#[cfg(feature = "inspect")]
use crate::{engine::ChildViews, task::TaskView};

std::thread_local! {
    /// True while this thread ends the handle of a child that failed: a body woken then (it
    /// awaits that handle, or a done-callback wakes it) is not "already resuming" (see
    /// `TaskGroup::run`): asyncio runs the group's done-callback, which cancels the body, first.
    static ENDING_A_FAILED_HANDLE: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is ending the handle of a child that failed.
pub(super) fn ending_a_failed_handle() -> bool {
    ENDING_A_FAILED_HANDLE.try_with(Cell::get).unwrap_or(false)
}

/// Ends the handle of a child that failed (cancelled: its error goes to the group), marking
/// the thread meanwhile (see [`ENDING_A_FAILED_HANDLE`]).
fn end_failed<T>(completer: TaskCompleter<T>) {
    /// Clears the mark, even if a done-callback unwinds.
    struct Unmark;
    impl Drop for Unmark {
        fn drop(&mut self) {
            ENDING_A_FAILED_HANDLE.set(false);
        }
    }
    ENDING_A_FAILED_HANDLE.set(true);
    let _unmark = Unmark;
    completer.cancel();
}

/// A child as the engine holds it: type-erased, `Send` for a `TaskGroup`. A pointer to the one
/// allocation that holds both the child's future and its handle's state.
pub(super) type SendChild<'scope, E> = SendDriver<'scope, Outcome<E>>;
/// A child as the engine holds it: type-erased, any future for a `LocalTaskGroup`.
pub(super) type LocalChild<'scope, E> = RawDriver<'scope, Outcome<E>>;

/// What a finished child tells the group.
pub(super) enum Outcome<E> {
    /// Succeeded, or was cancelled through its handle: not a failure.
    Done,
    /// Failed: the task's name and its error.
    Failed(String, E),
}

/// Where the group is in its life; `create_task` is accepted only while `Open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Running, or finishing: the body returned and the children still run (they may add more).
    Open,
    /// A failure or a panic: everything is being dropped.
    Aborting,
    /// `run` has returned (or was dropped).
    Finished,
}

/// The part of a group that `create_task` touches, shared by both kinds of group.
pub(super) struct Core<'scope, C> {
    queue: Mutex<Queue<C>>,
    /// Set by [`request_exit`](Core::request_exit): the runner drops everything and returns
    /// without an error. Read before each poll of a child, so it is an atomic, not the lock.
    exit: AtomicBool,
    /// The task that polls the group, woken by an exit requested from outside its poll.
    waker: AtomicWaker,
    /// A handle of each child, for `Debug` (the done ones are dropped past [`KEPT`]).
    /// Emptied in [`take_queue`](Core::take_queue), never dropped with the group, as the
    /// queue (a handle's drop may drop an output that borrows for `'scope`).
    #[cfg(feature = "inspect")]
    views: Mutex<ManuallyDrop<ChildViews<'scope, C>>>,
    _scope: PhantomData<&'scope mut &'scope ()>,
}

/// How many children's handles a group keeps for its `Debug` before it drops those of the
/// children that are done.
#[cfg(feature = "inspect")]
const KEPT: usize = 64;

/// How a group keeps a handle of each child for its `Debug`, with the `inspect` feature
/// (nothing without it): the child type says whether the handles may be sent.
pub(super) trait KeepView<'scope, T>: Sized {
    /// Keeps `task` in `views`.
    #[cfg(feature = "inspect")]
    fn keep(views: &mut ChildViews<'scope, Self>, task: &Task<T>);
}

impl<'scope, E, T: Send + Sync + 'scope> KeepView<'scope, T> for SendChild<'scope, E> {
    #[cfg(feature = "inspect")]
    fn keep(views: &mut ChildViews<'scope, Self>, task: &Task<T>) {
        views.push_send(task);
    }
}

impl<'scope, E, T: 'scope> KeepView<'scope, T> for LocalChild<'scope, E> {
    #[cfg(feature = "inspect")]
    fn keep(views: &mut ChildViews<'scope, Self>, task: &Task<T>) {
        views.push_local(task);
    }
}

/// Room the queue takes on its first child: as many as the engine runs in direct mode (a small
/// group's children, created before its body's first `.await`).
const FIRST_QUEUE: usize = 16;

/// Makes room for one more child in the queue: [`FIRST_QUEUE`] at first (one allocation for a
/// small group's children, not three growing ones), then by doubling.
#[cold]
fn grow<C>(children: &mut Vec<C>) -> Result<(), alloc::collections::TryReserveError> {
    if children.capacity() == 0 {
        children.try_reserve_exact(FIRST_QUEUE)
    } else {
        children.try_reserve(1)
    }
}

struct Queue<C> {
    status: Status,
    /// Emptied by the runner, never dropped with the group (see the module docs of
    /// `task_group`).
    children: ManuallyDrop<Vec<C>>,
}

impl<'scope, C> Core<'scope, C> {
    pub(super) fn new() -> Self {
        Core {
            queue: Mutex::new(Queue {
                status: Status::Open,
                children: ManuallyDrop::new(Vec::new()),
            }),
            exit: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            #[cfg(feature = "inspect")]
            views: Mutex::new(ManuallyDrop::new(ChildViews::new())),
            _scope: PhantomData,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<C>> {
        // Nothing under this lock can panic or run user code (children are made before it and
        // dropped after it; the queue grows with `try_reserve`), so it is never poisoned; if it
        // were, its state is consistent between statements: keep going.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues the child that `make` builds (with its handle), or refuses it: then the child's
    /// future is dropped unpolled and the handle ends cancelled.
    pub(super) fn create<T>(&self, make: impl FnOnce() -> (Task<T>, C)) -> Task<T>
    where
        C: KeepView<'scope, T>,
    {
        // Made outside the lock: the allocation, and the future's move into it.
        let (task, child) = make();
        let mut queue = self.lock();
        let open = queue.status == Status::Open;
        // `push` would panic on a failed growth with the child in hand, dropping it (user
        // code) under the lock: grow first, and fail only after the lock is released.
        let grown = if open && queue.children.len() == queue.children.capacity() {
            grow(&mut queue.children)
        } else {
            Ok(())
        };
        if open && grown.is_ok() {
            queue.children.push(child);
            drop(queue);
            #[cfg(feature = "inspect")]
            self.keep(&task);
            return task;
        }
        drop(queue);
        // Refused on purpose: not a forgotten coroutine. Dropping the child drops its future,
        // then its completer, which ends the task cancelled, as its handle reports.
        suppress_never_awaited(|| drop(child));
        if let Err(error) = grown {
            panic!("TaskGroup::create_task: cannot queue the child: {error}");
        }
        task
    }

    /// Keeps a handle of a child for `Debug`; drops those of the children that are done once
    /// [`KEPT`] are kept (after the lock is released: the last handle drops the output).
    #[cfg(feature = "inspect")]
    fn keep<T>(&self, task: &Task<T>)
    where
        C: KeepView<'scope, T>,
    {
        let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        let done = views.take_done(KEPT);
        C::keep(&mut views, task);
        drop(views);
        drop(done);
    }

    /// Ends the group early, without an error, if it is still open (running, or finishing
    /// after the body returned); returns whether this call did. From here on, children are
    /// refused, and the runner polls nothing more.
    pub(super) fn request_exit(&self) -> bool {
        {
            let mut queue = self.lock();
            if queue.status != Status::Open {
                return false;
            }
            queue.status = Status::Aborting;
            self.exit.store(true, Ordering::SeqCst);
        }
        // Outside the lock: a waker is user code.
        self.waker.wake();
        true
    }

    /// Whether an early exit was requested.
    #[inline]
    pub(super) fn exit_requested(&self) -> bool {
        self.exit.load(Ordering::Relaxed)
    }

    /// Registers the task that polls the group (woken by [`request_exit`](Core::request_exit)).
    pub(super) fn register(&self, waker: &core::task::Waker) {
        self.waker.register(waker);
    }

    pub(super) fn status(&self) -> Status {
        self.lock().status
    }

    pub(super) fn set_status(&self, status: Status) {
        self.lock().status = status;
    }

    /// Moves the queued children into `spare` (which must be empty); keeps both allocations.
    pub(super) fn swap_queue(&self, spare: &mut Vec<C>) {
        let mut queue = self.lock();
        if !queue.children.is_empty() {
            mem::swap(&mut *queue.children, spare);
        }
    }

    /// Sets the status and takes the queue, children and buffer: the runner drops them (outside
    /// the lock), so that nothing the queue holds outlives the run.
    pub(super) fn take_queue(&self, status: Status) -> Vec<C> {
        // The handles kept for `Debug` go too, dropped here outside the lock.
        #[cfg(feature = "inspect")]
        {
            let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
            let kept = mem::replace(&mut **views, ChildViews::new());
            drop(views);
            drop(kept);
        }
        let mut queue = self.lock();
        queue.status = status;
        mem::take(&mut *queue.children)
    }

    pub(super) fn has_queued(&self) -> bool {
        !self.lock().children.is_empty()
    }
}

impl<C> fmt::Debug for Core<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Read, then released before writing: the formatter writes to the caller's sink.
        let (status, queued) = {
            let queue = self.lock();
            (queue.status, queue.children.len())
        };
        let mut out = f.debug_struct("TaskGroup");
        out.field("status", &status).field("queued", &queued);
        #[cfg(feature = "inspect")]
        {
            // Cloned under the lock (counts only), named after it is released: a name is read
            // under the task's own lock, and the clones are dropped outside both.
            let children = self
                .views
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .snapshot();
            out.field("children", &DebugTasks(&children));
        }
        out.finish_non_exhaustive()
    }
}

/// The children's handles as the group's `Debug` lists them: `make_tea<pending>`, at most
/// [`SHOWN`](crate::names::SHOWN), then how many more.
#[cfg(feature = "inspect")]
struct DebugTasks<'a, 'scope>(&'a [crate::engine::task_cell::DynCellRef<dyn TaskView + 'scope>]);

#[cfg(feature = "inspect")]
impl fmt::Debug for DebugTasks<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = crate::names::SHOWN;
        let mut list = f.debug_list();
        for (index, task) in self.0.iter().enumerate().take(shown) {
            let name = task.name();
            list.entry(&crate::names::ChildEntry {
                index,
                name: Some(&name),
                state: if task.done() {
                    crate::engine::State::Done
                } else {
                    crate::engine::State::Running
                },
            });
        }
        if self.0.len() > shown {
            list.entry(&format_args!("...{} more", self.0.len() - shown));
        }
        list.finish()
    }
}

pin_project! {
    /// A child and its handle's completer, in the task lifecycle every driver shares
    /// ([`TaskCell`]): completes the handle and tells the group whether the child failed.
    pub(super) struct Child<F, T> {
        #[pin]
        cell: TaskCell<F, T>,
        // The `tracing` feature's span (an empty type without it).
        trace: TaskTrace,
    }
}

impl<F, T> Child<F, T> {
    pub(super) fn new(fut: F, completer: TaskCompleter<T>) -> Self {
        Child {
            cell: TaskCell::new(fut, completer),
            trace: TaskTrace::created("TaskGroup"),
        }
    }
}

impl<F, T, E> Future for Child<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Outcome<E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<E>> {
        let this = self.project();
        let (mut cell, trace) = (this.cell, this.trace);
        let step = trace.poll(|| cell.as_mut().poll_step(cx));
        trace.record_name(|| cell.name());
        let Poll::Ready(step) = step else {
            return Poll::Pending;
        };
        let cancel_first = cfg!(feature = "tracing") && cell.is_cancel_requested();
        let ended = match step {
            Step::Output(Ok(value)) => {
                let ended = cell.complete(value);
                trace.ended(match ended {
                    Err(_) => Ended::Panicked,
                    Ok(()) if cancel_first => Ended::Cancelled,
                    Ok(()) => Ended::Done,
                });
                ended
            }
            // A cancel requested before the error came wins, as it does for a value.
            Step::Output(Err(_)) if cell.is_cancel_requested() => {
                let ended = cell.cancel();
                trace.ended(if ended.is_err() {
                    Ended::Panicked
                } else {
                    Ended::Cancelled
                });
                ended
            }
            Step::Output(Err(error)) => {
                let name = cell.name();
                // Its error goes to the group; the handle ends cancelled. One outcome: the
                // handle's outcome is recorded first, under the task's lock, so from here on
                // `cancel()` returns false, as asyncio's does once the coroutine has raised
                // (even from the future's own destructor, which runs after). A cancel that
                // returned true before that, on another thread, wins: no failure.
                match cell.end_then_drop(end_failed) {
                    Ok(false) => {
                        trace.ended(Ended::Failed);
                        return Poll::Ready(Outcome::Failed(name, error));
                    }
                    Ok(true) => {
                        trace.ended(Ended::Cancelled);
                        Ok(())
                    }
                    Err(payload) => {
                        trace.ended(Ended::Panicked);
                        Err(payload)
                    }
                }
            }
            Step::Ended(ended) => {
                trace.ended(if ended.is_err() {
                    Ended::Panicked
                } else {
                    Ended::Cancelled
                });
                ended
            }
        };
        // A panic of the child (its poll, its drop, its value's drop) goes on to the group once
        // the handle has ended.
        if let Err(payload) = ended {
            resume_unwind(payload);
        }
        Poll::Ready(Outcome::Done)
    }
}

#[cfg(all(test, feature = "inspect"))]
mod tests {
    use alloc::format;
    use alloc::string::String;
    use core::future::Future;
    use core::task::Poll;

    use crate::coroutine::Coroutine;
    use crate::{LocalTaskGroup, TaskGroup};

    async fn yield_now() {
        let mut yielded = false;
        core::future::poll_fn(|cx| {
            if mem::replace(&mut yielded, true) {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await
    }

    use core::mem;

    fn make_tea(
        rx: futures::channel::oneshot::Receiver<u8>,
    ) -> Coroutine<impl Future<Output = Result<u8, ()>>> {
        Coroutine::new("make_tea", async move { rx.await.map_err(|_| ()) })
    }

    mod task_group_debug_lists_the_children_by_name_and_state {
        use super::*;

        #[test]
        fn a_send_group() {
            let (tx, rx) = futures::channel::oneshot::channel();
            let shown: String = futures::executor::block_on(TaskGroup::run(async |tg| {
                let tea = tg.create_task(make_tea(rx));
                let quick = tg.create_task(async { Ok(1) });
                assert_eq!(
                    format!("{tg:?}"),
                    format!(
                        "TaskGroup {{ status: Open, queued: 2, children: \
                         [{}<pending>, {}<pending>], .. }}",
                        tea.name(),
                        quick.name()
                    ),
                    "before their first poll, no coroutine name is known"
                );
                yield_now().await; // the children's first poll
                let shown = format!("{tg:?}");
                quick.set_name("quick");
                assert!(
                    format!("{tg:?}").contains("quick<done>"),
                    "names are read live"
                );
                tx.send(1).unwrap();
                Ok(shown)
            }))
            .unwrap();
            assert!(
                shown.starts_with(
                    "TaskGroup { status: Open, queued: 0, children: [make_tea<pending>, Task-"
                ),
                "{shown}"
            );
            assert!(shown.ends_with("<done>], .. }"), "{shown}");
        }

        #[test]
        fn a_local_group() {
            let shown = futures::executor::block_on(LocalTaskGroup::run(async |tg| {
                let shared = std::rc::Rc::new(2);
                let child = tg.create_task(async move { Ok::<_, ()>(shared) });
                child.set_name("rc");
                yield_now().await;
                Ok(format!("{tg:?}"))
            }))
            .unwrap();
            assert_eq!(
                shown,
                "TaskGroup { status: Open, queued: 0, children: [rc<done>], .. }"
            );
        }

        #[test]
        fn past_64_the_done_ones_are_forgotten_at_most_32_shown() {
            let (tx, rx) = futures::channel::oneshot::channel();
            let shown = futures::executor::block_on(TaskGroup::run(async |tg| {
                let pending = tg.create_task(make_tea(rx));
                pending.set_name("slow");
                for _ in 0..63 {
                    tg.create_task(async { Ok(0) });
                }
                yield_now().await;
                let full = format!("{tg:?}");
                assert!(full.ends_with(", ...32 more], .. }"), "{full}");
                // The 65th child drops the 63 done ones: two are left.
                tg.create_task(async { Ok(0) });
                let pruned = format!("{tg:?}");
                tx.send(1).unwrap();
                Ok(pruned)
            }))
            .unwrap();
            assert!(
                shown.starts_with(
                    "TaskGroup { status: Open, queued: 1, children: [slow<pending>, Task-"
                ),
                "{shown}"
            );
            assert_eq!(shown.matches('<').count(), 2, "{shown}");
        }

        #[test]
        fn the_handles_are_let_go_when_the_group_ends() {
            let value = std::sync::Arc::new(());
            let held = value.clone();
            futures::executor::block_on(TaskGroup::run(async |tg| {
                tg.create_task(async move { Ok::<_, ()>(held) });
                Ok::<_, ()>(())
            }))
            .unwrap();
            // The child's output, kept by its handle in the group's list, was dropped with it.
            assert_eq!(std::sync::Arc::strong_count(&value), 1);
        }
    }
}
