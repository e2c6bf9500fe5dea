//! The pinned machine, in tokens: the body, as written, inside an `async move`
//! block that rustc lays out, so a borrow of a local may cross any suspension point.
//!
//! ```text
//! fn f(a: A) -> impl Stream<Item = Y> {
//!     let slot = YieldSlot::new();
//!     pinned_stream(slot.handle(), async move {
//!         let _ = &a;                                  // `a` is stored once, whole
//!         macro_rules! yield_ { ($v:expr) => { slot.yield_item($v).await } }
//!         macro_rules! yield_from { ($s:expr) => { slot.forward_stream($s).await } }
//!         body
//!     })
//! }
//! ```
//!
//! The suspension macros are defined in the block, so they are found wherever the
//! body's own macros put them (`println!("{}", yield_!(x))`). Parameters are
//! captured, not moved into a second local as an `async fn` does, so each argument
//! is stored once (rust-lang/rust#62958); `let _ = &a;` makes the block capture the
//! whole parameter even when the body names only a field of it, or nothing, so the
//! argument lives as long as it would in an `async fn`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use super::nameable;
use crate::parse::{CoroutineFn, Kind, ParamForm};

/// Whether a pinned coroutine is boxed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Boxing {
    /// As the attribute asked: a pinned coroutine is `!Unpin`, resumed through
    /// `Pin`, as nightly's `static` coroutines are.
    AsAsked,
    /// The macro chose the pinned machine for a coroutine whose signature did not
    /// ask: box it, so it stays `Unpin` as a compact coroutine is.
    KeepUnpin,
}

pub fn emit(func: &CoroutineFn, boxing: Boxing) -> TokenStream {
    let CoroutineFn {
        attrs,
        vis,
        sig,
        kind,
        krate,
        ..
    } = func;
    let p = quote!(#krate::__private);
    let slot = Ident::new("__coro_slot", Span::mixed_site());
    let body = async_body(func, &slot);
    // What a body whose signature asks for `Debug` calls itself there.
    let new_slot = match (func.describes, kind) {
        (true, Kind::Generator { .. }) => {
            let named = format!("generator `{}`", sig.ident);
            quote!(named(#named))
        }
        (true, Kind::Coroutine { .. }) => {
            let named = format!("coroutine `{}`", sig.ident);
            quote!(named(#named))
        }
        _ => quote!(new()),
    };
    let machine = match kind {
        Kind::Future { output } => {
            let t = nameable(output.as_ref());
            quote!(#p::pinned_future::<#t, _>(#body))
        }
        Kind::Stream { item } => {
            let y = nameable(Some(item));
            quote! {
                let #slot = #p::YieldSlot::<#y, ()>::new();
                #p::pinned_stream::<#y, _>(#slot.handle(), #body)
            }
        }
        Kind::Generator { item } => {
            let y = nameable(Some(item));
            quote! {
                let #slot = #p::YieldSlot::<#y, ()>::#new_slot;
                #p::pinned_generator::<#y, _>(#slot.handle(), #body)
            }
        }
        Kind::Coroutine {
            resume,
            yield_ty,
            ret,
        } => {
            let (r, y, mut t) = (
                nameable(Some(resume)),
                nameable(yield_ty.as_ref()),
                nameable(ret.as_ref()),
            );
            if ret.is_none() && !super::body_completes(&func.body) {
                t = quote!(());
            }
            let coroutine = quote!(#p::pinned_coroutine::<#r, #y, #t, _>(#slot.handle(), #body));
            let coroutine = match boxing {
                Boxing::AsAsked => coroutine,
                Boxing::KeepUnpin => quote!(#p::Box::pin(#coroutine)),
            };
            quote! {
                let #slot = #p::YieldSlot::<#y, #r>::#new_slot;
                #coroutine
            }
        }
    };
    // In a generator or coroutine every `.await` is a `yield_!`: holding a lock
    // across one is holding it across a yield, which nothing lints in plain code.
    let lints = (!kind.can_await())
        .then(|| quote!(#[allow(clippy::await_holding_lock, clippy::await_holding_refcell_ref)]));
    quote! {
        #(#attrs)*
        #lints
        #vis #sig {
            #machine
        }
    }
}

/// `async move { captures; suspension macros; body }`.
fn async_body(func: &CoroutineFn, slot: &Ident) -> TokenStream {
    let mut prelude = Vec::new();
    for param in &func.params {
        let passed = &param.passed;
        prelude.push(match param.form {
            ParamForm::Receiver { .. } | ParamForm::Named { .. } => {
                quote!(let _ = &#passed;)
            }
            // An `async fn` keeps a pattern argument whole until its body ends, even
            // the parts a `_` does not bind; so does this.
            ParamForm::Pattern => {
                let bind = &param.bind;
                quote!(let #passed = #passed; let #bind = #passed;)
            }
        });
    }
    let krate = &func.krate;
    let described = func.describes.then(|| func.sig.ident.to_string());
    let macros = suspension_macros(
        &func.kind,
        slot,
        &quote!(#krate::__private),
        described.as_deref(),
    );
    if macros.is_some() {
        prelude.push(quote!(let _ = &#slot;));
    }
    let mut stmts = func.body.stmts.clone();
    let mut sites = SiteAwaits {
        private: quote!(#krate::__private),
        awaits: 0,
    };
    for stmt in &mut stmts {
        syn::visit_mut::VisitMut::visit_stmt_mut(&mut sites, stmt);
    }
    if sites.awaits > 0 {
        prelude.insert(0, super::function_starts(func));
    }
    quote! {
        async move {
            #(#prelude)*
            #macros
            #(#stmts)*
        }
    }
}

/// `yield_!` and `yield_from!` for this kind, as `macro_rules!` in the block.
/// A body whose signature asks for `Debug` (`described`, the function's name)
/// marks each `yield_!`'s place in the slot first: `line!()` in a macro's
/// expansion is the line of the invocation it came from, the user's `yield_!`.
fn suspension_macros(
    kind: &Kind,
    slot: &Ident,
    p: &TokenStream,
    described: Option<&str>,
) -> Option<TokenStream> {
    let (yield_method, forward_method) = match kind {
        Kind::Future { .. } => return None,
        Kind::Stream { .. } => (quote!(yield_item), quote!(forward_stream)),
        Kind::Generator { .. } => (quote!(yield_item), quote!(forward_steps)),
        Kind::Coroutine { .. } => (quote!(yield_value), quote!(forward_coroutine)),
    };
    // A generator forwards an iterable or a coroutine; method resolution picks.
    // Spanned as the `macro_rules!` below, so `$source` is its metavariable.
    let source = match kind {
        Kind::Generator { .. } => quote_spanned! {Span::mixed_site()=> {
            #[allow(unused_imports)]
            use #p::{ViaCoroutine as _, ViaIterable as _};
            let source = #p::YieldFrom($source);
            (&source).yield_from_kind().forward(source.0)
        }},
        _ => quote_spanned!(Span::mixed_site()=> $source),
    };
    let call = Span::call_site();
    let yield_name = Ident::new("yield_", call);
    let yield_from_name = Ident::new("yield_from", call);
    let mark = described.map(|function| {
        quote_spanned! {Span::mixed_site()=>
            #slot.mark({
                static SITE: #p::Site = #p::Site {
                    function: #function,
                    file: ::core::file!(),
                    line: ::core::line!(),
                    column: ::core::column!(),
                };
                &SITE
            });
        }
    });
    let unit = quote_spanned!(Span::mixed_site()=> #slot.#yield_method(()).await);
    let value = quote_spanned!(Span::mixed_site()=> #slot.#yield_method($value).await);
    let forward = quote_spanned!(Span::mixed_site()=> #slot.#forward_method(#source).await);
    let (unit, value, forward) = match mark {
        Some(mark) => (
            quote!({ #mark #unit }),
            quote!({ #mark #value }),
            quote!({ #mark #forward }),
        ),
        None => (unit, value, forward),
    };
    Some(quote_spanned! {Span::mixed_site()=>
        #[allow(unused_macros)]
        macro_rules! #yield_name {
            () => { #unit };
            ($value:expr $(,)?) => { #value };
        }
        #[allow(unused_macros)]
        macro_rules! #yield_from_name {
            ($source:expr $(,)?) => { #forward };
        }
    })
}

/// Wraps each `.await`ed future of the body in `Sited { future }`, which records
/// where the body stopped when the future returns `Pending` (for `coro::debug`):
/// the wrapper's poll takes the `.await`'s place from `#[track_caller]`, so no
/// room is taken and no type is made per `.await`. In parentheses, as a struct
/// literal cannot stand bare where a block may follow (`if f().await {`).
struct SiteAwaits {
    private: TokenStream,
    /// How many `.await`s were wrapped.
    awaits: usize,
}

impl syn::visit_mut::VisitMut for SiteAwaits {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        if let syn::Expr::Await(awaited) = expr {
            let p = &self.private;
            let base = &awaited.base;
            let wrapped = quote_spanned! {awaited.await_token.span=>
                (#p::Sited { future: #base })
            };
            self.awaits += 1;
            *awaited.base = syn::Expr::Verbatim(wrapped);
        }
    }

    /// The `.await`s in another macro's operands (`println!("{}", f().await)`),
    /// where the operands are expressions separated by commas; `select!` names its
    /// own site.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        if crate::scan::is_select(mac) || !crate::scan::awaits_in_macro(mac) {
            return;
        }
        let Ok(mut args) = crate::scan::macro_args(mac) else {
            return;
        };
        for arg in &mut args {
            self.visit_expr_mut(arg);
        }
        mac.tokens = quote!(#(#args),*);
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // A nested item's body is not this function's.
    }
}
