//! What the *pinned* lowering of `#[coro::coroutine]` expands to.
//!
//! In the pinned lowering rustc lays out the frame: the body is an `async move`
//! block, so its locals may be borrowed across suspension points exactly as in an
//! `async fn`. A suspend function is that block as it is. The other kinds need the
//! values a `yield_!` produces to leave the block, and the resume arguments to reach
//! it, without `unsafe`: both go through a [`YieldSlot`] that the block and the
//! wrapper share (the technique of async-stream, here behind a lock instead of a
//! thread-local pointer).
//!
//! A `yield_!` stores its value in the slot and returns `Pending` once without
//! waking anybody; the wrapper sees `Pending` with a value in the slot and hands the
//! value to its caller. `Pending` with an empty slot is a real `Pending` from an
//! awaited future (streams only). The lock is uncontended (one side runs at a time),
//! which costs two atomic operations per item; it is what keeps the wrappers `Send`
//! and `Sync` when the items are.

use core::future::Future;
use core::iter::FusedIterator;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_core::Stream;

use crate::debug::Site;
use crate::describe::{Stage, describe};
use crate::{Coroutine, CoroutineState};

/// The values in flight between a pinned body and its wrapper: the last yielded
/// value, on its way out, and the next resume argument, on its way in.
#[doc(hidden)]
pub struct YieldSlot<Y, R = ()> {
    shared: Arc<Mutex<Exchange<Y, R>>>,
}

struct Exchange<Y, R> {
    yielded: Option<Y>,
    resumed: Option<R>,
    /// Where the body last yielded, for `Debug` (set only by a body whose
    /// signature asks for it).
    at: Option<&'static Site>,
    /// ``generator `fib` ``, for `Debug`; empty unless the signature asks for it.
    named: &'static str,
}

impl<Y, R> YieldSlot<Y, R> {
    /// A slot for one coroutine; the expansion keeps one handle and gives the other
    /// to the wrapper.
    #[doc(hidden)]
    pub fn new() -> Self {
        Self::named("")
    }

    /// A slot for a body whose signature asks for `Debug`, which says it is
    /// `named` (``generator `fib` ``).
    #[doc(hidden)]
    pub fn named(named: &'static str) -> Self {
        YieldSlot {
            shared: Arc::new(Mutex::new(Exchange {
                yielded: None,
                resumed: None,
                at: None,
                named,
            })),
        }
    }

    /// Another handle to the same slot.
    #[doc(hidden)]
    pub fn handle(&self) -> Self {
        YieldSlot {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The next `yield_!` is at `site` (what a body whose signature asks for
    /// `Debug` says before each).
    #[doc(hidden)]
    pub fn mark(&self, site: &'static Site) {
        self.lock().at = Some(site);
    }

    fn describe(&self, f: &mut core::fmt::Formatter<'_>, phase: Phase) -> core::fmt::Result {
        let (at, named) = {
            let exchange = self.lock();
            (exchange.at, exchange.named)
        };
        let stage = match phase {
            Phase::Fresh => Stage::NotStarted,
            Phase::Suspended => Stage::Suspended(at),
            Phase::Running => Stage::Poisoned,
            Phase::Done => Stage::Finished,
        };
        describe(f, named, stage)
    }

    fn lock(&self) -> MutexGuard<'_, Exchange<Y, R>> {
        // A panic while the lock is held can only come from a value's `Drop` inside
        // `Option::take`/assignment; the exchange is still consistent after it.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn put_yielded(&self, value: Y) {
        self.lock().yielded = Some(value);
    }

    fn take_yielded(&self) -> Option<Y> {
        self.lock().yielded.take()
    }

    fn put_resumed(&self, value: R) {
        self.lock().resumed = Some(value);
    }

    fn take_resumed(&self) -> Option<R> {
        self.lock().resumed.take()
    }

    /// `yield_!(value)` in a coroutine: suspends the body with `value` and evaluates
    /// to the next resume argument.
    #[doc(hidden)]
    pub fn yield_value(&self, value: Y) -> Yielding<'_, Y, R> {
        Yielding {
            slot: self,
            value: Some(value),
        }
    }

    /// `yield_from!(coroutine)`: forwards every yield and resume argument, and
    /// evaluates to the inner coroutine's return value.
    #[doc(hidden)]
    pub fn forward_coroutine<C>(&self, coroutine: C) -> ForwardCoroutine<'_, Y, R, C>
    where
        C: Coroutine<R, Yield = Y> + Unpin,
        R: Default,
    {
        ForwardCoroutine {
            slot: self,
            coroutine,
            waiting: false,
        }
    }
}

impl<Y> YieldSlot<Y, ()> {
    /// `yield_!(item)` in a generator or an async generator, whose resume argument
    /// is always `()`: nothing comes back through the slot.
    #[doc(hidden)]
    pub fn yield_item(&self, item: Y) -> YieldingItem<'_, Y> {
        YieldingItem {
            slot: self,
            item: Some(item),
        }
    }

    /// `yield_from!(stream)` in an async generator: forwards every item.
    #[doc(hidden)]
    pub fn forward_stream<S: Stream<Item = Y>>(&self, stream: S) -> ForwardStream<'_, Y, S> {
        ForwardStream { slot: self, stream }
    }

    /// `yield_from!(source)` in a generator: forwards every item of an iterable,
    /// or every yield of a coroutine, and evaluates to what it ends with.
    #[doc(hidden)]
    pub fn forward_steps<F>(&self, source: F) -> ForwardSteps<'_, Y, F>
    where
        F: crate::private::Forward<Item = Y>,
    {
        ForwardSteps { slot: self, source }
    }
}

/// The future a coroutine's `yield_!` awaits: `Pending` once with the value in the
/// slot, then ready with the resume argument.
#[doc(hidden)]
#[must_use = "a yield does nothing unless awaited"]
pub struct Yielding<'a, Y, R> {
    slot: &'a YieldSlot<Y, R>,
    value: Option<Y>,
}

impl<Y, R> Unpin for Yielding<'_, Y, R> {}

impl<Y, R> Future for Yielding<'_, Y, R> {
    type Output = R;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<R> {
        let this = self.get_mut();
        match this.value.take() {
            Some(value) => {
                this.slot.put_yielded(value);
                Poll::Pending
            }
            None => match this.slot.take_resumed() {
                Some(arg) => Poll::Ready(arg),
                None => unreachable!("coro: a pinned coroutine resumed without an argument"),
            },
        }
    }
}

/// The future a generator's or async generator's `yield_!` awaits.
#[doc(hidden)]
#[must_use = "a yield does nothing unless awaited"]
pub struct YieldingItem<'a, Y> {
    slot: &'a YieldSlot<Y, ()>,
    item: Option<Y>,
}

impl<Y> Unpin for YieldingItem<'_, Y> {}

impl<Y> Future for YieldingItem<'_, Y> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match this.item.take() {
            Some(item) => {
                this.slot.put_yielded(item);
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }
}

pin_project_lite::pin_project! {
    /// `yield_from!` of a stream inside an async generator: one future for the
    /// whole forward, `Pending` with an item in the slot for each item.
    #[doc(hidden)]
    #[must_use = "a yield_from does nothing unless awaited"]
    pub struct ForwardStream<'a, Y, S> {
        slot: &'a YieldSlot<Y, ()>,
        #[pin]
        stream: S,
    }
}

impl<Y, S: Stream<Item = Y>> Future for ForwardStream<'_, Y, S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        match this.stream.poll_next(cx) {
            Poll::Ready(Some(item)) => {
                this.slot.put_yielded(item);
                Poll::Pending
            }
            Poll::Ready(None) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `yield_from!` inside a generator: `Pending` with an item in the slot for each
/// item, then ready with the source's end value.
#[doc(hidden)]
#[must_use = "a yield_from does nothing unless awaited"]
pub struct ForwardSteps<'a, Y, F> {
    slot: &'a YieldSlot<Y, ()>,
    source: F,
}

impl<Y, F> Unpin for ForwardSteps<'_, Y, F> {}

impl<Y, F: crate::private::Forward<Item = Y>> Future for ForwardSteps<'_, Y, F> {
    type Output = F::Return;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<F::Return> {
        let this = self.get_mut();
        match this.source.step() {
            CoroutineState::Yielded(item) => {
                this.slot.put_yielded(item);
                Poll::Pending
            }
            CoroutineState::Complete(value) => Poll::Ready(value),
        }
    }
}

/// `yield_from!` of a coroutine inside a coroutine.
#[doc(hidden)]
#[must_use = "a yield_from does nothing unless awaited"]
pub struct ForwardCoroutine<'a, Y, R, C> {
    slot: &'a YieldSlot<Y, R>,
    coroutine: C,
    waiting: bool,
}

impl<Y, R, C: Unpin> Unpin for ForwardCoroutine<'_, Y, R, C> {}

impl<Y, R: Default, C> Future for ForwardCoroutine<'_, Y, R, C>
where
    C: Coroutine<R, Yield = Y> + Unpin,
{
    type Output = C::Return;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<C::Return> {
        let this = self.get_mut();
        // The inner coroutine's first resume starts it, with `R::default()` (its
        // argument is dropped); later ones pass on what the caller resumed us with.
        let arg = match this.waiting {
            true => this.slot.take_resumed().unwrap_or_default(),
            false => R::default(),
        };
        match Pin::new(&mut this.coroutine).resume(arg) {
            CoroutineState::Yielded(item) => {
                this.waiting = true;
                this.slot.put_yielded(item);
                Poll::Pending
            }
            CoroutineState::Complete(value) => Poll::Ready(value),
        }
    }
}

/// Where a pinned wrapper is in its life; a resume that finds `Running` follows a
/// resume that panicked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Fresh,
    Suspended,
    Running,
    Done,
}

/// The body of a pinned suspend function: the `async move` block itself. The
/// function only names the output type, so `?` and `return` inside the block are
/// typed by the signature.
#[doc(hidden)]
#[inline(always)]
pub fn pinned_future<T, F: Future<Output = T>>(body: F) -> F {
    body
}

pin_project_lite::pin_project! {
    /// A pinned async generator; returned as `impl Stream<Item = Y>`.
    #[doc(hidden)]
    #[must_use = "streams do nothing unless polled"]
    pub struct PinnedStream<Y, F> {
        slot: YieldSlot<Y, ()>,
        phase: Phase,
        #[pin]
        body: F,
    }
}

/// Wraps the `async move` block of a pinned async generator and its slot.
#[doc(hidden)]
#[inline(always)]
pub fn pinned_stream<Y, F: Future<Output = ()>>(
    slot: YieldSlot<Y, ()>,
    body: F,
) -> PinnedStream<Y, F> {
    PinnedStream {
        slot,
        phase: Phase::Fresh,
        body,
    }
}

impl<Y, F: Future<Output = ()>> Stream for PinnedStream<Y, F> {
    type Item = Y;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Y>> {
        let this = self.project();
        match *this.phase {
            Phase::Done => return Poll::Ready(None),
            Phase::Running => crate::private::resumed_after_panic(),
            Phase::Fresh | Phase::Suspended => {}
        }
        *this.phase = Phase::Running;
        let polled = this.body.poll(cx);
        match polled {
            Poll::Ready(()) => {
                *this.phase = Phase::Done;
                Poll::Ready(None)
            }
            Poll::Pending => {
                *this.phase = Phase::Suspended;
                match this.slot.take_yielded() {
                    Some(item) => Poll::Ready(Some(item)),
                    None => Poll::Pending,
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.phase {
            Phase::Done => (0, Some(0)),
            _ => (0, None),
        }
    }
}

impl<Y, F: Future<Output = ()>> futures_core::FusedStream for PinnedStream<Y, F> {
    fn is_terminated(&self) -> bool {
        self.phase == Phase::Done
    }
}

pin_project_lite::pin_project! {
    /// A pinned coroutine; returned as `impl Coroutine<R, Yield = Y, Return = T>`.
    /// It is `!Unpin` when its body is, and resumed through `Pin`, as nightly's
    /// `static` coroutines are.
    #[doc(hidden)]
    #[must_use = "coroutines do nothing unless resumed"]
    pub struct PinnedCoroutine<Y, R, F> {
        slot: YieldSlot<Y, R>,
        phase: Phase,
        #[pin]
        body: F,
    }
}

/// Wraps the `async move` block of a pinned coroutine and its slot.
#[doc(hidden)]
#[inline(always)]
pub fn pinned_coroutine<R, Y, T, F: Future<Output = T>>(
    slot: YieldSlot<Y, R>,
    body: F,
) -> PinnedCoroutine<Y, R, F> {
    PinnedCoroutine {
        slot,
        phase: Phase::Fresh,
        body,
    }
}

impl<R, Y, T, F: Future<Output = T>> Coroutine<R> for PinnedCoroutine<Y, R, F> {
    type Yield = Y;
    type Return = T;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Y, T> {
        let this = self.project();
        match *this.phase {
            Phase::Done => crate::private::resumed_after_completion(),
            Phase::Running => crate::private::resumed_after_panic(),
            // The first resume starts the body; nothing is waiting for its argument.
            Phase::Fresh => drop(arg),
            Phase::Suspended => this.slot.put_resumed(arg),
        }
        *this.phase = Phase::Running;
        let polled = this.body.poll(&mut Context::from_waker(Waker::noop()));
        match polled {
            Poll::Ready(value) => {
                *this.phase = Phase::Done;
                CoroutineState::Complete(value)
            }
            Poll::Pending => {
                *this.phase = Phase::Suspended;
                match this.slot.take_yielded() {
                    Some(item) => CoroutineState::Yielded(item),
                    None => unreachable!("coro: a pinned coroutine suspended without a value"),
                }
            }
        }
    }
}

/// A pinned generator; returned as `impl Iterator<Item = Y>`. It is an async
/// generator polled with a waker that does nothing (its body awaits only its
/// yields); `Iterator::next` takes `&mut self`, so it pins that stream once, on the
/// heap, when it is created.
#[doc(hidden)]
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct PinnedGenerator<Y, F> {
    inner: Pin<Box<PinnedStream<Y, F>>>,
}

/// Wraps the `async move` block of a pinned generator and its slot.
#[doc(hidden)]
pub fn pinned_generator<Y, F: Future<Output = ()>>(
    slot: YieldSlot<Y, ()>,
    body: F,
) -> PinnedGenerator<Y, F> {
    PinnedGenerator {
        inner: Box::pin(pinned_stream(slot, body)),
    }
}

impl<Y, F: Future<Output = ()>> Iterator for PinnedGenerator<Y, F> {
    type Item = Y;

    fn next(&mut self) -> Option<Y> {
        let cx = &mut Context::from_waker(Waker::noop());
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(item) => item,
            Poll::Pending => unreachable!("coro: a pinned generator suspended without an item"),
        }
    }
}

impl<Y, F: Future<Output = ()>> FusedIterator for PinnedGenerator<Y, F> {}

impl<Y, R, F> core::fmt::Debug for PinnedCoroutine<Y, R, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.slot.describe(f, self.phase)
    }
}

impl<Y, F> core::fmt::Debug for PinnedGenerator<Y, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner.slot.describe(f, self.inner.phase)
    }
}
