//! Stackless coroutines for stable Rust.
#![forbid(unsafe_code)]

pub use coro_macros::coroutine;
pub use coro_runtime::{Coroutine, CoroutineState};

#[doc(hidden)]
pub use coro_runtime::private as __private;

/// Suspends a `#[coroutine]` body, handing `value` to the caller; evaluates to the
/// argument of the `resume` that continues it (`()` for generators).
///
/// The `#[coroutine]` transform recognises `yield_!` by name inside the body, so it
/// needs no import there. Anywhere else, this macro is a compile error.
///
/// ```compile_fail
/// fn not_a_coroutine() {
///     coro::yield_!(1);
/// }
/// ```
#[macro_export]
macro_rules! yield_ {
    ($($value:tt)*) => {
        ::core::compile_error!(
            "`yield_!` can only be used directly in the body of a `#[coroutine]` function \
             (not in a closure, async block or nested function inside it)"
        )
    };
}

/// Forwards every value a coroutine or iterator yields, then evaluates to its return
/// value. Like [`yield_!`], it only works directly inside a `#[coroutine]` body.
///
/// ```compile_fail
/// fn not_a_coroutine() {
///     coro::yield_from!(0..3);
/// }
/// ```
#[macro_export]
macro_rules! yield_from {
    ($($source:tt)*) => {
        ::core::compile_error!(
            "`yield_from!` can only be used directly in the body of a `#[coroutine]` function \
             (not in a closure, async block or nested function inside it)"
        )
    };
}
