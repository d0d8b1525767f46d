//! The program-wide hooks, one shape for both (like `std::panic::set_hook` / `take_hook`):
//! `set_*_hook(impl Fn(&Info) + Send + Sync + 'static)` replaces the hook, `take_*_hook()`
//! removes it, restoring the default, and returns it (or the default one). Hooks run with no
//! lock of aiokit held: a hook may itself set or take a hook.
//!
//! | Report | asyncio | Hook | Its argument |
//! |---|---|---|---|
//! | a coroutine dropped without ever being polled | "coroutine 'x' was never awaited" `RuntimeWarning` | [`set_never_awaited_hook`] | [`NeverAwaited`] |
//! | a panicking done-callback | the loop's exception handler | [`set_done_callback_panic_hook`] | [`DoneCallbackPanic`] |

pub use crate::coroutine::never_awaited::{
    NeverAwaited, set_never_awaited_hook, take_never_awaited_hook,
};
pub use crate::task::callback::{
    DoneCallbackPanic, set_done_callback_panic_hook, take_done_callback_panic_hook,
};

use std::boxed::Box;
use std::sync::{Arc, PoisonError, RwLock};

/// The storage of one program-wide hook: set, take and read so that no hook runs, and no old
/// hook is dropped, while the lock is held.
pub(crate) struct HookCell<H: ?Sized>(RwLock<Option<Arc<Box<H>>>>);

impl<H: ?Sized> HookCell<H> {
    pub(crate) const fn new() -> Self {
        Self(RwLock::new(None))
    }

    /// Replaces the hook; the old one (user data: its captures) is dropped with the lock
    /// released.
    pub(crate) fn set(&self, hook: Box<H>) {
        let old = self
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(Arc::new(hook));
        drop(old);
    }

    /// Removes the hook: `Ok` with it, or `Err` with a share of it while a report runs it.
    pub(crate) fn take(&self) -> Option<Result<Box<H>, Arc<Box<H>>>> {
        let old = self
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        old.map(Arc::try_unwrap)
    }

    /// The hook, cloned out so that it runs with no lock held (it may set or take the hook).
    pub(crate) fn get(&self) -> Option<Arc<Box<H>>> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
