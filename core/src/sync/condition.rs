//! asyncio's `Condition`.

use alloc::sync::Arc;
use core::fmt;

use event_listener::IntoNotification;

use super::{Lock, LockGuard};

/// asyncio's `Condition`: tasks wait, with a [`Lock`] held, until another task notifies them.
///
/// "Only with the lock held" is ownership: [`wait`](Condition::wait) takes the
/// [`LockGuard`], releases the lock while it waits and returns the lock held again;
/// [`notify`](Condition::notify) and [`notify_all`](Condition::notify_all) take a reference
/// to the guard. A guard of another lock is a bug, and panics (asyncio raises
/// `RuntimeError`).
///
/// Built on a [`Lock`] (its own, or one shared with [`with_lock`](Condition::with_lock)) and an
/// `event_listener::Event`. Waiters are notified in the order they started waiting. A waiter
/// dropped (cancelled) after its notification passes it on to the next waiter (as Python 3.13
/// does); a dropped `wait` drops its guard, so the lock is not held again.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// # futures::executor::block_on(async {
/// let cond = aiokit::sync::Condition::new();
/// let ready = AtomicBool::new(false);
/// let consumer = async {
///     let guard = cond.acquire().await;
///     let _guard = cond.wait_for(guard, || ready.load(Ordering::SeqCst)).await;
///     "consumed"
/// };
/// let producer = async {
///     let guard = cond.acquire().await;
///     ready.store(true, Ordering::SeqCst);
///     cond.notify_all(&guard);
/// };
/// let (consumed, ()) = aiokit::gather!(consumer, producer).await;
/// assert_eq!(consumed, "consumed");
/// # });
/// ```
pub struct Condition {
    lock: Arc<Lock>,
    waiters: event_listener::Event,
}

impl Condition {
    /// A condition over a new lock of its own.
    pub fn new() -> Self {
        Self::with_lock(Arc::new(Lock::new()))
    }

    /// A condition over `lock`, which other conditions may share (asyncio's
    /// `Condition(lock)`).
    pub fn with_lock(lock: Arc<Lock>) -> Self {
        Condition {
            lock,
            waiters: event_listener::Event::new(),
        }
    }

    /// The underlying lock.
    pub fn lock(&self) -> &Arc<Lock> {
        &self.lock
    }

    /// Acquires the underlying lock (asyncio's `async with cond:`).
    pub async fn acquire(&self) -> LockGuard<'_> {
        self.lock.acquire().await
    }

    /// Whether the underlying lock is held.
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Releases the lock held by `guard`, waits until notified, then acquires the lock again
    /// and returns it held.
    ///
    /// # Panics
    ///
    /// If `guard` holds another lock than this condition's.
    pub async fn wait(&self, guard: LockGuard<'_>) -> LockGuard<'_> {
        self.check(&guard, "wait");
        // Listening before the lock is released: a notify (which needs the lock) comes after.
        let listener = self.waiters.listen();
        drop(guard);
        listener.await;
        self.lock.acquire().await
    }

    /// Waits (as [`wait`](Self::wait) does, as many times as needed) until `predicate`
    /// returns true, and returns the lock held. `predicate` is called with the lock held, first
    /// at once.
    ///
    /// # Panics
    ///
    /// If `guard` holds another lock than this condition's.
    pub async fn wait_for<'a>(
        &'a self,
        guard: LockGuard<'a>,
        mut predicate: impl FnMut() -> bool,
    ) -> LockGuard<'a> {
        self.check(&guard, "wait_for");
        let mut guard = guard;
        while !predicate() {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiters that were not notified yet.
    ///
    /// # Panics
    ///
    /// If `guard` holds another lock than this condition's.
    pub fn notify(&self, guard: &LockGuard<'_>, n: usize) {
        self.check(guard, "notify");
        self.waiters.notify(n.additional());
    }

    /// Wakes every waiter.
    ///
    /// # Panics
    ///
    /// If `guard` holds another lock than this condition's.
    pub fn notify_all(&self, guard: &LockGuard<'_>) {
        self.check(guard, "notify_all");
        self.waiters.notify(usize::MAX);
    }

    fn check(&self, guard: &LockGuard<'_>, method: &str) {
        assert!(
            core::ptr::eq(guard.lock(), &*self.lock),
            "Condition::{method} was given the guard of another lock than the condition's"
        );
    }
}

impl Default for Condition {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}
