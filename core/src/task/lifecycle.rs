//! The life of a task's future, the same for every driver (a spawned task's, and any other
//! that owns a future and its task's completer):
//!
//! - the first poll names the task after the `#[aiokit::coroutine]` it runs, unless it was named;
//! - a cancel request wins: the future is dropped at the next wake-up, even if it would have
//!   produced a value, and a value that arrives with the request is dropped;
//! - the future is dropped before the task is completed with a value, so that whoever observes
//!   the end finds the future's resources released (a driver that hands a failure elsewhere may
//!   end the task first, with [`TaskCell::end_then_drop`], so that the future's destructor
//!   finds the outcome settled);
//! - a panic of the future (in a poll or in its drop) ends the task cancelled, its callbacks
//!   run and its awaiters woken, before the panic goes on to the driver: every task ends
//!   exactly once and nobody waits forever.

use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::panic::{AssertUnwindSafe, catch_unwind};

use pin_project_lite::pin_project;

use super::state::{Payload, TaskCompleter};
use crate::coroutine::{probe, suppress_never_awaited};

pin_project! {
    /// A task's future and its completer. Poll it with [`poll_step`](TaskCell::poll_step);
    /// when it gives the future's output, end the task with [`complete`](TaskCell::complete)
    /// (or [`cancel`](TaskCell::cancel) / [`end_then_drop`](TaskCell::end_then_drop), if
    /// the output is a failure the driver reports elsewhere).
    pub(crate) struct TaskCell<F, T> {
        #[pin]
        fut: Option<F>,
        // Spent (`TaskCompleter::take`) once the task has ended: a completer is already an
        // `Option` inside, and one more would add a word to every spawned task's future.
        completer: TaskCompleter<T>,
        polled: bool,
    }
}

/// What one [`TaskCell::poll_step`] gave.
pub(crate) enum Step<O> {
    /// The future returned this output; the task has not ended yet, and the future is still
    /// held: end the task with [`complete`](TaskCell::complete), [`cancel`](TaskCell::cancel)
    /// or [`end_then_drop`](TaskCell::end_then_drop), which drop it.
    Output(O),
    /// The task has ended cancelled: on a request (`Ok`), or because the future panicked
    /// (`Err`, the panic for the driver to resume).
    Ended(Result<(), Payload>),
}

impl<F, T> TaskCell<F, T> {
    pub(crate) fn new(fut: F, completer: TaskCompleter<T>) -> Self {
        TaskCell {
            fut: Some(fut),
            completer,
            polled: false,
        }
    }

    /// The task's name, as its handles give it ("" once the task has ended).
    pub(crate) fn name(&self) -> String {
        self.completer.name()
    }

    /// Whether a cancel was requested through a handle (a failure output that arrives with
    /// one is a cancellation, not a failure).
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.completer.is_cancel_requested()
    }

    /// Drops the future, then ends the task with `value` (or cancelled, if a cancel was
    /// requested meanwhile). A panic of the future's drop (a panic of the future: the task
    /// ends cancelled and `value` is dropped) or of the discarded value's drop is handed back
    /// once the task has ended.
    pub(crate) fn complete(self: Pin<&mut Self>, value: T) -> Result<(), Payload> {
        let mut this = self.project();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| this.fut.set(None))) {
            // Its output is dropped too (its own panic would be a second one: left out).
            let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
            if let Some(completer) = this.completer.take() {
                completer.cancel();
            }
            return Err(payload);
        }
        match this.completer.take() {
            Some(completer) => completer.try_complete(value),
            None => Ok(()),
        }
    }

    /// Ends the task with `end` (given the completer), then drops the future: the future's
    /// destructor finds the outcome settled (a `cancel()` from it returns false). Returns
    /// whether a cancel requested through a handle before the end won (then the driver has no
    /// failure to report), or the panic of the future's drop.
    pub(crate) fn end_then_drop(
        self: Pin<&mut Self>,
        end: impl FnOnce(TaskCompleter<T>),
    ) -> Result<bool, Payload> {
        let mut this = self.project();
        let Some(completer) = this.completer.take() else {
            return Ok(true);
        };
        let handle = completer.task();
        end(completer);
        let cancel_won = handle.is_cancel_requested();
        drop(handle);
        catch_unwind(AssertUnwindSafe(|| this.fut.set(None)))?;
        Ok(cancel_won)
    }

    /// Drops the future (on purpose: a never-polled coroutine is not reported as forgotten),
    /// then ends the task cancelled. A panic of the future's drop is handed back once the task
    /// has ended.
    pub(crate) fn cancel(self: Pin<&mut Self>) -> Result<(), Payload> {
        let mut this = self.project();
        let dropped = catch_unwind(AssertUnwindSafe(|| {
            suppress_never_awaited(|| this.fut.set(None))
        }));
        if let Some(completer) = this.completer.take() {
            completer.cancel();
        }
        dropped
    }
}

impl<F: Future, T> TaskCell<F, T> {
    /// Polls the future, unless a cancel was requested: then it is dropped and the task ends.
    ///
    /// Once the task has ended, gives `Ended(Ok(()))` again.
    #[inline]
    pub(crate) fn poll_step(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Step<F::Output>> {
        let this = self.as_mut().project();
        let completer = &*this.completer;
        if completer.is_spent() {
            return Poll::Ready(Step::Ended(Ok(())));
        }
        // Checked without registering a waker: a task that finishes on its first poll (the
        // common case) never pays for the waker's clone.
        if completer.is_cancel_requested() {
            return Poll::Ready(Step::Ended(self.cancel()));
        }
        let Some(fut) = this.fut.as_pin_mut() else {
            return Poll::Ready(Step::Ended(Ok(())));
        };
        let first = !mem::replace(this.polled, true);
        let poll = catch_unwind(AssertUnwindSafe(|| {
            if first {
                let (ready, name) = probe::listen(|| fut.poll(cx));
                if let Some(name) = name {
                    completer.set_default_name(name);
                }
                ready
            } else {
                fut.poll(cx)
            }
        }));
        match poll {
            Ok(Poll::Pending) => {
                if completer.poll_cancel_requested(cx) {
                    Poll::Ready(Step::Ended(self.cancel()))
                } else {
                    Poll::Pending
                }
            }
            Ok(Poll::Ready(output)) => Poll::Ready(Step::Output(output)),
            Err(payload) => {
                // End the task here, outside the unwinding, where its callbacks may run; the
                // future's drop panicking too is the same failure, reported once.
                let _ = self.as_mut().cancel();
                Poll::Ready(Step::Ended(Err(payload)))
            }
        }
    }
}
