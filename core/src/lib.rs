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

mod gather_tuple;
pub use gather_tuple::{
    Gather1, Gather2, Gather3, Gather4, Gather5, Gather6, Gather7, Gather8, Gather9, Gather10,
    Gather11, Gather12, TryGather1, TryGather2, TryGather3, TryGather4, TryGather5, TryGather6,
    TryGather7, TryGather8, TryGather9, TryGather10, TryGather11, TryGather12,
};

/// Items the macros expand to; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::gather_tuple::{IntoGather, IntoTryGather, MaybeDone};
    pub use core::future::IntoFuture;
}
