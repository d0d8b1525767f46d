//! The "coroutine was never awaited" report: the hook, and the scope that suppresses it.

/// Drops never-polled coroutines without reporting them.
///
/// Runs `f`; every [`Coroutine`](crate::Coroutine) dropped on this thread while `f` runs is
/// treated as cancelled on purpose, not forgotten. Every combinator drops the children it
/// holds this way (when it is dropped, polled or not, and when it abandons children by
/// design: `try_gather` after the first error, a `TaskGroup` aborting); user code can do the
/// same.
///
/// # Examples
///
/// ```
/// let children = vec![aiokit::Coroutine::new("child", async {})];
/// aiokit::suppress_never_awaited(|| drop(children)); // nothing reported
/// ```
pub fn suppress_never_awaited<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "std")]
    {
        hook::suppressed(f)
    }
    #[cfg(not(feature = "std"))]
    {
        f()
    }
}

#[cfg(feature = "std")]
pub(super) fn report_never_awaited(name: &str) {
    hook::report(name);
}

#[cfg(not(feature = "std"))]
pub(super) fn report_never_awaited(_name: &str) {}

#[cfg(feature = "std")]
pub use hook::{set_never_awaited_hook, take_never_awaited_hook};

#[cfg(feature = "std")]
mod hook {
    use std::cell::Cell;
    use std::sync::{Arc, RwLock};

    type Hook = Arc<dyn Fn(&str) + Send + Sync>;

    static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

    std::thread_local! {
        static SUPPRESSED: Cell<usize> = const { Cell::new(0) };
    }

    /// Sets the function called with a coroutine's name when it is dropped without ever being
    /// polled, replacing the previous one (asyncio's "coroutine 'x' was never awaited"
    /// `RuntimeWarning`).
    ///
    /// The default hook prints `coroutine 'NAME' was never awaited` on stderr in debug builds
    /// and does nothing in release builds. The hook runs inside the coroutine's `Drop`, on the
    /// dropping thread; it should not panic.
    ///
    /// # What is reported
    ///
    /// A coroutine dropped without ever being polled, unless it was handed to a combinator:
    /// children handed to [`gather`](crate::gather()), [`try_gather`](crate::try_gather()),
    /// [`gather!`](crate::gather!), [`try_gather!`](crate::try_gather!),
    /// [`wait`](crate::wait()), [`as_completed`](crate::as_completed()), a
    /// [`Pending`](crate::Pending) set or a [`TaskGroup`](crate::TaskGroup) were handed over on
    /// purpose, so dropping the combinator, polled or not, reports none of them (every
    /// combinator alike). asyncio differs by combinator: `gather` wraps its coroutines in tasks
    /// at once and never warns, while an `as_completed` iterator that is never iterated warns
    /// for each coroutine. Inside [`suppress_never_awaited`](crate::suppress_never_awaited)
    /// nothing is reported, and [`Coroutine::set_never_awaited_report`](crate::Coroutine::set_never_awaited_report)
    /// turns the report off for one coroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// static FORGOTTEN: AtomicUsize = AtomicUsize::new(0);
    /// aiokit::set_never_awaited_hook(|name| {
    ///     if name == "forgotten" {
    ///         FORGOTTEN.fetch_add(1, Ordering::SeqCst);
    ///     }
    /// });
    /// drop(aiokit::Coroutine::new("forgotten", async {}));
    /// assert_eq!(FORGOTTEN.load(Ordering::SeqCst), 1);
    /// # aiokit::take_never_awaited_hook();
    /// ```
    pub fn set_never_awaited_hook(hook: impl Fn(&str) + Send + Sync + 'static) {
        let hook: Hook = Arc::new(hook);
        let old = HOOK
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .replace(hook);
        // The old hook is user data (its captures): dropped with the lock released.
        drop(old);
    }

    /// Removes the hook set by [`set_never_awaited_hook`], restoring the default, and returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::set_never_awaited_hook(|_| {});
    /// assert!(aiokit::take_never_awaited_hook().is_some());
    /// assert!(aiokit::take_never_awaited_hook().is_none());
    /// ```
    pub fn take_never_awaited_hook() -> Option<impl Fn(&str) + Send + Sync + 'static> {
        let hook = HOOK.write().unwrap_or_else(|e| e.into_inner()).take()?;
        Some(move |name: &str| hook(name))
    }

    pub(super) fn report(name: &str) {
        if SUPPRESSED.with(Cell::get) > 0 {
            return;
        }
        // Cloned out so that the hook runs without the lock held: it may itself drop
        // coroutines or replace the hook.
        let hook = HOOK.read().unwrap_or_else(|e| e.into_inner()).clone();
        match hook {
            Some(hook) => hook(name),
            None if cfg!(debug_assertions) => {
                std::eprintln!("aiokit: coroutine '{name}' was never awaited");
            }
            None => {}
        }
    }

    pub(super) fn suppressed<R>(f: impl FnOnce() -> R) -> R {
        // A guard, so that a panicking `f` (a child's destructor) still restores the count.
        struct Guard;
        impl Drop for Guard {
            fn drop(&mut self) {
                SUPPRESSED.with(|n| n.set(n.get() - 1));
            }
        }
        SUPPRESSED.with(|n| n.set(n.get() + 1));
        let _guard = Guard;
        f()
    }
}
