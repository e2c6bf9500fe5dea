//! Every value to every receiver (tokio's `broadcast`, Kotlin's `SharedFlow` with a
//! replay of zero and a buffer).
//!
//! The channel keeps the last `capacity` values in a ring, each with its sequence
//! number; a receiver is a position in that sequence. A sender never waits: when the
//! ring is full the oldest value goes, and a receiver that had not read it learns, on
//! its next receive, how many it missed ([`RecvError::Lagged`]) and carries on from
//! the oldest value still kept. Receivers clone the values, so `T: Clone`.
//!
//! ```
//! coro::run(coro::scope(async |s| {
//!     let (tx, rx) = coro::channel::broadcast::channel(16);
//!     let listeners: Vec<_> = (0..2)
//!         .map(|_| {
//!             let mut rx = rx.clone();
//!             s.spawn(async move {
//!                 let mut seen = Vec::new();
//!                 while let Ok(event) = rx.recv().await {
//!                     seen.push(event);
//!                 }
//!                 seen
//!             })
//!         })
//!         .collect();
//!     drop(rx);
//!     for event in ["start", "tick", "stop"] {
//!         tx.send(event).unwrap();
//!     }
//!     drop(tx);
//!     for listener in listeners {
//!         assert_eq!(listener.await.unwrap(), ["start", "tick", "stop"]);
//!     }
//! }));
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use super::SendError;
use super::waiters::{Waiters, wake_all};

struct Shared<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    ring: VecDeque<T>,
    capacity: usize,
    /// The sequence number of `ring[0]`.
    oldest: u64,
    senders: usize,
    receivers: usize,
    waiting: Waiters,
}

impl<T> State<T> {
    fn next(&self) -> u64 {
        self.oldest + self.ring.len() as u64
    }
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A broadcast channel keeping the last `capacity` values for receivers that are
/// behind. Costs one allocation, and `capacity` values at most.
///
/// # Panics
/// If `capacity` is zero: no value could be kept for a receiver to read.
///
/// ```
/// let (tx, mut rx) = coro::channel::broadcast::channel(2);
/// tx.send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "`coro::channel::broadcast::channel` needs a capacity of at least 1"
    );
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            ring: VecDeque::with_capacity(capacity),
            capacity,
            oldest: 0,
            senders: 1,
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
            next: 0,
            waiter: None,
        },
    )
}

/// The sending side of a [broadcast](self) channel; clone it for more senders.
///
/// ```
/// let (tx, rx) = coro::channel::broadcast::channel::<u8>(4);
/// assert_eq!(tx.receiver_count(), 1);
/// drop(rx);
/// assert!(tx.send(1).is_err()); // nobody to hear it
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Clone> Sender<T> {
    /// Sends `value` to every receiver, never waiting; returns how many receivers
    /// there are. Fails, giving the value back, when there are none. When the ring is
    /// full the oldest value is dropped.
    ///
    /// ```
    /// let (tx, mut rx) = coro::channel::broadcast::channel(1);
    /// tx.send("old").unwrap();
    /// tx.send("new").unwrap(); // "old" is gone
    /// assert_eq!(rx.try_recv(), Err(coro::channel::broadcast::TryRecvError::Lagged(1)));
    /// assert_eq!(rx.try_recv(), Ok("new"));
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut state = self.shared.lock();
        if state.receivers == 0 {
            return Err(SendError(value));
        }
        let dropped = if state.ring.len() == state.capacity {
            state.oldest += 1;
            state.ring.pop_front()
        } else {
            None
        };
        state.ring.push_back(value);
        let receivers = state.receivers;
        let woken = state.waiting.take_all();
        drop(state);
        drop(dropped);
        wake_all(woken);
        Ok(receivers)
    }

    /// A new receiver, which sees the values sent from now on.
    ///
    /// ```
    /// let (tx, _rx) = coro::channel::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut late = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(late.try_recv(), Ok(2));
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.lock();
        state.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: state.next(),
            waiter: None,
        }
    }

    /// How many receivers there are now.
    ///
    /// ```
    /// let (tx, rx) = coro::channel::broadcast::channel::<()>(1);
    /// let rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// # drop((rx, rx2));
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        let woken = if state.senders == 0 {
            state.waiting.take_all()
        } else {
            Vec::new()
        };
        drop(state);
        wake_all(woken);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Sender { .. }")
    }
}

/// Why a broadcast receive got no value.
///
/// ```
/// use coro::channel::broadcast::{self, RecvError};
///
/// coro::run(async {
///     let (tx, mut rx) = broadcast::channel::<u8>(1);
///     drop(tx);
///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and this receiver has read everything.
    Closed,
    /// This receiver fell behind and this many values were dropped before it read
    /// them; the next receive gives the oldest value still kept.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("every sender of the broadcast channel is gone"),
            RecvError::Lagged(n) => write!(f, "the receiver fell behind and missed {n} values"),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] got no value.
///
/// ```
/// let (tx, mut rx) = coro::channel::broadcast::channel::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(coro::channel::broadcast::TryRecvError::Empty));
/// # drop(tx);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing new yet; senders remain.
    Empty,
    /// Every sender is gone and everything was read.
    Closed,
    /// Values were dropped before this receiver read them (see
    /// [`RecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no new value on the broadcast channel"),
            TryRecvError::Closed => RecvError::Closed.fmt(f),
            TryRecvError::Lagged(n) => RecvError::Lagged(*n).fmt(f),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// The receiving side of a [broadcast](self) channel. A clone starts where this one
/// is.
///
/// ```
/// let (tx, mut rx) = coro::channel::broadcast::channel(4);
/// tx.send('a').unwrap();
/// let mut copy = rx.clone();
/// assert_eq!((rx.try_recv(), copy.try_recv()), (Ok('a'), Ok('a')));
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The sequence number of the next value to read.
    next: u64,
    waiter: Option<u64>,
}

impl<T: Clone> Receiver<T> {
    /// Waits for the next value.
    ///
    /// # Errors
    /// [`RecvError::Lagged`] when values were dropped before this receiver read
    /// them (receiving again continues), [`RecvError::Closed`] once every sender is
    /// gone and everything was read.
    ///
    /// ```
    /// coro::run(async {
    ///     let (tx, mut rx) = coro::channel::broadcast::channel(4);
    ///     tx.send(7).unwrap();
    ///     assert_eq!(rx.recv().await, Ok(7));
    /// });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { receiver: self }
    }

    /// Takes the next value if there is one.
    ///
    /// ```
    /// let (tx, mut rx) = coro::channel::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let state = self.shared.lock();
        take(&mut self.next, &state)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut state = self.shared.lock();
        match take(&mut self.next, &state) {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(TryRecvError::Lagged(n)) => Poll::Ready(Err(RecvError::Lagged(n))),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError::Closed)),
            Err(TryRecvError::Empty) => {
                state.waiting.register(&mut self.waiter, cx.waker());
                Poll::Pending
            }
        }
    }
}

/// The value at sequence number `next`, moving `next` on.
fn take<T: Clone>(next: &mut u64, state: &State<T>) -> Result<T, TryRecvError> {
    if *next < state.oldest {
        let missed = state.oldest - *next;
        *next = state.oldest;
        return Err(TryRecvError::Lagged(missed));
    }
    if *next < state.next() {
        let value = state.ring[(*next - state.oldest) as usize].clone();
        *next += 1;
        return Ok(value);
    }
    if state.senders == 0 {
        Err(TryRecvError::Closed)
    } else {
        Err(TryRecvError::Empty)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            next: self.next,
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
        f.write_str("broadcast::Receiver { .. }")
    }
}

/// The future returned by [`Receiver::recv`].
///
/// ```
/// let (tx, mut rx) = coro::channel::broadcast::channel(1);
/// tx.send(()).unwrap();
/// let receiving: coro::channel::broadcast::Recv<'_, ()> = rx.recv();
/// assert_eq!(coro::run(receiving), Ok(()));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let receiver = &mut *self.receiver;
        crate::coop::budgeted(cx, |cx| receiver.poll_recv(cx))
    }
}
