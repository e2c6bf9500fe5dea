//! A lock for the channels' state: one atomic read-modify-write to take it, a plain
//! store to give it back, and no poisoning.
//!
//! A channel holds its lock only to move a value and a waker or two, never across a
//! call into foreign code that could block, so the lock is almost never contended,
//! and then only for a few hundred instructions. `std::sync::Mutex` pays for what
//! this case does not need: a second read-modify-write on unlock (to learn whether
//! a thread sleeps on it) and a check of the thread's panic count on every unlock
//! (poisoning). A ping-pong round trip takes six locks; with `std`'s mutex they were
//! 7.5% of its instructions (callgrind), and more of its time where atomics are dear.
//!
//! When the lock is taken, a thread spins a little (the holder is running on
//! another CPU and about to finish), then yields its time slice (the holder may
//! have been preempted), as crossbeam's channels do for their waker lists.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A value behind a spin-then-yield lock.
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to the value to one thread at a time (the
// `locked` flag, taken with `Acquire` and released with `Release`, orders every
// access after the previous holder's), so sharing the lock only ever moves the
// value's use between threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, waiting while another thread holds it.
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if !self.try_acquire() {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[inline]
    fn try_acquire(&self) -> bool {
        self.locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                if spins < 6 {
                    for _ in 0..1 << spins {
                        std::hint::spin_loop();
                    }
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            if self.try_acquire() {
                return;
            }
        }
    }
}

/// The lock, held: gives it back when dropped, also while unwinding.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock, so no other reference to the value
        // exists but those borrowed from this guard.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}
