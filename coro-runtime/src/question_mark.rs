//! `?` inside a coroutine body. std's `Try` and `FromResidual` are unstable, so the
//! compact machine lowers `expr?` to `match Try::branch(expr) { .. }` with these
//! two, implemented for `Result` and `Option` exactly as std's are (`From` on the
//! error). They are public only so that a compile error about `?` names them by a
//! path the user can look up; there is nothing to implement.
//!
//! ```
//! use coro::{Coroutine, CoroutineState};
//! use std::pin::pin;
//!
//! #[coro::coroutine]
//! fn sum() -> impl Coroutine<&'static str, Yield = (), Return = Result<u32, std::num::ParseIntError>> {
//!     let a: u32 = yield_!(()).parse()?;
//!     let b: u32 = yield_!(()).parse()?;
//!     Ok(a + b)
//! }
//!
//! let mut c = pin!(sum());
//! c.as_mut().resume("");
//! c.as_mut().resume("2");
//! assert!(matches!(c.as_mut().resume("x"), CoroutineState::Complete(Err(_))));
//! ```

use core::convert::Infallible;
use core::ops::ControlFlow;

/// The `?` operator's branch, which is unstable in std (`core::ops::Try`).
#[diagnostic::on_unimplemented(
    message = "the `?` operator can only be applied to a `Result` or an `Option` in a coroutine, not to `{Self}`",
    label = "`?` applied to `{Self}`"
)]
pub trait Try {
    /// What `?` evaluates to when the body goes on (`T` of `Result<T, E>`).
    type Output;
    /// What `?` returns early with (`Result<Infallible, E>`, `Option<Infallible>`).
    type Residual;
    /// Goes on with the value, or breaks with the residual.
    fn branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

/// Builds the coroutine's return value from what `?` short-circuited with.
#[diagnostic::on_unimplemented(
    message = "the `?` operator needs the coroutine to return a `Result` or an `Option` (its `Return` type is `{Self}`)",
    label = "this `?` returns early from a coroutine whose `Return` type is `{Self}`",
    note = "declare `impl Coroutine<R, Yield = Y, Return = Result<T, E>>` (or `Option<T>`), or handle the error here"
)]
pub trait FromResidual<R> {
    /// The return value for an early return with `residual`.
    fn from_residual(residual: R) -> Self;
}

impl<T, E> Try for Result<T, E> {
    type Output = T;
    type Residual = Result<Infallible, E>;
    #[inline(always)]
    fn branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Ok(value) => ControlFlow::Continue(value),
            Err(error) => ControlFlow::Break(Err(error)),
        }
    }
}

impl<T> Try for Option<T> {
    type Output = T;
    type Residual = Option<Infallible>;
    #[inline(always)]
    fn branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Some(value) => ControlFlow::Continue(value),
            None => ControlFlow::Break(None),
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T, E, F: From<E>> FromResidual<Result<Infallible, E>> for Result<T, F> {
    #[inline(always)]
    fn from_residual(residual: Result<Infallible, E>) -> Self {
        match residual {
            Err(error) => Err(From::from(error)),
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T> FromResidual<Option<Infallible>> for Option<T> {
    #[inline(always)]
    fn from_residual(_: Option<Infallible>) -> Self {
        None
    }
}
