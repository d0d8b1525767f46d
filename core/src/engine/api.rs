//! [`Engine`]: the children of one combinator and, in queued mode, their shared header; the
//! API the combinators call.

use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::task::Context;

use super::atomic::Arc;
use super::slots::{Slot, Slots};
use super::waker::Header;

/// Up to this many children the engine runs in direct mode (see [`Engine`]). Loom models check
/// the queued mode, which is where the atomics are, so they turn direct mode off.
pub(crate) const DIRECT_MAX: usize = if cfg!(aiokit_loom) { 0 } else { 16 };

/// What the completion callback of [`Engine::poll_drive`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Keep driving.
    Continue,
    /// Return [`Drive::Stopped`] now, leaving the other woken children for the next call.
    Stop,
}

/// How [`Engine::poll_drive`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drive {
    /// No child is running any more (also when there were none).
    AllDone,
    /// The callback returned [`Step::Stop`], or a settling drive had an output and nothing
    /// more to poll (see [`Engine::poll_drive_settling`]); children may still be running.
    Stopped,
    /// Children are still running; the task will be woken when one of them is (or right away,
    /// when the poll budget ran out). Only this promises a wake-up: after the others the caller
    /// returns `Ready` or drives again.
    Pending,
}

/// The state of one child, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Running,
    Done,
    Empty,
}

pub(crate) struct Engine<F: Future> {
    /// `None` in direct mode: at most [`DIRECT_MAX`] children, polled all at once with the
    /// caller's waker, which saves the shared allocation where it would cost more than it saves.
    header: Option<Arc<Header>>,
    /// A separate field from the header, so that a poll borrows the header and mutates the
    /// slots at once, without an `Arc` clone (two atomic operations) per poll.
    pub(super) slots: Slots<F>,
}

impl<F: Future> Engine<F> {
    /// An engine with room for `cap` children before it needs to grow.
    #[cfg(any(feature = "std", test))]
    pub(crate) fn with_capacity(cap: usize) -> Self {
        Engine {
            header: (cap > DIRECT_MAX).then(|| Header::new(cap)),
            slots: Slots::new(Vec::with_capacity(cap), 0),
        }
    }

    /// An engine holding the children of `iter`, indexed in iteration order.
    pub(crate) fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        // No child has been polled yet, so collecting may move them (a `Vec` growing for an
        // iterator of unknown length); the first segment is whatever capacity this ends with.
        let first: Vec<Slot<F>> = iter.into_iter().map(Slot::Running).collect();
        let running = first.len();
        Engine {
            header: (first.capacity() > DIRECT_MAX).then(|| Header::new(first.capacity())),
            slots: Slots::new(first, running),
        }
    }

    /// Adds a child and returns its index. It is first polled by the next `poll_drive`.
    #[cfg(any(feature = "std", test))]
    pub(crate) fn push(&mut self, fut: F) -> usize {
        let mut fut = Some(fut);
        if self.header.is_some() {
            if let Some(index) = self.slots.refill(&mut fut) {
                if index < self.slots.fresh {
                    // Its node was written before the first poll of its slot's first child.
                    self.slots.ext_mut().unpolled.push_back(index);
                }
                return index;
            }
        }
        if !self.slots.has_room() {
            self.grow();
        }
        let index = self.slots.push(fut.take().expect("not placed yet"));
        if let Some(header) = &self.header {
            let behind_unpolled =
                self.slots.fresh == index && self.slots.reuse() && self.slots.has_unpolled();
            if behind_unpolled {
                // Behind a reused slot's child that waits for its first poll: this one joins
                // `unpolled` too, so that new children are first polled in the order they were
                // pushed. (Otherwise the sweep of `fresh..len` polls it, allocating nothing.)
                let cell = self.slots.node(header, index);
                // SAFETY: `fresh == index`: the sweep never reached this node, and a child
                // just pushed has no waker, so nothing else reads the cell.
                unsafe { super::waker::init_node(cell, Arc::as_ptr(header), index) };
                self.slots.fresh += 1;
                self.slots.ext_mut().unpolled.push_back(index);
            }
        }
        index
    }

    /// Adds every child of `children`, in order, as that many [`push`](Self::push)es would
    /// (same indices, same first-poll order), leaving `children` empty with its allocation
    /// kept. Children that go after the last slot are moved in by the segment, not one by one.
    #[cfg(any(feature = "std", test))]
    pub(crate) fn push_all(&mut self, children: &mut Vec<F>) {
        let mut children = children.drain(..);
        while children.len() > 0 {
            if self.header.is_some() && (self.slots.has_free() || self.slots.has_unpolled()) {
                // A free slot to refill, or children queued for their first poll that the new
                // ones must follow: `push` places them.
                let fut = children.next().expect("checked above");
                self.push(fut);
                continue;
            }
            if !self.slots.has_room() {
                self.grow();
                continue;
            }
            self.slots.append(&mut children);
        }
    }

    /// Lets a new child take the slot of one that ended (with no output kept), once the engine
    /// is in queued mode: an engine whose children come and go (a task group serving for days)
    /// then holds as many slots as children ran at once, not as were ever pushed. Indices are
    /// then reused, so an index names a child only while it runs. Call before the first push.
    #[cfg(any(feature = "std", test))]
    pub(crate) fn reuse_slots(&mut self) {
        self.slots.set_reuse();
        if self.header.is_some() {
            self.slots.collect_free();
        }
    }

    #[cfg(any(feature = "std", test))]
    #[cold]
    fn grow(&mut self) {
        let len = self.slots.next_segment_len();
        if self.header.is_none() && self.slots.capacity() + len > DIRECT_MAX {
            self.enter_queued_mode();
        }
        self.slots.add_segment(len, self.header.as_deref());
    }

    /// Leaves direct mode, if in it, so that each later poll polls only the woken children.
    /// For consumers that take completions one at a time (as_completed, a wait(FirstCompleted)
    /// loop), where direct mode would poll every running child for each completion. Children
    /// already polled in direct mode are polled once more, with their own wakers.
    pub(crate) fn use_queue(&mut self) {
        if self.header.is_none() && self.slots.counts.running > 0 {
            self.enter_queued_mode();
        }
    }

    /// Leaves direct mode: the children polled so far hold the caller's waker, not their own,
    /// so each is polled once more with its own.
    fn enter_queued_mode(&mut self) {
        let header = Header::new(self.slots.first.capacity());
        self.slots.attach_nodes(&header);
        self.header = Some(header);
        self.slots.fresh = 0;
        self.slots.collect_free();
    }

    /// Polls the children that need it. For each child that finishes, its output is handed to
    /// `on_done` as `&mut Some(output)`; what `on_done` leaves there is kept in the child's slot
    /// (for [`take`](Self::take)), and `Step::Stop` ends this call. (Used by the event loop and
    /// `staggered_race`, which needs a timer.)
    #[cfg(any(
        feature = "event-loop",
        feature = "futures-timer",
        feature = "tokio",
        feature = "async-io",
        test
    ))]
    pub(crate) fn poll_drive<C>(&mut self, cx: &mut Context<'_>, on_done: C) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        self.poll_drive_until(cx, &|| false, on_done)
    }

    /// [`poll_drive`](Self::poll_drive), which also returns [`Drive::Stopped`] as soon as
    /// `stop` returns true; it is asked before each poll of a child (a child may make it true
    /// while it is polled: no sibling is polled after that).
    #[cfg(any(feature = "std", test))]
    #[inline]
    pub(crate) fn poll_drive_until<C>(
        &mut self,
        cx: &mut Context<'_>,
        stop: &impl Fn() -> bool,
        on_done: C,
    ) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        self.drive(cx, stop, false, on_done)
    }

    /// [`poll_drive`](Self::poll_drive), which with `settle` is for a caller that returns
    /// `Ready` as soon as a child completed: once one has, in queued mode, the drive polls the
    /// other woken children and then returns [`Drive::Stopped`] rather than `Pending`, without
    /// registering the caller's waker (no wake-up is due to a future that has returned).
    #[inline]
    pub(crate) fn poll_drive_settling<C>(
        &mut self,
        cx: &mut Context<'_>,
        settle: bool,
        on_done: C,
    ) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        self.drive(cx, &|| false, settle, on_done)
    }

    /// Whether a drive would have nothing to do but register the caller's waker (queued mode,
    /// children running, every one polled once, none woken); if so, the waker is registered
    /// and the caller may return `Pending` as after a drive that returned [`Drive::Pending`].
    /// The first poll of each round of a `wait(FirstCompleted)` loop, cheaper than a drive.
    #[inline]
    pub(crate) fn idle(&self, cx: &mut Context<'_>) -> bool {
        let Some(header) = &self.header else {
            return false;
        };
        let slots = &self.slots;
        slots.counts.running != 0
            && slots.all_polled_once()
            && header.queue.is_empty()
            && slots.idle_after_register(header, cx)
    }

    #[inline(always)]
    fn drive<C>(
        &mut self,
        cx: &mut Context<'_>,
        stop: &impl Fn() -> bool,
        settle: bool,
        on_done: C,
    ) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        if self.slots.counts.running == 0 {
            return Drive::AllDone;
        }
        match &self.header {
            None => self.slots.poll_direct(cx, stop, on_done),
            Some(header) => self.slots.poll_queued(header, cx, stop, settle, on_done),
        }
    }

    /// Children pushed so far; indices are `0..len()`.
    pub(crate) fn len(&self) -> usize {
        self.slots.len
    }

    /// Children still running.
    pub(crate) fn running(&self) -> usize {
        self.slots.counts.running
    }

    /// The state of child `index` (below [`len`](Self::len)).
    pub(crate) fn state(&self, index: usize) -> State {
        match self.slots.slot(index) {
            Slot::Running(_) => State::Running,
            Slot::Done(_) => State::Done,
            Slot::Empty | Slot::Free(_) => State::Empty,
        }
    }

    /// The running child at `index`, if any (for inspection such as names in `Debug`).
    pub(crate) fn child(&self, index: usize) -> Option<&F> {
        match self.slots.slot(index) {
            Slot::Running(fut) => Some(fut),
            _ => None,
        }
    }

    /// Takes the output of a finished child, leaving its slot empty.
    #[cfg(all(test, not(aiokit_loom)))]
    pub(crate) fn take(&mut self, index: usize) -> Option<F::Output> {
        self.slots.take(index)
    }

    /// Drops a running child in place (cancels it). Returns whether it was running.
    ///
    /// A cancelled coroutine that was never polled is not reported as "never awaited": the
    /// drop is on purpose.
    pub(crate) fn cancel(&mut self, index: usize) -> bool {
        let cancelled = crate::coroutine::suppress_never_awaited(|| self.slots.cancel(index));
        if cancelled {
            self.slots.release(index, self.header.is_some());
        }
        cancelled
    }

    /// Drops every running child in place, in index order (see [`cancel`](Self::cancel)).
    pub(crate) fn cancel_all(&mut self) {
        if self.slots.counts.running == 0 {
            return;
        }
        crate::coroutine::suppress_never_awaited(|| self.slots.cancel_all());
    }

    /// Every output still in place, mapped by `map`, in index order, leaving the engine empty.
    pub(crate) fn take_outputs<U>(&mut self, map: impl FnMut(F::Output) -> U) -> Vec<U> {
        self.slots.take_outputs(map)
    }

    /// Takes every output still in place, in index order.
    #[cfg(all(test, not(aiokit_loom)))]
    pub(crate) fn drain_outputs(&mut self) -> impl Iterator<Item = (usize, F::Output)> + '_ {
        self.slots.drain_outputs()
    }
}

// Children sit in heap slots that never move, so moving the engine moves no child.
impl<F: Future> Unpin for Engine<F> {}

impl<F: Future> Drop for Engine<F> {
    fn drop(&mut self) {
        // Children handed to a combinator were handed over on purpose: dropping the combinator
        // (polled or not) cancels them without reporting a never-awaited coroutine.
        self.cancel_all();
        if self.slots.counts.kept == 0 {
            // No child runs and no output is kept: every slot is empty or free, with nothing to
            // drop; the slot vectors are freed without a pass over them.
            self.slots.forget_empty();
        }
        // Late wakes from children that outlive us must not keep the parent task's waker alive.
        if let Some(header) = &self.header {
            drop(header.parent.take());
        }
    }
}

impl<F: Future> fmt::Debug for Engine<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("len", &self.slots.len)
            .field("running", &self.slots.counts.running)
            .finish_non_exhaustive()
    }
}
