//! Channels between tasks, Go style: [`bounded`] (a sender waits while it is full),
//! [`unbounded`], and [`oneshot`] for a single value. Each side learns, with a clear
//! error, when the other side is gone.
//!
//! A channel is a queue behind one mutex, shared by `Arc`, so senders may live on
//! other threads (a blocking-pool job, say). Any number of senders, one receiver.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::task::remember_waker;

struct Chan<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    queue: VecDeque<T>,
    capacity: Option<usize>,
    senders: usize,
    receiver_alive: bool,
    receiver: Option<Waker>,
    /// The receiver is waiting: `receiver` is due a wake.
    receiver_waiting: bool,
    /// Senders waiting for room, in arrival order, each under the number its
    /// `SendFuture` knows it by: a dropped send takes its entry out.
    waiting_senders: VecDeque<(u64, Waker)>,
    next_waiter: u64,
}

impl<T> State<T> {
    /// Wakes a waiting receiver by reference, under the lock, keeping its waker: when it
    /// waits again from the same task it re-registers without a clone. (A waker never
    /// takes a channel's lock, so waking here cannot deadlock.)
    fn wake_receiver(&mut self) {
        if std::mem::take(&mut self.receiver_waiting)
            && let Some(receiver) = &self.receiver
        {
            receiver.wake_by_ref();
        }
    }

    /// One slot is free: the sender that has waited longest is due it.
    fn next_sender(&mut self) -> Option<Waker> {
        self.waiting_senders.pop_front().map(|(_, waker)| waker)
    }
}

impl<T> Chan<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// A channel holding at most `capacity` values: [`Sender::send`] waits while it is
/// full. Costs one allocation for the channel; a value in flight costs its size.
///
/// # Panics
/// If `capacity` is zero.
///
/// ```
/// coro::run(coro::scope(async |s| {
///     let (tx, mut rx) = coro::channel::bounded(2);
///     s.spawn(async move {
///         for i in 0..5 {
///             tx.send(i).await.unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     while let Ok(value) = rx.recv().await {
///         got.push(value);
///     }
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// }));
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "`coro::channel::bounded` needs a capacity of at least 1"
    );
    make(Some(capacity))
}

/// A channel with no limit: [`Sender::send`] never waits.
///
/// ```
/// coro::run(async {
///     let (tx, mut rx) = coro::channel::unbounded();
///     tx.send("hi").await.unwrap();
///     drop(tx);
///     assert_eq!(rx.recv().await, Ok("hi"));
///     assert!(rx.recv().await.is_err()); // every sender is gone
/// });
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    make(None)
}

fn make<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            capacity,
            senders: 1,
            receiver_alive: true,
            receiver: None,
            receiver_waiting: false,
            waiting_senders: VecDeque::new(),
            next_waiter: 0,
        }),
    });
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// The sending side of a channel; clone it for more senders. Dropping the last one
/// ends the receiver's stream.
///
/// ```
/// let (tx, mut rx) = coro::channel::unbounded();
/// let tx2 = tx.clone();
/// tx.try_send(1).unwrap();
/// tx2.try_send(2).unwrap();
/// assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(1), Ok(2)));
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The error of a send whose receiver is gone; it gives the value back.
///
/// ```
/// let (tx, rx) = coro::channel::unbounded();
/// drop(rx);
/// let coro::channel::SendError(value) = tx.try_send(7).map_err(|e| match e {
///     coro::channel::TrySendError::Disconnected(v) => coro::channel::SendError(v),
///     coro::channel::TrySendError::Full(v) => coro::channel::SendError(v),
/// }).unwrap_err();
/// assert_eq!(value, 7);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a channel whose receiver is gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`] could not send now.
///
/// ```
/// let (tx, _rx) = coro::channel::bounded(1);
/// tx.try_send(()).unwrap();
/// assert!(matches!(tx.try_send(()), Err(coro::channel::TrySendError::Full(()))));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TrySendError<T> {
    /// The channel is at capacity; the value is given back.
    Full(T),
    /// The receiver is gone; the value is given back.
    Disconnected(T),
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Disconnected(_) => {
                f.write_str("sending on a channel whose receiver is gone")
            }
        }
    }
}

impl<T: fmt::Debug> std::error::Error for TrySendError<T> {}

impl<T> Sender<T> {
    /// Sends `value`, waiting while a bounded channel is full; fails, giving the value
    /// back, if the receiver is gone.
    ///
    /// ```
    /// coro::run(async {
    ///     let (tx, rx) = coro::channel::bounded::<u8>(1);
    ///     drop(rx);
    ///     assert_eq!(tx.send(1).await, Err(coro::channel::SendError(1)));
    /// });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            value: Some(value),
            waiter: None,
        }
    }

    /// Sends `value` now if there is room.
    ///
    /// ```
    /// let (tx, _rx) = coro::channel::bounded(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert_eq!(tx.try_send(2), Err(coro::channel::TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut state = self.chan.lock();
        if !state.receiver_alive {
            return Err(TrySendError::Disconnected(value));
        }
        if state
            .capacity
            .is_some_and(|capacity| state.queue.len() >= capacity)
        {
            return Err(TrySendError::Full(value));
        }
        state.queue.push_back(value);
        state.wake_receiver();
        Ok(())
    }

    /// Is the receiver gone?
    ///
    /// ```
    /// let (tx, rx) = coro::channel::unbounded::<()>();
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        !self.chan.lock().receiver_alive
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.lock().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.chan.lock();
        state.senders -= 1;
        if state.senders == 0 {
            state.wake_receiver();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sender { .. }")
    }
}

/// The future returned by [`Sender::send`].
///
/// ```
/// coro::run(async {
///     let (tx, mut rx) = coro::channel::bounded(1);
///     let sending = tx.send(1);
///     sending.await.unwrap();
///     assert_eq!(rx.recv().await, Ok(1));
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
    /// Its place among the waiting senders, while it has one.
    waiter: Option<u64>,
}

// The value is moved into the queue, never pinned.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::coop::budgeted(cx, |cx| {
            let value = self
                .value
                .take()
                .expect("`SendFuture` polled after it finished");
            match self.sender.try_send(value) {
                Ok(()) => {
                    self.leave_queue();
                    Poll::Ready(Ok(()))
                }
                Err(TrySendError::Disconnected(value)) => {
                    self.leave_queue();
                    Poll::Ready(Err(SendError(value)))
                }
                Err(TrySendError::Full(value)) => {
                    let chan = &self.sender.chan;
                    let mut state = chan.lock();
                    // Room may have appeared since `try_send` looked: check under the lock.
                    if state
                        .capacity
                        .is_some_and(|capacity| state.queue.len() < capacity)
                        || !state.receiver_alive
                    {
                        drop(state);
                        self.value = Some(value);
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    let still_queued = self.waiter.and_then(|id| {
                        state
                            .waiting_senders
                            .iter_mut()
                            .find(|(waiter, _)| *waiter == id)
                    });
                    match still_queued {
                        Some((_, waker)) => {
                            if !waker.will_wake(cx.waker()) {
                                *waker = cx.waker().clone();
                            }
                        }
                        None => {
                            let id = state.next_waiter;
                            state.next_waiter += 1;
                            state.waiting_senders.push_back((id, cx.waker().clone()));
                            drop(state);
                            self.waiter = Some(id);
                        }
                    }
                    self.value = Some(value);
                    Poll::Pending
                }
            }
        })
    }
}

impl<T> SendFuture<'_, T> {
    /// Leaves the waiting senders. A send that was handed a free slot (woken, and
    /// so already out of the queue) and gives it up passes it on to the next one.
    fn leave_queue(&mut self) -> Option<Waker> {
        let id = self.waiter.take()?;
        let mut state = self.sender.chan.lock();
        let before = state.waiting_senders.len();
        state.waiting_senders.retain(|(waiter, _)| *waiter != id);
        let was_handed_a_slot = state.waiting_senders.len() == before;
        (was_handed_a_slot && self.value.is_some())
            .then(|| state.next_sender())
            .flatten()
    }
}

impl<T> Drop for SendFuture<'_, T> {
    /// A send dropped while it waits (a timeout, a `select!` that picked another
    /// arm) leaves nothing behind, and loses no wake.
    fn drop(&mut self) {
        wake(self.leave_queue());
    }
}

/// The receiving side of a channel. It is also a [`Stream`](futures_core::Stream)
/// of the values, ending when every sender is gone.
///
/// ```
/// coro::run(async {
///     let (tx, mut rx) = coro::channel::unbounded();
///     tx.try_send("a").unwrap();
///     drop(tx);
///     let next = std::future::poll_fn(|cx| coro::Stream::poll_next(std::pin::Pin::new(&mut rx), cx));
///     assert_eq!(next.await, Some("a"));
/// });
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

/// The error of a receive on an empty channel whose senders are all gone.
///
/// ```
/// coro::run(async {
///     let (tx, mut rx) = coro::channel::unbounded::<u8>();
///     drop(tx);
///     assert_eq!(rx.recv().await, Err(coro::channel::RecvError));
/// });
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on an empty channel whose senders are all gone")
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] got no value.
///
/// ```
/// let (tx, mut rx) = coro::channel::unbounded::<u8>();
/// assert_eq!(rx.try_recv(), Err(coro::channel::TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(coro::channel::TryRecvError::Disconnected));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// Nothing queued yet; senders remain.
    Empty,
    /// Nothing queued and every sender is gone.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Disconnected => {
                f.write_str("receiving on an empty channel whose senders are all gone")
            }
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the channel is empty; fails once it is
    /// empty and every sender is gone.
    ///
    /// ```
    /// coro::run(async {
    ///     let (tx, mut rx) = coro::channel::unbounded();
    ///     tx.try_send(3).unwrap();
    ///     assert_eq!(rx.recv().await, Ok(3));
    /// });
    /// ```
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        RecvFuture { receiver: self }
    }

    /// Takes the next value if one is queued.
    ///
    /// ```
    /// let (tx, mut rx) = coro::channel::unbounded();
    /// assert_eq!(rx.try_recv(), Err(coro::channel::TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.chan.lock();
        match state.queue.pop_front() {
            Some(value) => {
                // One slot freed: one sender woken (Go's and tokio's rule).
                let sender = state.next_sender();
                drop(state);
                wake(sender);
                Ok(value)
            }
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        match self.try_recv() {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(TryRecvError::Disconnected) => Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => {
                let mut state = self.chan.lock();
                if !state.queue.is_empty() || state.senders == 0 {
                    drop(state);
                    return self.poll_recv(cx);
                }
                remember_waker(&mut state.receiver, cx.waker());
                state.receiver_waiting = true;
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.chan.lock();
        state.receiver_alive = false;
        let senders = std::mem::take(&mut state.waiting_senders);
        let queued = std::mem::take(&mut state.queue);
        drop(state);
        drop(queued);
        senders.into_iter().for_each(|(_, waker)| waker.wake());
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receiver { .. }")
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let receiver = self.get_mut();
        crate::coop::budgeted(cx, |cx| receiver.poll_recv(cx).map(Result::ok))
    }
}

/// The future returned by [`Receiver::recv`].
///
/// ```
/// coro::run(async {
///     let (tx, mut rx) = coro::channel::unbounded();
///     tx.try_send(5).unwrap();
///     let receiving = rx.recv();
///     assert_eq!(receiving.await, Ok(5));
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct RecvFuture<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::coop::budgeted(cx, |cx| self.receiver.poll_recv(cx))
    }
}

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
