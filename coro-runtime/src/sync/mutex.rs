//! [`Mutex`]: async-lock's mutex, whose lock spends the cooperative budget.

use super::{MutexGuard, Wait};

/// A mutual-exclusion lock whose guard may be held across an `.await` (tokio's
/// `sync::Mutex`, Kotlin's `Mutex`). async-lock's, fair under contention (a waiter
/// that has waited long enough is handed the lock), usable from any thread.
///
/// A lock that is free is taken at once, and spends a unit of the cooperative
/// budget. A waiting task parks only its own future.
///
/// ```
/// coro::run(async {
///     let mutex = coro::sync::Mutex::new(vec![1]);
///     mutex.lock().await.push(2);
///     assert_eq!(mutex.into_inner(), [1, 2]);
/// });
/// ```
#[derive(Debug, Default)]
pub struct Mutex<T: ?Sized> {
    inner: async_lock::Mutex<T>,
}

/// The future returned by [`Mutex::lock`].
///
/// ```
/// let mutex = coro::sync::Mutex::new(0);
/// let lock: coro::sync::Lock<'_, i32> = mutex.lock();
/// assert_eq!(*coro::run(lock), 0);
/// ```
pub type Lock<'a, T> = Wait<async_lock::futures::Lock<'a, T>>;

impl<T> Mutex<T> {
    /// A mutex holding `value`, unlocked. Allocates nothing.
    ///
    /// ```
    /// static COUNT: coro::sync::Mutex<u32> = coro::sync::Mutex::new(0);
    /// assert_eq!(*COUNT.try_lock().unwrap(), 0);
    /// ```
    pub const fn new(value: T) -> Self {
        Mutex {
            inner: async_lock::Mutex::new(value),
        }
    }

    /// The value, taking the mutex apart.
    ///
    /// ```
    /// assert_eq!(coro::sync::Mutex::new(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock and returns its guard; the lock is released when the
    /// guard is dropped. Cancel-safe: a dropped wait takes nothing.
    ///
    /// ```
    /// coro::run(async {
    ///     let mutex = coro::sync::Mutex::new(1);
    ///     *mutex.lock().await += 1;
    ///     assert_eq!(*mutex.lock().await, 2);
    /// });
    /// ```
    pub fn lock(&self) -> Lock<'_, T> {
        Wait::new(self.inner.lock())
    }

    /// The guard, if the lock is free now; never waits.
    ///
    /// ```
    /// let mutex = coro::sync::Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(mutex.try_lock().is_none(), "held by `guard`");
    /// drop(guard);
    /// assert!(mutex.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.inner.try_lock()
    }

    /// The value, through a unique borrow of the mutex: no lock is needed.
    ///
    /// ```
    /// let mut mutex = coro::sync::Mutex::new(1);
    /// *mutex.get_mut() = 2;
    /// assert_eq!(mutex.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T> From<T> for Mutex<T> {
    /// ```
    /// let mutex: coro::sync::Mutex<u8> = 3.into();
    /// assert_eq!(mutex.into_inner(), 3);
    /// ```
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}
