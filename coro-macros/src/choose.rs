//! Phase 1b: which state machine to build.
//!
//! A suspend function or async generator that suspends gets the pinned machine: an
//! `async move` block that rustc lays out. It accepts every body an `async` block
//! accepts (borrows of locals across suspension points included), is `Send` exactly
//! when rustc's future is, and builds in about the time of the same `async fn`.
//!
//! The compact machine (a movable state the macro lays out itself) can be smaller
//! than rustc's future, but each await is a state of a pinned enum whose
//! projections are generated per function: on 500 straight-line `async fn`s of
//! three awaits, it builds in 8x the time of std `async fn` against 1.2x for the
//! pinned machine (`benches/compile_time.sh`). So it is built for a suspending
//! async body only when the attribute says `compact`.
//!
//! An async body that never suspends, and every generator and coroutine, stays
//! compact unless the attribute says `pinned`: there it costs rustc no more, keeps
//! the result `Unpin` and allocation-free, and is what nightly's `gen` blocks do
//! too.

use crate::parse::{CoroutineFn, Lowering};
use crate::scan;

pub fn choose(func: &CoroutineFn) -> Lowering {
    if let Some(forced) = func.forced {
        return forced;
    }
    if func.kind.can_await() && scan::suspends_anywhere_in_block(&func.body) {
        Lowering::Pinned
    } else {
        Lowering::Compact
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;

    fn chosen(item: &str) -> Lowering {
        let func = crate::parse::parse(TokenStream::new(), item.parse().unwrap()).unwrap();
        choose(&func)
    }

    #[test]
    fn suspending_async_bodies_pick_pinned() {
        for body in [
            "async fn f(mut s: S) { let mut buf = [0; 4]; s.read(&mut buf).await; }",
            "async fn f(mut rx: Rx) { while let Some(v) = rx.recv().await { drop(v); } }",
            "async fn f(id: u32) -> String { sleep(ms(10)).await; format!(\"{id}\") }",
            "async fn f() -> u64 { let a = ready(1).await; let b = ready(2).await; a + b }",
            "async fn f() { println!(\"{}\", g().await); }",
            "async fn f() { coro::select! { _ = g() => {} } }",
            "fn f(n: u32) -> impl Stream<Item = u32> { sleep(n).await; yield_!(n); }",
            "fn f() -> impl Stream<Item = u32> { yield_!(1); }",
        ] {
            assert_eq!(chosen(body), Lowering::Pinned, "{body}");
        }
    }

    #[test]
    fn bodies_that_never_suspend_and_generators_stay_compact() {
        for body in [
            "async fn f() -> u32 { 4 }",
            "async fn f(v: Vec<u32>) -> usize { v.iter().count() }",
            "fn f(v: Vec<u32>) -> impl Iterator<Item = u32> { for x in &v { yield_!(*x); } }",
            "fn f() -> impl Coroutine<u32, Yield = u32, Return = ()> { yield_!(1); }",
        ] {
            assert_eq!(chosen(body), Lowering::Compact, "{body}");
        }
    }

    #[test]
    fn the_attribute_decides_when_it_says() {
        let item =
            "fn f(v: Vec<u32>) -> impl Iterator<Item = u32> { for x in &v { yield_!(*x); } }";
        let func = crate::parse::parse(quote::quote!(pinned), item.parse().unwrap()).unwrap();
        assert_eq!(choose(&func), Lowering::Pinned);
        let item = "async fn f(id: u32) { sleep(id).await; }";
        let func = crate::parse::parse(quote::quote!(compact), item.parse().unwrap()).unwrap();
        assert_eq!(choose(&func), Lowering::Compact);
    }
}
