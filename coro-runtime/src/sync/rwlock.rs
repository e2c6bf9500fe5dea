//! [`RwLock`]: async-lock's read-write lock, whose locks spend the cooperative
//! budget.

use super::{RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard, Wait};

/// A lock that many readers, or one writer, hold at a time; a guard may be held
/// across an `.await`. async-lock's: a waiting writer keeps new readers out, so
/// writers are not starved. An upgradable read shares the lock with plain readers
/// and may become a write (async-lock's `RwLockUpgradableReadGuard::upgrade`).
///
/// A lock that is free is taken at once, and spends a unit of the cooperative
/// budget.
///
/// ```
/// coro::run(async {
///     let lock = coro::sync::RwLock::new(1);
///     let (a, b) = (lock.read().await, lock.read().await); // readers share
///     assert_eq!(*a + *b, 2);
///     drop((a, b));
///     *lock.write().await += 1;
///     assert_eq!(lock.into_inner(), 2);
/// });
/// ```
#[derive(Debug, Default)]
pub struct RwLock<T: ?Sized> {
    inner: async_lock::RwLock<T>,
}

/// The future returned by [`RwLock::read`].
///
/// ```
/// let lock = coro::sync::RwLock::new(0);
/// let read: coro::sync::Read<'_, i32> = lock.read();
/// assert_eq!(*coro::run(read), 0);
/// ```
pub type Read<'a, T> = Wait<async_lock::futures::Read<'a, T>>;

/// The future returned by [`RwLock::write`].
///
/// ```
/// let lock = coro::sync::RwLock::new(0);
/// let write: coro::sync::Write<'_, i32> = lock.write();
/// assert_eq!(*coro::run(write), 0);
/// ```
pub type Write<'a, T> = Wait<async_lock::futures::Write<'a, T>>;

/// The future returned by [`RwLock::upgradable_read`].
///
/// ```
/// let lock = coro::sync::RwLock::new(0);
/// let read: coro::sync::UpgradableRead<'_, i32> = lock.upgradable_read();
/// assert_eq!(*coro::run(read), 0);
/// ```
pub type UpgradableRead<'a, T> = Wait<async_lock::futures::UpgradableRead<'a, T>>;

impl<T> RwLock<T> {
    /// A lock holding `value`, unlocked. Allocates nothing.
    ///
    /// ```
    /// static CONFIG: coro::sync::RwLock<u32> = coro::sync::RwLock::new(8);
    /// assert_eq!(*CONFIG.try_read().unwrap(), 8);
    /// ```
    pub const fn new(value: T) -> Self {
        RwLock {
            inner: async_lock::RwLock::new(value),
        }
    }

    /// The value, taking the lock apart.
    ///
    /// ```
    /// assert_eq!(coro::sync::RwLock::new(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits to read, beside other readers. Cancel-safe.
    ///
    /// ```
    /// coro::run(async {
    ///     let lock = coro::sync::RwLock::new("config");
    ///     assert_eq!(*lock.read().await, "config");
    /// });
    /// ```
    pub fn read(&self) -> Read<'_, T> {
        Wait::new(self.inner.read())
    }

    /// A read guard, if no writer holds or waits for the lock now; never waits.
    ///
    /// ```
    /// let lock = coro::sync::RwLock::new(1);
    /// let write = lock.try_write().unwrap();
    /// assert!(lock.try_read().is_none(), "held by `write`");
    /// drop(write);
    /// assert_eq!(*lock.try_read().unwrap(), 1);
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.inner.try_read()
    }

    /// Waits to read with the right to upgrade to a write later: beside plain
    /// readers, but one upgradable reader at a time. Cancel-safe.
    ///
    /// ```
    /// use coro::sync::RwLockUpgradableReadGuard;
    ///
    /// coro::run(async {
    ///     let lock = coro::sync::RwLock::new(1);
    ///     let read = lock.upgradable_read().await;
    ///     if *read == 1 {
    ///         *RwLockUpgradableReadGuard::upgrade(read).await = 2;
    ///     }
    ///     assert_eq!(*lock.read().await, 2);
    /// });
    /// ```
    pub fn upgradable_read(&self) -> UpgradableRead<'_, T> {
        Wait::new(self.inner.upgradable_read())
    }

    /// An upgradable read guard, if one can be had now; never waits.
    ///
    /// ```
    /// let lock = coro::sync::RwLock::new(1);
    /// let first = lock.try_upgradable_read().unwrap();
    /// assert!(lock.try_upgradable_read().is_none(), "one at a time");
    /// assert!(lock.try_read().is_some(), "beside plain readers");
    /// drop(first);
    /// ```
    pub fn try_upgradable_read(&self) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        self.inner.try_upgradable_read()
    }

    /// Waits to write, alone. Cancel-safe.
    ///
    /// ```
    /// coro::run(async {
    ///     let lock = coro::sync::RwLock::new(Vec::new());
    ///     lock.write().await.push(1);
    ///     assert_eq!(*lock.read().await, [1]);
    /// });
    /// ```
    pub fn write(&self) -> Write<'_, T> {
        Wait::new(self.inner.write())
    }

    /// A write guard, if nobody holds the lock now; never waits.
    ///
    /// ```
    /// let lock = coro::sync::RwLock::new(1);
    /// let read = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_none(), "held by `read`");
    /// drop(read);
    /// assert!(lock.try_write().is_some());
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.inner.try_write()
    }

    /// The value, through a unique borrow of the lock: no lock is needed.
    ///
    /// ```
    /// let mut lock = coro::sync::RwLock::new(1);
    /// *lock.get_mut() = 2;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T> From<T> for RwLock<T> {
    /// ```
    /// let lock: coro::sync::RwLock<u8> = 3.into();
    /// assert_eq!(lock.into_inner(), 3);
    /// ```
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}
