//! `partial!(f, a, b)`: parse the call, expand to `Partial::__new`.

mod expand;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn partial(input: TokenStream) -> TokenStream {
    match parse::call(input) {
        Ok(call) => expand::partial(call),
        Err(error) => error.to_compile_error(),
    }
}
