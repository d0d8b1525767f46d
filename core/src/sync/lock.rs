//! asyncio's `Lock`.

use core::fmt;

use super::semaphore::Permits;

/// asyncio's `Lock`: one task at a time. [`acquire`](Lock::acquire) waits for the lock and
/// returns a [`LockGuard`]; dropping the guard releases the lock (asyncio's `release()`).
///
/// Built on an atomic count of one permit and an `event_listener::Event` (see
/// [the module docs](crate::sync) for why not async-lock). Waiters are woken in the order they
/// came; a dropped (cancelled) `acquire` never holds the lock and passes a wakeup it had
/// received on to the next waiter. Unlike asyncio, an `acquire` that finds the lock free takes
/// it even while a woken waiter has not run yet (see [the module docs](crate::sync)).
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let lock = aiokit::sync::Lock::new();
/// {
///     let _guard = lock.acquire().await; // async with lock:
///     assert!(lock.locked());
///     assert!(lock.try_acquire().is_none());
/// }
/// assert!(!lock.locked());
/// # });
/// ```
pub struct Lock {
    permit: Permits,
}

/// A held [`Lock`]; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl Lock {
    /// An unlocked lock.
    pub const fn new() -> Self {
        Lock {
            permit: Permits::new(1),
        }
    }

    /// Waits until the lock is free, then holds it until the guard is dropped.
    pub async fn acquire(&self) -> LockGuard<'_> {
        self.permit.take().await;
        LockGuard { lock: self }
    }

    /// Holds the lock if it is free now.
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        self.permit.try_take().then(|| LockGuard { lock: self })
    }

    /// Whether the lock is held.
    pub fn locked(&self) -> bool {
        self.permit.available() == 0
    }
}

impl Default for Lock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish()
    }
}

impl<'a> LockGuard<'a> {
    /// The lock this guard holds.
    pub fn lock(&self) -> &'a Lock {
        self.lock
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.permit.give();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}
