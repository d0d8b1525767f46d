//! Expansion: evaluate the function and the arguments once, into a `Partial`, with a
//! formatter generated here, where the argument types are known.

use proc_macro2::Ident;
use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};
use syn::{Expr, Index};

use super::parse::{Arg, Call};

pub(super) fn partial(call: Call) -> TokenStream {
    let Call { func, args } = call;
    let name = display(func.to_token_stream());
    let bound: Vec<&Expr> = args
        .iter()
        .filter_map(|arg| match arg {
            Arg::Bound(expr) => Some(expr),
            Arg::Placeholder => None,
        })
        .collect();
    // The Debug of the arguments, position by position: `_` for a placeholder.
    let mut field = 0;
    let fmt_args = args.iter().map(|arg| match arg {
        Arg::Bound(_) => {
            let index = Index::from(field);
            field += 1;
            quote! {
                __aiokit_f.write_str(", ")?;
                (&::aiokit::__private::DebugArg(&__aiokit_args.#index)).__aiokit_fmt(__aiokit_f)?;
            }
        }
        Arg::Placeholder => quote! { __aiokit_f.write_str(", _")?; },
    });
    let fmt = quote! {
        |__aiokit_args, __aiokit_f| {
            #[allow(unused_imports)]
            use ::aiokit::__private::{DebugFallback as _, DebugViaDebug as _};
            #(#fmt_args)*
            ::core::result::Result::Ok(())
        }
    };
    if !args.iter().any(|arg| matches!(arg, Arg::Placeholder)) {
        return quote! {
            ::aiokit::__private::Partial::__new(#func, (#(#bound,)*), #name, #fmt)
        };
    }
    // With placeholders, the partial calls a wrapper taking the bound arguments first, then
    // the placeholders' values, and calling the function in the written order.
    let mut bound_names = vec![];
    let mut placed_names = vec![];
    let ordered: Vec<Ident> = args
        .iter()
        .map(|arg| match arg {
            Arg::Bound(_) => {
                let ident = format_ident!("__aiokit_bound{}", bound_names.len());
                bound_names.push(ident.clone());
                ident
            }
            Arg::Placeholder => {
                let ident = format_ident!("__aiokit_placed{}", placed_names.len());
                placed_names.push(ident.clone());
                ident
            }
        })
        .collect();
    quote! {
        {
            let __aiokit_func = #func;
            ::aiokit::__private::Partial::__new(
                move |#(#bound_names,)* #(#placed_names,)*| __aiokit_func(#(#ordered,)*),
                (#(#bound,)*),
                #name,
                #fmt,
            )
        }
    }
}

/// The function as the user wrote it, spaced like rustfmt would rather than like
/// `TokenStream::to_string` (`Kettle::boil`, not `Kettle :: boil`).
fn display(tokens: TokenStream) -> String {
    let mut out = String::new();
    write_tokens(tokens, &mut out);
    out
}

fn write_tokens(tokens: TokenStream, out: &mut String) {
    let mut glue = true;
    let mut pipes = 0;
    let mut after_joint_colon = false;
    for token in tokens {
        let closing_pipe =
            matches!(&token, TokenTree::Punct(p) if p.as_char() == '|' && pipes % 2 == 1);
        let joins_left = closing_pipe
            || after_joint_colon
            || match &token {
                TokenTree::Punct(p) => {
                    matches!(p.as_char(), ',' | '.' | '<' | '>' | '?' | ';')
                        || (p.as_char() == ':' && p.spacing() == Spacing::Joint)
                        || (p.as_char() == ':'
                            && out.ends_with(|c: char| c.is_alphanumeric() || c == '_'))
                }
                TokenTree::Group(g) => {
                    matches!(g.delimiter(), Delimiter::Parenthesis | Delimiter::Bracket)
                }
                _ => false,
            };
        if !glue && !joins_left {
            out.push(' ');
        }
        after_joint_colon = false;
        match &token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                write_tokens(group.stream(), out);
                out.push_str(close);
                glue = false;
            }
            TokenTree::Punct(p) => {
                let c = p.as_char();
                out.push(c);
                if c == '|' {
                    pipes += 1;
                }
                after_joint_colon = c == ':' && p.spacing() == Spacing::Joint;
                // Prefix operators and the opening `|` of a closure bind to what follows.
                glue = match c {
                    ':' => after_joint_colon || out.ends_with("::"),
                    '|' => pipes % 2 == 1,
                    '<' | '&' | '!' | '.' => true,
                    _ => p.spacing() == Spacing::Joint,
                };
            }
            other => {
                out.push_str(&other.to_string());
                glue = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::display;

    #[test]
    fn display_spaces_like_rustfmt() {
        let cases = [
            ("add_ingredient", "add_ingredient"),
            ("Kettle :: boil", "Kettle::boil"),
            (
                "Vec :: < u32 > :: with_capacity",
                "Vec::<u32>::with_capacity",
            ),
            ("| a : u32 , b : u32 | a + b", "|a: u32, b: u32| a + b"),
            ("move | x : & str | x . len ()", "move |x: &str| x.len()"),
            ("< T as Trait > :: method", "<T as Trait>::method"),
        ];
        for (input, expected) in cases {
            assert_eq!(display(input.parse().unwrap()), expected, "for {input}");
        }
    }
}
