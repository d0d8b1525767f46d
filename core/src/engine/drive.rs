//! Driving the children: direct mode polls every running child with the caller's waker;
//! queued mode polls the never-polled children, then the ones whose wakers fired.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::api::{Drive, Step};
use super::atomic::{Arc, Ordering};
use super::queue::Dequeue;
use super::queue::Node;
use super::slots::{Counts, Place, Slot, Slots, every_slot};
use super::waker::{FreshWaker, Header, borrowed_waker, init_node};
use core::cell::UnsafeCell;

/// How many children may wake themselves during one `poll_drive` before it yields.
pub(crate) const YIELD_LIMIT: usize = 32;

/// Never-polled children between two spends of tokio's budget: `coop::STRIDE` under the
/// `tokio` feature, else no limit.
#[cfg(all(feature = "tokio", not(aiokit_loom)))]
const SPEND_EVERY: usize = super::coop::STRIDE;
#[cfg(not(all(feature = "tokio", not(aiokit_loom))))]
const SPEND_EVERY: usize = usize::MAX;

/// Never-polled children polled with a first-poll waker before deciding whether to write the
/// remaining ones' nodes up front (see `poll_queued`).
const EAGER_SAMPLE: usize = 8;

/// Whether the never-polled children get their node written before their first poll
/// (`eager`), decided on a sample of first polls.
#[derive(Clone, Copy)]
struct Sample {
    sampled: usize,
    needed: usize,
    eager: bool,
}

impl Sample {
    /// Records whether a child polled with a first-poll waker needed its node. Children of one
    /// set tend to behave alike: once most of a sample kept their waker, the rest's nodes are
    /// written up front, which is cheaper than the first-poll waker's atomic step.
    #[inline(always)]
    fn record(&mut self, needed: bool) {
        if self.sampled < EAGER_SAMPLE {
            self.sampled += 1;
            self.needed += usize::from(needed);
            self.eager = self.sampled == EAGER_SAMPLE && self.needed * 2 > EAGER_SAMPLE;
        }
    }
}

impl<F: Future> Slots<F> {
    /// Queued mode: polls the never-polled children, then the woken ones. Kept out of line so
    /// that direct mode, the small and hot case, stays a tight loop; the first part is out of
    /// line too (`poll_unpolled`), so that this stays small.
    ///
    /// The parent's waker is registered only where the drive returns `Drive::Pending` for want
    /// of work, and the queue is looked at again after that: a drive that ends otherwise (an
    /// output handed over and `Step::Stop`, all done, or `settle`) leaves the waker cell as it
    /// was, since its caller returns `Ready` (or drives again).
    ///
    /// `settle`: once a child completed in this drive, an empty queue ends it with
    /// `Drive::Stopped` instead of `Drive::Pending`, with no waker registered (for a caller
    /// that returns as soon as it has an output, a `wait(FirstCompleted)`).
    #[inline(never)]
    pub(super) fn poll_queued<C>(
        &mut self,
        header: &Arc<Header>,
        cx: &mut Context<'_>,
        stop: &impl Fn() -> bool,
        settle: bool,
        mut on_done: C,
    ) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        // Fewer children running than this once the queue is empty: one completed in this
        // drive, and the drive settles (never with `settle` off).
        let settle_below = if settle { self.counts.running } else { 0 };
        if self.all_polled_once() {
            // Nothing to poll (the first poll of each round of a `wait(FirstCompleted)` loop,
            // a poll woken for nothing): return before the drive's set-up.
            if header.queue.is_empty() && self.idle_after_register(header, cx) {
                return Drive::Pending;
            }
        } else if let Some(drive) = self.poll_unpolled(header, cx, stop, &mut on_done) {
            return drive;
        }
        self.poll_woken(header, cx, stop, settle_below, on_done)
    }

    /// Whether every child pushed so far has had its first poll (none fresh, none queued for
    /// a reused slot): a drive then has only the woken children to poll.
    #[inline(always)]
    pub(super) fn all_polled_once(&self) -> bool {
        self.fresh == self.len && !self.has_unpolled()
    }

    /// Registers the parent's waker, then tells whether the ready queue is still empty: a
    /// wake that lands after this look wakes the waker registered here, one that landed before
    /// it left its node in the queue.
    #[inline(always)]
    pub(super) fn idle_after_register(&self, header: &Header, cx: &Context<'_>) -> bool {
        header.parent.register(cx.waker());
        header.queue.is_empty()
    }

    /// Queued mode, second part: polls the children whose wakers fired, from the ready queue.
    /// Inlined: a call here costs as much as the early return above saves.
    #[inline(always)]
    fn poll_woken<C>(
        &mut self,
        header: &Arc<Header>,
        cx: &mut Context<'_>,
        stop: &impl Fn() -> bool,
        settle_below: usize,
        mut on_done: C,
    ) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        let budget = self.len;
        let mut polled = 0;
        let mut yielded = 0;
        loop {
            if stop() {
                return Drive::Stopped;
            }
            // And one per `STRIDE` woken children polled in this call.
            #[cfg(all(feature = "tokio", not(aiokit_loom)))]
            if polled % super::coop::STRIDE == super::coop::STRIDE - 1 && !super::coop::proceed(cx)
            {
                return Drive::Pending;
            }
            // SAFETY: `&mut self` makes this the only consumer.
            let node = match unsafe { header.queue.pop() } {
                Dequeue::Data(node) => node,
                Dequeue::Empty => {
                    if self.counts.running < settle_below {
                        return Drive::Stopped;
                    }
                    if self.idle_after_register(header, cx) {
                        return Drive::Pending;
                    }
                    continue;
                }
                Dequeue::Inconsistent => {
                    super::atomic::yield_hint();
                    cx.waker().wake_by_ref();
                    return Drive::Pending;
                }
            };
            // Woken from another thread, the next node, this child's slot and what the child
            // reads were last written elsewhere: the next node's line and the slot's are asked
            // for now, so that their misses overlap with this child's poll and the swap below.
            prefetch(header.queue.next_hint().cast());
            // SAFETY: nodes in the queue belong to our header, which we hold.
            let n = unsafe { &*node };
            let index = n.index;
            // (Past `len`: a late wake of a child whose slots were already handed back by
            // `take_outputs`; nothing to poll.)
            let place = (index < self.len).then(|| self.place(index));
            if let Some(place) = place {
                prefetch(self.slot_addr(place).cast());
            }
            // Cleared before the poll, so a wake during the poll queues it again. A swap, not a
            // store: the same instruction as a SeqCst store on x86, and loom keeps it atomic
            // against a waker's swap racing with it (it may let a plain store fall between the
            // read and the write of that swap, and report a lost wake-up that cannot happen).
            n.queued.swap(false, Ordering::SeqCst);
            let Some(place) = place else {
                continue;
            };
            let Some(poll) = self.poll_at(place, &borrowed_waker(node), index, &mut on_done) else {
                continue; // finished or cancelled: a late wake
            };
            polled += 1;
            match poll {
                Poll::Ready(step) => {
                    if let Some(drive) = self.ended(step) {
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

    /// Queued mode, first part: polls the never-polled children (`fresh..len`, and in reuse
    /// mode those of `unpolled`), each with its own waker. `Some` if the drive ends here.
    #[inline(never)]
    fn poll_unpolled<C>(
        &mut self,
        header: &Arc<Header>,
        cx: &mut Context<'_>,
        stop: &impl Fn() -> bool,
        on_done: &mut C,
    ) -> Option<Drive>
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        // In reuse mode every node is written before its child's first poll: a reused slot's
        // child is then polled with the node's waker (see `Engine::reuse_slots`).
        // (`cx` only spends tokio's budget.)
        #[cfg(not(all(feature = "tokio", not(aiokit_loom))))]
        let _ = cx;
        let mut sample = Sample {
            sampled: 0,
            needed: 0,
            eager: self.reuse(),
        };
        // Slots are reused by groups, whose children come one by one: not swept.
        let sweep = !self.reuse();
        // Never-polled children below `fresh_limit` are polled with no other check: it is the
        // next child before which a unit of tokio's budget is spent (see `coop`), or `len`.
        // (`len` does not change during a drive: children are pushed between calls.)
        let mut fresh_limit = self.next_spend();
        loop {
            if stop() {
                return Some(Drive::Stopped);
            }
            if sweep && self.fresh < fresh_limit && fresh_limit <= self.first.len() {
                // The usual case (a set given up front): a tight loop over the first segment.
                // (A copy of `sample` goes in, so that this loop keeps its own in registers.)
                let mut swept = sample;
                let drive = self.sweep_first(header, fresh_limit, stop, on_done, &mut swept);
                sample = swept;
                if drive.is_some() {
                    return drive;
                }
                continue;
            }
            if self.fresh < fresh_limit {
                let index = self.fresh;
                self.fresh += 1;
                let place = self.place(index);
                let at = Arc::as_ptr(header);
                let poll = if sample.eager {
                    let cell = self.node_at(header, place);
                    // SAFETY: `fresh` passes each index once per header (a new header starts
                    // over at 0), so no waker for this node exists yet.
                    let node = unsafe { init_node(cell, at, index) };
                    self.poll_at(place, &borrowed_waker(node), index, on_done)
                } else {
                    let cell = self.fresh_cell(place);
                    // SAFETY: as above: the node was never written and has no other fresh waker
                    // (its cell, or null in the first segment, as `FreshWaker::new` asks).
                    let fresh = unsafe { FreshWaker::new(cell, at, index) };
                    let poll = self.poll_at(place, &fresh.waker(), index, on_done);
                    sample.record(fresh.was_used());
                    poll
                };
                if let Some(Poll::Ready(step)) = poll {
                    if let Some(drive) = self.ended(step) {
                        return Some(drive);
                    }
                }
                continue;
            }
            if let Some(index) = self.pop_unpolled() {
                let place = self.place(index);
                // Written (see the field), and owned by our header, which we hold.
                let node = UnsafeCell::raw_get(self.node_at(header, place)).cast::<Node>();
                let waker = borrowed_waker(node);
                if let Some(Poll::Ready(step)) = self.poll_at(place, &waker, index, on_done) {
                    if let Some(drive) = self.ended(step) {
                        return Some(drive);
                    }
                }
                continue;
            }
            if self.fresh < self.len {
                // Child `fresh` is due a unit of tokio's budget: one unit per `STRIDE`
                // never-polled children, counted across polls.
                #[cfg(all(feature = "tokio", not(aiokit_loom)))]
                if !super::coop::proceed(cx) {
                    return Some(Drive::Pending);
                }
                fresh_limit = self.len.min(self.fresh.saturating_add(SPEND_EVERY));
                continue;
            }
            return None;
        }
    }

    /// Polls the never-polled children `fresh..end` of the first segment (`end` at most its
    /// length; not in reuse mode), as `poll_unpolled` does one by one, in a loop that keeps
    /// `fresh` and the counts in registers (written back when it ends, also by a child's
    /// panic). `Some` if the drive ends here.
    #[inline(always)]
    fn sweep_first<C>(
        &mut self,
        header: &Arc<Header>,
        end: usize,
        stop: &impl Fn() -> bool,
        on_done: &mut C,
        sample: &mut Sample,
    ) -> Option<Drive>
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        struct Local<'a> {
            fresh: usize,
            counts: Counts,
            home: (&'a mut usize, &'a mut Counts),
        }
        impl Drop for Local<'_> {
            #[inline(always)]
            fn drop(&mut self) {
                *self.home.0 = self.fresh;
                *self.home.1 = self.counts;
            }
        }
        let at = Arc::as_ptr(header);
        let start = self.fresh;
        let mut local = Local {
            fresh: start,
            counts: self.counts,
            home: (&mut self.fresh, &mut self.counts),
        };
        // First-poll wakers get no cell: they find it (and make the nodes) only if the child
        // needs its node.
        let mut children = self.first[start..end].iter_mut().zip(start..);
        let lazy = core::ptr::null();
        // One child's first poll with the waker `$waker` makes (evaluated once the child is
        // known to be polled); the drive ends if that was the last child or `on_done` said so.
        // (Not in reuse mode: the slot goes back to no free list.)
        macro_rules! first_poll {
            ($slot:expr, $index:expr, $waker:expr) => {{
                if stop() {
                    return Some(Drive::Stopped);
                }
                local.fresh = $index + 1;
                let waker = $waker;
                let cx = &mut Context::from_waker(&waker);
                let poll = poll_slot($slot, $index, cx, &mut local.counts, on_done);
                if let Some(Poll::Ready(step)) = poll {
                    if local.counts.running == 0 {
                        return Some(Drive::AllDone);
                    }
                    if step == Step::Stop {
                        return Some(Drive::Stopped);
                    }
                }
            }};
        }
        // Safety of each `FreshWaker::new` and `init_node` below: `fresh` passes each index once
        // per header (a new header starts over at 0), so the node was never written and no
        // waker for it exists yet; the child is in the first segment, as a null cell says.
        // Three loops, so that the long ones test nothing but the child: the sample (first-poll
        // wakers, recorded), then written nodes or first-poll wakers for the rest.
        while !sample.eager && sample.sampled < EAGER_SAMPLE {
            let (slot, index) = children.next()?;
            let fresh;
            first_poll!(slot, index, {
                // SAFETY: see above.
                fresh = unsafe { FreshWaker::new(lazy, at, index) };
                fresh.waker()
            });
            sample.record(fresh.was_used());
        }
        if sample.eager {
            if local.fresh == end {
                return None;
            }
            // Looked up once for the loop, not once per child.
            let cells = header.first_cells();
            for (slot, index) in children {
                first_poll!(slot, index, {
                    // SAFETY: see above; `index` is below `end`, within the first segment's
                    // cells.
                    borrowed_waker(unsafe { init_node(cells.add(index), at, index) })
                });
            }
        } else {
            for (slot, index) in children {
                let fresh;
                first_poll!(slot, index, {
                    // SAFETY: see above.
                    fresh = unsafe { FreshWaker::new(lazy, at, index) };
                    fresh.waker()
                });
            }
        }
        None
    }

    /// The never-polled child before whose first poll the next unit of tokio's budget is
    /// spent (child `i` spends one when `i % STRIDE == STRIDE - 1`), or `len` if none is due
    /// (always without the `tokio` feature).
    #[inline]
    fn next_spend(&self) -> usize {
        if SPEND_EVERY == usize::MAX {
            return self.len;
        }
        let every = SPEND_EVERY;
        self.len.min(self.fresh + (every - 1 - self.fresh % every))
    }

    /// Direct mode: polls every running child with the caller's waker.
    pub(super) fn poll_direct<C>(
        &mut self,
        cx: &mut Context<'_>,
        stop: &impl Fn() -> bool,
        mut on_done: C,
    ) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        if self.more().is_empty() {
            // The usual case, a fixed set of children: a plain loop over one slice.
            poll_each(
                self.first.iter_mut(),
                cx,
                stop,
                &mut self.counts,
                &mut on_done,
            )
        } else {
            let slots = every_slot(&mut self.first, &mut self.ext);
            poll_each(slots, cx, stop, &mut self.counts, &mut on_done)
        }
    }

    /// Polls child `index`, at `place`, with `waker` (queued mode), as `poll_slot` does; once
    /// it finished, its slot goes back for reuse (located once for both).
    #[inline(always)]
    fn poll_at<C>(
        &mut self,
        place: Place,
        waker: &Waker,
        index: usize,
        on_done: &mut C,
    ) -> Option<Poll<Step>>
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        let parts = self.parts_at(place);
        let poll = poll_slot(
            parts.slot,
            index,
            &mut Context::from_waker(waker),
            parts.counts,
            on_done,
        );
        if let Some(Poll::Ready(_)) = poll {
            parts.link_free(index);
        }
        poll
    }

    /// Child `index` has just finished in queued mode (its slot back for reuse already): the
    /// drive ends (`Some`) if that was the last child or `step` says so.
    #[inline(always)]
    fn ended(&mut self, step: Step) -> Option<Drive> {
        if self.counts.running == 0 {
            Some(Drive::AllDone)
        } else if step == Step::Stop {
            Some(Drive::Stopped)
        } else {
            None
        }
    }
}

/// Polls every running child of `slots` (indexed from 0) with `cx`, as `poll_slot` does, until
/// `stop` says so (checked before each poll).
#[inline(always)]
fn poll_each<'a, F: Future + 'a, C>(
    slots: impl Iterator<Item = &'a mut Slot<F>>,
    cx: &mut Context<'_>,
    stop: &impl Fn() -> bool,
    counts: &mut Counts,
    on_done: &mut C,
) -> Drive
where
    C: FnMut(usize, &mut Option<F::Output>) -> Step,
{
    /// The counts, kept in a local copy (in registers: the compiler cannot tell that the slots
    /// never alias the engine's counts, and would load and store them for every child) and
    /// written back when the loop ends, by return or by a child's panic.
    struct Local<'c> {
        counts: Counts,
        home: &'c mut Counts,
    }
    impl Drop for Local<'_> {
        #[inline(always)]
        fn drop(&mut self) {
            *self.home = self.counts;
        }
    }
    let mut local = Local {
        counts: *counts,
        home: counts,
    };
    for (index, slot) in slots.enumerate() {
        if stop() {
            return Drive::Stopped;
        }
        if let Some(Poll::Ready(step)) = poll_slot(slot, index, cx, &mut local.counts, on_done) {
            if local.counts.running == 0 {
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

/// Asks the CPU to bring the cache line at `addr` in, without waiting for it.
#[inline(always)]
fn prefetch(addr: *const u8) {
    #[cfg(all(target_arch = "x86_64", not(aiokit_loom), not(miri)))]
    // SAFETY: a prefetch is a hint: it never faults and reads nothing the program sees, whatever
    // the address.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(addr.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(aiokit_loom), not(miri))))]
    let _ = addr;
}
