//! Items the `#[coroutine]` expansion names through `::coro::__private`. Not an API:
//! anything here may change in any release.

pub use crate::adapters::{
    coroutine, described_coroutine, described_generator, future, generator, stream,
};
pub use crate::debug::{Site, Sited, body_starts, here, poll_at, poll_next_at, suspended_at};
pub use crate::question_mark::{FromResidual, Try};
pub use crate::{Coroutine, CoroutineState};
pub use core::convert::Infallible;
pub use core::default::Default;
pub use core::future::{Future, IntoFuture};
pub use core::iter::{IntoIterator, Iterator};
pub use core::mem::replace;
pub use core::ops::ControlFlow;
pub use core::option::Option;
pub use core::pin::Pin;
pub use core::task::{Context, Poll};
pub use futures_core::Stream;
pub use pin_project_lite::pin_project;
pub use std::boxed::Box;

/// Where a `for` loop that ran out drops its iterator. A function of its own: a
/// `drop` call in the expansion would meet clippy's `drop_non_drop` on ranges.
#[inline(always)]
pub fn drop_iterator<I: Iterator>(iterator: I) {
    drop(iterator);
}

/// Takes the resume argument; the dispatch loop hands it to exactly one resume point.
#[inline(always)]
pub fn take_resume<R>(slot: &mut Option<R>) -> R {
    match slot.take() {
        Some(arg) => arg,
        None => unreachable!("coro: a resume argument was consumed twice"),
    }
}

#[cold]
#[track_caller]
pub fn resumed_after_completion() -> ! {
    panic!("coroutine resumed after it completed")
}

#[cold]
#[track_caller]
pub fn polled_after_completion() -> ! {
    panic!("`async fn` future polled after it completed")
}

#[cold]
#[track_caller]
pub fn resumed_after_panic() -> ! {
    panic!("coroutine resumed after it panicked")
}

pub use crate::pinned::{
    YieldSlot, pinned_coroutine, pinned_future, pinned_generator, pinned_stream,
};

/// `yield_from!` in a generator takes an iterable or a `Coroutine<(), Yield = T>`:
/// `(&YieldFrom(source)).yield_from_kind()` picks which by method resolution (a
/// coroutine's impl is found first, on the value; an iterable's by autoref), and
/// the kind turns the source into one [`Forward`] to step through.
pub struct YieldFrom<T>(pub T);

/// The source is a coroutine.
#[derive(Clone, Copy)]
pub struct CoroutineSource;

/// The source is an iterable.
#[derive(Clone, Copy)]
pub struct IterableSource;

pub trait ViaCoroutine {
    fn yield_from_kind(&self) -> CoroutineSource {
        CoroutineSource
    }
}

impl<C: Coroutine<()> + Unpin> ViaCoroutine for YieldFrom<C> {}

pub trait ViaIterable {
    fn yield_from_kind(&self) -> IterableSource {
        IterableSource
    }
}

impl<I: IntoIterator> ViaIterable for &YieldFrom<I> {}

impl CoroutineSource {
    #[inline(always)]
    pub fn forward<C: Coroutine<()> + Unpin>(self, source: C) -> ForwardCoroutine<C> {
        ForwardCoroutine(source)
    }
}

impl IterableSource {
    #[inline(always)]
    pub fn forward<I: IntoIterator>(self, source: I) -> I::IntoIter {
        source.into_iter()
    }
}

/// One step of what `yield_from!` forwards: an item, or the end with its value.
pub trait Forward {
    type Item;
    type Return;
    fn step(&mut self) -> CoroutineState<Self::Item, Self::Return>;
}

impl<I: Iterator> Forward for I {
    type Item = I::Item;
    type Return = ();
    #[inline(always)]
    fn step(&mut self) -> CoroutineState<I::Item, ()> {
        match self.next() {
            Some(item) => CoroutineState::Yielded(item),
            None => CoroutineState::Complete(()),
        }
    }
}

/// A coroutine forwarded by a generator, resumed with `()`.
pub struct ForwardCoroutine<C>(C);

impl<C: Coroutine<()> + Unpin> Forward for ForwardCoroutine<C> {
    type Item = C::Yield;
    type Return = C::Return;
    #[inline(always)]
    fn step(&mut self) -> CoroutineState<C::Yield, C::Return> {
        Pin::new(&mut self.0).resume(())
    }
}

/// Where `select!` starts polling: a random arm, so no ready arm is always
/// preferred, or the first with `biased;`. A xorshift generator per thread: fairness
/// needs spread, not secrecy.
pub fn select_start(arms: usize, biased: bool) -> usize {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            // std's per-process random hash keys: a different start on every thread.
            let keys = std::collections::hash_map::RandomState::new();
            std::hash::BuildHasher::hash_one(&keys, 0u8) | 1
        });
    }
    if biased || arms < 2 {
        return 0;
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        (x % arms as u64) as usize
    })
}

/// The arm `select!` polls at `turn`, counting on from `start`.
#[inline]
pub fn select_arm(start: usize, turn: usize, arms: usize) -> usize {
    (start + turn) % arms
}

/// A `select!` without `else` whose every arm is disabled.
#[track_caller]
pub fn select_all_disabled() -> ! {
    panic!(
        "coro::select!: every arm is disabled (a guard was false or the value did not match \
         its pattern) and there is no `else` arm to run"
    )
}

/// Mentions a lifetime in an `impl Trait` return type, which captures it in every
/// edition: what an `async fn` the attribute rewrites returns, `impl Future<..> +
/// Captures<'a>`, as rustc's own `async fn` captures every lifetime.
pub trait Captures<'a> {}

impl<T: ?Sized> Captures<'_> for T {}
