//! Items the `#[coroutine]` expansion names through `::coro::__private`. Not an API:
//! anything here may change in any release.

pub use crate::adapters::{coroutine, future, generator, stream};
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

/// The `?` operator's branch, which is unstable in std (`core::ops::Try`).
pub trait Try {
    type Output;
    type Residual;
    fn branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

/// Builds the coroutine's return value from what `?` short-circuited with.
pub trait FromResidual<R> {
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

impl<T, E, F: From<E>> FromResidual<Result<Infallible, E>> for Result<T, F> {
    #[inline(always)]
    fn from_residual(residual: Result<Infallible, E>) -> Self {
        match residual {
            Err(error) => Err(From::from(error)),
        }
    }
}

impl<T> FromResidual<Option<Infallible>> for Option<T> {
    #[inline(always)]
    fn from_residual(_: Option<Infallible>) -> Self {
        None
    }
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
