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
