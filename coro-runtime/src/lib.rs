//! Runtime support for [coro](https://docs.rs/coro): the [`Coroutine`] trait and the
//! adapters that `#[coroutine]` expansions return. Use it through the `coro` facade.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod adapters;
mod coroutine;
#[doc(hidden)]
pub mod private;

pub use coroutine::{Coroutine, CoroutineState};
/// The async iterator trait of the ecosystem (`futures-core`), which async generators
/// (`#[coroutine]` functions returning `impl Stream<Item = Y>`) implement.
pub use futures_core::Stream;
