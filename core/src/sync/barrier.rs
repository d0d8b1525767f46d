//! asyncio's `Barrier` (Python 3.11).

use core::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The barrier was aborted, or reset while the task waited (asyncio's `BrokenBarrierError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken or was reset")
    }
}

impl core::error::Error for BrokenBarrierError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Tasks arrive and wait for the last one.
    Filling,
    /// The last one arrived: the waiters leave; newcomers wait until all have left.
    Draining,
    /// `reset` with waiters: they leave with an error; newcomers wait until all have left.
    Resetting,
    /// `abort`: every wait fails until `reset`.
    Broken,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// Tasks inside `wait` past the entry block (asyncio's `_count`).
    count: usize,
}

/// asyncio's `Barrier`: [`wait`](Barrier::wait) blocks until `parties` tasks are waiting, then
/// releases them all, each with its arrival index (`0` for the first, `parties - 1` for the
/// last). The barrier can be used again once they have all left.
///
/// [`abort`](Barrier::abort) breaks it: waiting and later tasks get [`BrokenBarrierError`].
/// [`reset`](Barrier::reset) makes the waiting tasks fail with the error and returns the barrier
/// to its empty state.
///
/// Built on a `std::sync::Mutex` over the phase and count and an `event_listener::Event` for
/// the waiters; not on `async_lock::Barrier`, which has no abort, reset or arrival index. A
/// dropped (cancelled) `wait` leaves the barrier as asyncio's cancelled `wait` does: it no
/// longer counts as waiting.
///
/// # Examples
///
/// ```
/// use aiokit::sync::Barrier;
///
/// # futures::executor::block_on(async {
/// let barrier = Barrier::new(3);
/// let (a, b, c) = aiokit::gather!(barrier.wait(), barrier.wait(), barrier.wait()).await;
/// let mut indices = [a.unwrap(), b.unwrap(), c.unwrap()];
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
///
/// barrier.abort();
/// assert!(barrier.broken());
/// assert_eq!(barrier.wait().await, Err(aiokit::sync::BrokenBarrierError));
/// # });
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
    changed: event_listener::Event,
}

/// Inside `wait`: counted in `State::count` until dropped, on return or on cancellation.
struct Inside<'a> {
    barrier: &'a Barrier,
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        let mut state = self.barrier.lock();
        state.count -= 1;
        if state.count == 0 {
            if matches!(state.phase, Phase::Draining | Phase::Resetting) {
                state.phase = Phase::Filling;
            }
            drop(state);
            self.barrier.changed.notify(usize::MAX);
        }
    }
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    ///
    /// If `parties` is 0 (asyncio raises `ValueError`).
    pub fn new(parties: usize) -> Self {
        assert!(parties > 0, "a Barrier needs at least one party");
        Barrier {
            parties,
            state: Mutex::new(State {
                phase: Phase::Filling,
                count: 0,
            }),
            changed: event_listener::Event::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock: it cannot be poisoned by one.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `parties` tasks wait, and returns this task's arrival index. While the
    /// previous round drains (or a reset completes), a newcomer first waits for it to end.
    /// Fails if the barrier is broken ([`abort`](Self::abort)) or reset while waiting.
    pub async fn wait(&self) -> Result<usize, BrokenBarrierError> {
        // Block while the barrier drains or resets.
        let (index, inside) = loop {
            let listener = {
                let mut state = self.lock();
                match state.phase {
                    Phase::Broken => return Err(BrokenBarrierError),
                    Phase::Filling => {
                        let index = state.count;
                        state.count += 1;
                        if index + 1 == self.parties {
                            // The last party: release the others.
                            state.phase = Phase::Draining;
                        }
                        break (index, Inside { barrier: self });
                    }
                    Phase::Draining | Phase::Resetting => self.changed.listen(),
                }
            };
            listener.await;
        };
        if index + 1 == self.parties {
            self.changed.notify(usize::MAX);
            drop(inside);
            return Ok(index);
        }
        loop {
            let listener = {
                let state = self.lock();
                match state.phase {
                    Phase::Filling => self.changed.listen(),
                    Phase::Draining => break,
                    Phase::Broken | Phase::Resetting => {
                        drop(state);
                        drop(inside);
                        return Err(BrokenBarrierError);
                    }
                }
            };
            listener.await;
        }
        drop(inside);
        Ok(index)
    }

    /// Returns the barrier to its empty state; tasks waiting on it fail with
    /// [`BrokenBarrierError`]. Also repairs a broken barrier.
    pub fn reset(&self) {
        let mut state = self.lock();
        state.phase = if state.count > 0 {
            Phase::Resetting
        } else {
            Phase::Filling
        };
        drop(state);
        self.changed.notify(usize::MAX);
    }

    /// Breaks the barrier: waiting and later [`wait`](Self::wait)s fail with
    /// [`BrokenBarrierError`] until [`reset`](Self::reset).
    pub fn abort(&self) {
        self.lock().phase = Phase::Broken;
        self.changed.notify(usize::MAX);
    }

    /// The number of tasks needed to pass the barrier.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The number of tasks waiting for the barrier to fill (0 while it drains or resets).
    pub fn n_waiting(&self) -> usize {
        let state = self.lock();
        if state.phase == Phase::Filling {
            state.count
        } else {
            0
        }
    }

    /// Whether the barrier is broken ([`abort`](Self::abort)).
    pub fn broken(&self) -> bool {
        self.lock().phase == Phase::Broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &state.count)
            .field("phase", &state.phase)
            .finish()
    }
}
