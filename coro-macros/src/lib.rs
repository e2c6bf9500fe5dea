//! The `#[coroutine]` transform of [coro](https://docs.rs/coro). Use it through the
//! `coro` facade, which documents it.
//!
//! One file per phase, data flowing one way: `parse` reads the signature and the
//! attribute, `choose` picks the compact or the pinned machine, then for the compact
//! one `lower` splits the body into blocks at suspension points (with `scan` reading
//! straight code, and `desugar` building the loops it rewrites), `liveness` finds
//! what crosses each boundary, and `shortcut` lets a `yield_!` that only goes round
//! its loop resume at the loop head; `emit` writes either machine, and `diag` holds
//! every message a user can see. `recursion` finds a coroutine calling itself
//! unboxed. `select` is the `select!` macro.

mod choose;
mod desugar;
mod diag;
mod emit;
mod lifetime;
mod liveness;
mod lower;
mod merge_resumes;
mod parse;
mod recursion;
mod scan;
mod select;
mod shortcut;

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

/// Waits on several futures, running the handler of the first to complete. Documented,
/// with examples, where users meet it: `coro::select!`.
#[proc_macro]
pub fn select(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    select::expand(input.into()).into()
}

/// Bindings carried into blocks, added up, above which the macro takes the pinned
/// machine: a straight body of about 45 locals that all live to its end. Measured:
/// such a body of 50 locals builds in 0.8 s compact, 100 in 5.2 s; typical bodies
/// carry a few hundred at most.
const COMPACT_CARRY_LIMIT: usize = 1024;

/// Does the body pass validation for `lowering`?
fn validates(func: &parse::CoroutineFn, lowering: Lowering) -> bool {
    let mut errors = Errors::default();
    scan::validate(&func.body, &func.kind, lowering, &mut errors);
    errors.is_empty()
}

/// The whole transform, on `proc_macro2` tokens so tests can run it.
/// Between liveness and emit: points `yield_!`s at the states they go on to
/// (`shortcut`), then merges resume points that only restart a loop's turn
/// (`merge_resumes`) until none is left; `live` follows the graph.
fn simplify_resumes(
    cfg: &mut lower::Cfg,
    live: &mut liveness::Liveness,
    resume_is_unit: bool,
    errors: &mut diag::Errors,
) {
    if shortcut::resume_where_going(cfg, live, resume_is_unit) {
        // The same bindings cross every boundary still reached; only the graph's
        // edges changed, which the emitter reads from here.
        *live = liveness::analyze(cfg, errors);
    }
    while errors.is_empty()
        && let Some(merged) = merge_resumes::merge_one(cfg, live, resume_is_unit)
    {
        let mut found = diag::Errors::default();
        let merged_live = liveness::analyze(cfg, &mut found);
        if !found.is_empty() {
            merged.undo(cfg);
            break;
        }
        *live = merged_live;
    }
}

fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = match parse::parse(attr, item) {
        Ok(func) => func,
        Err(error) => return error.to_compile_error(),
    };
    let lowering = choose::choose(&func);
    let may_switch = lowering == Lowering::Compact && func.forced.is_none();
    let pinned = |boxing| emit::pinned::emit(&func, boxing);
    let mut errors = Errors::default();
    recursion::check(&func, &mut errors);
    if !errors.is_empty() {
        return errors.into_result().unwrap_err().to_compile_error();
    }
    scan::validate(&func.body, &func.kind, lowering, &mut errors);
    if !errors.is_empty() {
        // A suspension point inside a macro or an `unsafe` block: the compact
        // machine cannot split it, the pinned one needs not.
        if may_switch && validates(&func, Lowering::Pinned) {
            return pinned(emit::pinned::Boxing::KeepUnpin);
        }
        return errors.into_result().unwrap_err().to_compile_error();
    }
    if lowering == Lowering::Pinned {
        return pinned(emit::pinned::Boxing::AsAsked);
    }
    let body = func.renamed_body();
    let mut cfg = lower::lower(&func, &body, &mut errors);
    if cfg.unsupported && may_switch {
        return pinned(emit::pinned::Boxing::KeepUnpin);
    }
    let mut live = liveness::analyze(&cfg, &mut errors);
    if errors.is_empty() {
        simplify_resumes(
            &mut cfg,
            &mut live,
            func.kind.resumes_with_unit(),
            &mut errors,
        );
    }
    if !errors.is_empty()
        && may_switch
        && func.kind.can_await()
        && validates(&func, Lowering::Pinned)
    {
        // A borrow across a suspension point that `choose` did not see: a suspend
        // function or async generator takes it as an `async` block would.
        return pinned(emit::pinned::Boxing::KeepUnpin);
    }
    if may_switch
        && live.carried_total() > COMPACT_CARRY_LIMIT
        && validates(&func, Lowering::Pinned)
    {
        // The compact expansion grows with the square of the live bindings; past
        // this, rustc's own layout builds much faster than the enum it would infer.
        return pinned(emit::pinned::Boxing::KeepUnpin);
    }
    if (!live.ambiguous.is_empty() || !live.may_borrow.is_empty()) && errors.is_empty() {
        // Without a drop flag the compact machine cannot say whether such a
        // binding is there to store, and without types whether a method's result
        // borrows; rustc's own layout needs neither.
        if may_switch {
            return pinned(emit::pinned::Boxing::KeepUnpin);
        }
        liveness::report_ambiguous(&cfg, &live, &mut errors);
        liveness::report_may_borrow(&cfg, &live, &mut errors);
    }
    match errors.into_result() {
        Ok(()) => emit::compact::emit(&func, &cfg, &live),
        Err(error) => error.to_compile_error(),
    }
}
