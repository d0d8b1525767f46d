//! `#[aiokit::coroutine]`: parse the options and the item, validate, expand.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::ToTokens;

pub(crate) fn coroutine(args: TokenStream, item: TokenStream) -> TokenStream {
    let options = parse::options(args);
    let function = parse::function(item.clone());
    let result = match (options, function) {
        (Ok(options), Ok(mut function)) => match validate::function(&function) {
            Ok(()) => Ok(expand::coroutine(options, function)),
            Err(error) => {
                // Without its `...`, which only nightly accepts in a definition, the item
                // itself compiles, so the user sees our error alone.
                function.sig.variadic = None;
                let mut out = error.to_compile_error();
                out.extend(function.into_token_stream());
                return out;
            }
        },
        (Err(mut e), Err(e2)) => {
            e.combine(e2);
            Err(e)
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
    };
    result.unwrap_or_else(|error| {
        // The item stays, so that its callers do not add "cannot find function" errors.
        let mut out = error.to_compile_error();
        out.extend(item);
        out
    })
}
