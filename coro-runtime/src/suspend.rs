//! Turning a callback into a suspension point (Kotlin's `suspendCoroutine`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::task::remember_waker;

struct Shared<T> {
    value: Option<T>,
    waker: Option<Waker>,
    abandoned: bool,
}

/// Resumes the task suspended in [`suspend_with`], from any thread, exactly once.
///
/// Dropping it without calling [`Continuation::resume`] wakes the task, which then
/// panics saying so: a callback that is never called is a bug, not a hang.
///
/// ```
/// let value = coro::run(coro::suspend_with(|cont: coro::Continuation<u32>| {
///     std::thread::spawn(move || cont.resume(9));
/// }));
/// assert_eq!(value, 9);
/// ```
pub struct Continuation<T> {
    shared: Option<Arc<Mutex<Shared<T>>>>,
}

impl<T> Continuation<T> {
    /// Hands `value` to the suspended task and wakes it.
    ///
    /// ```
    /// let value = coro::run(coro::suspend_with(|cont| cont.resume("now")));
    /// assert_eq!(value, "now");
    /// ```
    pub fn resume(mut self, value: T) {
        if let Some(shared) = self.shared.take() {
            let waker = {
                let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
                shared.value = Some(value);
                shared.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Drop for Continuation<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let waker = {
                let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
                shared.abandoned = true;
                shared.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// Suspends the current task and calls `register` with a [`Continuation`]; the task
/// resumes with the value passed to [`Continuation::resume`]. `register` runs at the
/// first poll, on the task's thread; `resume` may come from anywhere (a callback, a
/// thread, a C library).
///
/// # Panics
/// When awaited, if the continuation was dropped without being resumed.
///
/// ```
/// fn fetch_with_callback(id: u32, callback: impl FnOnce(String) + Send + 'static) {
///     std::thread::spawn(move || callback(format!("item {id}")));
/// }
///
/// let item = coro::run(coro::suspend_with(|cont| fetch_with_callback(3, move |item| cont.resume(item))));
/// assert_eq!(item, "item 3");
/// ```
pub fn suspend_with<T, F: FnOnce(Continuation<T>)>(register: F) -> SuspendWith<T, F> {
    SuspendWith {
        register: Some(register),
        shared: None,
    }
}

/// The future returned by [`suspend_with`].
///
/// ```
/// let suspended: coro::SuspendWith<u8, _> = coro::suspend_with(|cont| cont.resume(2));
/// assert_eq!(coro::run(suspended), 2);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SuspendWith<T, F> {
    register: Option<F>,
    shared: Option<Arc<Mutex<Shared<T>>>>,
}

// The registration closure is moved out before it runs and never pinned.
impl<T, F> Unpin for SuspendWith<T, F> {}

impl<T, F: FnOnce(Continuation<T>)> Future for SuspendWith<T, F> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(register) = self.register.take() {
            let shared = Arc::new(Mutex::new(Shared {
                value: None,
                waker: Some(cx.waker().clone()),
                abandoned: false,
            }));
            self.shared = Some(shared.clone());
            register(Continuation {
                shared: Some(shared),
            });
        }
        let shared = self.shared.as_ref().expect("registered at the first poll");
        let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(value) = shared.value.take() {
            return Poll::Ready(value);
        }
        if shared.abandoned {
            drop(shared);
            panic!("the `Continuation` of `coro::suspend_with` was dropped without `resume`");
        }
        remember_waker(&mut shared.waker, cx.waker());
        Poll::Pending
    }
}
