//! [`Semaphore`]: async-lock's counting semaphore, whose permits spend the
//! cooperative budget, with owned permits for spawned tasks.

use std::future::Future;
use std::sync::Arc;

use super::{SemaphoreGuard, Wait};

/// A count of permits: [`acquire`](Semaphore::acquire) waits for one and holds it
/// until its guard is dropped, which caps how many tasks do something at once
/// (tokio's `Semaphore`, Kotlin's `Semaphore`). async-lock's, usable from any
/// thread; waiters are served in turn.
///
/// A permit that is free is taken at once, and spends a unit of the cooperative
/// budget.
///
/// ```
/// coro::run(async {
///     let connections = coro::sync::Semaphore::new(2);
///     let first = connections.acquire().await;
///     let _second = connections.acquire().await;
///     assert!(connections.try_acquire().is_none(), "both permits are out");
///     drop(first);
///     assert!(connections.try_acquire().is_some());
/// });
/// ```
#[derive(Debug)]
pub struct Semaphore {
    inner: async_lock::Semaphore,
}

/// The future returned by [`Semaphore::acquire`].
///
/// ```
/// let semaphore = coro::sync::Semaphore::new(1);
/// let acquire: coro::sync::Acquire<'_> = semaphore.acquire();
/// drop(coro::run(acquire));
/// ```
pub type Acquire<'a> = Wait<async_lock::futures::Acquire<'a>>;

/// A permit that owns an `Arc` of its semaphore, so it can move into a spawned
/// task; made by [`Semaphore::acquire_arc`]. Dropping it gives the permit back.
///
/// ```
/// use std::sync::Arc;
///
/// let semaphore = Arc::new(coro::sync::Semaphore::new(1));
/// let permit: coro::sync::SemaphoreGuardArc = semaphore.try_acquire_arc().unwrap();
/// assert_eq!(semaphore.available_permits(), 0);
/// drop(permit);
/// assert_eq!(semaphore.available_permits(), 1);
/// ```
#[derive(Debug)]
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct SemaphoreGuardArc {
    semaphore: Arc<Semaphore>,
}

impl Drop for SemaphoreGuardArc {
    fn drop(&mut self) {
        self.semaphore.inner.add_permits(1);
    }
}

impl Semaphore {
    /// A semaphore with `permits` permits. Allocates nothing.
    ///
    /// ```
    /// static DOWNLOADS: coro::sync::Semaphore = coro::sync::Semaphore::new(4);
    /// assert_eq!(DOWNLOADS.available_permits(), 4);
    /// ```
    pub const fn new(permits: usize) -> Self {
        Semaphore {
            inner: async_lock::Semaphore::new(permits),
        }
    }

    /// Waits for a permit, held until the guard is dropped. Cancel-safe: a
    /// dropped wait takes no permit.
    ///
    /// ```
    /// coro::run(async {
    ///     let semaphore = coro::sync::Semaphore::new(1);
    ///     let permit = semaphore.acquire().await;
    ///     assert_eq!(semaphore.available_permits(), 0);
    ///     drop(permit);
    ///     assert_eq!(semaphore.available_permits(), 1);
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Wait::new(self.inner.acquire())
    }

    /// A permit, if one is free now; never waits.
    ///
    /// ```
    /// let semaphore = coro::sync::Semaphore::new(1);
    /// let permit = semaphore.try_acquire().unwrap();
    /// assert!(semaphore.try_acquire().is_none());
    /// drop(permit);
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.inner.try_acquire()
    }

    /// Waits for a permit that owns an `Arc` of the semaphore, to move into a
    /// spawned task. Cancel-safe. The future is an `async` block, which also holds
    /// a clone of the `Arc`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// coro::run(coro::scope(async |s| {
    ///     let limit = Arc::new(coro::sync::Semaphore::new(2));
    ///     for job in 0..6 {
    ///         let permit = limit.acquire_arc().await; // at most two jobs at once
    ///         s.spawn(async move {
    ///             let _permit = permit;
    ///             coro::yield_now().await;
    ///             job
    ///         });
    ///     }
    /// }));
    /// ```
    pub fn acquire_arc(self: &Arc<Self>) -> impl Future<Output = SemaphoreGuardArc> + use<> {
        let semaphore = self.clone();
        async move {
            semaphore.acquire().await.forget();
            SemaphoreGuardArc { semaphore }
        }
    }

    /// A permit that owns an `Arc` of the semaphore, if one is free now; never
    /// waits.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(coro::sync::Semaphore::new(1));
    /// let permit = semaphore.try_acquire_arc().unwrap();
    /// assert!(semaphore.try_acquire_arc().is_none());
    /// drop(permit);
    /// ```
    pub fn try_acquire_arc(self: &Arc<Self>) -> Option<SemaphoreGuardArc> {
        self.inner.try_acquire()?.forget();
        Some(SemaphoreGuardArc {
            semaphore: self.clone(),
        })
    }

    /// Adds `permits` permits, waking as many waiters.
    ///
    /// ```
    /// let semaphore = coro::sync::Semaphore::new(0);
    /// semaphore.add_permits(2);
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, permits: usize) {
        self.inner.add_permits(permits);
    }

    /// How many permits are free now.
    ///
    /// ```
    /// let semaphore = coro::sync::Semaphore::new(3);
    /// let _permit = semaphore.try_acquire();
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.inner.available_permits()
    }
}
