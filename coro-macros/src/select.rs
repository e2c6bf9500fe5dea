//! `coro::select!`: waits on several futures at once and runs the handler of the first
//! that completes with a value its pattern matches (Go's `select`, Kotlin's
//! `select {}`).
//!
//! The expansion pins every arm's future on the stack, polls them from one
//! `poll_fn` starting at a random arm (or the first, with `biased;`), and carries the
//! winning value out in a local enum. The futures live in an inner block, so the
//! losers are dropped (cancelled) before the winning handler runs, and the handler is
//! free to use what they borrowed. An arm whose value does not match its pattern, or
//! whose `if` guard was false, is disabled: it is not polled again, so a closed
//! channel (`Ok(v) = rx.recv()`) cannot keep winning and spin.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat, Token};

/// One `pattern = future (if guard)? => handler` arm.
struct Arm {
    pattern: Pat,
    future: Expr,
    guard: Option<Expr>,
    handler: Expr,
}

/// The whole input: `biased;`, the arms, and at most one `else => handler`.
struct Select {
    biased: bool,
    arms: Vec<Arm>,
    otherwise: Option<Expr>,
}

mod kw {
    syn::custom_keyword!(biased);
}

impl Parse for Select {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut select = Select {
            biased: false,
            arms: Vec::new(),
            otherwise: None,
        };
        if input.peek(kw::biased) && input.peek2(Token![;]) {
            input.parse::<kw::biased>()?;
            input.parse::<Token![;]>()?;
            select.biased = true;
        }
        while !input.is_empty() {
            if input.peek(kw::biased) && input.peek2(Token![;]) {
                return Err(input.error("`biased;` must come before the first arm of `select!`"));
            }
            if input.peek(Token![else]) {
                let else_token: Token![else] = input.parse()?;
                if select.otherwise.is_some() {
                    return Err(syn::Error::new(
                        else_token.span,
                        "`select!` takes at most one `else` arm",
                    ));
                }
                input.parse::<Token![=>]>().map_err(|_| {
                    syn::Error::new(else_token.span, "write the `else` arm as `else => handler`")
                })?;
                select.otherwise = Some(parse_handler(input)?);
                continue;
            }
            let pattern = Pat::parse_multi_with_leading_vert(input).map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "expected an arm, `pattern = future => handler`, or `else => handler`",
                )
            })?;
            input.parse::<Token![=]>().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "expected `=` after the arm's pattern: write `pattern = future => handler`",
                )
            })?;
            let future: Expr = input.parse()?;
            let guard = if input.peek(Token![if]) {
                input.parse::<Token![if]>()?;
                Some(Expr::parse_without_eager_brace(input)?)
            } else {
                None
            };
            input.parse::<Token![=>]>().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "expected `=>` after the arm's future: write `pattern = future => handler`",
                )
            })?;
            let handler = parse_handler(input)?;
            select.arms.push(Arm {
                pattern,
                future,
                guard,
                handler,
            });
        }
        if select.arms.is_empty() && select.otherwise.is_none() {
            return Err(syn::Error::new(
                Span::call_site(),
                "`select!` needs at least one arm: `pattern = future => handler`",
            ));
        }
        Ok(select)
    }
}

/// A handler, and the `,` after it: optional after a block, as in `match`.
fn parse_handler(input: ParseStream) -> syn::Result<Expr> {
    let handler: Expr = input.parse()?;
    let block_like = matches!(
        handler,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Unsafe(_)
    );
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if !input.is_empty() && !block_like {
        return Err(syn::Error::new(
            handler.span(),
            "expected `,` after this handler: arms of `select!` are separated by commas",
        ));
    }
    Ok(handler)
}

/// The pattern with `mut` and `ref` taken off its bindings, to test a *reference* to
/// the value against it (the value itself moves only once the arm has won).
fn matching_pattern(pattern: &Pat) -> Pat {
    struct StripModes;
    impl VisitMut for StripModes {
        fn visit_pat_ident_mut(&mut self, pat: &mut syn::PatIdent) {
            pat.by_ref = None;
            pat.mutability = None;
            syn::visit_mut::visit_pat_ident_mut(self, pat);
        }
    }
    let mut pattern = pattern.clone();
    StripModes.visit_pat_mut(&mut pattern);
    pattern
}

pub fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<Select>(input) {
        Ok(select) => emit(&select),
        Err(error) => error.to_compile_error(),
    }
}

fn emit(select: &Select) -> TokenStream {
    if let (true, Some(handler)) = (select.arms.is_empty(), &select.otherwise) {
        // Nothing to wait for: nothing is ready.
        return quote!({ #handler });
    }
    let site = Span::mixed_site();
    let count = select.arms.len();
    let variants: Vec<_> = (0..count).map(|i| format_ident!("Arm{}", i)).collect();
    let types: Vec<_> = (0..count).map(|i| format_ident!("T{}", i)).collect();
    let futures: Vec<_> = (0..count)
        .map(|i| syn::Ident::new(&format!("__coro_select_future{i}"), site))
        .collect();
    let out = syn::Ident::new("__CoroSelected", site);
    let enabled = syn::Ident::new("__coro_select_enabled", site);
    let cx = syn::Ident::new("__coro_select_cx", site);
    let value = syn::Ident::new("__coro_select_value", site);
    let matched = syn::Ident::new("__coro_select_matched", site);
    let start = syn::Ident::new("__coro_select_start", site);
    let turn = syn::Ident::new("__coro_select_turn", site);
    let guards = select.arms.iter().map(|arm| match &arm.guard {
        Some(guard) => quote_spanned! {guard.span()=> { let guard: bool = #guard; guard } },
        None => quote!(true),
    });
    let pinned = select.arms.iter().zip(&futures).map(|(arm, future)| {
        let expr = &arm.future;
        quote_spanned! {expr.span()=>
            let mut #future = ::core::pin::pin!(::core::future::IntoFuture::into_future(#expr));
        }
    });
    let polls = select
        .arms
        .iter()
        .enumerate()
        .map(|(i, arm)| {
            let future = &futures[i];
            let variant = &variants[i];
            let check = matching_pattern(&arm.pattern);
            quote! {
                #i => if #enabled[#i] {
                    if let ::core::task::Poll::Ready(#value) =
                        ::core::future::Future::poll(#future.as_mut(), #cx)
                    {
                        #[allow(unused_variables, unreachable_patterns, clippy::match_like_matches_macro)]
                        let #matched = match &#value { #check => true, _ => false };
                        if #matched {
                            return ::core::task::Poll::Ready(#out::#variant(#value));
                        }
                        #enabled[#i] = false;
                    }
                }
            }
        });
    let site = crate::emit::site(&quote!(::coro::__private), "select!", Span::call_site());
    let nothing_ready = if select.otherwise.is_some() {
        quote!(::core::task::Poll::Ready(#out::Else))
    } else {
        quote! {
            if #enabled.iter().any(|enabled| *enabled) {
                // Where the task waits, for `coro::debug`.
                ::coro::__private::suspended_at(#site);
                ::core::task::Poll::Pending
            } else {
                ::core::task::Poll::Ready(#out::Disabled)
            }
        }
    };
    let handlers = select.arms.iter().zip(&variants).map(|(arm, variant)| {
        let (pattern, handler) = (&arm.pattern, &arm.handler);
        quote!(#out::#variant(#pattern) => #handler,)
    });
    let otherwise = match &select.otherwise {
        Some(handler) => quote!(#out::Else => #handler,),
        None => quote!(#out::Else => ::core::unreachable!(),),
    };
    let biased = select.biased;
    quote! {
        {
            #[allow(dead_code, non_camel_case_types)]
            enum #out<#(#types),*> { #(#variants(#types),)* Else, Disabled }
            let __coro_selected = {
                let mut #enabled: [bool; #count] = [#(#guards),*];
                #(#pinned)*
                let #start = ::coro::__private::select_start(#count, #biased);
                ::core::future::poll_fn(|#cx: &mut ::core::task::Context<'_>| {
                    for #turn in 0..#count {
                        match ::coro::__private::select_arm(#start, #turn, #count) {
                            #(#polls)*
                            _ => {}
                        }
                    }
                    #nothing_ready
                })
                .await
            };
            #[allow(unreachable_patterns)]
            match __coro_selected {
                #(#handlers)*
                #otherwise
                #out::Disabled => ::coro::__private::select_all_disabled(),
                _ => ::core::unreachable!("coro::select!: the winning value matched its pattern"),
            }
        }
    }
}
