//! Property tests of both macros over generated token streams: each input either expands (to
//! code that parses) or gives an error with a message; never a panic.
//!
//! The inputs are strings of tokens from a small vocabulary (keywords, names, punctuation,
//! literals, nested groups) mixed with near-valid shapes (function items, partial calls), lexed
//! by proc-macro2.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proc_macro2::{TokenStream, TokenTree};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "f", "name", "send", "a", "b", "_", "async", "fn", "pub", "unsafe", "const", "extern", "self",
    "Self", "mut", "impl", "dyn", "where", "let", "return", "move", "u32", "T", "'a", "\"\"",
    "\"brew\"", "1", "'c'", ",", ",", ",", "=", ":", "::", ";", ".", "..", "...", "&", "*", "<",
    ">", "->", "=>", "-", "!", "#", "?", "|", "+",
];

/// A token string: words and groups, nested up to three deep.
fn tokens() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(WORDS).prop_map(str::to_owned);
    leaf.prop_recursive(3, 48, 8, |inner| {
        prop_oneof![
            4 => prop::collection::vec(inner.clone(), 0..8).prop_map(|v| v.join(" ")),
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("({})", v.join(" "))),
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("{{{}}}", v.join(" "))),
            1 => prop::collection::vec(inner, 0..4).prop_map(|v| format!("[{}]", v.join(" "))),
        ]
    })
}

/// A function item with random parts: mostly near the shapes the attribute accepts.
fn function() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["", "pub", "pub(crate)", "#[inline]", "/// doc\n"][..]),
        prop::sample::select(
            &[
                "",
                "async",
                "unsafe",
                "const",
                "extern \"C\"",
                "async unsafe",
            ][..],
        ),
        prop::sample::select(&["f", "brew", "r#match", "_f"][..]),
        prop::sample::select(&["", "<T>", "<'a>", "<T: Clone>"][..]),
        prop::sample::select(
            &[
                "",
                "a: u32",
                "&self",
                "self",
                "mut a: u32, b: &str",
                "a: impl Clone",
                "...",
                "a: T, ...",
            ][..],
        ),
        prop::sample::select(&["", "-> u32", "-> impl Send", "-> Self"][..]),
        prop::sample::select(&["{}", "{ 1 }", ";", "{ a }", "{ self }"][..]),
        tokens(),
        0u8..4,
    )
        .prop_map(
            |(attrs, qual, name, generics, args, ret, body, noise, mode)| {
                let item = format!("{attrs} {qual} fn {name}{generics}({args}) {ret} {body}");
                match mode {
                    0 => noise,
                    1 => format!("{item} {noise}"),
                    _ => item,
                }
            },
        )
}

fn options() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => tokens(),
        1 => prop::collection::vec(
            prop::sample::select(&["name = \"brew\"", "name = \"\"", "send", "send = x", "name", "name = 1", "other", ""][..]),
            0..4
        )
        .prop_map(|v| v.join(", ")),
    ]
}

fn partial_call() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => tokens(),
        2 => (
            prop::sample::select(&["f", "_", "Kettle::boil", "|x: u32| x", "std::cmp::max::<u32>", "", "1 +"][..]),
            prop::collection::vec(prop::sample::select(&["a", "_", "1", "", "let x = 1", "a b", "&a", "{ a }", "|x| x"][..]), 0..5),
            any::<bool>(),
        )
            .prop_map(|(f, args, trailing)| {
                let mut s = f.to_owned();
                for a in args {
                    s.push_str(", ");
                    s.push_str(a);
                }
                if trailing {
                    s.push(',');
                }
                s
            }),
    ]
}

fn lex(s: &str) -> Option<TokenStream> {
    s.parse().ok()
}

/// The messages of every `compile_error!` in `out`.
fn errors(out: &TokenStream) -> Vec<String> {
    let tokens: Vec<TokenTree> = out.clone().into_iter().collect();
    tokens
        .iter()
        .enumerate()
        .filter(|(_, tt)| matches!(tt, TokenTree::Ident(ident) if ident == "compile_error"))
        .map(|(i, _)| {
            tokens
                .get(i + 2)
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect()
}

/// `out` either holds errors, each with a message, or holds none and parses as `parses`.
/// (Where each error points is checked by the ui tests: proc-macro2 outside a macro gives
/// no line / column without its `span-locations` feature, which would change the parser's
/// types' sizes, and so its lints, in test builds.)
fn check(out: &TokenStream, parses: impl FnOnce(TokenStream) -> bool) {
    let errors = errors(out);
    if errors.is_empty() {
        assert!(
            parses(out.clone()),
            "expanded to code that does not parse: {out}"
        );
    }
    for message in errors {
        assert!(message.len() > 4, "an error without a message: {out}");
    }
}

fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        panic!(
            "the macro panicked on {what}: {:?}",
            p.downcast_ref::<String>()
                .map(String::as_str)
                .or(p.downcast_ref::<&str>().copied())
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn coroutine_expands_or_reports_an_error(args in options(), item in function()) {
        // Two separate inputs, as rustc hands them over: their lines differ.
        let (Some(args_ts), Some(item_ts)) = (lex(&args), lex(&format!("\n{item}"))) else {
            return Ok(());
        };
        let out = no_panic(&format!("#[coroutine({args})] {item}"), || {
            crate::coroutine::coroutine(args_ts.clone(), item_ts.clone())
        });
        check(&out, |ts| syn::parse2::<syn::File>(ts).is_ok());
    }

    #[test]
    fn partial_expands_or_reports_an_error(call in partial_call()) {
        let Some(input) = lex(&call) else { return Ok(()) };
        let out = no_panic(&format!("partial!({call})"), || crate::partial::partial(input.clone()));
        check(&out, |ts| syn::parse2::<syn::Expr>(ts).is_ok());
    }
}
