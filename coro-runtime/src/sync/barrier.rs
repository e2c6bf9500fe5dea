//! [`Barrier`]: async-lock's barrier, whose waits spend the cooperative budget.

use super::Wait;

/// Makes `n` tasks wait until all `n` have arrived, then lets them all go, one of
/// them as the leader; reusable, round after round. async-lock's, usable from any
/// thread.
///
/// A wait that completes (the last to arrive goes through at once) spends a unit of
/// the cooperative budget.
///
/// ```
/// use std::rc::Rc;
///
/// coro::run(coro::scope(async |s| {
///     let barrier = Rc::new(coro::sync::Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             s.spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for task in tasks {
///         leaders += usize::from(task.await.unwrap());
///     }
///     assert_eq!(leaders, 1);
/// }));
/// ```
#[derive(Debug)]
pub struct Barrier {
    inner: async_lock::Barrier,
}

/// The future returned by [`Barrier::wait`].
///
/// ```
/// let barrier = coro::sync::Barrier::new(1);
/// let wait: coro::sync::BarrierWait<'_> = barrier.wait();
/// assert!(coro::run(wait).is_leader());
/// ```
pub type BarrierWait<'a> = Wait<async_lock::futures::BarrierWait<'a>>;

impl Barrier {
    /// A barrier for `n` tasks (a barrier of 0 or 1 never waits). Allocates
    /// nothing.
    ///
    /// ```
    /// let barrier = coro::sync::Barrier::new(1);
    /// assert!(coro::run(barrier.wait()).is_leader());
    /// ```
    pub const fn new(n: usize) -> Self {
        Barrier {
            inner: async_lock::Barrier::new(n),
        }
    }

    /// Waits until `n` tasks wait, then returns in all of them; one learns it is
    /// the leader. A wait dropped once it has been polled may still count as
    /// arrived, as in async-lock and tokio.
    ///
    /// ```
    /// let barrier = coro::sync::Barrier::new(1);
    /// coro::run(async {
    ///     assert!(barrier.wait().await.is_leader());
    ///     assert!(barrier.wait().await.is_leader(), "and again, round after round");
    /// });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        Wait::new(self.inner.wait())
    }
}
