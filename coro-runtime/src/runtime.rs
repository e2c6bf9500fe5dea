//! A configured runtime: [`Runtime::builder`] sets what [`run`](crate::run) takes as
//! defaults (the blocking pool's size and idle timeout, the cooperative budget), and
//! checks the settings when it builds, so a bad one is an error at start-up rather
//! than a surprise later. A [`Runtime`] is plain data: keep it and call
//! [`Runtime::run`] as often as needed.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::blocking::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_THREADS, configure_pool};
use crate::coop::{DEFAULT_BUDGET, set_budget_per_turn};

/// Settings for a [`Runtime`], checked by [`build`](Builder::build) (tokio's
/// `runtime::Builder`).
///
/// ```
/// use std::time::Duration;
///
/// let runtime = coro::Runtime::builder()
///     .max_blocking_threads(4)
///     .blocking_idle_timeout(Duration::from_secs(1))
///     .budget(64)
///     .build()
///     .unwrap();
/// let sum = runtime.run(async { coro::spawn_blocking(|| 2 + 2).await });
/// assert_eq!(sum, 4);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    max_blocking_threads: usize,
    blocking_idle_timeout: Duration,
    budget: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            max_blocking_threads: DEFAULT_MAX_THREADS,
            blocking_idle_timeout: DEFAULT_IDLE_TIMEOUT,
            budget: DEFAULT_BUDGET,
        }
    }
}

impl Builder {
    /// The most threads [`spawn_blocking`](crate::spawn_blocking) runs at once (64 by
    /// default); further jobs queue. The pool is shared by the whole process: the
    /// limit holds while this runtime runs, and the default comes back after.
    ///
    /// ```
    /// let runtime = coro::Runtime::builder().max_blocking_threads(1).build().unwrap();
    /// assert_eq!(runtime.run(coro::spawn_blocking(|| 1)), 1);
    /// ```
    pub fn max_blocking_threads(mut self, threads: usize) -> Self {
        self.max_blocking_threads = threads;
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits (ten
    /// seconds by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// let runtime = coro::Runtime::builder()
    ///     .blocking_idle_timeout(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// # drop(runtime);
    /// ```
    pub fn blocking_idle_timeout(mut self, timeout: Duration) -> Self {
        self.blocking_idle_timeout = timeout;
        self
    }

    /// How many operations of coro's own futures a task completes in one turn before
    /// it gives the thread back (128 by default; see
    /// [`consume_budget`](crate::consume_budget)). Lower is fairer, higher has fewer
    /// task switches.
    ///
    /// ```
    /// let runtime = coro::Runtime::builder().budget(16).build().unwrap();
    /// # drop(runtime);
    /// ```
    pub fn budget(mut self, operations: u32) -> Self {
        self.budget = operations;
        self
    }

    /// Checks the settings and gives the runtime.
    ///
    /// # Errors
    /// A [`BuildError`] naming the setting when the blocking pool may have no thread,
    /// the idle timeout is zero, or the budget is zero (no task could make progress).
    ///
    /// ```
    /// let error = coro::Runtime::builder().budget(0).build().unwrap_err();
    /// assert!(error.to_string().contains("budget"));
    /// ```
    pub fn build(self) -> Result<Runtime, BuildError> {
        if self.max_blocking_threads == 0 {
            return Err(BuildError(
                "`max_blocking_threads` must be at least 1: `spawn_blocking` would never run",
            ));
        }
        if self.blocking_idle_timeout.is_zero() {
            return Err(BuildError(
                "`blocking_idle_timeout` must be longer than zero: every pool thread would exit at once",
            ));
        }
        if self.budget == 0 {
            return Err(BuildError(
                "`budget` must be at least 1: no task could complete an operation",
            ));
        }
        Ok(Runtime { settings: self })
    }
}

/// A setting that [`Builder::build`] rejected; its `Display` names the setting and
/// why.
///
/// ```
/// let error = coro::Runtime::builder().max_blocking_threads(0).build().unwrap_err();
/// assert!(error.to_string().contains("max_blocking_threads"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError(&'static str);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BuildError {}

/// A runtime built from a [`Builder`]: [`run`](Runtime::run) is [`coro::run`] with
/// these settings.
///
/// [`coro::run`]: crate::run
///
/// ```
/// let runtime = coro::Runtime::builder().build().unwrap();
/// assert_eq!(runtime.run(async { 1 }), 1);
/// assert_eq!(runtime.run(async { 2 }), 2); // kept and reused
/// ```
#[derive(Clone, Debug)]
pub struct Runtime {
    settings: Builder,
}

impl Runtime {
    /// Starts a [`Builder`] with the defaults [`coro::run`](crate::run) uses.
    ///
    /// ```
    /// let runtime = coro::Runtime::builder().budget(32).build().unwrap();
    /// # drop(runtime);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Blocks this thread on `future`, as [`coro::run`](crate::run) does, with this
    /// runtime's settings in force until it returns.
    ///
    /// # Panics
    /// As [`coro::run`](crate::run) does: when `future` panics, or inside another
    /// run on the same thread.
    ///
    /// ```
    /// let runtime = coro::Runtime::builder().budget(8).build().unwrap();
    /// let value = runtime.run(async {
    ///     coro::sleep(std::time::Duration::from_millis(1)).await;
    ///     5
    /// });
    /// assert_eq!(value, 5);
    /// ```
    #[track_caller]
    pub fn run<F: Future>(&self, future: F) -> F::Output {
        struct RestoreBudget(u32);
        impl Drop for RestoreBudget {
            fn drop(&mut self) {
                set_budget_per_turn(self.0);
            }
        }
        let settings = &self.settings;
        configure_pool(
            settings.max_blocking_threads,
            settings.blocking_idle_timeout,
        );
        let _restore = RestoreBudget(set_budget_per_turn(settings.budget));
        crate::run(future)
    }
}
