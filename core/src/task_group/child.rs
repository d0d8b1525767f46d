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
    _scope: PhantomData<&'scope mut &'scope ()>,
}

struct Queue<C> {
    status: Status,
    /// Emptied by the runner, never dropped with the group (see the module docs of
    /// `task_group`).
    children: ManuallyDrop<Vec<C>>,
}

impl<C> Core<'_, C> {
    pub(super) fn new() -> Self {
        Core {
            queue: Mutex::new(Queue {
                status: Status::Open,
                children: ManuallyDrop::new(Vec::new()),
            }),
            exit: AtomicBool::new(false),
            waker: AtomicWaker::new(),
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
    pub(super) fn create<T>(&self, make: impl FnOnce() -> (Task<T>, C)) -> Task<T> {
        // Made outside the lock: the allocation, and the future's move into it.
        let (task, child) = make();
        let mut queue = self.lock();
        let open = queue.status == Status::Open;
        // `push` would panic on a failed growth with the child in hand, dropping it (user
        // code) under the lock: grow first, and fail only after the lock is released.
        let grown = if open {
            queue.children.try_reserve(1)
        } else {
            Ok(())
        };
        if open && grown.is_ok() {
            queue.children.push(child);
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
        f.debug_struct("TaskGroup")
            .field("status", &status)
            .field("queued", &queued)
            .finish_non_exhaustive()
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
