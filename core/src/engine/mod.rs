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
//! the executor (the same yield rule as futures' `FuturesUnordered`).
//!
//! Children added while the engine is driven: `poll_drive` holds `&mut self`, so callers that
//! let children add siblings (TaskGroup) queue them and [`push`](Engine::push) them between
//! calls; a pushed child counts as never polled and is polled on the next call.
//!
//! Panic safety: a child that panics while polled stays in its slot untouched; unwinding drops
//! the engine, which drops every slot, so every child is dropped exactly once.

mod queue;
#[cfg(feature = "std")]
pub(crate) mod raw;
mod waker;

#[cfg(all(test, aiokit_loom))]
mod loom_tests;
#[cfg(all(test, not(aiokit_loom)))]
mod tests;

use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::{Context, Poll};

use self::queue::Dequeue;
use self::waker::{FreshWaker, Header, NodeCell, borrowed_waker, init_node};
use crate::sync::{Arc, Ordering};

/// How many children may wake themselves during one `poll_drive` before it yields.
pub(crate) const YIELD_LIMIT: usize = 32;

/// Never-polled children polled with a first-poll waker before deciding whether to write the
/// remaining ones' nodes up front (see `poll_queued`).
const EAGER_SAMPLE: usize = 8;

/// Smallest segment made when children are added beyond the first segment.
const MIN_GROWTH: usize = 8;

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
    /// The callback returned [`Step::Stop`]; children may still be running.
    Stopped,
    /// Children are still running; the task will be woken when one of them is (or right away,
    /// when the poll budget ran out).
    Pending,
}

/// A child's place: running, finished with its output kept in place, or empty.
pub(crate) enum Slot<F: Future> {
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

/// How many children are running, and how many finished ones keep their output in place.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    running: usize,
    kept: usize,
}

/// A segment after the first: its slots and a pointer to its nodes (owned by the header).
struct Segment<F: Future> {
    /// Filled by `push` up to its capacity, never beyond, so slots never move.
    slots: Vec<Slot<F>>,
    nodes: NodePtr,
}

struct NodePtr(*const NodeCell);

// SAFETY: a pointer to nodes owned by the engine's `Arc<Header>`, which is `Send + Sync`; the
// engine only reads through it while it holds that `Arc`.
unsafe impl Send for NodePtr {}
// SAFETY: as above; nodes are `Sync`.
unsafe impl Sync for NodePtr {}

pub(crate) struct Engine<F: Future> {
    /// `None` in direct mode: at most [`DIRECT_MAX`] children, polled all at once with the
    /// caller's waker, which saves the shared allocation where it would cost more than it saves.
    header: Option<Arc<Header>>,
    children: Children<F>,
}

/// The children's side of the engine: slots and counts. A separate field from the header, so
/// that a poll borrows the header and mutates the children at once, without an `Arc` clone
/// (two atomic operations) per poll. The engine derefs to it for the accessors.
pub(crate) struct Children<F: Future> {
    /// Filled by `push` up to its capacity, never beyond, so slots never move.
    first: Vec<Slot<F>>,
    more: Vec<Segment<F>>,
    /// Children pushed so far (the next index).
    len: usize,
    /// Children still running, and finished children whose output is kept in their slot.
    counts: Counts,
    /// Children `fresh..len` were never polled.
    fresh: usize,
}

impl<F: Future> Engine<F> {
    /// An engine with room for `cap` children before it needs to grow.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        Engine {
            header: (cap > DIRECT_MAX).then(|| Header::new(cap)),
            children: Children {
                first: Vec::with_capacity(cap),
                more: Vec::new(),
                len: 0,
                counts: Counts::default(),
                fresh: 0,
            },
        }
    }

    /// An engine holding the children of `iter`, indexed in iteration order.
    pub(crate) fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        // No child has been polled yet, so collecting may move them (a `Vec` growing for an
        // iterator of unknown length); the first segment is whatever capacity this ends with.
        let first: Vec<Slot<F>> = iter.into_iter().map(Slot::Running).collect();
        let len = first.len();
        Engine {
            header: (first.capacity() > DIRECT_MAX).then(|| Header::new(first.capacity())),
            children: Children {
                first,
                more: Vec::new(),
                len,
                counts: Counts {
                    running: len,
                    kept: 0,
                },
                fresh: 0,
            },
        }
    }

    /// Adds a child and returns its index. It is first polled by the next `poll_drive`.
    pub(crate) fn push(&mut self, fut: F) -> usize {
        let index = self.len;
        if index < self.first.capacity() {
            self.first.push(Slot::Running(fut));
        } else {
            // Segments fill in order, so only the last one can have room.
            if self
                .more
                .last()
                .is_none_or(|last| last.slots.len() == last.slots.capacity())
            {
                self.grow();
            }
            let last = self.more.last_mut().expect("grow made a segment");
            last.slots.push(Slot::Running(fut));
        }
        self.len += 1;
        self.counts.running += 1;
        index
    }

    #[cold]
    fn grow(&mut self) {
        let len = self.growth_base() << self.more.len();
        if self.header.is_none() && self.capacity() + len > DIRECT_MAX {
            self.enter_queued_mode();
        }
        let nodes = match &self.header {
            Some(header) => NodePtr(header.add_segment(len)),
            None => NodePtr(core::ptr::null()),
        };
        self.more.push(Segment {
            slots: Vec::with_capacity(len),
            nodes,
        });
    }

    /// Leaves direct mode, if in it, so that each later poll polls only the woken children.
    /// For consumers that take completions one at a time (as_completed, a wait(FirstCompleted)
    /// loop), where direct mode would poll every running child for each completion. Children
    /// already polled in direct mode are polled once more, with their own wakers.
    pub(crate) fn use_queue(&mut self) {
        if self.header.is_none() && self.counts.running > 0 {
            self.enter_queued_mode();
        }
    }

    /// Leaves direct mode: the children polled so far hold the caller's waker, not their own,
    /// so each is polled once more with its own.
    fn enter_queued_mode(&mut self) {
        let header = Header::new(self.first.capacity());
        for seg in &mut self.more {
            seg.nodes = NodePtr(header.add_segment(seg.slots.capacity()));
        }
        self.header = Some(header);
        self.fresh = 0;
    }

    /// Polls the children that need it. For each child that finishes, its output is handed to
    /// `on_done` as `&mut Some(output)`; what `on_done` leaves there is kept in the child's slot
    /// (for [`take`](Self::take)), and `Step::Stop` ends this call.
    pub(crate) fn poll_drive<C>(&mut self, cx: &mut Context<'_>, on_done: C) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        if self.counts.running == 0 {
            return Drive::AllDone;
        }
        match &self.header {
            None => self.children.poll_direct(cx, on_done),
            Some(header) => self.children.poll_queued(header, cx, on_done),
        }
    }
}

impl<F: Future> Children<F> {
    fn capacity(&self) -> usize {
        self.first.capacity() + self.more.iter().map(|s| s.slots.capacity()).sum::<usize>()
    }

    fn growth_base(&self) -> usize {
        self.first.capacity().max(MIN_GROWTH)
    }

    /// Segment and offset of child `index` (which must be below the capacity).
    #[inline]
    fn locate(&self, index: usize) -> (usize, usize) {
        let j = index - self.first.capacity();
        let base = self.growth_base();
        let q = j / base + 1;
        let seg = (usize::BITS - 1 - q.leading_zeros()) as usize;
        (seg, j - base * ((1 << seg) - 1))
    }

    #[inline]
    fn slot_mut(&mut self, index: usize) -> &mut Slot<F> {
        if index < self.first.capacity() {
            &mut self.first[index]
        } else {
            let (seg, off) = self.locate(index);
            &mut self.more[seg].slots[off]
        }
    }

    #[inline]
    fn slot(&self, index: usize) -> &Slot<F> {
        if index < self.first.capacity() {
            &self.first[index]
        } else {
            let (seg, off) = self.locate(index);
            &self.more[seg].slots[off]
        }
    }

    /// The node cell of child `index`; only in queued mode.
    #[inline]
    fn node(&self, header: &Header, index: usize) -> *const NodeCell {
        if index < self.first.capacity() {
            &header.first[index]
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
        self.counts.running
    }

    pub(crate) fn state(&self, index: usize) -> State {
        match self.slot(index) {
            Slot::Running(_) => State::Running,
            Slot::Done(_) => State::Done,
            Slot::Empty => State::Empty,
        }
    }

    /// Queued mode: polls the never-polled children, then the woken ones. Kept out of line so
    /// that direct mode, the small and hot case, stays a tight loop.
    #[inline(never)]
    fn poll_queued<C>(
        &mut self,
        header: &Arc<Header>,
        cx: &mut Context<'_>,
        mut on_done: C,
    ) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        header.parent.register(cx.waker());
        let budget = self.len;
        let mut polled = 0;
        let mut yielded = 0;
        let (mut sampled, mut needed, mut eager) = (0, 0, false);
        loop {
            if self.fresh < self.len {
                let index = self.fresh;
                self.fresh += 1;
                let cell = self.node(header, index);
                let at = Arc::as_ptr(header);
                let poll = if eager {
                    // SAFETY: `fresh` passes each index once per header (a new header starts
                    // over at 0), so no waker for this node exists yet.
                    let node = unsafe { init_node(cell, at, index) };
                    let waker = borrowed_waker(node);
                    let (slot, counts) = self.slot_and_counts(index);
                    poll_slot(
                        slot,
                        index,
                        &mut Context::from_waker(&waker),
                        counts,
                        &mut on_done,
                    )
                } else {
                    // SAFETY: as above: the node was never written and has no other fresh waker.
                    let fresh = unsafe { FreshWaker::new(cell, at, index) };
                    let waker = fresh.waker();
                    let (slot, counts) = self.slot_and_counts(index);
                    let poll = poll_slot(
                        slot,
                        index,
                        &mut Context::from_waker(&waker),
                        counts,
                        &mut on_done,
                    );
                    // Children of one set tend to behave alike: once most of a sample kept
                    // their waker, write the rest's nodes up front, which is cheaper than the
                    // first-poll waker's atomic step.
                    if sampled < EAGER_SAMPLE {
                        sampled += 1;
                        needed += usize::from(fresh.was_used());
                        eager = sampled == EAGER_SAMPLE && needed * 2 > EAGER_SAMPLE;
                    }
                    poll
                };
                if let Some(Poll::Ready(step)) = poll {
                    if let Some(drive) = self.end_of_drive(step) {
                        return drive;
                    }
                }
                continue;
            }
            // SAFETY: `&mut self` makes this the only consumer.
            let node = match unsafe { header.queue.pop() } {
                Dequeue::Data(node) => node,
                Dequeue::Empty => return Drive::Pending,
                Dequeue::Inconsistent => {
                    crate::sync::yield_hint();
                    cx.waker().wake_by_ref();
                    return Drive::Pending;
                }
            };
            // SAFETY: nodes in the queue belong to our header, which we hold.
            let n = unsafe { &*node };
            // Cleared before the poll, so a wake during the poll queues it again.
            n.queued.store(false, Ordering::SeqCst);
            let index = n.index;
            if index >= self.len {
                // A late wake of a child whose slots were already handed back
                // (`take_outputs`); nothing to poll.
                continue;
            }
            let waker = borrowed_waker(node);
            let (slot, counts) = self.slot_and_counts(index);
            let Some(poll) = poll_slot(
                slot,
                index,
                &mut Context::from_waker(&waker),
                counts,
                &mut on_done,
            ) else {
                continue; // finished or cancelled: a late wake
            };
            polled += 1;
            match poll {
                Poll::Ready(step) => {
                    if let Some(drive) = self.end_of_drive(step) {
                        return drive;
                    }
                }
                Poll::Pending => {
                    if n.queued.load(Ordering::Relaxed) {
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

    /// Direct mode: polls every running child with the caller's waker.
    fn poll_direct<C>(&mut self, cx: &mut Context<'_>, mut on_done: C) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        if self.more.is_empty() {
            // The usual case, a fixed set of children: a plain loop over one slice.
            poll_each(self.first.iter_mut(), cx, &mut self.counts, &mut on_done)
        } else {
            let slots = self
                .first
                .iter_mut()
                .chain(self.more.iter_mut().flat_map(|seg| seg.slots.iter_mut()));
            poll_each(slots, cx, &mut self.counts, &mut on_done)
        }
    }

    /// The slot of child `index` and the counts, borrowed together.
    #[inline]
    fn slot_and_counts(&mut self, index: usize) -> (&mut Slot<F>, &mut Counts) {
        if index < self.first.capacity() {
            (&mut self.first[index], &mut self.counts)
        } else {
            let (seg, off) = self.locate(index);
            (&mut self.more[seg].slots[off], &mut self.counts)
        }
    }

    /// `Some` when the drive ends after a child finished with `step`.
    #[inline]
    fn end_of_drive(&self, step: Step) -> Option<Drive> {
        if self.counts.running == 0 {
            Some(Drive::AllDone)
        } else if step == Step::Stop {
            Some(Drive::Stopped)
        } else {
            None
        }
    }

    /// Takes the output of a finished child, leaving its slot empty.
    #[cfg(all(test, not(aiokit_loom)))]
    pub(crate) fn take(&mut self, index: usize) -> Option<F::Output> {
        let output = take_done(self.slot_mut(index));
        self.counts.kept -= usize::from(output.is_some());
        output
    }

    /// Drops a running child in place (cancels it). Returns whether it was running.
    ///
    /// A cancelled coroutine that was never polled is not reported as "never awaited": the
    /// drop is on purpose.
    pub(crate) fn cancel(&mut self, index: usize) -> bool {
        crate::suppress_never_awaited(|| self.cancel_one(index))
    }

    fn cancel_one(&mut self, index: usize) -> bool {
        let slot = self.slot_mut(index);
        if matches!(slot, Slot::Running(_)) {
            *slot = Slot::Empty;
            self.counts.running -= 1;
            true
        } else {
            false
        }
    }

    /// Drops every running child in place, in index order (see [`cancel`](Self::cancel)).
    pub(crate) fn cancel_all(&mut self) {
        if self.counts.running == 0 {
            return;
        }
        crate::suppress_never_awaited(|| {
            for index in 0..self.len {
                if self.counts.running == 0 {
                    break;
                }
                self.cancel_one(index);
            }
        });
    }

    /// The running child at `index`, if any (for inspection such as names in `Debug`).
    pub(crate) fn child(&self, index: usize) -> Option<&F> {
        match self.slot(index) {
            Slot::Running(fut) => Some(fut),
            _ => None,
        }
    }

    /// Every output still in place, mapped by `map`, in index order, leaving the engine empty. With no child
    /// running and one segment (a finished gather), the slots are consumed by value: no slot is
    /// written back.
    pub(crate) fn take_outputs<U>(&mut self, mut map: impl FnMut(F::Output) -> U) -> Vec<U> {
        if self.counts.running == 0 && self.more.is_empty() {
            self.len = 0;
            self.fresh = 0;
            let slots = core::mem::take(&mut self.first);
            // Not `collect`: std would reuse the slot allocation, handing the caller a Vec
            // with a capacity of up to size_of::<Slot>() / size_of::<Output>() times its length.
            let mut outputs = Vec::with_capacity(slots.len());
            if core::mem::take(&mut self.counts.kept) == slots.len() {
                // Every slot holds an output (a plain gather): an exact-size map fills the Vec
                // without a check per item.
                outputs.extend(slots.into_iter().map(|slot| match slot {
                    Slot::Done(output) => map(output),
                    _ => unreachable!("every slot holds an output"),
                }));
            } else {
                outputs.extend(slots.into_iter().filter_map(|slot| match slot {
                    Slot::Done(output) => Some(map(output)),
                    _ => None,
                }));
            }
            return outputs;
        }
        let mut outputs = Vec::with_capacity(self.len);
        self.for_each_output(|_, output| outputs.push(map(output)));
        outputs
    }

    /// Hands every output still in place to `f`, in index order.
    pub(crate) fn for_each_output(&mut self, mut f: impl FnMut(usize, F::Output)) {
        self.counts.kept = 0;
        let mut index = 0;
        for slot in self.first.iter_mut() {
            if let Some(output) = take_done(slot) {
                f(index, output);
            }
            index += 1;
        }
        for seg in &mut self.more {
            for slot in seg.slots.iter_mut() {
                if let Some(output) = take_done(slot) {
                    f(index, output);
                }
                index += 1;
            }
        }
    }

    /// Takes every output still in place, in index order.
    #[cfg(all(test, not(aiokit_loom)))]
    pub(crate) fn drain_outputs(&mut self) -> impl Iterator<Item = (usize, F::Output)> + '_ {
        self.counts.kept = 0;
        self.first
            .iter_mut()
            .chain(self.more.iter_mut().flat_map(|seg| seg.slots.iter_mut()))
            .enumerate()
            .filter_map(|(index, slot)| take_done(slot).map(|output| (index, output)))
    }
}

/// Polls every running child of `slots` (indexed from 0) with `cx`, as `poll_slot` does.
#[inline(always)]
fn poll_each<'a, F: Future + 'a, C>(
    slots: impl Iterator<Item = &'a mut Slot<F>>,
    cx: &mut Context<'_>,
    counts: &mut Counts,
    on_done: &mut C,
) -> Drive
where
    C: FnMut(usize, &mut Option<F::Output>) -> Step,
{
    for (index, slot) in slots.enumerate() {
        if let Some(Poll::Ready(step)) = poll_slot(slot, index, cx, counts, on_done) {
            if counts.running == 0 {
                return Drive::AllDone;
            }
            if step == Step::Stop {
                return Drive::Stopped;
            }
        }
    }
    Drive::Pending
}

/// Polls the child in `slot` if it is running (`None` if not). A finished child is dropped at
/// once, in place; its output goes to `on_done`, and what `on_done` leaves is kept in the slot.
#[inline(always)]
fn poll_slot<F: Future, C>(
    slot: &mut Slot<F>,
    index: usize,
    cx: &mut Context<'_>,
    counts: &mut Counts,
    on_done: &mut C,
) -> Option<Poll<Step>>
where
    C: FnMut(usize, &mut Option<F::Output>) -> Step,
{
    let Slot::Running(fut) = slot else {
        return None;
    };
    // SAFETY: the child lives in a heap slot that never moves while it is running (slot
    // vectors never grow past their capacity, and the engine's moves do not move the heap);
    // it leaves the slot only by being dropped in place.
    let fut = unsafe { Pin::new_unchecked(fut) };
    match fut.poll(cx) {
        Poll::Pending => Some(Poll::Pending),
        Poll::Ready(output) => {
            *slot = Slot::Empty;
            counts.running -= 1;
            let mut out = Some(output);
            let step = on_done(index, &mut out);
            if let Some(output) = out {
                *slot = Slot::Done(output);
                counts.kept += 1;
            }
            Some(Poll::Ready(step))
        }
    }
}

/// Takes a finished child's output out of its slot. A running child is left untouched: it is
/// pinned, so it must not even be moved out and back.
#[inline]
fn take_done<F: Future>(slot: &mut Slot<F>) -> Option<F::Output> {
    if !matches!(slot, Slot::Done(_)) {
        return None;
    }
    match core::mem::replace(slot, Slot::Empty) {
        Slot::Done(output) => Some(output),
        _ => unreachable!("checked above"),
    }
}

// Children sit in heap slots that never move, so moving the engine moves no child.
impl<F: Future> Unpin for Engine<F> {}

impl<F: Future> Deref for Engine<F> {
    type Target = Children<F>;

    fn deref(&self) -> &Children<F> {
        &self.children
    }
}

impl<F: Future> DerefMut for Engine<F> {
    fn deref_mut(&mut self) -> &mut Children<F> {
        &mut self.children
    }
}

impl<F: Future> Drop for Engine<F> {
    fn drop(&mut self) {
        // Late wakes from children that outlive us must not keep the parent task's waker alive.
        if let Some(header) = &self.header {
            drop(header.parent.take());
        }
    }
}

impl<F: Future> fmt::Debug for Engine<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("len", &self.len)
            .field("running", &self.counts.running)
            .finish_non_exhaustive()
    }
}
