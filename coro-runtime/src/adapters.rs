//! The types a `#[coroutine]` expansion returns.
//!
//! The transform turns a body into one `FnMut(R) -> CoroutineState<Y, T>` closure that
//! owns the state enum. These wrappers give that closure the trait the signature
//! promised. They are not pinned projections: the closure keeps no awaited future, so
//! its state may move freely between resumes and every wrapper is `Unpin`.

use core::future::Future;
use core::iter::FusedIterator;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;

use crate::debug::Site;
use crate::describe::{Stage, describe};
use crate::{Coroutine, CoroutineState};

/// A coroutine made from its resume closure; returned as `impl Coroutine<R, ..>`.
#[doc(hidden)]
#[must_use = "coroutines do nothing unless resumed"]
pub struct CoroutineFn<F> {
    resume: F,
}

// The closure's state is moved out and back on each resume, never pinned in place, so
// pinning the wrapper promises nothing about it.
impl<F> Unpin for CoroutineFn<F> {}

/// Wraps a resume closure; the type parameters let the expansion name `R`, `Y` and `T`
/// from the signature so the closure's types are inferred from them.
#[doc(hidden)]
#[inline(always)]
pub fn coroutine<R, Y, T, F>(resume: F) -> CoroutineFn<F>
where
    F: FnMut(R) -> CoroutineState<Y, T>,
{
    CoroutineFn { resume }
}

impl<R, Y, T, F> Coroutine<R> for CoroutineFn<F>
where
    F: FnMut(R) -> CoroutineState<Y, T>,
{
    type Yield = Y;
    type Return = T;

    #[inline(always)]
    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Y, T> {
        (self.get_mut().resume)(arg)
    }
}

/// A generator made from its resume closure; returned as `impl Iterator<Item = Y>`.
///
/// The closure answers `Complete(())` again when resumed after its end, so the
/// iterator is fused without a flag of its own.
#[doc(hidden)]
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct GeneratorFn<F> {
    resume: F,
}

impl<F> Unpin for GeneratorFn<F> {}

/// Wraps a generator's resume closure, naming its item type `Y`.
#[doc(hidden)]
#[inline(always)]
pub fn generator<Y, F>(resume: F) -> GeneratorFn<F>
where
    F: FnMut(()) -> CoroutineState<Y, ()>,
{
    GeneratorFn { resume }
}

impl<Y, F> Iterator for GeneratorFn<F>
where
    F: FnMut(()) -> CoroutineState<Y, ()>,
{
    type Item = Y;

    #[inline(always)]
    fn next(&mut self) -> Option<Y> {
        match (self.resume)(()) {
            CoroutineState::Yielded(item) => Some(item),
            CoroutineState::Complete(()) => None,
        }
    }

    #[inline]
    fn fold<B, G>(self, init: B, step: G) -> B
    where
        G: FnMut(B, Y) -> B,
    {
        fold_after_first(self, init, step)
    }
}

/// `Iterator::fold` with the first resume apart from the loop. Once a body has
/// begun its state can no longer be the start, so the optimiser drops that case
/// from the loop's dispatch: a generator summed this way runs the hand-written
/// iterator's machine code, instruction for instruction (`sum`, `count`,
/// `for_each`, `collect` and most adapters iterate through `fold`; a `for` loop
/// calls `next`, and dispatches on the state at each item).
#[inline]
pub(crate) fn fold_after_first<I, B, G>(mut items: I, init: B, mut step: G) -> B
where
    I: Iterator,
    G: FnMut(B, I::Item) -> B,
{
    let Some(first) = items.next() else {
        return init;
    };
    let mut accumulated = step(init, first);
    for item in items {
        accumulated = step(accumulated, item);
    }
    accumulated
}

impl<Y, F> FusedIterator for GeneratorFn<F> where F: FnMut(()) -> CoroutineState<Y, ()> {}

pin_project_lite::pin_project! {
    /// A suspend function made from its resume closure and the slot its awaited
    /// futures are pinned in; returned as `impl Future<Output = T>`.
    ///
    /// The closure's own state still moves freely; only `awaiting` is pinned, which is
    /// what lets the expansion poll `!Unpin` futures without `unsafe`.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct FutureFn<F, A> {
        resume: F,
        #[pin]
        awaiting: A,
    }
}

/// Wraps a suspend function's resume closure and its empty await slot.
#[doc(hidden)]
#[inline(always)]
pub fn future<T, A, F>(awaiting: A, resume: F) -> FutureFn<F, A>
where
    F: FnMut(Pin<&mut A>, &mut Context<'_>) -> Poll<T>,
{
    FutureFn { resume, awaiting }
}

impl<T, A, F> Future for FutureFn<F, A>
where
    F: FnMut(Pin<&mut A>, &mut Context<'_>) -> Poll<T>,
{
    type Output = T;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        (this.resume)(this.awaiting, cx)
    }
}

pin_project_lite::pin_project! {
    /// An async generator made from its resume closure and await slot; returned as
    /// `impl Stream<Item = Y>`. The closure answers `Ready(None)` again after the end,
    /// so the stream is fused.
    #[doc(hidden)]
    #[must_use = "streams do nothing unless polled"]
    pub struct StreamFn<F, A> {
        resume: F,
        done: bool,
        #[pin]
        awaiting: A,
    }
}

/// Wraps an async generator's resume closure and its empty await slot.
#[doc(hidden)]
#[inline(always)]
pub fn stream<Y, A, F>(awaiting: A, resume: F) -> StreamFn<F, A>
where
    F: FnMut(Pin<&mut A>, &mut Context<'_>) -> Poll<Option<Y>>,
{
    StreamFn {
        resume,
        done: false,
        awaiting,
    }
}

impl<Y, A, F> Stream for StreamFn<F, A>
where
    F: FnMut(Pin<&mut A>, &mut Context<'_>) -> Poll<Option<Y>>,
{
    type Item = Y;

    #[inline(always)]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Y>> {
        let this = self.project();
        let polled = (this.resume)(this.awaiting, cx);
        if let Poll::Ready(None) = polled {
            *this.done = true;
        }
        polled
    }
}

impl<Y, A, F> futures_core::FusedStream for StreamFn<F, A>
where
    F: FnMut(Pin<&mut A>, &mut Context<'_>) -> Poll<Option<Y>>,
{
    fn is_terminated(&self) -> bool {
        self.done
    }
}

/// A generator or coroutine whose signature asks for `Debug`: its resume closure
/// also says which `yield_!` it stopped at, and the wrapper keeps where the body
/// stands. Returned as `impl Iterator<Item = Y> + Debug` or `impl Coroutine<..> +
/// Debug`.
#[doc(hidden)]
#[must_use = "generators and coroutines do nothing unless resumed"]
pub struct Described<F> {
    resume: F,
    /// ``generator `fib` ``, written by the expansion.
    named: &'static str,
    stage: Stage,
}

impl<F> Unpin for Described<F> {}

impl<F> Described<F> {
    /// Runs one resume, keeping where the body stands.
    #[inline(always)]
    fn step<R, Y, T>(&mut self, arg: R) -> CoroutineState<Y, T>
    where
        F: FnMut(R, &mut Option<&'static Site>) -> CoroutineState<Y, T>,
    {
        let mut at = None;
        self.stage = Stage::Poisoned;
        let state = (self.resume)(arg, &mut at);
        self.stage = match state {
            CoroutineState::Yielded(_) => Stage::Suspended(at),
            CoroutineState::Complete(_) => Stage::Finished,
        };
        state
    }
}

/// Wraps a described generator's resume closure.
#[doc(hidden)]
#[inline(always)]
pub fn described_generator<Y, F>(named: &'static str, resume: F) -> Described<F>
where
    F: FnMut((), &mut Option<&'static Site>) -> CoroutineState<Y, ()>,
{
    Described {
        resume,
        named,
        stage: Stage::NotStarted,
    }
}

/// Wraps a described coroutine's resume closure.
#[doc(hidden)]
#[inline(always)]
pub fn described_coroutine<R, Y, T, F>(named: &'static str, resume: F) -> Described<F>
where
    F: FnMut(R, &mut Option<&'static Site>) -> CoroutineState<Y, T>,
{
    Described {
        resume,
        named,
        stage: Stage::NotStarted,
    }
}

impl<Y, F> Iterator for Described<F>
where
    F: FnMut((), &mut Option<&'static Site>) -> CoroutineState<Y, ()>,
{
    type Item = Y;

    #[inline(always)]
    fn next(&mut self) -> Option<Y> {
        match self.step(()) {
            CoroutineState::Yielded(item) => Some(item),
            CoroutineState::Complete(()) => None,
        }
    }

    #[inline]
    fn fold<B, G>(self, init: B, step: G) -> B
    where
        G: FnMut(B, Y) -> B,
    {
        fold_after_first(self, init, step)
    }
}

impl<Y, F> FusedIterator for Described<F> where
    F: FnMut((), &mut Option<&'static Site>) -> CoroutineState<Y, ()>
{
}

impl<R, Y, T, F> Coroutine<R> for Described<F>
where
    F: FnMut(R, &mut Option<&'static Site>) -> CoroutineState<Y, T>,
{
    type Yield = Y;
    type Return = T;

    #[inline(always)]
    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Y, T> {
        self.get_mut().step(arg)
    }
}

impl<F> core::fmt::Debug for Described<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        describe(f, self.named, self.stage)
    }
}
