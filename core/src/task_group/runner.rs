//! The runner: drives a group's body and children in passes until all are done or one fails,
//! and drops whatever is left on every path (finish, abort, panic, cancellation).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::task::Wake;

use atomic_waker::AtomicWaker;

use super::child::{Core, Outcome, Status, ending_a_failed_handle};
use crate::coroutine::suppress_never_awaited;
use crate::engine::{DIRECT_MAX, Drive, Engine, Step};
use crate::error::ExceptionGroup;

/// How many times one poll of the group may drive the children again because children
/// created more children, before it yields to the executor (which it wakes first).
const PASSES: usize = 8;

/// The body's waker: records that the body was woken (so a pass polls it only then, and a
/// failure can tell whether it was already resuming), and wakes the task that polls the group.
#[derive(Debug, Default)]
struct BodyWake {
    /// Woken since its last poll.
    woken: AtomicBool,
    /// Woken since its last poll, other than by the end of a failed child's handle: the body is
    /// already resuming if a child fails now (see `TaskGroup::run`).
    resuming: AtomicBool,
    parent: AtomicWaker,
}

impl Wake for BodyWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !ending_a_failed_handle() {
            self.resuming.store(true, Ordering::SeqCst);
        }
        self.woken.store(true, Ordering::SeqCst);
        self.parent.wake();
    }
}

/// Drives a group: the body and the children, until all are done or one fails.
pub(super) struct Runner<'a, 'scope, C: Future<Output = Outcome<E>>, B, R, E> {
    core: &'scope Core<'scope, C>,
    body: Pin<&'a mut Option<B>>,
    /// Shared with `body_waker`: the wake flag and the group's own waker.
    wake: Arc<BodyWake>,
    body_waker: Waker,
    engine: Engine<C>,
    /// The queue's other buffer: children move from the queue into the engine through it.
    spare: Vec<C>,
    errors: ExceptionGroup<E>,
    /// Supervised (see `TaskGroup::supervise`): a child's failure goes to `failures` instead of
    /// aborting the group.
    supervised: bool,
    failures: Vec<(String, E)>,
    output: Option<R>,
    done: bool,
}

// The body is pinned through `body`; nothing else is ever pinned.
impl<C: Future<Output = Outcome<E>>, B, R, E> Unpin for Runner<'_, '_, C, B, R, E> {}

impl<'a, 'scope, C, B, R, E> Runner<'a, 'scope, C, B, R, E>
where
    C: Future<Output = Outcome<E>>,
    B: Future<Output = Result<R, E>>,
{
    /// A runner for the group whose queue is `core`; `body` is an empty slot, filled by
    /// [`start`](Self::start) once the runner exists.
    pub(super) fn new(core: &'scope Core<'scope, C>, body: Pin<&'a mut Option<B>>) -> Self {
        let wake = Arc::new(BodyWake::default());
        // Room for a small group in direct mode from the start: no shared allocation and no
        // growth until the group outgrows it. Past it, a new child takes the slot of one that
        // ended: a group whose children come and go holds as many slots as ran at once.
        let mut engine = Engine::with_capacity(DIRECT_MAX);
        engine.reuse_slots();
        Runner {
            core,
            body,
            body_waker: Waker::from(wake.clone()),
            wake,
            engine,
            spare: Vec::new(),
            errors: ExceptionGroup::new(),
            supervised: false,
            failures: Vec::new(),
            output: None,
            done: false,
        }
    }

    /// Makes the group a supervising one: a child's failure is kept in
    /// [`failures`](Self::failures) and cancels nothing.
    pub(super) fn supervise(&mut self) {
        self.supervised = true;
    }

    /// The children that failed in a supervising group, in the order they failed.
    pub(super) fn failures(&self) -> &[(String, E)] {
        &self.failures
    }

    /// Takes the failures of a supervising group.
    pub(super) fn take_failures(&mut self) -> Vec<(String, E)> {
        mem::take(&mut self.failures)
    }

    /// Gives the runner the body's future; its first poll comes with the runner's.
    pub(super) fn start(&mut self, body: B) {
        self.body.set(Some(body));
        self.wake.woken.store(true, Ordering::SeqCst);
    }

    /// Moves the children created since the last call into the engine.
    fn flush(&mut self) {
        self.core.swap_queue(&mut self.spare);
        self.engine.push_all(&mut self.spare);
    }

    /// Polls the body with its own waker; clears its wake flag first, so that a wake during
    /// the poll is kept for the next pass.
    fn poll_body(&mut self) -> Poll<Result<R, E>> {
        let Some(body) = self.body.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        self.wake.woken.store(false, Ordering::SeqCst);
        self.wake.resuming.store(false, Ordering::SeqCst);
        body.poll(&mut Context::from_waker(&self.body_waker))
    }

    /// One poll of the group: `Ok(Some(value))` once everything finished, `Ok(None)` after an
    /// early exit before the body returned (`Ok(Some(value))` after one once it had).
    fn step(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<R>, ExceptionGroup<E>>> {
        self.wake.parent.register(cx.waker());
        self.core.register(cx.waker());
        for _ in 0..PASSES {
            if self.core.exit_requested() {
                return Poll::Ready(Ok(self.exit()));
            }
            if self.body.is_some() && self.wake.woken.load(Ordering::SeqCst) {
                match self.poll_body() {
                    Poll::Pending => {}
                    Poll::Ready(Ok(output)) => {
                        self.body.set(None);
                        self.output = Some(output);
                    }
                    Poll::Ready(Err(error)) => {
                        self.body.set(None);
                        self.errors.push_body(error);
                        return Poll::Ready(Err(self.abort()));
                    }
                }
                if self.core.exit_requested() {
                    return Poll::Ready(Ok(self.exit()));
                }
            }
            self.flush();
            let core = self.core;
            let errors = &mut self.errors;
            let (supervised, failures) = (self.supervised, &mut self.failures);
            let (wake, body_running) = (&*self.wake, self.body.is_some());
            let mut body_resuming = false;
            // The children run under the group's frame for `capture_call_graph`; the body
            // does not (it is the awaiting code's own).
            #[cfg(feature = "inspect")]
            let frame = crate::graph::Frame::enter(
                "aiokit::TaskGroup",
                crate::graph::FrameKind::Combinator,
            );
            let stop = || core.exit_requested();
            let drive = self.engine.poll_drive_until(cx, &stop, |_, out| {
                if let Some(Outcome::Failed(name, error)) = out.take() {
                    if supervised {
                        failures.push((name, error));
                        return Step::Continue;
                    }
                    if errors.is_empty() {
                        // Siblings polled later in this pass may no longer add children.
                        core.set_status(Status::Aborting);
                        // Woken before this first failure: already resuming (see `run`).
                        body_resuming = body_running && wake.resuming.load(Ordering::SeqCst);
                    }
                    errors.push_child(name, error);
                }
                // The rest of the pass still runs, so that children failing together are
                // all reported.
                Step::Continue
            });
            #[cfg(feature = "inspect")]
            drop(frame);
            if !self.errors.is_empty() {
                if body_resuming {
                    // Its last poll: an error it returns now comes after the children's; a
                    // value, or a pending body, is dropped with the abort.
                    if let Poll::Ready(output) = self.poll_body() {
                        self.body.set(None);
                        if let Err(error) = output {
                            self.errors.push_body(error);
                        }
                    }
                }
                return Poll::Ready(Err(self.abort()));
            }
            if self.core.exit_requested() {
                return Poll::Ready(Ok(self.exit()));
            }
            if self.core.has_queued() {
                continue;
            }
            if drive == Drive::AllDone && self.body.is_none() {
                self.core.set_status(Status::Finished);
                self.done = true;
                let output = self.output.take().expect("the body returned a value");
                return Poll::Ready(Ok(Some(output)));
            }
            return Poll::Pending;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn abort(&mut self) -> ExceptionGroup<E> {
        self.cancel_everything();
        mem::replace(&mut self.errors, ExceptionGroup::new())
    }

    /// The early exit: drops everything; the body's value, if it had returned.
    fn exit(&mut self) -> Option<R> {
        self.cancel_everything();
        self.output.take()
    }

    /// Polls the group to its end, early exits included (see [`step`](Self::step)).
    pub(super) fn poll_run(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<R>, ExceptionGroup<E>>> {
        assert!(!self.done, "a task group polled after it returned");
        match catch_unwind(AssertUnwindSafe(|| self.step(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                self.cancel_everything();
                resume_unwind(payload)
            }
        }
    }
}

impl<C: Future<Output = Outcome<E>>, B, R, E> Runner<'_, '_, C, B, R, E> {
    /// Drops the body and every child (queued ones included); no child can be added after.
    fn cancel_everything(&mut self) {
        self.done = true;
        let queued = self.core.take_queue(Status::Aborting);
        // Cancelled on purpose: never-polled coroutines among them are not forgotten ones.
        // Destructors may call `create_task`, which is refused now, so no lock is held here.
        suppress_never_awaited(|| {
            self.body.set(None);
            self.engine.cancel_all();
            drop(queued);
            self.spare.clear();
        });
        self.core.set_status(Status::Finished);
    }
}

impl<C, B, R, E> Future for Runner<'_, '_, C, B, R, E>
where
    C: Future<Output = Outcome<E>>,
    B: Future<Output = Result<R, E>>,
{
    type Output = Result<R, ExceptionGroup<E>>;

    /// A group whose body cannot ask for an early exit (only a `Cancellable` one can): it
    /// ends with the body's value or with errors.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut()
            .poll_run(cx)
            .map(|ended| ended.map(|output| output.expect("only a cancellable group exits early")))
    }
}

impl<C: Future<Output = Outcome<E>>, B, R, E> Drop for Runner<'_, '_, C, B, R, E> {
    fn drop(&mut self) {
        if !self.done {
            // The group's future was dropped (cancelled) before it finished, or the call that
            // makes the body's future panicked.
            self.cancel_everything();
        }
        // The queue is empty by now (nothing is accepted once the group finished or aborts),
        // but may keep the buffer of an earlier flush: freed here, as the group never drops it.
        drop(self.core.take_queue(Status::Finished));
    }
}

impl<C: Future<Output = Outcome<E>>, B, R, E> fmt::Debug for Runner<'_, '_, C, B, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("engine", &self.engine)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
