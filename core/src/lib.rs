//! aiokit: Python asyncio's coordination toolkit for every Rust executor.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

extern crate alloc;

mod engine;
mod error;
mod sync;

pub use error::{CancelledError, InvalidStateError, TimeoutError};

mod gather;
pub use gather::{Gather, TryGather, gather, try_gather};
