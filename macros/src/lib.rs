//! Procedural macros for [aiokit](https://docs.rs/aiokit). Use them through `aiokit`'s
//! re-exports (`#[aiokit::coroutine]`, `aiokit::partial!`), which carry the documentation.
//!
//! Each macro parses its input, validates it, then expands it, in modules of those names; on
//! an error the original item is emitted beside the error, so the user sees that one error
//! rather than a cascade of "function not found".

#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod coroutine;
mod partial;

/// Makes a function a named, lazy coroutine. See `aiokit::coroutine` for the documentation.
#[proc_macro_attribute]
pub fn coroutine(args: TokenStream, item: TokenStream) -> TokenStream {
    coroutine::coroutine(args.into(), item.into()).into()
}

/// Binds leading arguments of a function. See `aiokit::partial!` for the documentation.
#[proc_macro]
pub fn partial(input: TokenStream) -> TokenStream {
    partial::partial(input.into()).into()
}
