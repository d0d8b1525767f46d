//! The runner: drives a group's body and children in passes until all are done or one fails,
//! and drops whatever is left on every path (finish, abort, panic, cancellation).

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
        Runner {
            core,
            body,
            body_waker: Waker::from(wake.clone()),
            wake,
            // Room for a small group in direct mode from the start: no shared allocation and no
            // growth until the group outgrows it.
            engine: Engine::with_capacity(DIRECT_MAX),
            spare: Vec::new(),
            errors: ExceptionGroup::new(),
            output: None,
            done: false,
        }
    }

    /// Gives the runner the body's future; its first poll comes with the runner's.
    pub(super) fn start(&mut self, body: B) {
        self.body.set(Some(body));
        self.wake.woken.store(true, Ordering::SeqCst);
    }

    /// Moves the children created since the last call into the engine.
    fn flush(&mut self) {
        self.core.swap_queue(&mut self.spare);
        for child in self.spare.drain(..) {
            self.engine.push(child);
        }
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

    fn step(&mut self, cx: &mut Context<'_>) -> Poll<Result<R, ExceptionGroup<E>>> {
        self.wake.parent.register(cx.waker());
        for _ in 0..PASSES {
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
            }
            self.flush();
            let core = self.core;
            let errors = &mut self.errors;
            let (wake, body_running) = (&*self.wake, self.body.is_some());
            let mut body_resuming = false;
            // The children run under the group's frame for `capture_call_graph`; the body
            // does not (it is the awaiting code's own).
            #[cfg(feature = "inspect")]
            let frame = crate::graph::Frame::enter(
                "aiokit::TaskGroup",
                crate::graph::FrameKind::Combinator,
            );
            let drive = self.engine.poll_drive(cx, |_, out| {
                if let Some(Outcome::Failed(name, error)) = out.take() {
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
            if self.core.has_queued() {
                continue;
            }
            if drive == Drive::AllDone && self.body.is_none() {
                self.core.set_status(Status::Finished);
                self.done = true;
                let output = self.output.take().expect("the body returned a value");
                return Poll::Ready(Ok(output));
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "a task group polled after it returned");
        match catch_unwind(AssertUnwindSafe(|| this.step(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                this.cancel_everything();
                resume_unwind(payload)
            }
        }
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
