//! Runtime support for [coro](https://docs.rs/coro): the [`Coroutine`] trait, the
//! adapters `#[coro::coroutine]` expansions return, and a single-threaded executor
//! with structured concurrency. Use it through the `coro` facade.
//!
//! Each runtime concept has its own module: `executor` (`run`, detached tasks,
//! `yield_now`), `reactor` (where `run` waits), `coop` (the cooperative budget),
//! `runtime` (the builder), `scope` (structured concurrency), `children` (the tasks a
//! scope owns), `cancel` (cancellation by hand), `cleanup` (async cleanup on
//! cancellation), `builder` (named tasks), `task` (handles and errors), `time`,
//! `blocking`, `suspend`, `channel`, `sync`, `context`, `debug` (the live task
//! tree), `clock` (its coarse clock), `trace` (the timeline, as JSON or a
//! picture) and `describe` (what a generator's `Debug` says). All `unsafe` code is
//! in one module, `raw` (a task in one allocation, wakers without allocations of
//! their own, the channels' lock); the rest of the crate is safe code.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod adapters;
mod blocking;
mod builder;
mod cancel;
pub mod channel;
mod children;
mod cleanup;
mod clock;
pub mod context;
mod coop;
mod coroutine;
pub mod debug;
mod describe;
mod executor;
pub mod io;
mod pinned;
#[allow(unsafe_code)]
mod raw;
mod reactor;

#[doc(hidden)]
pub mod private;
pub mod question_mark;
mod runtime;
mod scope;
mod suspend;
pub mod sync;
mod task;
mod time;
mod trace;

pub use blocking::{Blocking, spawn_blocking};
pub use builder::{Detached, TaskBuilder};
pub use cancel::{CancelHandle, Cancelled, EnsureActive, ensure_active, is_cancelled};
pub use cleanup::{OnCancel, on_cancel};
pub use coop::{ConsumeBudget, consume_budget};
pub use coroutine::{Coroutine, CoroutineState};
pub use executor::{YieldNow, run, spawn_detached, yield_now};
/// The async iterator trait of the ecosystem (`futures-core`), which async generators
/// (`#[coro::coroutine]` functions returning `impl Stream<Item = Y>`) implement.
pub use futures_core::Stream;
pub use runtime::{BuildError, Builder, Runtime};
pub use scope::{Scope, SupervisorScope, TryScope, scope, supervisor_scope, try_scope};
pub use suspend::{Continuation, SuspendWith, suspend_with};
pub use task::{JoinError, JoinHandle};
pub use time::{
    Elapsed, Interval, Sleep, Timeout, deadline, interval, sleep, sleep_until, timeout, timeout_at,
};
