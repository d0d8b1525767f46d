//! aiokit: Python asyncio's coordination toolkit for every Rust executor.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

extern crate alloc;

mod coroutine;
mod engine;
mod error;
mod gather;
mod gather_tuple;
mod partial;
#[cfg(feature = "std")]
mod spawn;
mod sync;
#[cfg(feature = "std")]
mod task;
#[cfg(feature = "std")]
mod task_group;
mod timeout;
#[cfg(any(feature = "futures-timer", feature = "tokio", feature = "async-io"))]
mod timer;

pub use coroutine::{Coroutine, CoroutineState, Named, suppress_never_awaited};
#[cfg(feature = "std")]
pub use coroutine::{set_never_awaited_hook, take_never_awaited_hook};
pub use error::ExceptionGroup;
pub use error::{CancelledError, InvalidStateError, TimeoutError};
pub use gather::{Gather, TryGather, gather, try_gather};
pub use gather_tuple::{
    Gather1, Gather2, Gather3, Gather4, Gather5, Gather6, Gather7, Gather8, Gather9, Gather10,
    Gather11, Gather12, TryGather1, TryGather2, TryGather3, TryGather4, TryGather5, TryGather6,
    TryGather7, TryGather8, TryGather9, TryGather10, TryGather11, TryGather12,
};
pub use partial::{Partial, PartialFn, PartialFnMut, PartialFnOnce};
#[cfg(feature = "std")]
pub use spawn::{LocalSpawn, LocalSpawnFuture, Spawn, SpawnFuture, spawn_local_task, spawn_task};
#[cfg(feature = "std")]
pub use task::{
    CallbackId, DoneCallback, DoneCallbackPanic, Shield, Task, TaskStateError,
    set_done_callback_panic_hook, shield, take_done_callback_panic_hook,
};
#[cfg(feature = "std")]
pub use task_group::{LocalTaskGroup, SendBody, TaskGroup};
pub use timeout::{WaitFor, wait_for_deadline};
#[cfg(any(feature = "futures-timer", feature = "tokio", feature = "async-io"))]
pub use timeout::{timeout, timeout_at, wait_for};
#[cfg(any(feature = "futures-timer", feature = "tokio", feature = "async-io"))]
pub use timer::{Sleep, sleep, sleep_until};

#[cfg(feature = "macros")]
pub use aiokit_macros::{coroutine, partial};

/// Items the macro expansions name; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::coroutine::{__coroutine_send_check, __qualname as qualname, Coroutine};
    pub use crate::gather_tuple::{IntoGather, IntoTryGather, MaybeDone};
    pub use crate::partial::{DebugArg, DebugFallback, DebugViaDebug, Partial};
    pub use core::future::IntoFuture;
}
