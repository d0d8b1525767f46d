//! Where the children live: segments of slots that never move, each slot holding a running
//! child, then its output, then nothing.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::future::Future;

use super::waker::{Header, NodeCell};

/// Smallest segment made when children are added beyond the first segment.
const MIN_GROWTH: usize = 8;

/// A child's place: running, finished with its output kept in place, or empty.
pub(super) enum Slot<F: Future> {
    Running(F),
    Done(F::Output),
    /// Output taken, or the child was cancelled.
    Empty,
    /// Empty, and free for a new child (reuse mode): the next free slot, or [`NO_SLOT`]. Read
    /// by `push`, which only builds with std.
    Free(#[cfg_attr(not(any(feature = "std", test)), allow(dead_code))] usize),
}

/// The end of the free list.
#[cfg_attr(not(any(feature = "std", test)), allow(dead_code))]
const NO_SLOT: usize = usize::MAX - 1;

/// `Slots::free` when slots are not reused.
const NOT_REUSED: usize = usize::MAX;

/// How many children are running, and how many finished ones keep their output in place.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counts {
    pub(super) running: usize,
    pub(super) kept: usize,
}

/// Where a child lives: a segment after the first (`seg`) or the first one ([`FIRST`]), and
/// the offset in it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    seg: usize,
    off: usize,
}

/// `Place::seg` of the first segment.
const FIRST: usize = usize::MAX;

/// A child's slot with the counts and the free list's head (see [`Slots::parts_at`]).
pub(super) struct Parts<'a, F: Future> {
    pub(super) slot: &'a mut Slot<F>,
    pub(super) counts: &'a mut Counts,
    free: &'a mut usize,
}

impl<F: Future> Parts<'_, F> {
    /// In reuse mode, puts the slot, if it is empty, on the free list (see
    /// [`Slots::release`]), as child `index`'s.
    #[inline]
    pub(super) fn link_free(self, index: usize) {
        if *self.free != NOT_REUSED && matches!(self.slot, Slot::Empty) {
            *self.slot = Slot::Free(*self.free);
            *self.free = index;
        }
    }
}

/// A segment after the first: its slots and a pointer to its nodes (owned by the header).
pub(super) struct Segment<F: Future> {
    /// Filled by `push` up to its capacity, never beyond, so slots never move.
    pub(super) slots: Vec<Slot<F>>,
    nodes: NodePtr,
}

struct NodePtr(*const NodeCell);

// SAFETY: a pointer to nodes owned by the engine's `Arc<Header>`, which is `Send + Sync`; the
// engine only reads through it while it holds that `Arc`.
unsafe impl Send for NodePtr {}
// SAFETY: as above; nodes are `Sync`.
unsafe impl Sync for NodePtr {}

/// The children's side of the engine: slots and counts.
///
/// Kept small (the segments after the first and the first-poll queue of slot reuse live behind
/// [`Ext`], made only when needed): a combinator holding it is moved at least once before its first poll, and a
/// `wait(FirstCompleted)` loop moves its `Pending` several times a round; up to 128 bytes a
/// move is a few register copies, beyond it a call to `memcpy`.
pub(super) struct Slots<F: Future> {
    /// Filled by `push` up to its capacity, never beyond, so slots never move.
    pub(super) first: Vec<Slot<F>>,
    /// Children pushed so far (the next index).
    pub(super) len: usize,
    /// Children still running, and finished children whose output is kept in their slot.
    pub(super) counts: Counts,
    /// Children `fresh..len` were never polled.
    pub(super) fresh: usize,
    /// With slot reuse (see [`Engine::reuse_slots`](super::Engine::reuse_slots)), the first
    /// free slot ([`Slot::Free`] links the others) or [`NO_SLOT`]; without, [`NOT_REUSED`].
    free: usize,
    /// `None` for a set given up front (gather, wait, as_completed) and a group that never
    /// grew past its first segment nor queued a child for its first poll.
    pub(super) ext: Option<Box<Ext<F>>>,
}

/// What only sets that grow or reuse slots (TaskGroup) need.
pub(super) struct Ext<F: Future> {
    pub(super) more: Vec<Segment<F>>,
    /// In reuse mode, children below `fresh` never polled yet (a reused slot, or one pushed
    /// after the sweep of `fresh..len` ended), in the order they were pushed; their nodes are
    /// written.
    pub(super) unpolled: VecDeque<usize>,
}

impl<F: Future> Slots<F> {
    /// Slots whose first segment is `first`, of which the first `running` hold running children.
    pub(super) fn new(first: Vec<Slot<F>>, running: usize) -> Self {
        Slots {
            first,
            len: running,
            counts: Counts { running, kept: 0 },
            fresh: 0,
            free: NOT_REUSED,
            ext: None,
        }
    }

    /// The segments after the first.
    #[inline]
    pub(super) fn more(&self) -> &[Segment<F>] {
        match &self.ext {
            Some(ext) => &ext.more,
            None => &[],
        }
    }

    #[inline]
    pub(super) fn more_mut(&mut self) -> &mut [Segment<F>] {
        match &mut self.ext {
            Some(ext) => &mut ext.more,
            None => &mut [],
        }
    }

    /// The extension, made on first use.
    #[cfg(any(feature = "std", test))]
    pub(super) fn ext_mut(&mut self) -> &mut Ext<F> {
        self.ext.get_or_insert_with(|| {
            Box::new(Ext {
                more: Vec::new(),
                unpolled: VecDeque::new(),
            })
        })
    }

    /// Empties every segment without dropping its slots, which must all be empty or free
    /// (every running child cancelled, no output kept: `kept` is never below the outputs in
    /// place, and a cancel leaves no running slot): for the engine's drop, which frees the
    /// vectors next.
    pub(super) fn forget_empty(&mut self) {
        // (`running` may be stale, too high, after a child's destructor panicked: the scan
        // below is what must hold.)
        debug_assert!(
            self.first
                .iter()
                .chain(self.more().iter().flat_map(|seg| seg.slots.iter()))
                .all(|slot| matches!(slot, Slot::Empty | Slot::Free(_))),
            "a slot still holds a child or an output"
        );
        // SAFETY: a shorter length exposes no uninitialized slot; the slots left out are
        // `Empty` or `Free`, which own nothing, so not dropping them loses nothing.
        unsafe { self.first.set_len(0) };
        for seg in self.more_mut() {
            // SAFETY: as above.
            unsafe { seg.slots.set_len(0) };
        }
        self.len = 0;
        self.fresh = 0;
    }

    /// Whether slots are reused.
    #[inline]
    pub(super) fn reuse(&self) -> bool {
        self.free != NOT_REUSED
    }

    /// Turns slot reuse on (see [`Engine::reuse_slots`](super::Engine::reuse_slots)).
    #[cfg(any(feature = "std", test))]
    pub(super) fn set_reuse(&mut self) {
        if self.free == NOT_REUSED {
            self.free = NO_SLOT;
        }
    }

    /// Whether a child waits in `unpolled`.
    #[inline]
    pub(super) fn has_unpolled(&self) -> bool {
        self.ext
            .as_ref()
            .is_some_and(|ext| !ext.unpolled.is_empty())
    }

    /// The next child of `unpolled`, if any.
    #[inline]
    pub(super) fn pop_unpolled(&mut self) -> Option<usize> {
        self.ext.as_mut()?.unpolled.pop_front()
    }

    #[cfg(any(feature = "std", test))]
    pub(super) fn capacity(&self) -> usize {
        self.first.capacity()
            + self
                .more()
                .iter()
                .map(|s| s.slots.capacity())
                .sum::<usize>()
    }

    fn growth_base(&self) -> usize {
        self.first.capacity().max(MIN_GROWTH)
    }

    /// The length of the next segment to add: the segments after the first double in size.
    #[cfg(any(feature = "std", test))]
    pub(super) fn next_segment_len(&self) -> usize {
        self.growth_base() << self.more().len()
    }

    /// Adds an empty segment of `len` slots, with its nodes in `header` in queued mode.
    #[cfg(any(feature = "std", test))]
    pub(super) fn add_segment(&mut self, len: usize, header: Option<&Header>) {
        let nodes = match header {
            Some(header) => NodePtr(header.add_segment(len)),
            None => NodePtr(core::ptr::null()),
        };
        self.ext_mut().more.push(Segment {
            slots: Vec::with_capacity(len),
            nodes,
        });
    }

    /// Gives every segment after the first its nodes in `header` (leaving direct mode).
    pub(super) fn attach_nodes(&mut self, header: &Header) {
        for seg in self.more_mut() {
            seg.nodes = NodePtr(header.add_segment(seg.slots.capacity()));
        }
    }

    /// Whether a child can be pushed without a new segment.
    #[cfg(any(feature = "std", test))]
    pub(super) fn has_room(&self) -> bool {
        // Segments fill in order, so only the last one can have room.
        match self.more().last() {
            None => self.len < self.first.capacity(),
            Some(last) => last.slots.len() < last.slots.capacity(),
        }
    }

    /// Adds a running child in the slot after the last one (there must be room) and returns
    /// its index.
    #[cfg(any(feature = "std", test))]
    pub(super) fn push(&mut self, fut: F) -> usize {
        let index = self.len;
        if index < self.first.capacity() {
            self.first.push(Slot::Running(fut));
        } else {
            let last = self.more_mut().last_mut().expect("the engine made room");
            debug_assert!(
                last.slots.len() < last.slots.capacity(),
                "no room in the segment"
            );
            last.slots.push(Slot::Running(fut));
        }
        self.len += 1;
        self.counts.running += 1;
        index
    }

    /// Moves running children from `children` into the slots after the last one, as many as
    /// the segment that has room takes; returns how many. Segments never grow past their
    /// capacity, so no slot moves.
    #[cfg(any(feature = "std", test))]
    pub(super) fn append(&mut self, children: &mut impl Iterator<Item = F>) -> usize {
        let segment = if self.len < self.first.capacity() {
            &mut self.first
        } else {
            &mut self
                .more_mut()
                .last_mut()
                .expect("the engine made room")
                .slots
        };
        let before = segment.len();
        let room = segment.capacity() - before;
        segment.extend(children.take(room).map(Slot::Running));
        let added = segment.len() - before;
        self.len += added;
        self.counts.running += added;
        added
    }

    /// Whether a free slot waits for a new child (reuse mode).
    #[cfg(any(feature = "std", test))]
    pub(super) fn has_free(&self) -> bool {
        self.free < NO_SLOT
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
        let place = self.place(index);
        self.parts_at(place).slot
    }

    #[inline]
    pub(super) fn slot(&self, index: usize) -> &Slot<F> {
        if index < self.first.capacity() {
            &self.first[index]
        } else {
            let (seg, off) = self.locate(index);
            &self.more()[seg].slots[off]
        }
    }

    /// Where child `index` lives, located once for [`node_at`](Self::node_at) and
    /// [`parts_at`](Self::parts_at).
    #[inline]
    pub(super) fn place(&self, index: usize) -> Place {
        if index < self.first.capacity() {
            Place {
                seg: FIRST,
                off: index,
            }
        } else {
            let (seg, off) = self.locate(index);
            Place { seg, off }
        }
    }

    /// The node cell of the child at `place`; only in queued mode.
    #[inline]
    pub(super) fn node_at(&self, header: &Header, place: Place) -> *const NodeCell {
        if place.seg == FIRST {
            header.first_cell(place.off)
        } else {
            self.segment_cell(place)
        }
    }

    /// The cell a first-poll waker gets for the child at `place` (see
    /// [`FreshWaker`](super::waker::FreshWaker)): null in the first segment, whose nodes the
    /// waker makes only if the child needs its node.
    #[inline]
    pub(super) fn fresh_cell(&self, place: Place) -> *const NodeCell {
        if place.seg == FIRST {
            core::ptr::null()
        } else {
            self.segment_cell(place)
        }
    }

    /// The node cell of the child at `place`, in a segment after the first.
    #[inline]
    fn segment_cell(&self, place: Place) -> *const NodeCell {
        // SAFETY: segment `seg` has `growth_base() << seg` nodes and `off` is below that.
        unsafe { self.more()[place.seg].nodes.0.add(place.off) }
    }

    /// The address of the slot at `place` (for a prefetch).
    #[inline]
    pub(super) fn slot_addr(&self, place: Place) -> *const Slot<F> {
        if place.seg == FIRST {
            self.first.as_ptr().wrapping_add(place.off)
        } else {
            match &self.ext {
                Some(ext) => ext.more[place.seg].slots.as_ptr().wrapping_add(place.off),
                None => core::ptr::null(),
            }
        }
    }

    /// The slot at `place`, the counts, and the head of the free list, borrowed together.
    #[inline]
    pub(super) fn parts_at(&mut self, place: Place) -> Parts<'_, F> {
        let slot = if place.seg == FIRST {
            &mut self.first[place.off]
        } else {
            let Some(ext) = &mut self.ext else {
                unreachable!("an index past the first segment has a segment")
            };
            &mut ext.more[place.seg].slots[place.off]
        };
        Parts {
            slot,
            counts: &mut self.counts,
            free: &mut self.free,
        }
    }

    /// The node cell of child `index`; only in queued mode.
    #[cfg(any(feature = "std", test))]
    #[inline]
    pub(super) fn node(&self, header: &Header, index: usize) -> *const NodeCell {
        self.node_at(header, self.place(index))
    }

    /// Takes the output of a finished child, leaving its slot empty.
    #[cfg(all(test, not(aiokit_loom)))]
    pub(super) fn take(&mut self, index: usize) -> Option<F::Output> {
        let output = take_done(self.slot_mut(index));
        self.counts.kept -= usize::from(output.is_some());
        output
    }

    /// Drops a running child in place. Returns whether it was running.
    pub(super) fn cancel(&mut self, index: usize) -> bool {
        let slot = self.slot_mut(index);
        if matches!(slot, Slot::Running(_)) {
            *slot = Slot::Empty;
            self.counts.running -= 1;
            true
        } else {
            false
        }
    }

    /// In reuse mode, once queued: records that child `index` ended, if its slot is empty (its
    /// output was not kept), so that a new child can take it.
    #[inline]
    pub(super) fn release(&mut self, index: usize, queued: bool) {
        if queued && self.reuse() {
            self.link_free(index);
        }
    }

    /// Puts slot `index` on the free list if it is empty (see [`Parts::link_free`]).
    fn link_free(&mut self, index: usize) {
        let place = self.place(index);
        self.parts_at(place).link_free(index);
    }

    /// Entering queued mode in reuse mode: every empty slot so far can be taken.
    pub(super) fn collect_free(&mut self) {
        if !self.reuse() {
            return;
        }
        if let Some(ext) = &mut self.ext {
            ext.unpolled.clear();
        }
        for index in (0..self.len).rev() {
            self.link_free(index);
        }
    }

    /// Takes a free slot, if any, and puts the running child `fut` in it; returns its index.
    #[cfg(any(feature = "std", test))]
    pub(super) fn refill(&mut self, fut: &mut Option<F>) -> Option<usize> {
        let index = self.free;
        if index >= NO_SLOT {
            return None;
        }
        let slot = self.slot_mut(index);
        let Slot::Free(next) = *slot else {
            unreachable!("the free list links free slots")
        };
        *slot = Slot::Running(fut.take().expect("a child to place"));
        self.free = next;
        self.counts.running += 1;
        Some(index)
    }

    /// Drops every running child in place, in index order.
    pub(super) fn cancel_all(&mut self) {
        for index in 0..self.len {
            if self.counts.running == 0 {
                break;
            }
            if self.cancel(index) && self.reuse() {
                self.link_free(index);
            }
        }
    }

    /// Every output still in place, mapped by `map`, in index order, leaving the slots empty.
    /// With no child running and one segment (a finished gather), the slots are consumed by
    /// value: no slot is written back, and when every slot holds an output and the layouts
    /// allow it, the outputs are written over the slots in the slots' own allocation
    /// ([`outputs_in_place`]), which saves an allocation, a free and, for large sets, the page
    /// faults of a fresh output buffer.
    pub(super) fn take_outputs<U>(&mut self, mut map: impl FnMut(F::Output) -> U) -> Vec<U> {
        if self.counts.running == 0 && self.ext.is_none() {
            self.len = 0;
            self.fresh = 0;
            let slots = core::mem::take(&mut self.first);
            if core::mem::take(&mut self.counts.kept) == slots.len() {
                // Every slot holds an output (a plain gather).
                match in_place::<Slot<F>, U>(slots.capacity()) {
                    InPlace::Keep => return outputs_in_place(slots, map, false),
                    InPlace::Shrink => return outputs_in_place(slots, map, true),
                    InPlace::No => {}
                }
                // Not `collect`: std would reuse the slot allocation whatever its size, handing
                // the caller a Vec with a capacity of up to size_of::<Slot>() /
                // size_of::<Output>() times its length. An exact-size map fills the Vec without
                // a check per item.
                let mut outputs = Vec::with_capacity(slots.len());
                outputs.extend(slots.into_iter().map(|slot| match slot {
                    Slot::Done(output) => map(output),
                    _ => unreachable!("every slot holds an output"),
                }));
                return outputs;
            }
            let mut outputs = Vec::with_capacity(slots.len());
            outputs.extend(slots.into_iter().filter_map(|slot| match slot {
                Slot::Done(output) => Some(map(output)),
                _ => None,
            }));
            return outputs;
        }
        let mut outputs = Vec::with_capacity(self.len);
        self.for_each_output(|_, output| outputs.push(map(output)));
        outputs
    }

    /// Hands every output still in place to `f`, in index order.
    fn for_each_output(&mut self, mut f: impl FnMut(usize, F::Output)) {
        // `kept` counts the outputs still in place at every step, even if `f` unwinds (the
        // engine's drop relies on it).
        let kept = &mut self.counts.kept;
        for (index, slot) in every_slot(&mut self.first, &mut self.ext).enumerate() {
            if let Some(output) = take_done(slot) {
                *kept -= 1;
                f(index, output);
            }
        }
    }

    /// Takes every output still in place, in index order.
    #[cfg(all(test, not(aiokit_loom)))]
    pub(super) fn drain_outputs(&mut self) -> impl Iterator<Item = (usize, F::Output)> + '_ {
        self.counts.kept = 0;
        every_slot(&mut self.first, &mut self.ext)
            .enumerate()
            .filter_map(|(index, slot)| take_done(slot).map(|output| (index, output)))
    }
}

/// Every slot in index order: the first segment's, then those of the later segments (fields
/// passed apart, so that the caller may hold the counts meanwhile).
#[inline(always)]
pub(super) fn every_slot<'a, F: Future>(
    first: &'a mut [Slot<F>],
    ext: &'a mut Option<Box<Ext<F>>>,
) -> impl Iterator<Item = &'a mut Slot<F>> + 'a {
    let more = match ext {
        Some(ext) => &mut ext.more[..],
        None => &mut [],
    };
    first
        .iter_mut()
        .chain(more.iter_mut().flat_map(|seg| seg.slots.iter_mut()))
}

/// Whether outputs of type `U` can be written over slots of type `S` in the slots' allocation
/// and handed out in it: the same alignment (an allocation is freed with the alignment it was
/// made with) and no larger than a slot (output `i` then lands at or before slot `i`).
const fn in_place_fits<S, U>() -> bool {
    core::mem::size_of::<U>() != 0
        && core::mem::align_of::<U>() == core::mem::align_of::<S>()
        && core::mem::size_of::<U>() <= core::mem::size_of::<S>()
}

/// From this many bytes of slots on, outputs are written over the slots and the allocation
/// shrunk to fit them ([`outputs_in_place`]): a fresh output buffer would cost a page fault per
/// 4 KiB written, which the slots' pages, already mapped, do not. Below it (and above
/// [`KEEP_MAX_BYTES`]), a fresh allocation is cheaper: shrinking (`realloc`) costs more than a
/// small `malloc` and `free` (glibc: about 350 instructions against 190, and the split-off tail
/// slows the next small `malloc`).
pub(super) const IN_PLACE_MIN_BYTES: usize = 64 * 1024;

/// Up to this many bytes of slots, outputs are written over the slots and the allocation is
/// handed out as it is, unshrunk, when its size is a whole number of outputs: no `malloc`, no
/// `free` (about 140 instructions saved, a tenth of a gather of 10 ready children), for a Vec
/// whose spare capacity is below this many bytes. Above it, the spare capacity would be memory
/// a long-lived result keeps for nothing.
pub(super) const KEEP_MAX_BYTES: usize = 1024;

/// How `take_outputs` hands out the outputs of a full first segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InPlace {
    /// In a fresh allocation.
    No,
    /// Over the slots, in their allocation as it is (spare capacity under [`KEEP_MAX_BYTES`]).
    Keep,
    /// Over the slots, in their allocation shrunk to fit.
    Shrink,
}

/// How to hand out the outputs (`U`) of `cap` slots (`S`), all of them holding an output.
fn in_place<S, U>(cap: usize) -> InPlace {
    if !in_place_fits::<S, U>() {
        return InPlace::No;
    }
    let bytes = cap.saturating_mul(core::mem::size_of::<S>());
    if bytes <= KEEP_MAX_BYTES && bytes % core::mem::size_of::<U>() == 0 {
        InPlace::Keep
    } else if bytes >= IN_PLACE_MIN_BYTES {
        InPlace::Shrink
    } else {
        InPlace::No
    }
}

/// The outputs of `slots`, every one of which is `Done`, mapped by `map`, written over the
/// slots in their own allocation. With `shrink`, the allocation is then shrunk to exactly `len`
/// outputs (`realloc`, which shrinks in place) unless it has that size already: the caller gets
/// the `Vec` that `Vec::with_capacity(len)` and `len` pushes would give, with no allocation and
/// no fresh page. Without, it is handed out as it is, with a capacity of its size in outputs.
///
/// Must only be called when `in_place_fits::<Slot<F>, U>()`, and without `shrink` only when
/// the allocation's size is a multiple of `size_of::<U>()`.
fn outputs_in_place<F: Future, U>(
    slots: Vec<Slot<F>>,
    mut map: impl FnMut(F::Output) -> U,
    shrink: bool,
) -> Vec<U> {
    use alloc::alloc::{Layout, dealloc, handle_alloc_error, realloc};
    use core::mem::{ManuallyDrop, size_of};
    use core::ptr;

    debug_assert!(in_place_fits::<Slot<F>, U>());
    let mut slots = ManuallyDrop::new(slots);
    let (base, len, cap) = (slots.as_mut_ptr(), slots.len(), slots.capacity());
    let out = base.cast::<U>();

    /// On unwind (a panicking `map`), drops the outputs written so far and the slots not yet
    /// read, and frees the allocation.
    struct Guard<F: Future, U> {
        base: *mut Slot<F>,
        out: *mut U,
        /// Outputs `0..written` are written; slots `written + 1..len` were not read (slot
        /// `written` was read and its output moved into `map`).
        written: usize,
        len: usize,
        cap: usize,
    }
    impl<F: Future, U> Drop for Guard<F, U> {
        fn drop(&mut self) {
            // SAFETY: outputs `0..written` were written by the loop below and not handed out;
            // slots `written + 1..len` still hold their `Done` values, untouched (outputs
            // only overwrite slots already read); the allocation is the Vec's, of `cap` slots.
            unsafe {
                ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.out, self.written));
                let rest = self.base.add(self.written + 1);
                ptr::drop_in_place(ptr::slice_from_raw_parts_mut(
                    rest,
                    self.len - self.written - 1,
                ));
                if self.cap != 0 {
                    dealloc(
                        self.base.cast(),
                        Layout::array::<Slot<F>>(self.cap).expect("the Vec's own layout"),
                    );
                }
            }
        }
    }
    let mut guard = Guard::<F, U> {
        base,
        out,
        written: 0,
        len,
        cap,
    };
    for i in 0..len {
        guard.written = i;
        // SAFETY: slot `i` is initialized (`i < len`) and read once; output `i` lives at byte
        // `i * size_of::<U>()`, which is at or before slot `i`'s start (`size_of::<U>() <=
        // size_of::<Slot<F>>()`), so it overwrites only slots already read, and it is aligned
        // (same alignment as a slot, and a multiple of its own size from the aligned base).
        unsafe {
            let output = match ptr::read(base.add(i)) {
                Slot::Done(output) => output,
                _ => unreachable!("every slot holds an output"),
            };
            let value = map(output);
            ptr::write(out.add(i), value);
        }
    }
    core::mem::forget(guard);

    let new_bytes = len * size_of::<U>();
    if cap == 0 {
        return Vec::new();
    }
    // SAFETY: the allocation was made by the Vec for `cap` slots: its layout is
    // `Layout::array::<Slot<F>>(cap)`, of alignment `align_of::<U>()`.
    unsafe {
        if !shrink {
            // The allocation's size, `cap` slots: the product did not overflow when the Vec
            // made it (and a `Layout` computed again here costs a tenth of a small gather).
            let bytes = cap * size_of::<Slot<F>>();
            debug_assert_eq!(bytes % size_of::<U>(), 0);
            // The allocation is `bytes / size_of::<U>()` outputs of the slots' alignment: its
            // layout is `Layout::array::<U>` of that many, as `from_raw_parts` requires;
            // outputs `0..len` are written.
            return Vec::from_raw_parts(out, len, bytes / size_of::<U>());
        }
        let old = Layout::array::<Slot<F>>(cap).expect("the Vec's own layout");
        if old.size() == new_bytes {
            // Exactly `len` outputs of the slots' alignment: the allocation's layout is
            // `Layout::array::<U>(len)`, as `from_raw_parts` requires.
            return Vec::from_raw_parts(out, len, len);
        }
        if len == 0 {
            dealloc(base.cast(), old);
            return Vec::new();
        }
        let new = realloc(base.cast(), old, new_bytes);
        if new.is_null() {
            handle_alloc_error(Layout::from_size_align_unchecked(new_bytes, old.align()));
        }
        // The outputs were moved with the allocation; it now has the layout of `len` values
        // of `U` (same alignment, `len * size_of::<U>()` bytes).
        Vec::from_raw_parts(new.cast::<U>(), len, len)
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
