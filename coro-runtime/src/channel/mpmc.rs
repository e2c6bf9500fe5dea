//! The many-to-many channel behind [`bounded`], [`unbounded`] and the rendezvous
//! `bounded(0)`: any number of senders and receivers, each value to exactly one
//! receiver (Go's channels, Kotlin's `Channel`).
//!
//! One queue behind one lock (a spin-then-yield lock: the state is held for a few
//! instructions), shared by `Arc`: both ends may move to other threads
//! when the values may. A value freed from a full channel wakes one waiting sender; a
//! value sent wakes one waiting receiver. A waiter that is woken and then dropped
//! (a `select!` that took another arm) passes its wake on, so none is lost.
//!
//! In a rendezvous channel a sender's value waits, as an *offer*, until a receiver
//! takes it; only then does the send complete. A send dropped before that takes its
//! offer back.
//!
//! A send that finds a receiver waiting puts the value straight into that
//! receiver's hand-off slot (see [`crate::raw::HandoffReader`]), as Go's channels
//! do: the receiver, once woken, takes it without the lock, and the queue stays
//! empty whenever a receiver waits. A receiver that stops waiting with a value in
//! its hands gives it back to the channel, to the next waiting receiver or to the
//! front of the queue.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::raw::{HandoffReader, HandoffWriter, SpinGuard, SpinLock, handoff};

use super::waiters::{Waiters, wake, wake_all};
use super::{RecvError, SendError, TryRecvError, TrySendError, block_on_thread};

struct Chan<T> {
    state: SpinLock<State<T>>,
}

/// A rendezvous sender's value, waiting for a receiver.
struct Offer<T> {
    id: u64,
    value: T,
    sender: Waker,
}

/// Where [`State::deliver`] put a value.
struct Delivered {
    /// The receiver to wake once the lock is let go.
    receiver: Option<Waker>,
    /// Whether the value took a place in the queue, rather than going straight
    /// into a receiver's hands.
    took_room: bool,
}

struct State<T> {
    queue: VecDeque<T>,
    /// `None`: unbounded; `Some(0)`: rendezvous.
    capacity: Option<usize>,
    offers: VecDeque<Offer<T>>,
    /// Offers a receiver took whose senders have not yet seen it.
    taken: Vec<u64>,
    next_offer: u64,
    senders: usize,
    receivers: usize,
    waiting_senders: Waiters,
    waiting_receivers: Waiters,
    /// The hand-off slot of each place among the waiting receivers, by its number,
    /// while its receiver holds the place.
    handoffs: Vec<Option<HandoffWriter<T>>>,
}

impl<T> State<T> {
    fn has_room(&self) -> bool {
        match self.capacity {
            None => true,
            Some(0) => !self.waiting_receivers.is_empty(),
            Some(capacity) => self.queue.len() < capacity,
        }
    }

    fn has_values(&self) -> bool {
        !self.queue.is_empty() || !self.offers.is_empty()
    }

    /// Hands `value` to the receiver that has waited longest, or queues it.
    fn deliver(&mut self, value: T) -> Delivered {
        let took_room = match self.hand_to_first_waiting(value) {
            Ok(()) => false,
            Err(value) => {
                self.queue.push_back(value);
                true
            }
        };
        Delivered {
            receiver: self.waiting_receivers.wake_first(),
            took_room,
        }
    }

    /// A value a receiver was handed and did not take: to the next waiting
    /// receiver, or to the front of the queue, as the oldest value there is.
    fn give_back(&mut self, value: T) -> Option<Waker> {
        match self.hand_to_first_waiting(value) {
            Ok(()) => {}
            Err(value) => self.queue.push_front(value),
        }
        self.waiting_receivers.wake_first()
    }

    /// Puts `value` into the slot of the receiver that has waited longest, which
    /// the caller then wakes; gives it back if no receiver waits.
    fn hand_to_first_waiting(&mut self, value: T) -> Result<(), T> {
        let Some(id) = self.waiting_receivers.first() else {
            return Err(value);
        };
        match self.handoffs.get_mut(id as usize) {
            // A waiting receiver's slot is empty: it registers only once it is.
            Some(Some(slot)) => slot.put(value),
            _ => Err(value),
        }
    }
}

impl<T> Chan<T> {
    fn lock(&self) -> SpinGuard<'_, State<T>> {
        self.state.lock()
    }
}

/// A channel holding at most `capacity` values: [`Sender::send`] waits while it is
/// full. `bounded(0)` is a rendezvous channel, as in Go and Kotlin: a send waits until
/// a receiver takes its value. A value sent while a receiver waits goes straight
/// into that receiver's hands, taking no room (as in Go). Costs one allocation for
/// the channel, and one for each receiver the first time it waits; a value in
/// flight costs its size.
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
///
/// A rendezvous: the send completes only once the value is received.
///
/// ```
/// coro::run(coro::scope(async |s| {
///     let (tx, mut rx) = coro::channel::bounded(0);
///     let sender = s.spawn(async move { tx.send("hand over").await });
///     coro::yield_now().await;
///     assert!(!sender.is_finished()); // nobody has received yet
///     assert_eq!(rx.recv().await, Ok("hand over"));
///     sender.await.unwrap().unwrap();
/// }));
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
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
        state: SpinLock::new(State {
            queue: VecDeque::new(),
            capacity,
            offers: VecDeque::new(),
            taken: Vec::new(),
            next_offer: 0,
            senders: 1,
            receivers: 1,
            waiting_senders: Waiters::default(),
            waiting_receivers: Waiters::default(),
            handoffs: Vec::new(),
        }),
    });
    (
        Sender { chan: chan.clone() },
        Receiver {
            chan,
            place: ReceiverPlace::new(),
            terminated: false,
        },
    )
}

/// The sending side of a channel; clone it for more senders. Dropping the last one
/// ends every receiver's stream once the queued values are taken. `Send` and `Sync`
/// when `T` is `Send`.
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

impl<T> Sender<T> {
    /// Sends `value`, waiting while a bounded channel is full (in a rendezvous
    /// channel, until a receiver takes it); fails, giving the value back, once every
    /// receiver is gone. Dropping the future before it completes withdraws the value.
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
            state: Sending::Value(value),
            waiter: None,
        }
    }

    /// Sends `value` now if there is room: in a rendezvous channel, if a receiver is
    /// waiting.
    ///
    /// ```
    /// let (tx, _rx) = coro::channel::bounded(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert_eq!(tx.try_send(2), Err(coro::channel::TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut state = self.chan.lock();
        if state.receivers == 0 {
            return Err(TrySendError::Disconnected(value));
        }
        if !state.has_room() {
            return Err(TrySendError::Full(value));
        }
        let delivered = state.deliver(value);
        drop(state);
        wake(delivered.receiver);
        Ok(())
    }

    /// Sends from a thread that is not running an executor (a blocking-pool job, a
    /// plain thread), blocking it while the channel is full.
    ///
    /// # Panics
    /// On the thread of a [`coro::run`](crate::run), which it would stall: `.await`
    /// [`send`](Sender::send) there instead.
    ///
    /// ```
    /// coro::run(async {
    ///     let (tx, mut rx) = coro::channel::bounded(1);
    ///     let feeder = std::thread::spawn(move || {
    ///         for i in 0..3 {
    ///             tx.send_blocking(i).unwrap();
    ///         }
    ///     });
    ///     let mut got = Vec::new();
    ///     while let Ok(value) = rx.recv().await {
    ///         got.push(value);
    ///     }
    ///     feeder.join().unwrap();
    ///     assert_eq!(got, [0, 1, 2]);
    /// });
    /// ```
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        block_on_thread("Sender::send_blocking", self.send(value))
    }

    /// Are all receivers gone?
    ///
    /// ```
    /// let (tx, rx) = coro::channel::unbounded::<()>();
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.lock().receivers == 0
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
        let receivers = if state.senders == 0 {
            state.waiting_receivers.take_all()
        } else {
            Vec::new()
        };
        drop(state);
        wake_all(receivers);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sender { .. }")
    }
}

enum Sending<T> {
    /// Not in the channel yet.
    Value(T),
    /// A rendezvous offer, waiting for a receiver.
    Offered(u64),
    Done,
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
    state: Sending<T>,
    /// Its place among the waiting senders of a bounded channel, while it has one.
    waiter: Option<u64>,
}

// The value is moved into the channel, never pinned.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        crate::coop::budgeted(cx, |cx| this.poll_send(cx))
    }
}

impl<T> SendFuture<'_, T> {
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let chan = &self.sender.chan;
        let mut state = chan.lock();
        match std::mem::replace(&mut self.state, Sending::Done) {
            Sending::Value(value) => {
                if state.receivers == 0 {
                    drop(state);
                    self.leave_queue();
                    return Poll::Ready(Err(SendError(value)));
                }
                if state.has_room() {
                    let was_woken = self
                        .waiter
                        .take()
                        .is_some_and(|id| !state.waiting_senders.remove(id));
                    let delivered = state.deliver(value);
                    // Woken for room in the queue and not needing it (its value went
                    // straight to a receiver), it passes the room on.
                    let sender = (was_woken && !delivered.took_room)
                        .then(|| state.waiting_senders.pop())
                        .flatten();
                    drop(state);
                    wake(delivered.receiver);
                    wake(sender);
                    return Poll::Ready(Ok(()));
                }
                if state.capacity == Some(0) {
                    let id = state.next_offer;
                    state.next_offer += 1;
                    state.offers.push_back(Offer {
                        id,
                        value,
                        sender: cx.waker().clone(),
                    });
                    self.state = Sending::Offered(id);
                    // A receiver may be polling for values without waiting yet.
                    let receiver = state.waiting_receivers.wake_first();
                    drop(state);
                    wake(receiver);
                    return Poll::Pending;
                }
                state.waiting_senders.register(&mut self.waiter, cx.waker());
                self.state = Sending::Value(value);
                Poll::Pending
            }
            Sending::Offered(id) => {
                if let Some(at) = state.taken.iter().position(|&taken| taken == id) {
                    state.taken.swap_remove(at);
                    return Poll::Ready(Ok(()));
                }
                let at = state
                    .offers
                    .iter()
                    .position(|offer| offer.id == id)
                    .expect("an offer not taken is still offered");
                if state.receivers == 0 {
                    let offer = state.offers.remove(at).expect("found above");
                    return Poll::Ready(Err(SendError(offer.value)));
                }
                let offer = &mut state.offers[at];
                if !offer.sender.will_wake(cx.waker()) {
                    offer.sender = cx.waker().clone();
                }
                self.state = Sending::Offered(id);
                Poll::Pending
            }
            Sending::Done => panic!("`SendFuture` polled after it finished"),
        }
    }

    /// Leaves the waiting senders. A send that was handed a free slot (woken, and so
    /// already out of the queue) and gives it up passes it on to the next one.
    fn leave_queue(&mut self) {
        let Some(id) = self.waiter.take() else {
            return;
        };
        let mut state = self.sender.chan.lock();
        let was_handed_a_slot = !state.waiting_senders.remove(id);
        let next = (was_handed_a_slot && matches!(self.state, Sending::Value(_)))
            .then(|| state.waiting_senders.pop())
            .flatten();
        drop(state);
        wake(next);
    }
}

impl<T> Drop for SendFuture<'_, T> {
    /// A send dropped while it waits (a timeout, a `select!` that picked another
    /// arm) leaves nothing behind, and loses no wake.
    fn drop(&mut self) {
        if let Sending::Offered(id) = self.state {
            let mut state = self.sender.chan.lock();
            let withdrawn = state
                .offers
                .iter()
                .position(|offer| offer.id == id)
                .and_then(|at| state.offers.remove(at));
            if withdrawn.is_none() {
                state.taken.retain(|&taken| taken != id);
            }
            drop(state);
            drop(withdrawn);
            return;
        }
        self.leave_queue();
    }
}

/// The receiving side of a channel. Clone it for more receivers: each value goes to
/// exactly one of them (a worker pool). It is also a [`Stream`](futures_core::Stream)
/// of the values, ending when every sender is gone and the queue is empty. `Send`
/// and `Sync` when `T` is `Send`.
///
/// ```
/// use futures_core::Stream;
///
/// coro::run(coro::scope(async |s| {
///     let (tx, rx) = coro::channel::bounded(4);
///     let workers: Vec<_> = (0..3)
///         .map(|_| {
///             let mut jobs = rx.clone();
///             s.spawn(async move {
///                 let mut done = 0;
///                 while let Ok(job) = jobs.recv().await {
///                     done += job;
///                 }
///                 done
///             })
///         })
///         .collect();
///     drop(rx);
///     for job in 1..=10 {
///         tx.send(job).await.unwrap();
///     }
///     drop(tx);
///     let mut total = 0;
///     for worker in workers {
///         total += worker.await.unwrap();
///     }
///     assert_eq!(total, 55); // every job done once
/// }));
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    place: ReceiverPlace<T>,
    /// Its stream has ended.
    terminated: bool,
}

/// What a receiver keeps of its standing among the channel's waiting receivers.
/// Apart from the channel, so that it can be changed while the channel is locked.
struct ReceiverPlace<T> {
    /// Its place among the waiting receivers, while it has one.
    waiter: Option<u64>,
    /// Its number while it does not wait, if the channel keeps its waker for the
    /// next wait.
    resting: Option<u64>,
    /// Its hand-off slot, once it has waited: where a send puts a value for it.
    handed: Option<HandoffReader<T>>,
    /// The writing side of that slot while it holds no place among the waiting
    /// receivers (the place holds it otherwise).
    spare_slot: Option<HandoffWriter<T>>,
}

impl<T> ReceiverPlace<T> {
    fn new() -> Self {
        ReceiverPlace {
            waiter: None,
            resting: None,
            handed: None,
            spare_slot: None,
        }
    }

    /// The value a send put into its hands, if any. Taking it needs no lock: the
    /// receiver was taken out of the waiting queue when it was handed the value,
    /// and queues again only through [`Self::wait`], once its slot is empty, so
    /// its place can only be resting.
    #[inline]
    fn take_handed(&mut self) -> Option<T> {
        let value = self.handed.as_mut()?.take()?;
        if let Some(id) = self.waiter.take() {
            self.resting = Some(id);
        }
        Some(value)
    }

    fn holds_a_value(&self) -> bool {
        self.handed.as_ref().is_some_and(HandoffReader::is_full)
    }

    /// It got a value from the queue: it leaves the waiting receivers, keeping
    /// its place and waker for the next wait.
    fn rest(&mut self, state: &mut State<T>) {
        if let Some(id) = self.waiter.take() {
            state.waiting_receivers.rest(id);
            self.resting = Some(id);
        }
    }

    /// Queues it among the waiting receivers, with its slot for a send to fill.
    fn wait(&mut self, state: &mut State<T>, waker: &Waker) {
        state
            .waiting_receivers
            .register_keeping(&mut self.waiter, &mut self.resting, waker);
        let id = self.waiter.expect("registered") as usize;
        if state.handoffs.len() <= id {
            state.handoffs.resize_with(id + 1, || None);
        }
        if state.handoffs[id].is_none() {
            let slot = self.spare_slot.take().unwrap_or_else(|| {
                let (writer, reader) = handoff();
                self.handed = Some(reader);
                writer
            });
            state.handoffs[id] = Some(slot);
        }
    }

    /// Gives place `id` back, taking its slot's writing side back with it; whether
    /// the place was still queued.
    fn give_up(&mut self, state: &mut State<T>, id: u64) -> bool {
        let was_queued = state.waiting_receivers.remove(id);
        if let Some(slot) = state.handoffs.get_mut(id as usize).and_then(Option::take) {
            self.spare_slot = Some(slot);
        }
        was_queued
    }
}

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

    /// Takes the next value if one is there.
    ///
    /// ```
    /// let (tx, mut rx) = coro::channel::unbounded();
    /// assert_eq!(rx.try_recv(), Err(coro::channel::TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(value) = self.place.take_handed() {
            return Ok(value);
        }
        let mut state = self.chan.lock();
        let taken = Self::take(&mut state);
        match taken {
            Some((value, woken)) => {
                drop(state);
                wake(woken);
                Ok(value)
            }
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Receives on a thread that is not running an executor, blocking it while the
    /// channel is empty.
    ///
    /// # Panics
    /// On the thread of a [`coro::run`](crate::run), which it would stall: `.await`
    /// [`recv`](Receiver::recv) there instead.
    ///
    /// ```
    /// let (tx, mut rx) = coro::channel::bounded(1);
    /// let consumer = std::thread::spawn(move || rx.recv_blocking());
    /// coro::run(async move { tx.send(8).await.unwrap() });
    /// assert_eq!(consumer.join().unwrap(), Ok(8));
    /// ```
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        block_on_thread("Receiver::recv_blocking", self.recv())
    }

    /// A queued value, or a rendezvous offer, and the sender to wake for it.
    fn take(state: &mut State<T>) -> Option<(T, Option<Waker>)> {
        if let Some(value) = state.queue.pop_front() {
            // One slot freed: one sender woken (Go's and tokio's rule).
            return Some((value, state.waiting_senders.pop()));
        }
        let offer = state.offers.pop_front()?;
        state.taken.push(offer.id);
        Some((offer.value, Some(offer.sender)))
    }

    #[inline]
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        match self.place.take_handed() {
            Some(value) => Poll::Ready(Ok(value)),
            None => self.poll_recv_locked(cx),
        }
    }

    /// [`Self::poll_recv`] for a receiver not handed a value: out of line, so
    /// that a receiver taking what it was handed saves no registers for it.
    #[inline(never)]
    fn poll_recv_locked(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut state = self.chan.lock();
        // A send on another thread may have handed it a value since the look above.
        if let Some(value) = self.place.take_handed() {
            return Poll::Ready(Ok(value));
        }
        if let Some((value, woken)) = Self::take(&mut state) {
            self.place.rest(&mut state);
            drop(state);
            wake(woken);
            return Poll::Ready(Ok(value));
        }
        if state.senders == 0 {
            return Poll::Ready(Err(RecvError));
        }
        self.place.wait(&mut state, cx.waker());
        Poll::Pending
    }

    /// Stops waiting. A value it was handed goes back to the channel; a receiver
    /// that was woken for a queued value and leaves without it passes the wake on
    /// to the next waiting receiver.
    #[inline]
    fn leave_queue(&mut self) {
        if self.place.waiter.is_some() || self.place.holds_a_value() {
            self.leave_queue_locked();
        }
    }

    #[inline(never)]
    fn leave_queue_locked(&mut self) {
        let mut state = self.chan.lock();
        let mut next = self
            .place
            .take_handed()
            .and_then(|value| state.give_back(value));
        if let Some(id) = self.place.waiter.take() {
            let was_woken = !self.place.give_up(&mut state, id);
            if was_woken && next.is_none() && state.has_values() {
                next = state.waiting_receivers.wake_first();
            }
        }
        drop(state);
        wake(next);
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.lock().receivers += 1;
        Receiver {
            chan: self.chan.clone(),
            place: ReceiverPlace::new(),
            terminated: false,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.leave_queue();
        let mut state = self.chan.lock();
        if let Some(id) = self.place.resting.take() {
            // It will not wait again: its place goes back.
            self.place.give_up(&mut state, id);
        }
        state.receivers -= 1;
        if state.receivers > 0 {
            return;
        }
        // The last receiver: what is queued can never be received.
        let queued = std::mem::take(&mut state.queue);
        let mut woken = state.waiting_senders.take_all();
        woken.extend(state.offers.iter().map(|offer| offer.sender.clone()));
        drop(state);
        drop(queued);
        wake_all(woken);
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
        if receiver.terminated {
            return Poll::Ready(None);
        }
        let next = crate::coop::budgeted(cx, |cx| receiver.poll_recv(cx).map(Result::ok));
        if let Poll::Ready(None) = next {
            receiver.terminated = true;
        }
        next
    }
}

impl<T> futures_core::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

/// The future returned by [`Receiver::recv`]. Dropping it before it completes
/// leaves the channel as it was.
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
        let receiver = &mut *self.receiver;
        crate::coop::budgeted(cx, |cx| receiver.poll_recv(cx))
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.receiver.leave_queue();
    }
}
