//! aiokit: Python asyncio's coordination toolkit for every Rust executor.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

extern crate alloc;

mod engine;
mod error;
#[cfg(feature = "std")]
mod spawn;
mod sync;
#[cfg(feature = "std")]
mod task;

pub use error::{CancelledError, InvalidStateError, TimeoutError};
#[cfg(feature = "std")]
pub use spawn::{LocalSpawn, LocalSpawnFuture, Spawn, SpawnFuture, spawn_local_task, spawn_task};
#[cfg(feature = "std")]
pub use task::{
    CallbackId, DoneCallback, DoneCallbackPanic, Shield, Task, TaskStateError,
    set_done_callback_panic_hook, shield, take_done_callback_panic_hook,
};
