//! Parsing: the attribute's options and the item it is on.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::Parser;
use syn::{Item, ItemFn, LitStr};

/// The options of `#[aiokit::coroutine(...)]`.
#[derive(Default)]
pub(super) struct Options {
    /// `name = "..."`: replaces the function's path as the coroutine's name.
    pub(super) name: Option<LitStr>,
    /// `send`: the span of the option, which the `Send` check points at.
    pub(super) send: Option<Span>,
}

pub(super) fn options(args: TokenStream) -> syn::Result<Options> {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            if options.name.is_some() {
                return Err(meta.error("option `name` is given twice"));
            }
            let value: LitStr = meta.value()?.parse().map_err(|e| {
                syn::Error::new(e.span(), "expected a string literal: `name = \"...\"`")
            })?;
            if value.value().is_empty() {
                return Err(syn::Error::new_spanned(
                    value,
                    "the coroutine name must not be empty",
                ));
            }
            options.name = Some(value);
            Ok(())
        } else if meta.path.is_ident("send") {
            if options.send.is_some() {
                return Err(meta.error("option `send` is given twice"));
            }
            if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                return Err(meta.error("option `send` takes no value: write `send`"));
            }
            options.send = Some(syn::spanned::Spanned::span(&meta.path));
            Ok(())
        } else {
            Err(syn::Error::new_spanned(
                &meta.path,
                format!(
                    "unknown option `{}`: expected `name = \"...\"` or `send`",
                    meta.path.to_token_stream().to_string().replace(' ', "")
                ),
            ))
        }
    });
    parser.parse2(args)?;
    Ok(options)
}

/// The item, which must be a function with a body.
pub(super) fn function(item: TokenStream) -> syn::Result<ItemFn> {
    let item: Item = syn::parse2(item)?;
    let what = match item {
        Item::Fn(function) => return Ok(function),
        Item::Verbatim(tokens) => {
            // A signature without a body (a trait method declaration, a foreign function).
            if let Ok(sig) = syn::parse2::<syn::ForeignItemFn>(tokens.clone()) {
                return Err(syn::Error::new_spanned(
                    sig.sig,
                    "#[aiokit::coroutine] needs a function with a body",
                ));
            }
            return Err(not_a_function(tokens));
        }
        Item::Struct(i) => (i.struct_token.into_token_stream(), i.ident),
        Item::Enum(i) => (i.enum_token.into_token_stream(), i.ident),
        Item::Union(i) => (i.union_token.into_token_stream(), i.ident),
        Item::Trait(i) => (i.trait_token.into_token_stream(), i.ident),
        Item::Type(i) => (i.type_token.into_token_stream(), i.ident),
        Item::Const(i) => (i.const_token.into_token_stream(), i.ident),
        Item::Static(i) => (i.static_token.into_token_stream(), i.ident),
        Item::Mod(i) => (i.mod_token.into_token_stream(), i.ident),
        other => return Err(not_a_function(other.into_token_stream())),
    };
    let (keyword, ident) = what;
    let mut tokens = keyword;
    ident.to_tokens(&mut tokens);
    Err(not_a_function(tokens))
}

fn not_a_function(tokens: TokenStream) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        "#[aiokit::coroutine] goes on a function: `async fn` or `fn`",
    )
}
