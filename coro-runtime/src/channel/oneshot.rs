//! A channel for exactly one value. The receiver is itself the future of the value,
//! so a task can hand its result to another without a scope between them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::RecvError;
use super::waiters::wake;
use crate::task::remember_waker;

struct OneshotState<T> {
    value: Option<T>,
    sender_alive: bool,
    receiver_alive: bool,
    receiver: Option<Waker>,
}

/// A channel for exactly one value: the sender is consumed by sending.
///
/// ```
/// coro::run(coro::scope(async |s| {
///     let (tx, rx) = coro::channel::oneshot();
///     s.spawn(async move { tx.send("done").unwrap() });
///     assert_eq!(rx.await, Ok("done"));
/// }));
/// ```
pub fn oneshot<T>() -> (OneshotSender<T>, OneshotReceiver<T>) {
    let state = Arc::new(Mutex::new(OneshotState {
        value: None,
        sender_alive: true,
        receiver_alive: true,
        receiver: None,
    }));
    (
        OneshotSender {
            state: state.clone(),
        },
        OneshotReceiver { state },
    )
}

/// The sending side of a [`oneshot`] channel.
///
/// ```
/// let (tx, rx) = coro::channel::oneshot();
/// tx.send(1).unwrap();
/// assert_eq!(coro::run(rx), Ok(1));
/// ```
pub struct OneshotSender<T> {
    state: Arc<Mutex<OneshotState<T>>>,
}

impl<T> OneshotSender<T> {
    /// Sends the value; gives it back if the receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = coro::channel::oneshot();
    /// drop(rx);
    /// assert_eq!(tx.send(5), Err(5));
    /// ```
    pub fn send(self, value: T) -> Result<(), T> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.receiver_alive {
            return Err(value);
        }
        state.value = Some(value);
        let receiver = state.receiver.take();
        drop(state);
        wake(receiver);
        Ok(())
    }
}

impl<T> Drop for OneshotSender<T> {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.sender_alive = false;
        let receiver = state.receiver.take();
        drop(state);
        wake(receiver);
    }
}

impl<T> fmt::Debug for OneshotSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneshotSender { .. }")
    }
}

/// The receiving side of a [`oneshot`] channel: a future of the value, or
/// [`RecvError`] if the sender was dropped without sending.
///
/// ```
/// let (tx, rx) = coro::channel::oneshot::<u8>();
/// drop(tx);
/// assert_eq!(coro::run(rx), Err(coro::channel::RecvError));
/// ```
pub struct OneshotReceiver<T> {
    state: Arc<Mutex<OneshotState<T>>>,
}

impl<T> Future for OneshotReceiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::coop::budgeted(cx, |cx| {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(value) = state.value.take() {
                return Poll::Ready(Ok(value));
            }
            if !state.sender_alive {
                return Poll::Ready(Err(RecvError));
            }
            remember_waker(&mut state.receiver, cx.waker());
            Poll::Pending
        })
    }
}

impl<T> Drop for OneshotReceiver<T> {
    fn drop(&mut self) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .receiver_alive = false;
    }
}

impl<T> fmt::Debug for OneshotReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneshotReceiver { .. }")
    }
}
