//! Phase 4: tokens, by one of two emitters. `compact` writes the state machine the
//! macro lays out itself from the lowered graph (movable, `Unpin`, smallest);
//! `pinned` puts the body as written into an `async move` block that rustc lays out,
//! which may borrow its own locals across suspension points. `choose` decides which.

pub mod compact;
pub mod pinned;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::Type;

/// A type to name in a turbofish, or `_` where it cannot be named there.
fn nameable(ty: Option<&Type>) -> TokenStream {
    match ty {
        Some(ty) if !ty.to_token_stream().to_string().contains("impl") => quote!(#ty),
        _ => quote!(_),
    }
}

pub(crate) fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}

/// Can the body finish: does it fall off its end, `return`, or use `?`? A body
/// that ends in an endless loop and never returns gives the return type nothing
/// to be inferred from.
fn body_completes(body: &syn::Block) -> bool {
    let falls_off = match body.stmts.last() {
        None => true,
        Some(last) => !crate::scan::diverges(last),
    };
    falls_off || crate::scan::exits_in_tokens(body.to_token_stream())
}

/// The `&'static Site` of a suspension point at `at` in `function` (a function's
/// name, or `select!`): a static whose `line!()`/`column!()` are spanned at the
/// point, so they give its place.
pub(crate) fn site(p: &TokenStream, function: &str, at: proc_macro2::Span) -> TokenStream {
    let place = quote::quote_spanned! {at=>
        file: ::core::file!(), line: ::core::line!(), column: ::core::column!()
    };
    quote::quote! {{
        static __CORO_SITE: #p::Site = #p::Site { function: #function, #place };
        &__CORO_SITE
    }}
}

/// `tokens` with every span set to `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut group =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                group.set_span(span);
                token = TokenTree::Group(group);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
