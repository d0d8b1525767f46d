//! asyncio's `Lock`.

use core::fmt;

/// asyncio's `Lock`: one task at a time. [`acquire`](Lock::acquire) waits for the lock and
/// returns a [`LockGuard`]; dropping the guard releases the lock (asyncio's `release()`).
///
/// Built on `async_lock::Semaphore` with one permit. Waiters are woken in the order they
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
    permit: async_lock::Semaphore,
}

/// A held [`Lock`]; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
    _permit: async_lock::SemaphoreGuard<'a>,
}

impl Lock {
    /// An unlocked lock.
    pub const fn new() -> Self {
        Lock {
            permit: async_lock::Semaphore::new(1),
        }
    }

    /// Waits until the lock is free, then holds it until the guard is dropped.
    pub async fn acquire(&self) -> LockGuard<'_> {
        LockGuard {
            lock: self,
            _permit: self.permit.acquire().await,
        }
    }

    /// Holds the lock if it is free now.
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        self.permit.try_acquire().map(|permit| LockGuard {
            lock: self,
            _permit: permit,
        })
    }

    /// Whether the lock is held.
    pub fn locked(&self) -> bool {
        self.permit.available_permits() == 0
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

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}
