//! aiokit: Python asyncio's coordination toolkit for every Rust executor.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

extern crate alloc;

mod engine;
mod error;
mod sync;

pub use error::{CancelledError, InvalidStateError, TimeoutError};

mod coroutine;
mod partial;

pub use coroutine::{Coroutine, CoroutineState, Named, suppress_never_awaited};
#[cfg(feature = "std")]
pub use coroutine::{set_never_awaited_hook, take_never_awaited_hook};
pub use partial::{Partial, PartialFn, PartialFnMut, PartialFnOnce};

#[cfg(feature = "macros")]
pub use aiokit_macros::{coroutine, partial};

/// Items the macro expansions name; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::coroutine::{__coroutine_send_check, __qualname as qualname, Coroutine};
    pub use crate::partial::{DebugArg, DebugFallback, DebugViaDebug, Partial};
}
