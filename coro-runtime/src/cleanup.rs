//! Async cleanup when a task is cancelled (Kotlin's `withContext(NonCancellable)` in
//! a `finally`, an async Go `defer`).
//!
//! `Drop` cannot await, so a task that must say goodbye on a socket or flush a log
//! when it is cancelled has nowhere to do it. [`on_cancel`] gives it a guard holding
//! the cleanup future. When the guard is dropped because its task is being cancelled
//! (its scope was cancelled or failed, its handle was cancelled, a `timeout` around
//! it expired), it hands the future to the innermost scope still running, which
//! runs it to completion as a task of its own before that scope completes. The
//! cleanup is not cancelled by the cancellation that started it; put it under a
//! [`timeout`](crate::timeout) to bound it. A cleanup that panics fails its scope as a
//! child's panic would (the first failure is the one reported).
//!
//! A guard dropped on the normal path, its task running to the end, drops the
//! future unrun: the normal path does its cleanup inline, with `.await`.
//!
//! Cancellation is known by a thread-local depth, raised wherever coro drops a
//! future to cancel it.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::cancel::ScopeCancel;

thread_local! {
    /// How many cancellations are dropping futures on this thread right now.
    static CANCELLING: Cell<u32> = const { Cell::new(0) };
}

/// Runs `drop_futures` as a cancellation: cleanup guards dropped inside it run
/// their cleanups.
pub(crate) fn cancelling<R>(drop_futures: impl FnOnce() -> R) -> R {
    struct Lower;
    impl Drop for Lower {
        fn drop(&mut self) {
            CANCELLING.set(CANCELLING.get() - 1);
        }
    }
    CANCELLING.set(CANCELLING.get() + 1);
    let _lower = Lower;
    drop_futures()
}

/// A guard that runs `cleanup` to completion if its task is cancelled while the
/// guard is alive. Keep it in a local for as long as the cleanup applies. The
/// future must own what it uses (`async move`), since the task it came from is
/// gone by the time it runs. Costs one allocation.
///
/// Under [`coro::run`](crate::run) with no scope around the cancelled task, the
/// cleanup runs as a detached task, which `run` drops if its own future finishes
/// first.
///
/// ```
/// use std::rc::Rc;
/// use std::cell::Cell;
/// use std::time::Duration;
///
/// let said_goodbye = Rc::new(Cell::new(false));
/// coro::run(coro::scope(async |s| {
///     let flag = said_goodbye.clone();
///     let session = s.spawn(async move {
///         let _goodbye = coro::on_cancel(async move {
///             coro::sleep(Duration::from_millis(1)).await; // may await
///             flag.set(true);
///         });
///         coro::sleep(Duration::from_secs(60)).await; // cancelled here
///     });
///     coro::yield_now().await;
///     session.cancel();
/// }));
/// assert!(said_goodbye.get()); // the scope ran the cleanup before it returned
/// ```
#[track_caller]
pub fn on_cancel<F>(cleanup: F) -> OnCancel
where
    F: Future<Output = ()> + 'static,
{
    OnCancel {
        cleanup: Some(Box::pin(cleanup)),
        armed_at: std::panic::Location::caller(),
    }
}

/// The guard returned by [`on_cancel`].
///
/// ```
/// let guard: coro::OnCancel = coro::on_cancel(async {});
/// guard.disarm(); // the work it guarded finished: nothing to clean up
/// ```
#[must_use = "the cleanup runs only if the guard is alive when the task is cancelled"]
pub struct OnCancel {
    cleanup: Option<Pin<Box<dyn Future<Output = ()>>>>,
    /// Where `on_cancel` was called: the cleanup task's spawn site in a dump.
    armed_at: &'static std::panic::Location<'static>,
}

impl OnCancel {
    /// Drops the cleanup unrun, whatever happens next.
    ///
    /// ```
    /// let guard = coro::on_cancel(async { unreachable!() });
    /// guard.disarm();
    /// ```
    pub fn disarm(mut self) {
        self.cleanup = None;
    }
}

impl Drop for OnCancel {
    fn drop(&mut self) {
        if CANCELLING.get() == 0 {
            return;
        }
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        match ScopeCancel::current() {
            Some(scope) => scope.run_cleanup(cleanup, self.armed_at),
            None => {
                if let Some(handle) = crate::executor::try_with_executor(|executor| {
                    executor.detached.spawn_value(cleanup, true)
                }) {
                    handle.slot_spawned_at(self.armed_at);
                }
            }
        }
    }
}

impl fmt::Debug for OnCancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnCancel")
            .field("armed", &self.cleanup.is_some())
            .finish()
    }
}
