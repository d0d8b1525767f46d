//! Atomics and `Arc` from std, or from loom when the engine is model-checked
//! (`RUSTFLAGS="--cfg aiokit_loom"`).

#[cfg(not(aiokit_loom))]
pub(crate) use alloc::sync::Arc;
#[cfg(not(aiokit_loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

#[cfg(aiokit_loom)]
pub(crate) use loom::sync::Arc;
#[cfg(aiokit_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
