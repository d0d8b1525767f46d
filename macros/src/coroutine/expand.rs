//! Expansion: the function keeps its attributes, visibility, generics and arguments; it loses
//! `async`, returns `Coroutine<impl Future<Output = R>>`, and its body moves into an
//! `async move` block, so that calling it runs nothing.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::visit::Visit;
use syn::{FnArg, ItemFn, Pat, ReturnType, Type};

use super::parse::Options;

pub(super) fn coroutine(options: Options, function: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = function;

    let output = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    // `return` and `?` in the body need the block's output type before the body is checked
    // (as async-trait does); it cannot be written out when it contains `impl Trait`.
    let output_hint = match &sig.output {
        ReturnType::Type(_, ty) if !contains_impl_trait(ty) => quote! {
            if let ::core::option::Option::Some(__aiokit_ret) =
                ::core::option::Option::None::<#ty>
            {
                #[allow(unreachable_code)]
                return __aiokit_ret;
            }
        },
        _ => quote!(),
    };

    // Every argument moves into the future, used or not, as with `async fn`: it is dropped
    // when the coroutine is, not when it is created. Patterns are bound inside.
    let mut bindings = Vec::new();
    for (index, arg) in sig.inputs.iter_mut().enumerate() {
        let FnArg::Typed(arg) = arg else { continue };
        match &mut *arg.pat {
            Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                let mutability = ident.mutability.take();
                let name = &ident.ident;
                bindings.push(quote!(let #mutability #name = #name;));
            }
            pat => {
                let name = format_ident!("__aiokit_arg{}", index);
                let original = std::mem::replace(
                    pat,
                    Pat::Ident(syn::PatIdent {
                        attrs: Vec::new(),
                        by_ref: None,
                        mutability: None,
                        ident: name.clone(),
                        subpat: None,
                    }),
                );
                bindings.push(quote!(let #name = #name; let #original = #name;));
            }
        }
    }

    let ident_span = sig.ident.span();
    let future = quote!(impl ::core::future::Future<Output = #output>);
    let arrow = match &sig.output {
        ReturnType::Type(arrow, _) => *arrow,
        ReturnType::Default => syn::Token![->](Span::call_site()),
    };
    sig.asyncness = None;
    sig.output = ReturnType::Type(
        arrow,
        Box::new(syn::parse_quote!(::aiokit::__private::Coroutine<#future>)),
    );

    let (marker, name) = match options.name {
        Some(name) => (quote!(), quote!(#name)),
        None => (
            // Its type name is the function's path, methods and nested modules included.
            quote!(
                fn __aiokit_name() {}
            ),
            quote! {
                ::aiokit::__private::qualname(
                    ::core::any::type_name_of_val(&__aiokit_name),
                    ::core::module_path!(),
                )
            },
        ),
    };
    let (inner_attrs, outer_attrs): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, syn::AttrStyle::Inner(_)));
    let stmts = &block.stmts;
    // A statement rather than a `+ Send` bound on the return type: its error points at the
    // function's name, and the return type keeps the edition-2024 capture rules of `impl`
    // tokens made here.
    let send_check = options.send.map(|_| {
        quote_spanned! {ident_span=>
            ::aiokit::__private::__coroutine_send_check(&__aiokit_future);
        }
    });
    // Spanned on the function's name: errors about the future as a whole (the `send` check)
    // point there rather than at the attribute.
    let body = quote_spanned! {ident_span=>
        async move {
            #(#bindings)*
            #output_hint
            #(#stmts)*
        }
    };
    quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #marker
            let __aiokit_future = #body;
            #send_check
            ::aiokit::__private::Coroutine::new(#name, __aiokit_future)
        }
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}
