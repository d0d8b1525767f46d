//! aiokit: Python asyncio's coordination toolkit for every Rust executor.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

extern crate alloc;

mod engine;
mod error;
mod sync;

pub use error::{CancelledError, InvalidStateError, TimeoutError};
mod timeout;
#[cfg(any(feature = "futures-timer", feature = "tokio", feature = "async-io"))]
mod timer;
pub use timeout::{WaitFor, wait_for_deadline};
#[cfg(any(feature = "futures-timer", feature = "tokio", feature = "async-io"))]
pub use timeout::{timeout, timeout_at, wait_for};
#[cfg(any(feature = "futures-timer", feature = "tokio", feature = "async-io"))]
pub use timer::{Sleep, sleep, sleep_until};
