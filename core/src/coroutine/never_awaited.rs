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
/// aiokit::coroutine::suppress_never_awaited(|| drop(children)); // nothing reported
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
pub use hook::{NeverAwaited, set_never_awaited_hook, take_never_awaited_hook};

#[cfg(feature = "std")]
mod hook {
    use std::boxed::Box;
    use std::cell::Cell;
    use std::fmt;

    use crate::hooks::HookCell;

    /// The hook the reporter clones out and runs with no lock held.
    static HOOK: HookCell<dyn Fn(&NeverAwaited<'_>) + Send + Sync> = HookCell::new();

    std::thread_local! {
        static SUPPRESSED: Cell<usize> = const { Cell::new(0) };
    }

    /// A coroutine dropped without ever being polled, as given to the hook set by
    /// [`set_never_awaited_hook`] (asyncio's "coroutine 'x' was never awaited"
    /// `RuntimeWarning`).
    ///
    /// Its `Display` is `coroutine 'NAME' was never awaited`.
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::hooks::set_never_awaited_hook(|info: &aiokit::hooks::NeverAwaited<'_>| {
    ///     eprintln!("{info} (name: {})", info.name());
    /// });
    /// # drop(aiokit::hooks::take_never_awaited_hook());
    /// ```
    #[derive(Debug, Clone, Copy)]
    pub struct NeverAwaited<'a> {
        name: &'a str,
    }

    impl<'a> NeverAwaited<'a> {
        /// The coroutine's name ([`Coroutine::name`](crate::Coroutine::name)).
        ///
        /// # Examples
        ///
        /// See [`NeverAwaited`].
        pub fn name(&self) -> &'a str {
            self.name
        }
    }

    impl fmt::Display for NeverAwaited<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "coroutine '{}' was never awaited", self.name)
        }
    }

    /// Prints the report on stderr in debug builds; does nothing in release builds.
    fn default_hook(info: &NeverAwaited<'_>) {
        if cfg!(debug_assertions) {
            std::eprintln!("aiokit: {info}");
        }
    }

    /// Replaces the hook called when a coroutine is dropped without ever being polled, for the
    /// whole program (asyncio's "coroutine 'x' was never awaited" `RuntimeWarning`; shaped like
    /// `std::panic::set_hook`).
    ///
    /// The default hook prints `aiokit: coroutine 'NAME' was never awaited` on stderr in debug
    /// builds and does nothing in release builds. The hook runs inside the coroutine's `Drop`,
    /// on the dropping thread, with no lock of aiokit held (it may itself set or take the
    /// hook); it should not panic.
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
    /// for each coroutine. Inside
    /// [`suppress_never_awaited`](crate::coroutine::suppress_never_awaited) nothing is
    /// reported, and
    /// [`Coroutine::set_never_awaited_report`](crate::Coroutine::set_never_awaited_report)
    /// turns the report off for one coroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// static FORGOTTEN: AtomicUsize = AtomicUsize::new(0);
    /// aiokit::hooks::set_never_awaited_hook(|info| {
    ///     if info.name() == "forgotten" {
    ///         FORGOTTEN.fetch_add(1, Ordering::SeqCst);
    ///     }
    /// });
    /// drop(aiokit::Coroutine::new("forgotten", async {}));
    /// assert_eq!(FORGOTTEN.load(Ordering::SeqCst), 1);
    /// # drop(aiokit::hooks::take_never_awaited_hook());
    /// ```
    pub fn set_never_awaited_hook(hook: impl Fn(&NeverAwaited<'_>) + Send + Sync + 'static) {
        HOOK.set(Box::new(hook));
    }

    /// Removes the hook set by [`set_never_awaited_hook`], restoring the default one, and
    /// returns it (the default hook if none was set), as `std::panic::take_hook` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// static CALLS: AtomicUsize = AtomicUsize::new(0);
    /// aiokit::hooks::set_never_awaited_hook(|_| {
    ///     CALLS.fetch_add(1, Ordering::SeqCst);
    /// });
    /// let hook = aiokit::hooks::take_never_awaited_hook();
    /// drop(aiokit::Coroutine::new("after take", async {})); // the default hook reports it
    /// assert_eq!(CALLS.load(Ordering::SeqCst), 0);
    /// aiokit::hooks::set_never_awaited_hook(hook); // put it back
    /// # drop(aiokit::hooks::take_never_awaited_hook());
    /// ```
    pub fn take_never_awaited_hook() -> Box<dyn Fn(&NeverAwaited<'_>) + Send + Sync> {
        match HOOK.take() {
            None => Box::new(default_hook),
            Some(Ok(hook)) => hook,
            // A report is running it right now: hand back a hook that shares it.
            Some(Err(shared)) => Box::new(move |info: &NeverAwaited<'_>| shared(info)),
        }
    }

    pub(super) fn report(name: &str) {
        if SUPPRESSED.with(Cell::get) > 0 {
            return;
        }
        // Cloned out so that the hook runs without the lock held: it may itself drop
        // coroutines or replace the hook.
        let hook = HOOK.get();
        let info = NeverAwaited { name };
        match hook {
            Some(hook) => hook(&info),
            None => default_hook(&info),
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
