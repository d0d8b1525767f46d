//! asyncio's `Semaphore` and `BoundedSemaphore`.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use event_listener::{IntoNotification, Listener};

/// The permits and their waiters, shared by [`Lock`](super::Lock) and both semaphores.
///
/// Not `async_lock::Semaphore` (checked with async-lock 3.5): its release wakes with a
/// non-additional notification, so two releases in a row before the first woken waiter runs
/// wake only one waiter, and the second sleeps beside a free permit; and an acquire that finds a
/// permit on its retry drops its listener with the wakeup it got, which then wakes the next
/// waiter for nothing and sends it to the back of the line. Here every release wakes one more
/// waiter, and a wakeup is discarded only by the acquire that took a permit.
pub(super) struct Permits {
    count: AtomicUsize,
    waiters: event_listener::Event,
}

impl Permits {
    pub(super) const fn new(count: usize) -> Self {
        Permits {
            count: AtomicUsize::new(count),
            waiters: event_listener::Event::new(),
        }
    }

    pub(super) fn try_take(&self) -> bool {
        let mut current = self.count.load(Ordering::Acquire);
        while current > 0 {
            match self.count.compare_exchange_weak(
                current,
                current - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => current = now,
            }
        }
        false
    }

    pub(super) async fn take(&self) {
        loop {
            if self.try_take() {
                return;
            }
            let listener = self.waiters.listen();
            if self.try_take() {
                // A wakeup that came meanwhile was for the permit just taken.
                listener.discard();
                return;
            }
            listener.await;
        }
    }

    pub(super) fn give(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
        self.waiters.notify(1.additional());
    }

    pub(super) fn available(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

/// A permit of a [`Semaphore`] or [`BoundedSemaphore`]; dropping it gives the permit back.
/// [`forget`](SemaphoreGuard::forget) keeps the permit taken, for asyncio-style code that
/// calls `release()` later.
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    permits: &'a Permits,
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit taken without a guard (asyncio's bare `await sem.acquire()`); give it
    /// back with [`Semaphore::release`] / [`BoundedSemaphore::release`].
    pub fn forget(self) {
        core::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        self.permits.give();
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}

/// asyncio's `Semaphore`: a count of permits. [`acquire`](Semaphore::acquire) waits for a
/// permit and returns a [`SemaphoreGuard`] that gives it back when dropped; for asyncio-style
/// code, [`SemaphoreGuard::forget`] keeps the permit and [`release`](Semaphore::release) adds
/// one.
///
/// Built on an atomic count and an `event_listener::Event` (see [the module
/// docs](crate::sync) for why not `async_lock::Semaphore`). Waiters are woken in the order they
/// came, one per permit given back; a dropped (cancelled) `acquire` never holds a permit and
/// passes a wakeup it had received on to the next waiter.
///
/// # Examples
///
/// ```
/// use aiokit::sync::Semaphore;
///
/// # futures::executor::block_on(async {
/// let sem = Semaphore::new(2);
/// let first = sem.acquire().await; // async with sem:
/// sem.acquire().await.forget(); // await sem.acquire()
/// assert!(sem.locked());
/// drop(first);
/// sem.release(); // sem.release()
/// assert_eq!(sem.available_permits(), 2);
/// # });
/// ```
pub struct Semaphore {
    permits: Permits,
}

impl Semaphore {
    /// A semaphore with `value` permits.
    pub const fn new(value: usize) -> Self {
        Semaphore {
            permits: Permits::new(value),
        }
    }

    /// Waits for a permit and holds it until the guard is dropped.
    pub async fn acquire(&self) -> SemaphoreGuard<'_> {
        self.permits.take().await;
        SemaphoreGuard {
            permits: &self.permits,
        }
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.permits.try_take().then(|| SemaphoreGuard {
            permits: &self.permits,
        })
    }

    /// Adds a permit and wakes one waiter (asyncio's `release`, which may raise the count above
    /// its initial value; [`BoundedSemaphore`] refuses that).
    pub fn release(&self) {
        self.permits.give();
    }

    /// Whether an `acquire` would have to wait: no permit is free.
    pub fn locked(&self) -> bool {
        self.permits.available() == 0
    }

    /// The number of free permits (asyncio's private `_value`).
    pub fn available_permits(&self) -> usize {
        self.permits.available()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .finish()
    }
}

/// [`BoundedSemaphore::release`] would raise the count above the initial value (asyncio
/// raises `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReleaseError;

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl core::error::Error for ReleaseError {}

/// asyncio's `BoundedSemaphore`: a [`Semaphore`] whose [`release`](BoundedSemaphore::release)
/// refuses to raise the count above its initial value.
///
/// # Examples
///
/// ```
/// use aiokit::sync::{BoundedSemaphore, ReleaseError};
///
/// # futures::executor::block_on(async {
/// let sem = BoundedSemaphore::new(1);
/// sem.acquire().await.forget();
/// assert_eq!(sem.release(), Ok(()));
/// assert_eq!(sem.release(), Err(ReleaseError));
/// assert_eq!(sem.available_permits(), 1);
/// # });
/// ```
pub struct BoundedSemaphore {
    permits: Permits,
    bound: usize,
}

impl BoundedSemaphore {
    /// A semaphore with `value` permits, and never more.
    pub const fn new(value: usize) -> Self {
        BoundedSemaphore {
            permits: Permits::new(value),
            bound: value,
        }
    }

    /// Waits for a permit and holds it until the guard is dropped.
    pub async fn acquire(&self) -> SemaphoreGuard<'_> {
        self.permits.take().await;
        SemaphoreGuard {
            permits: &self.permits,
        }
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.permits.try_take().then(|| SemaphoreGuard {
            permits: &self.permits,
        })
    }

    /// Gives back a permit kept with [`SemaphoreGuard::forget`] and wakes one waiter; with
    /// every permit already free, fails and changes nothing.
    pub fn release(&self) -> Result<(), ReleaseError> {
        let count = &self.permits.count;
        let mut current = count.load(Ordering::Acquire);
        loop {
            if current >= self.bound {
                return Err(ReleaseError);
            }
            match count.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        self.permits.waiters.notify(1.additional());
        Ok(())
    }

    /// Whether an `acquire` would have to wait: no permit is free.
    pub fn locked(&self) -> bool {
        self.permits.available() == 0
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        self.permits.available()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available_permits", &self.available_permits())
            .field("bound", &self.bound)
            .finish()
    }
}
