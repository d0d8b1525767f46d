//! Parsing: `function, argument, ...`, each an expression or a `_` placeholder.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Token};

pub(super) struct Call {
    pub(super) func: Expr,
    pub(super) args: Vec<Arg>,
}

/// One argument position of the call.
pub(super) enum Arg {
    /// Bound now: evaluated once, when the partial is made.
    Bound(Expr),
    /// `_`: filled, in order, by the arguments the partial is called with (Python 3.14's
    /// `functools.Placeholder`).
    Placeholder,
}

const USAGE: &str = "`partial!(function, arguments...)`";

pub(super) fn call(input: TokenStream) -> syn::Result<Call> {
    let parser = |input: ParseStream<'_>| {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                format!("expected a function to bind arguments to: {USAGE}"),
            ));
        }
        if input.peek(Token![,]) {
            return Err(input.error(format!("expected a function before the first `,`: {USAGE}")));
        }
        let func = expression(input, "a function")?;
        let mut args = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if input.peek(Token![_]) && (input.peek2(Token![,]) || is_last(input)) {
                input.parse::<Token![_]>()?;
                args.push(Arg::Placeholder);
            } else {
                args.push(Arg::Bound(expression(input, "an argument")?));
            }
        }
        Ok(Call { func, args })
    };
    parser.parse2(input)
}

/// Whether only `_` (and maybe a trailing `,`) is left.
fn is_last(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    fork.parse::<Token![_]>().is_ok()
        && (fork.is_empty() || (fork.parse::<Token![,]>().is_ok() && fork.is_empty()))
}

fn expression(input: ParseStream<'_>, what: &str) -> syn::Result<Expr> {
    if input.peek(Token![,]) {
        return Err(input.error(format!("expected {what} before this `,`")));
    }
    let span = input.span();
    let expr: Expr = input
        .parse()
        .map_err(|_| syn::Error::new(span, format!("expected {what}: an expression")))?;
    match &expr {
        Expr::Infer(_) => Err(syn::Error::new_spanned(
            &expr,
            format!("expected {what}: `_` stands only for an argument"),
        )),
        Expr::Let(_) => Err(syn::Error::new_spanned(
            &expr,
            format!("expected {what}: an expression, not a `let` binding"),
        )),
        _ if !input.is_empty() && !input.peek(Token![,]) => {
            Err(input.error(format!("expected `,` after {what}")))
        }
        _ => Ok(expr),
    }
}
