//! The lock-free core of a task's shared state: one atomic word, the outcome written once, a
//! default name written once, the driver's waker and the waker of one awaiting handle. What is rare (done-callbacks, more
//! than one awaiting handle, a name) lives in `task::state`, behind a lock allocated on first
//! use; this part never runs user code and never blocks.
//!
//! The word:
//!
//! - `CANCEL`: a cancel was requested before the outcome was published (and so it wins).
//! - `WRITING`: the completer claimed the outcome slot (set once, by exactly one completer).
//! - `COMPLETE`: the outcome is written and readable (`done()`); set with `Release` after the
//!   write, read with `Acquire` before any read of the outcome.
//! - `FINISHED`: the task has ended: outcome published and every done-callback run. Awaiting
//!   handles return only once this is set.
//! - `SLOW`: the slow part holds callbacks or waiters: the completer must go through its lock
//!   to finish. Set by whoever adds one, before it looks at `FINISHED` under that lock.
//! - `AWAITER`: one awaiting handle owns the fast waiter slot (`awaiter`).
//! - `LABELING`, `LABELED`: the label (a `&'static str`, the coroutine's name) slot was claimed
//!   by one writer, then written and readable: the outcome's protocol, for a second value
//!   (16 bytes and a bit, where a `OnceLock` takes 24 bytes).
//! - Above the flags (`TAG_SHIFT`), on 64-bit targets: the tag, a number given at creation and
//!   never changed (the task's number: one word less per task). Every read-modify-write of
//!   the word sets or clears flags only, so it keeps the tag.
//!
//! Finishing: with `SLOW` clear, the completer sets `FINISHED` by one compare-and-swap (failing
//! if `SLOW` appeared meanwhile) and wakes `awaiter`; otherwise it takes the slow part's lock,
//! runs the callbacks and sets `FINISHED` under that lock. An adder sets `SLOW` first, then
//! takes the lock and checks `FINISHED`: both read-modify-writes hit the same word, so either
//! the completer sees `SLOW` (and will look under the lock), or the adder sees `FINISHED` (and
//! runs its callback itself).

use core::mem::MaybeUninit;
use core::task::Context;

use crate::engine::atomic::{AtomicUsize, AtomicWaker, Ordering, UnsafeCell};

const CANCEL: usize = 1 << 0;
const WRITING: usize = 1 << 1;
const COMPLETE: usize = 1 << 2;
const FINISHED: usize = 1 << 3;
const SLOW: usize = 1 << 4;
const AWAITER: usize = 1 << 5;
const LABELING: usize = 1 << 6;
const LABELED: usize = 1 << 7;
/// The bits below hold the flags; the ones above, the tag.
#[cfg(target_pointer_width = "64")]
const TAG_SHIFT: u32 = 8;

/// The key an awaiting handle keeps while it owns the fast waiter slot. Slow-path keys are
/// indexes into a slab, far below this.
pub(crate) const FAST_WAITER: usize = usize::MAX;

/// What [`TaskState::complete`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Completed<R> {
    /// Published and finished: nothing left to do.
    Finished,
    /// Published, not finished: drop the displaced value (if any), run the callbacks, then
    /// finish (see [`TaskState::try_finish_fast`], [`TaskState::finish_slow`]).
    Published(Option<R>),
}

/// What [`TaskState::poll_await`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Await {
    /// The task has finished.
    Ready,
    /// The waker is registered in the fast slot.
    Pending,
    /// Another handle owns the fast slot: register in the slow part (`SLOW` is set already).
    Slow,
}

/// A task's word, outcome and wakers.
pub(crate) struct TaskState<R> {
    word: AtomicUsize,
    /// Written once by the completer that set `WRITING`, before `COMPLETE` is published;
    /// read only after `COMPLETE` was observed with `Acquire`; never written again.
    outcome: UnsafeCell<MaybeUninit<R>>,
    /// The driver's waker, woken by a cancel request.
    driver: AtomicWaker,
    /// The waker of the handle that owns the fast slot (`AWAITER`).
    awaiter: AtomicWaker,
    /// Written once by the writer that set `LABELING`, before `LABELED` is published; read
    /// only after `LABELED` was observed with `Acquire`.
    label: UnsafeCell<MaybeUninit<&'static str>>,
}

// SAFETY: as for `OnceLock<R>`: the outcome is moved in by one thread and dropped by another
// (`R: Send`), and handles on any thread read it by reference once published (`R: Sync`).
// Everything else is atomics.
unsafe impl<R: Send> Send for TaskState<R> {}
// SAFETY: see above; a shared `&TaskState` allows reading `&R` on any thread (so `R: Sync`) and
// completing it, which moves an `R` in from that thread (so `R: Send`).
unsafe impl<R: Send + Sync> Sync for TaskState<R> {}

impl<R> TaskState<R> {
    #[cfg_attr(
        all(target_pointer_width = "64", not(test)),
        allow(dead_code, reason = "64-bit tasks are made tagged")
    )]
    pub(crate) fn new() -> Self {
        Self::with_word(0)
    }

    /// A state tagged with `tag` (below 2^56), which [`tag`](Self::tag) gives back.
    #[cfg(target_pointer_width = "64")]
    pub(crate) fn tagged(tag: u64) -> Self {
        debug_assert!(tag < 1 << (64 - TAG_SHIFT), "tag out of range");
        Self::with_word((tag as usize) << TAG_SHIFT)
    }

    /// The tag given at creation.
    #[cfg(target_pointer_width = "64")]
    pub(crate) fn tag(&self) -> u64 {
        // The tag never changes: no ordering needed.
        (self.word.load(Ordering::Relaxed) >> TAG_SHIFT) as u64
    }

    fn with_word(word: usize) -> Self {
        TaskState {
            word: AtomicUsize::new(word),
            outcome: UnsafeCell::new(MaybeUninit::uninit()),
            driver: AtomicWaker::new(),
            awaiter: AtomicWaker::new(),
            label: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Sets the label unless it was set (or is being set) already; returns whether it did.
    pub(crate) fn set_label(&self, label: &'static str) -> bool {
        if self.word.fetch_or(LABELING, Ordering::Acquire) & LABELING != 0 {
            return false;
        }
        // SAFETY: we set `LABELING`, so we are the only writer ever; nobody reads before
        // `LABELED` is published below. A `&str` has no destructor: nothing to drop.
        self.label.with_mut(|ptr| unsafe { (*ptr).write(label) });
        self.word.fetch_or(LABELED, Ordering::Release);
        true
    }

    /// The label, once set.
    pub(crate) fn label(&self) -> Option<&'static str> {
        if self.word.load(Ordering::Acquire) & LABELED == 0 {
            return None;
        }
        // SAFETY: `LABELED` was observed with `Acquire`, pairing with the `Release` that
        // published it after the one write of the label: it is initialized and never written
        // again. `&'static str` is `Copy`: reading it out leaves it in place.
        Some(self.label.with(|ptr| unsafe { (*ptr).assume_init_read() }))
    }

    /// The outcome, once published.
    pub(crate) fn outcome(&self) -> Option<&R> {
        if self.word.load(Ordering::Acquire) & COMPLETE == 0 {
            return None;
        }
        // SAFETY: `COMPLETE` was observed with `Acquire`, pairing with the `Release` that
        // published it after the one write of the outcome: the value is initialized, and it is
        // never written or dropped again while `&self` lives.
        Some(self.outcome.with(|ptr| unsafe { (*ptr).assume_init_ref() }))
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.word.load(Ordering::Acquire) & FINISHED != 0
    }

    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.word.load(Ordering::Acquire) & CANCEL != 0
    }

    /// asyncio's `cancel()`: sets `CANCEL` unless the outcome is published; wakes the driver.
    /// Once this returned true, the outcome is a cancellation.
    pub(crate) fn request_cancel(&self) -> bool {
        let requested = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & COMPLETE == 0).then_some(s | CANCEL)
            })
            .is_ok();
        if requested {
            self.driver.wake();
        }
        requested
    }

    /// Whether a cancel was requested; if not, registers `cx`'s waker for the next request.
    pub(crate) fn poll_cancel_requested(&self, cx: &Context<'_>) -> bool {
        if self.is_cancel_requested() {
            return true;
        }
        self.driver.register(cx.waker());
        // A request between the check and the registration found no waker to wake.
        self.is_cancel_requested()
    }

    /// Publishes the outcome `value`, or `cancelled()` if a cancel was requested first. If no
    /// callback or slow waiter was ever added (`SLOW` clear) and no value was displaced, the
    /// task finishes in the same step (and the fast awaiter, if any, is woken). Otherwise it
    /// hands back the value a cancel displaced, for the caller to drop (user code: not here)
    /// before it finishes the task.
    ///
    /// Returns `Err(value)` if the outcome was already claimed (a second completer).
    pub(crate) fn complete(
        &self,
        value: R,
        cancelled: impl FnOnce() -> R,
    ) -> Result<Completed<R>, R> {
        if self.word.fetch_or(WRITING, Ordering::Acquire) & WRITING != 0 {
            return Err(value);
        }
        // SAFETY: we set `WRITING`, so we are the only writer ever; nobody reads before
        // `COMPLETE` is published below. The slot is uninitialized: nothing is overwritten.
        self.outcome.with_mut(|ptr| unsafe { (*ptr).write(value) });
        let mut cancelled = Some(cancelled);
        let mut displaced = None;
        let mut s = self.word.load(Ordering::Relaxed);
        loop {
            if s & CANCEL != 0 {
                if let Some(cancelled) = cancelled.take() {
                    // SAFETY: still unpublished and ours alone (see above); the value is
                    // initialized, moved out once and replaced by the cancellation.
                    displaced = Some(self.outcome.with_mut(|ptr| unsafe {
                        let old = (*ptr).assume_init_read();
                        (*ptr).write(cancelled());
                        old
                    }));
                }
            }
            let finish = displaced.is_none() && s & SLOW == 0;
            let new = s | COMPLETE | if finish { FINISHED } else { 0 };
            match self
                .word
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) if finish => {
                    if s & AWAITER != 0 {
                        self.awaiter.wake();
                    }
                    return Ok(Completed::Finished);
                }
                Ok(_) => return Ok(Completed::Published(displaced)),
                Err(now) => s = now,
            }
        }
    }

    /// Finishes the task if no callback or slow waiter was ever added (`SLOW` clear): sets
    /// `FINISHED` and wakes the fast awaiter. Returns false, changing nothing, otherwise: then
    /// finish under the slow part's lock with [`finish_slow`](Self::finish_slow).
    pub(crate) fn try_finish_fast(&self) -> bool {
        match self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                debug_assert!(s & COMPLETE != 0, "finished before completed");
                (s & SLOW == 0).then_some(s | FINISHED)
            }) {
            Ok(s) => {
                // No awaiter ever claimed the slot: a later one sees `FINISHED`.
                if s & AWAITER != 0 {
                    self.awaiter.wake();
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Sets `FINISHED` (the caller holds the slow part's lock and ran every callback); once
    /// the lock is released, the caller wakes the slow waiters and calls
    /// [`wake_awaiter`](Self::wake_awaiter).
    pub(crate) fn finish_slow(&self) {
        self.word.fetch_or(FINISHED, Ordering::AcqRel);
    }

    /// Wakes the handle in the fast waiter slot, if any.
    pub(crate) fn wake_awaiter(&self) {
        self.awaiter.wake();
    }

    /// Sets `SLOW` (a callback or a slow waiter is about to be added under the slow part's
    /// lock). Returns whether the task had already finished: then add nothing.
    pub(crate) fn mark_slow(&self) -> bool {
        let s = self.word.load(Ordering::Acquire);
        if s & FINISHED != 0 {
            return true;
        }
        if s & SLOW != 0 {
            return false;
        }
        self.word.fetch_or(SLOW, Ordering::AcqRel) & FINISHED != 0
    }

    /// Polls for the end of the task on behalf of one awaiting handle. `key` is the handle's
    /// waiter key: `None`, [`FAST_WAITER`] once it owns the fast slot, or a slow-part key.
    pub(crate) fn poll_await(&self, key: &mut Option<usize>, cx: &Context<'_>) -> Await {
        if self.is_finished() {
            // The fast slot stays claimed: nobody needs it any more.
            if *key == Some(FAST_WAITER) {
                *key = None;
            }
            return Await::Ready;
        }
        match *key {
            Some(FAST_WAITER) => {}
            Some(_) => return Await::Slow,
            None => {
                let s = self.word.fetch_or(AWAITER, Ordering::AcqRel);
                if s & FINISHED != 0 {
                    return Await::Ready;
                }
                if s & AWAITER != 0 {
                    // Owned by another handle.
                    return if self.mark_slow() {
                        Await::Ready
                    } else {
                        Await::Slow
                    };
                }
                *key = Some(FAST_WAITER);
            }
        }
        self.awaiter.register(cx.waker());
        // A finish between the check and the registration woke no one (or our old waker).
        if self.is_finished() {
            *key = None;
            return Await::Ready;
        }
        Await::Pending
    }

    /// Gives up the fast slot (an awaiting handle dropped before the end).
    pub(crate) fn release_fast_waiter(&self) {
        // The waker first, then the slot: nobody else registers while we own it.
        drop(self.awaiter.take());
        self.word.fetch_and(!AWAITER, Ordering::AcqRel);
    }
}

impl<R> Drop for TaskState<R> {
    fn drop(&mut self) {
        let complete = self.word.load(Ordering::Acquire) & COMPLETE != 0;
        if complete {
            // SAFETY: `&mut self`: nobody else reads; the outcome was written (`COMPLETE`) and
            // is dropped once, here.
            self.outcome
                .with_mut(|ptr| unsafe { (*ptr).assume_init_drop() });
        }
    }
}

/// Unit tests of the word's protocol with real threads; run under miri too
/// (`scripts/miri.sh task_state`), which checks the outcome's one write and its reads.
#[cfg(all(test, not(aiokit_loom)))]
mod tests {
    use alloc::string::String;
    use alloc::sync::Arc;
    use core::task::{Context, Waker};
    use std::thread;

    use super::*;

    /// Rounds of each race between threads (a few under miri, which runs them slowly).
    const RACE_ROUNDS: usize = if cfg!(miri) { 4 } else { 200 };

    type State = TaskState<Result<String, ()>>;

    #[test]
    fn the_outcome_is_published_once_and_read_by_reference() {
        let state = State::new();
        assert_eq!(state.outcome(), None);
        assert_eq!(
            state.complete(Ok(String::from("tea")), || Err(())),
            Ok(Completed::Finished)
        );
        assert_eq!(state.outcome(), Some(&Ok(String::from("tea"))));
        assert!(state.is_finished());
        // A second completer is refused, its value handed back.
        assert_eq!(
            state.complete(Ok(String::from("milk")), || Err(())),
            Err(Ok(String::from("milk")))
        );
        assert!(!state.request_cancel(), "done: cancel changes nothing");
    }

    #[test]
    fn a_cancel_before_the_outcome_displaces_the_value() {
        let state = State::new();
        assert!(state.request_cancel());
        assert!(state.request_cancel(), "again before the end: true again");
        assert_eq!(
            state.complete(Ok(String::from("tea")), || Err(())),
            Ok(Completed::Published(Some(Ok(String::from("tea")))))
        );
        assert_eq!(state.outcome(), Some(&Err(())));
        assert!(
            !state.is_finished(),
            "the caller drops the value, then finishes"
        );
        assert!(state.try_finish_fast());
        assert!(state.is_finished());
    }

    #[test]
    fn a_slow_adder_keeps_the_completer_from_the_fast_finish() {
        let state = State::new();
        assert!(!state.mark_slow());
        assert_eq!(
            state.complete(Ok(String::new()), || Err(())),
            Ok(Completed::Published(None))
        );
        assert!(!state.try_finish_fast());
        state.finish_slow();
        assert!(state.is_finished());
        assert!(state.mark_slow(), "finished: nothing more is added");
    }

    #[test]
    fn cancel_and_await_racing_completion_on_threads() {
        for _ in 0..RACE_ROUNDS {
            let state = Arc::new(State::new());
            let completer = {
                let state = state.clone();
                thread::spawn(move || state.complete(Ok(String::from("tea")), || Err(())))
            };
            let cancelled = state.request_cancel();
            let mut key = None;
            let first = state.poll_await(&mut key, &Context::from_waker(Waker::noop()));
            match completer.join().unwrap().unwrap() {
                Completed::Finished => assert!(!cancelled),
                Completed::Published(displaced) => {
                    assert!(cancelled);
                    assert_eq!(displaced, Some(Ok(String::from("tea"))));
                    drop(displaced);
                    assert!(state.try_finish_fast());
                }
            }
            let expected = if cancelled {
                Err(())
            } else {
                Ok(String::from("tea"))
            };
            assert_eq!(state.outcome(), Some(&expected));
            if first == Await::Pending {
                assert_eq!(key, Some(FAST_WAITER));
            }
            assert_eq!(
                state.poll_await(&mut key, &Context::from_waker(Waker::noop())),
                Await::Ready
            );
        }
    }

    #[test]
    fn the_tag_survives_every_step_of_the_word() {
        let tag = (1 << 56) - 1;
        let state = State::tagged(tag);
        let cx = Context::from_waker(Waker::noop());
        let (mut a, mut b) = (None, None);
        assert_eq!(state.poll_await(&mut a, &cx), Await::Pending);
        assert_eq!(state.poll_await(&mut b, &cx), Await::Slow);
        assert!(state.set_label("tagged"));
        assert!(state.request_cancel());
        state.release_fast_waiter();
        assert!(!state.mark_slow());
        assert_eq!(
            state.complete(Ok(String::new()), || Err(())),
            Ok(Completed::Published(Some(Ok(String::new()))))
        );
        assert!(!state.try_finish_fast());
        state.finish_slow();
        assert!(state.is_finished() && state.is_cancel_requested());
        assert_eq!(state.tag(), tag);
        assert_eq!(State::tagged(1).tag(), 1);
        assert_eq!(State::new().tag(), 0);
    }

    #[test]
    fn the_first_label_stays_and_leaves_the_other_bits_alone() {
        let state = State::new();
        assert_eq!(state.label(), None);
        assert!(state.set_label("brew"));
        assert!(!state.set_label("steep"));
        assert_eq!(state.label(), Some("brew"));
        assert!(!state.is_finished() && !state.is_cancel_requested());
        assert!(state.request_cancel());
        assert_eq!(
            state.complete(Ok(String::from("tea")), || Err(())),
            Ok(Completed::Published(Some(Ok(String::from("tea")))))
        );
        assert!(state.try_finish_fast());
        assert_eq!(state.label(), Some("brew"));
        assert_eq!(state.outcome(), Some(&Err(())));
    }

    #[test]
    fn a_label_set_on_one_thread_is_read_whole_on_another() {
        for _ in 0..RACE_ROUNDS {
            let state = Arc::new(State::new());
            let reader = {
                let state = state.clone();
                thread::spawn(move || state.label())
            };
            assert!(state.set_label("a coroutine"));
            let seen = reader.join().unwrap();
            assert!(seen.is_none() || seen == Some("a coroutine"));
        }
    }

    #[test]
    fn a_second_awaiter_goes_to_the_slow_part_and_a_released_slot_is_reused() {
        let state = State::new();
        let cx = Context::from_waker(Waker::noop());
        let (mut a, mut b, mut c) = (None, None, None);
        assert_eq!(state.poll_await(&mut a, &cx), Await::Pending);
        assert_eq!(state.poll_await(&mut b, &cx), Await::Slow);
        state.release_fast_waiter();
        assert_eq!(state.poll_await(&mut c, &cx), Await::Pending);
        assert_eq!(c, Some(FAST_WAITER));
    }
}
