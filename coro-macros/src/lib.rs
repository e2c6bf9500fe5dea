//! The `#[coroutine]` transform of [coro](https://docs.rs/coro). Use it through the
//! `coro` facade, which documents it.
//!
//! One file per phase, data flowing one way: `parse` reads the signature and the
//! attribute, `choose` picks the compact or the pinned machine, then for the compact
//! one `lower` splits the body into blocks at suspension points (with `scan` reading
//! straight code) and `liveness` finds what crosses each boundary; `emit` writes
//! either machine, and `diag` holds every message a user can see.

mod choose;
mod diag;
mod emit;
mod liveness;
mod lower;
mod parse;
mod scan;

#[cfg(test)]
mod snapshots;

use proc_macro2::TokenStream;

use diag::Errors;
use parse::Lowering;

/// Turns a function into a stackless coroutine. Documented, with examples, where
/// users meet it: `coro::coroutine`.
#[proc_macro_attribute]
pub fn coroutine(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand(attr.into(), item.into()).into()
}

/// The whole transform, on `proc_macro2` tokens so tests can run it.
fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = match parse::parse(attr, item) {
        Ok(func) => func,
        Err(error) => return error.to_compile_error(),
    };
    let lowering = choose::choose(&func);
    let mut errors = Errors::default();
    scan::validate(&func.body, &func.kind, lowering, &mut errors);
    if !errors.is_empty() {
        return errors.into_result().unwrap_err().to_compile_error();
    }
    if lowering == Lowering::Pinned {
        return emit::pinned::emit(&func, emit::pinned::Boxing::AsAsked);
    }
    let body = func.renamed_body();
    let cfg = lower::lower(&func, &body, &mut errors);
    let live = liveness::analyze(&cfg, &mut errors);
    if (!live.ambiguous.is_empty() || !live.may_borrow.is_empty()) && errors.is_empty() {
        // Without a drop flag the compact machine cannot say whether such a
        // binding is there to store, and without types whether a method's result
        // borrows; rustc's own layout needs neither.
        if func.forced == Some(Lowering::Compact) {
            liveness::report_ambiguous(&cfg, &live, &mut errors);
            liveness::report_may_borrow(&cfg, &live, &mut errors);
        } else {
            return emit::pinned::emit(&func, emit::pinned::Boxing::KeepUnpin);
        }
    }
    match errors.into_result() {
        Ok(()) => emit::compact::emit(&func, &cfg, &live),
        Err(error) => error.to_compile_error(),
    }
}
