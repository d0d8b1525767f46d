//! The engine shared by gather, wait, as_completed and TaskGroup: a set of children polled in
//! place, with a waker per child and a ready queue, so a poll costs O(children woken).
//!
//! Layout: children live in segments of [`Slot`]s (a single segment when the number of children
//! is known up front, more segments of doubling size when children are added later), each
//! slot holding the running child and then its output in place. The wakers' side lives in one
//! `Arc<Header>`: the ready queue, the combinator's own waker and one [`Node`] per child. A
//! child's waker is a pointer to its node, so making a waker allocates nothing, and a wake pushes
//! the node on the queue at most once until the engine pops it.
//!
//! Driving: [`Engine::poll_drive`] first polls every child that was never polled (in index
//! order), then the children whose wakers fired. It polls at most `len` woken children per call
//! (on top of the never-polled ones, each polled once) and
//! stops early once [`YIELD_LIMIT`] children woke themselves while being polled, waking the
//! caller's task before it returns `Pending`, so a child that always wakes itself cannot starve
//! the executor (the rule of futures-rs #2551).
//!
//! Children added while the engine is driven: `poll_drive` holds `&mut self`, so callers that
//! let children add siblings (TaskGroup) queue them and [`push`](Engine::push) them between
//! calls; a pushed child counts as never polled and is polled on the next call.
//!
//! Panic safety: a child that panics while polled stays in its slot untouched; unwinding drops
//! the engine, which drops every slot, so every child is dropped exactly once.

// Some accessors serve only the combinators built on top (wait, TaskGroup).
#![allow(dead_code)]

mod queue;
mod waker;

#[cfg(all(test, aiokit_loom))]
mod loom_tests;
#[cfg(all(test, not(aiokit_loom)))]
mod tests;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use self::queue::{Dequeue, Node};
use self::waker::{Header, borrowed_waker};
use crate::sync::{Arc, Ordering};

/// How many children may wake themselves during one `poll_drive` before it yields.
pub(crate) const YIELD_LIMIT: usize = 32;

/// Smallest segment made when children are added beyond the first segment.
const MIN_GROWTH: usize = 8;

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
    /// The callback returned [`Step::Stop`]; children may still be running.
    Stopped,
    /// Children are still running; the task will be woken when one of them is (or right away,
    /// when the poll budget ran out).
    Pending,
}

/// A child's place: running, finished with its output kept in place, or empty.
pub(crate) enum Slot<F: Future> {
    /// Capacity not used yet.
    Vacant,
    Running(F),
    Done(F::Output),
    /// Output taken, or the child was cancelled.
    Empty,
}

/// The state of one child, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Running,
    Done,
    Empty,
}

/// A segment after the first: its slots and a pointer to its nodes (owned by the header).
struct Segment<F: Future> {
    slots: Box<[Slot<F>]>,
    nodes: NodePtr,
}

struct NodePtr(*const Node);

// SAFETY: a pointer to nodes owned by the engine's `Arc<Header>`, which is `Send + Sync`; the
// engine only reads through it while it holds that `Arc`.
unsafe impl Send for NodePtr {}
// SAFETY: as above; nodes are `Sync`.
unsafe impl Sync for NodePtr {}

pub(crate) struct Engine<F: Future> {
    first: Box<[Slot<F>]>,
    more: Vec<Segment<F>>,
    header: Arc<Header>,
    /// Children pushed so far (the next index).
    len: usize,
    /// Children still running.
    running: usize,
    /// Children `fresh..len` were never polled.
    fresh: usize,
}

impl<F: Future> Engine<F> {
    /// An engine with room for `cap` children before it needs to grow.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        Engine {
            first: (0..cap).map(|_| Slot::Vacant).collect(),
            more: Vec::new(),
            header: Header::new(cap),
            len: 0,
            running: 0,
            fresh: 0,
        }
    }

    /// An engine holding the children of `iter`, indexed in iteration order.
    pub(crate) fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut engine = Self::with_capacity(iter.size_hint().0);
        for fut in iter {
            engine.push(fut);
        }
        engine
    }

    /// Adds a child and returns its index. It is first polled by the next `poll_drive`.
    pub(crate) fn push(&mut self, fut: F) -> usize {
        let index = self.len;
        if index >= self.capacity() {
            self.grow();
        }
        *self.slot_mut(index) = Slot::Running(fut);
        self.len += 1;
        self.running += 1;
        index
    }

    fn capacity(&self) -> usize {
        self.first.len() + self.more.iter().map(|s| s.slots.len()).sum::<usize>()
    }

    fn growth_base(&self) -> usize {
        self.first.len().max(MIN_GROWTH)
    }

    #[cold]
    fn grow(&mut self) {
        let len = self.growth_base() << self.more.len();
        let start = self.capacity();
        let nodes = NodePtr(self.header.add_segment(start, len));
        let slots = (0..len).map(|_| Slot::Vacant).collect();
        self.more.push(Segment { slots, nodes });
    }

    /// Segment and offset of child `index` (which must be below the capacity).
    #[inline]
    fn locate(&self, index: usize) -> (usize, usize) {
        let j = index - self.first.len();
        let base = self.growth_base();
        let q = j / base + 1;
        let seg = (usize::BITS - 1 - q.leading_zeros()) as usize;
        (seg, j - base * ((1 << seg) - 1))
    }

    #[inline]
    fn slot_mut(&mut self, index: usize) -> &mut Slot<F> {
        if index < self.first.len() {
            &mut self.first[index]
        } else {
            let (seg, off) = self.locate(index);
            &mut self.more[seg].slots[off]
        }
    }

    #[inline]
    fn slot(&self, index: usize) -> &Slot<F> {
        if index < self.first.len() {
            &self.first[index]
        } else {
            let (seg, off) = self.locate(index);
            &self.more[seg].slots[off]
        }
    }

    #[inline]
    fn node(&self, index: usize) -> *const Node {
        if index < self.first.len() {
            &self.header.first[index]
        } else {
            let (seg, off) = self.locate(index);
            // SAFETY: segment `seg` has `growth_base() << seg` nodes and `off` is below that.
            unsafe { self.more[seg].nodes.0.add(off) }
        }
    }

    /// Children pushed so far; indices are `0..len()`.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Children still running.
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    pub(crate) fn state(&self, index: usize) -> State {
        match self.slot(index) {
            Slot::Running(_) => State::Running,
            Slot::Done(_) => State::Done,
            Slot::Vacant | Slot::Empty => State::Empty,
        }
    }

    /// Polls the children that need it. For each child that finishes, its output is handed to
    /// `on_done` as `&mut Some(output)`; what `on_done` leaves there is kept in the child's slot
    /// (for [`take`](Self::take)), and `Step::Stop` ends this call.
    pub(crate) fn poll_drive<C>(&mut self, cx: &mut Context<'_>, mut on_done: C) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        if self.running == 0 {
            return Drive::AllDone;
        }
        self.header.parent.register(cx.waker());
        let budget = self.len;
        let mut polled = 0;
        let mut yielded = 0;
        loop {
            let (index, node, from_queue) = if self.fresh < self.len {
                let index = self.fresh;
                self.fresh += 1;
                (index, self.node(index), false)
            } else {
                // SAFETY: `&mut self` makes this the only consumer.
                match unsafe { self.header.queue.pop() } {
                    Dequeue::Data(node) => {
                        // SAFETY: nodes in the queue belong to our header, which we hold.
                        let n = unsafe { &*node };
                        // Cleared before the poll, so a wake during the poll queues it again.
                        n.queued.store(false, Ordering::SeqCst);
                        (n.index, node, true)
                    }
                    Dequeue::Empty => return Drive::Pending,
                    Dequeue::Inconsistent => {
                        cx.waker().wake_by_ref();
                        return Drive::Pending;
                    }
                }
            };
            let slot = self.slot_mut(index);
            let Slot::Running(fut) = slot else {
                // Finished or cancelled; a late wake.
                continue;
            };
            // SAFETY: the child lives in a heap slot that is never moved while it is running;
            // it leaves the slot only by being dropped in place.
            let fut = unsafe { Pin::new_unchecked(fut) };
            let waker = borrowed_waker(node);
            let mut child_cx = Context::from_waker(&waker);
            polled += usize::from(from_queue);
            match fut.poll(&mut child_cx) {
                Poll::Ready(output) => {
                    *slot = Slot::Empty;
                    self.running -= 1;
                    let mut out = Some(output);
                    let step = on_done(index, &mut out);
                    if let Some(output) = out {
                        *self.slot_mut(index) = Slot::Done(output);
                    }
                    if self.running == 0 {
                        return Drive::AllDone;
                    }
                    if step == Step::Stop {
                        return Drive::Stopped;
                    }
                }
                Poll::Pending => {
                    // SAFETY: `node` belongs to our header, which we hold.
                    if from_queue && unsafe { (*node).queued.load(Ordering::Relaxed) } {
                        yielded += 1;
                    }
                }
            }
            if polled >= budget || yielded >= YIELD_LIMIT {
                cx.waker().wake_by_ref();
                return Drive::Pending;
            }
        }
    }

    /// Takes the output of a finished child, leaving its slot empty.
    pub(crate) fn take(&mut self, index: usize) -> Option<F::Output> {
        let slot = self.slot_mut(index);
        match core::mem::replace(slot, Slot::Empty) {
            Slot::Done(output) => Some(output),
            other => {
                *slot = other;
                None
            }
        }
    }

    /// The output of a finished child, if it is still in place.
    pub(crate) fn output(&self, index: usize) -> Option<&F::Output> {
        match self.slot(index) {
            Slot::Done(output) => Some(output),
            _ => None,
        }
    }

    /// Drops a running child in place (cancels it). Returns whether it was running.
    pub(crate) fn cancel(&mut self, index: usize) -> bool {
        let slot = self.slot_mut(index);
        if matches!(slot, Slot::Running(_)) {
            *slot = Slot::Empty;
            self.running -= 1;
            true
        } else {
            false
        }
    }

    /// Drops every running child in place, in index order.
    pub(crate) fn cancel_all(&mut self) {
        for index in 0..self.len {
            if self.running == 0 {
                break;
            }
            self.cancel(index);
        }
    }

    /// The running child at `index`, if any (for inspection such as names in `Debug`).
    pub(crate) fn child(&self, index: usize) -> Option<&F> {
        match self.slot(index) {
            Slot::Running(fut) => Some(fut),
            _ => None,
        }
    }

    /// Takes every output still in place, in index order.
    pub(crate) fn drain_outputs(&mut self) -> impl Iterator<Item = (usize, F::Output)> + '_ {
        (0..self.len).filter_map(move |i| self.take(i).map(|o| (i, o)))
    }
}

impl<F: Future> Drop for Engine<F> {
    fn drop(&mut self) {
        // Late wakes from children that outlive us must not keep the parent task's waker alive.
        drop(self.header.parent.take());
    }
}

impl<F: Future> fmt::Debug for Engine<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("len", &self.len)
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}
