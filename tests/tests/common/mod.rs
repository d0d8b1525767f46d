//! What the model and stress test binaries share.

#![allow(dead_code)]

pub mod counting;
pub mod script;
