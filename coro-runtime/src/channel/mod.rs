//! Channels between tasks, Go style. Each side learns, with a clear error, when the
//! other side is gone, and no value is ever lost or delivered twice.
//!
//! - [`bounded`] and [`unbounded`]: many senders, many receivers, each value to
//!   exactly one receiver. [`bounded`]`(0)` is a rendezvous channel. The
//!   [`Receiver`] is a `Stream`.
//! - [`oneshot`]: a single value, from one task to another.
//! - [`broadcast`]: every value to every receiver (Kotlin's `SharedFlow`).
//! - [`watch`]: the latest value, for any number of observers (Kotlin's
//!   `StateFlow`).
//!
//! Every channel is one allocation behind a lock, so its ends may move to other
//! threads when the values may, and a plain thread can feed a coroutine
//! ([`Sender::send_blocking`]). Their futures spend the cooperative budget. A
//! value sent to a waiting receiver of [`bounded`] or [`unbounded`] goes into
//! a slot of that receiver's own, which it empties without the lock.
//!
//! ```
//! coro::run(coro::scope(async |s| {
//!     let (tx, mut rx) = coro::channel::bounded(8);
//!     for producer in 0..2 {
//!         let tx = tx.clone();
//!         s.spawn(async move {
//!             for i in 0..3 {
//!                 tx.send(producer * 10 + i).await.unwrap();
//!             }
//!         });
//!     }
//!     drop(tx); // the channel closes when both producers are done
//!     let mut got = Vec::new();
//!     while let Ok(value) = rx.recv().await {
//!         got.push(value);
//!     }
//!     got.sort();
//!     assert_eq!(got, [0, 1, 2, 10, 11, 12]);
//! }));
//! ```

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

pub mod broadcast;
mod mpmc;
mod oneshot;
mod waiters;
pub mod watch;

pub use mpmc::{Receiver, RecvFuture, SendFuture, Sender, bounded, unbounded};
pub use oneshot::{OneshotReceiver, OneshotSender, oneshot};

/// Blocks this thread on `future`, for the `*_blocking` methods: a thread that runs
/// no executor parks until the channel wakes it.
fn block_on_thread<F: Future>(what: &str, future: F) -> F::Output {
    assert!(
        crate::executor::try_with_executor(|_| ()).is_none(),
        "`{what}` would block the executor's thread: `.await` the async form instead"
    );
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
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
