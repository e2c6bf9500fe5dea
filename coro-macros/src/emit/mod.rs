//! Phase 4: tokens, by one of two emitters. `compact` writes the state machine the
//! macro lays out itself from the lowered graph (movable, `Unpin`, smallest);
//! `pinned` puts the body as written into an `async move` block that rustc lays out,
//! which may borrow its own locals across suspension points. `choose` decides which.

pub mod compact;
mod eager_start;
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

/// Registers the function when its body starts, so that its `.await`s, which
/// record only their place, are shown with its name: `#[track_caller]` gives
/// the places of the body's `{` and of its last token, each a constant, where a
/// `static` would be an item of its own for rustc to check, evaluate and emit.
/// (Not the `}`: a function nested in another coroutine's body comes out of that
/// coroutine's expansion, where a block's delimiters are spanned as the whole
/// block, which begins at the `{`.)
pub(crate) fn function_starts(func: &crate::parse::CoroutineFn) -> TokenStream {
    let krate = &func.krate;
    let open = func.body.brace_token.span.open();
    let last = func
        .body
        .stmts
        .last()
        .and_then(|last| last_token_span(last.to_token_stream()))
        .unwrap_or(open);
    // Every token of the call at the `{` (its place is where its span begins),
    // but for the `here()` that gives the last token's.
    let starts = respan(quote!(#krate::__private::body_starts), open);
    let name = syn::LitStr::new(&func.sig.ident.to_string(), open);
    let end = respan(quote!(#krate::__private::here()), last);
    let mut args =
        proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#name, #end));
    args.set_span(open);
    quote!(#starts #args;)
}

/// The span of the last token in `tokens` that is not a delimiter.
fn last_token_span(tokens: TokenStream) -> Option<Span> {
    let last = tokens.into_iter().last()?;
    match last {
        TokenTree::Group(group) => last_token_span(group.stream()).or(Some(group.span_close())),
        token => Some(token.span()),
    }
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
