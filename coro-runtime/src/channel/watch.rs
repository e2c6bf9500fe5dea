//! The latest value, for any number of observers (tokio's `watch`, Kotlin's
//! `StateFlow`).
//!
//! The channel holds one value and a version number. Sending replaces the value and
//! wakes every receiver waiting in [`changed`](Receiver::changed); a receiver that
//! was busy sees only the latest value, never a backlog. Reading borrows the value
//! under the channel's lock, so keep a [`Ref`] short: do not hold it across an
//! `.await`, and do not borrow twice at once on one thread (that waits for itself).
//!
//! ```
//! coro::run(coro::scope(async |s| {
//!     let (tx, mut rx) = coro::channel::watch::channel("starting");
//!     let observer = s.spawn(async move {
//!         while rx.changed().await.is_ok() {
//!             if *rx.borrow() == "ready" {
//!                 return true;
//!             }
//!         }
//!         false
//!     });
//!     tx.send("loading");
//!     coro::yield_now().await;
//!     tx.send("ready");
//!     assert!(observer.await.unwrap());
//! }));
//! ```

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use super::waiters::{Waiters, wake_all};

struct Shared<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: T,
    version: u64,
    sender_alive: bool,
    receivers: usize,
    waiting: Waiters,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A watch channel holding `initial`. Receivers start having seen it.
///
/// ```
/// let (tx, rx) = coro::channel::watch::channel(0);
/// tx.send(5);
/// assert_eq!(*rx.borrow(), 5);
/// ```
pub fn channel<T>(initial: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: initial,
            version: 0,
            sender_alive: true,
            receivers: 1,
            waiting: Waiters::default(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            seen: 0,
            waiter: None,
        },
    )
}

/// The sending side of a [watch](self) channel.
///
/// ```
/// let (tx, rx) = coro::channel::watch::channel(1);
/// tx.send_modify(|value| *value += 1);
/// assert_eq!(*rx.borrow(), 2);
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and wakes every waiting receiver; returns the old value.
    /// It is stored even when no receiver is left, for [`subscribe`](Sender::subscribe).
    ///
    /// ```
    /// let (tx, _rx) = coro::channel::watch::channel("a");
    /// assert_eq!(tx.send("b"), "a");
    /// ```
    pub fn send(&self, value: T) -> T {
        let mut old = None;
        self.send_modify(|current| old = Some(std::mem::replace(current, value)));
        old.expect("send_modify runs its closure")
    }

    /// Changes the value in place and wakes every waiting receiver.
    ///
    /// ```
    /// let (tx, rx) = coro::channel::watch::channel(vec![1]);
    /// tx.send_modify(|list| list.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        let mut state = self.shared.lock();
        modify(&mut state.value);
        state.version += 1;
        let woken = state.waiting.take_all();
        drop(state);
        wake_all(woken);
    }

    /// The current value, under the channel's lock.
    ///
    /// ```
    /// let (tx, _rx) = coro::channel::watch::channel(3);
    /// assert_eq!(*tx.borrow(), 3);
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref(self.shared.lock())
    }

    /// A new receiver, which has seen the current value.
    ///
    /// ```
    /// let (tx, rx) = coro::channel::watch::channel(0);
    /// drop(rx);
    /// let rx = tx.subscribe();
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.lock();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: state.version,
            waiter: None,
        }
    }

    /// How many receivers there are now.
    ///
    /// ```
    /// let (tx, rx) = coro::channel::watch::channel(());
    /// assert_eq!(tx.receiver_count(), 1);
    /// # drop(rx);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.sender_alive = false;
        let woken = state.waiting.take_all();
        drop(state);
        wake_all(woken);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch::Sender { .. }")
    }
}

/// The value of a [watch](self) channel, borrowed under its lock: sends wait until it
/// is dropped.
///
/// ```
/// let (_tx, rx) = coro::channel::watch::channel(String::from("hi"));
/// let value: coro::channel::watch::Ref<'_, String> = rx.borrow();
/// assert_eq!(value.len(), 2);
/// ```
pub struct Ref<'a, T>(MutexGuard<'a, State<T>>);

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.value.fmt(f)
    }
}

/// The error of [`Receiver::changed`] once the sender is gone: no change can come.
///
/// ```
/// let (tx, mut rx) = coro::channel::watch::channel(0);
/// drop(tx);
/// assert_eq!(coro::run(rx.changed()), Err(coro::channel::watch::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the sender of the watch channel is gone")
    }
}

impl std::error::Error for Closed {}

/// The receiving side of a [watch](self) channel; clone it for more observers.
///
/// ```
/// let (tx, rx) = coro::channel::watch::channel(1);
/// let other = rx.clone();
/// tx.send(2);
/// assert_eq!(*rx.borrow(), 2);
/// assert_eq!(*other.borrow(), 2);
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver last saw.
    seen: u64,
    waiter: Option<u64>,
}

impl<T> Receiver<T> {
    /// The current value, under the channel's lock; does not mark it seen.
    ///
    /// ```
    /// let (_tx, rx) = coro::channel::watch::channel(4);
    /// assert_eq!(*rx.borrow(), 4);
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref(self.shared.lock())
    }

    /// The current value, marked seen: [`changed`](Receiver::changed) then waits for
    /// the next send.
    ///
    /// ```
    /// let (tx, mut rx) = coro::channel::watch::channel(0);
    /// tx.send(1);
    /// assert_eq!(*rx.borrow_and_update(), 1);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let state = self.shared.lock();
        self.seen = state.version;
        Ref(state)
    }

    /// Has a value been sent since this receiver last looked?
    ///
    /// # Errors
    /// [`Closed`] when the sender is gone.
    ///
    /// ```
    /// let (tx, rx) = coro::channel::watch::channel(0);
    /// assert!(!rx.has_changed().unwrap());
    /// tx.send(1);
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn has_changed(&self) -> Result<bool, Closed> {
        let state = self.shared.lock();
        if !state.sender_alive {
            return Err(Closed);
        }
        Ok(state.version != self.seen)
    }

    /// Waits until a value is sent that this receiver has not seen, and marks it
    /// seen. Returns at once if one was sent since it last looked.
    ///
    /// # Errors
    /// [`Closed`] when the sender is gone and nothing new was sent.
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let (tx, mut rx) = coro::channel::watch::channel(0);
    ///     s.spawn(async move { tx.send(1); });
    ///     rx.changed().await.unwrap();
    ///     assert_eq!(*rx.borrow(), 1);
    /// }));
    /// ```
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed { receiver: self }
    }

    fn poll_changed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        let mut state = self.shared.lock();
        if state.version != self.seen {
            self.seen = state.version;
            if let Some(id) = self.waiter.take() {
                state.waiting.remove(id);
            }
            return Poll::Ready(Ok(()));
        }
        if !state.sender_alive {
            return Poll::Ready(Err(Closed));
        }
        state.waiting.register(&mut self.waiter, cx.waker());
        Poll::Pending
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
            waiter: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(id) = self.waiter.take() {
            state.waiting.remove(id);
        }
        state.receivers -= 1;
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch::Receiver { .. }")
    }
}

/// The future returned by [`Receiver::changed`].
///
/// ```
/// let (tx, mut rx) = coro::channel::watch::channel(0);
/// tx.send(1);
/// let changed: coro::channel::watch::Changed<'_, i32> = rx.changed();
/// assert_eq!(coro::run(changed), Ok(()));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), Closed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let receiver = &mut *self.receiver;
        crate::coop::budgeted(cx, |cx| receiver.poll_changed(cx))
    }
}
