//! Parsing: `function, argument, ...`, each an expression.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Token};

pub(super) struct Call {
    pub(super) func: Expr,
    pub(super) args: Vec<Expr>,
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
            args.push(expression(input, "an argument")?);
        }
        Ok(Call { func, args })
    };
    parser.parse2(input)
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
            "`_` placeholders are not supported: bind the leading arguments, \
             or write a closure for other positions",
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
