//! Procedural macros for [aiokit](https://docs.rs/aiokit). Use them through `aiokit`'s
//! re-exports (`#[aiokit::coroutine]`, `aiokit::partial!`).
