//! The `Coroutine` trait, a stable mirror of nightly `core::ops::Coroutine`.
//!
//! The shape is copied exactly (`resume(self: Pin<&mut Self>, arg: R)`), so code written
//! against it moves to std by changing an import once coroutines stabilise.

use core::ops::DerefMut;
use core::pin::Pin;

/// What a coroutine did when it was resumed: it suspended with a value, or it finished.
///
/// ```
/// use coro::CoroutineState;
///
/// let state: CoroutineState<u32, &str> = CoroutineState::Yielded(1);
/// assert!(matches!(state, CoroutineState::Yielded(1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoroutineState<Y, R> {
    /// The coroutine suspended at a `yield_!` with this value; it can be resumed again.
    Yielded(Y),
    /// The coroutine ran to the end of its body and returned this value.
    ///
    /// Resuming it again panics (generators adapted to `Iterator` return `None` instead).
    Complete(R),
}

/// A computation that can suspend itself and be resumed with a value of type `R`.
///
/// `#[coro::coroutine]` functions returning `impl Coroutine<R, Yield = Y, Return = T>`
/// implement it. Each `resume` runs the body from where it last suspended up to the
/// next `yield_!` (giving [`CoroutineState::Yielded`]) or to its end (giving
/// [`CoroutineState::Complete`]). Inside the body, `yield_!(v)` evaluates to the
/// argument of the `resume` call that continues it.
///
/// **The first resume.** The first call starts the body from the top; there is no
/// `yield_!` waiting for its argument, so that argument is dropped. Nightly's
/// closures-as-coroutines bind it to the closure parameter instead; coro's functions
/// already have their parameters, so the first argument has nowhere to go.
///
/// **Cost.** A resume is a jump on the current state's discriminant; nothing is
/// allocated. **Failure.** Resuming after `Complete` panics with a message saying so;
/// so does resuming after an earlier resume panicked.
///
/// ```
/// use coro::{Coroutine, CoroutineState};
/// use std::pin::pin;
///
/// #[coro::coroutine]
/// fn summer() -> impl Coroutine<u32, Yield = u32, Return = u32> {
///     let mut total = 0;
///     while total < 10 {
///         total += yield_!(total);
///     }
///     total
/// }
///
/// let mut c = pin!(summer());
/// assert_eq!(c.as_mut().resume(0), CoroutineState::Yielded(0)); // starts; 0 is dropped
/// assert_eq!(c.as_mut().resume(4), CoroutineState::Yielded(4));
/// assert_eq!(c.as_mut().resume(7), CoroutineState::Complete(11));
/// ```
pub trait Coroutine<R = ()> {
    /// The type of the values passed out by `yield_!`.
    type Yield;
    /// The type of the value the body ends with.
    type Return;

    /// Runs the coroutine until it next suspends or finishes. The first call starts
    /// the body (its argument is dropped); each later one is what the pending
    /// `yield_!` evaluates to.
    ///
    /// # Panics
    /// If the coroutine already completed, or an earlier `resume` panicked.
    ///
    /// ```
    /// use coro::{Coroutine, CoroutineState};
    ///
    /// #[coro::coroutine]
    /// fn greeter() -> impl Coroutine<&'static str, Yield = String, Return = usize> {
    ///     let mut greeted = 0;
    ///     let mut name = yield_!(String::from("who is there?"));
    ///     while !name.is_empty() {
    ///         greeted += 1;
    ///         name = yield_!(format!("hello, {name}"));
    ///     }
    ///     greeted
    /// }
    ///
    /// let mut c = Box::pin(greeter());
    /// assert_eq!(c.as_mut().resume(""), CoroutineState::Yielded("who is there?".into()));
    /// assert_eq!(c.as_mut().resume("Ada"), CoroutineState::Yielded("hello, Ada".into()));
    /// assert_eq!(c.as_mut().resume(""), CoroutineState::Complete(1));
    /// ```
    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return>;
}

/// A pinned pointer to a coroutine is a coroutine: `Pin<Box<C>>`, `Pin<&mut C>`.
impl<P, R> Coroutine<R> for Pin<P>
where
    P: DerefMut + Unpin,
    P::Target: Coroutine<R>,
{
    type Yield = <P::Target as Coroutine<R>>::Yield;
    type Return = <P::Target as Coroutine<R>>::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return> {
        <P::Target as Coroutine<R>>::resume(self.get_mut().as_mut(), arg)
    }
}

/// A mutable reference to an `Unpin` coroutine drives the coroutine it points to.
impl<C, R> Coroutine<R> for &mut C
where
    C: Coroutine<R> + Unpin + ?Sized,
{
    type Yield = C::Yield;
    type Return = C::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return> {
        C::resume(Pin::new(&mut **self.get_mut()), arg)
    }
}

/// A box of an `Unpin` coroutine is a coroutine (use `Box::pin` for the others).
impl<C, R> Coroutine<R> for Box<C>
where
    C: Coroutine<R> + Unpin + ?Sized,
{
    type Yield = C::Yield;
    type Return = C::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return> {
        C::resume(Pin::new(&mut **self.get_mut()), arg)
    }
}
