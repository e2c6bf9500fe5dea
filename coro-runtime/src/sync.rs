//! Synchronisation between tasks: a [`Mutex`] whose guard may be held across an
//! `.await`, a [`RwLock`], a [`Semaphore`] to cap concurrency, a [`Barrier`], a
//! [`OnceCell`], and [`Notify`] to wake a task (tokio's `sync` module, Kotlin's
//! `Mutex` and `Semaphore`).
//!
//! The locks are async-lock's (smol's), each behind a thin wrapper: they are
//! executor-agnostic, well-kept, work across threads, and a waiting task only parks
//! its own future, never the thread. The wrappers make each lock, permit and barrier
//! wait spend the cooperative budget (see [`consume_budget`](crate::consume_budget)),
//! as coro's channels do: a loop whose locks are always free still gives the thread
//! back, so a sibling it waits for gets to run. Under `coro::run` (the `sync`
//! benchmark) an uncontended lock costs 0.4x to 0.9x tokio's `sync::Mutex`, by the
//! hour, and a handoff between two tasks 1.0x to 1.2x: no case where a lock of
//! coro's own would pay for itself.
//!
//! Guards that own an `Arc` of their lock, for a guard to move into a spawned task,
//! are there for the [`Semaphore`] ([`Semaphore::acquire_arc`]), where that is the
//! common case. For a mutex or a read-write lock, use async-lock's own types
//! (`async_lock::Mutex::lock_arc`), whose waits do not spend the budget.
//!
//! ```
//! use std::rc::Rc;
//! use coro::sync::Mutex;
//!
//! let total = coro::run(coro::scope(async |s| {
//!     let counter = Rc::new(Mutex::new(0));
//!     for _ in 0..3 {
//!         let counter = counter.clone();
//!         s.spawn(async move {
//!             let mut guard = counter.lock().await;
//!             coro::yield_now().await; // held across an await: the others wait
//!             *guard += 1;
//!         });
//!     }
//!     s.spawn(async {}).await.unwrap();
//!     // The scope waits for all three before it returns.
//!     counter
//! }));
//! assert_eq!(*total.try_lock().unwrap(), 3);
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

mod barrier;
mod mutex;
mod notify;
mod rwlock;
mod semaphore;

pub use async_lock::{
    BarrierWaitResult, MutexGuard, OnceCell, RwLockReadGuard, RwLockUpgradableReadGuard,
    RwLockWriteGuard, SemaphoreGuard,
};
pub use barrier::{Barrier, BarrierWait};
pub use mutex::{Lock, Mutex};
pub use notify::{Notified, Notify};
pub use rwlock::{Read, RwLock, UpgradableRead, Write};
pub use semaphore::{Acquire, Semaphore, SemaphoreGuardArc};

pin_project_lite::pin_project! {
    /// An async-lock wait that spends the cooperative budget: the future behind
    /// [`Lock`], [`Read`], [`Write`], [`UpgradableRead`], [`Acquire`] and
    /// [`BarrierWait`]. When the task's budget is spent, it wakes the task and
    /// returns `Pending` once before it looks at the lock; each wait that completes
    /// spends one unit. Costs a thread-local read and write per wait.
    ///
    /// ```
    /// let mutex = coro::sync::Mutex::new(1);
    /// let waiting: coro::sync::Wait<_> = mutex.lock();
    /// assert_eq!(*coro::run(waiting), 1);
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Wait<F> {
        #[pin]
        inner: F,
    }
}

impl<F> Wait<F> {
    fn new(inner: F) -> Self {
        Wait { inner }
    }
}

impl<F: Future> Future for Wait<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        crate::coop::budgeted(cx, |cx| inner.poll(cx))
    }
}
