//! I/O that takes part in the cooperative budget.
//!
//! Sockets from async-io and async-net wake their tasks on the executor's thread (see
//! the crate docs), but their futures are not coro's and do not spend the budget: a
//! loop reading a socket that always has data never gives the thread back.
//! [`cooperative`] wraps any `futures-io` reader or writer so that each completed
//! read or write spends one unit, and a spent budget makes the next one return
//! `Pending` after waking the task, as coro's channels do.
//!
//! ```
//! use futures_io::AsyncRead;
//!
//! coro::run(coro::scope(async |s| {
//!     let sibling = s.spawn(async { "ran" });
//!     // A reader that is always ready: without the wrapper this loop would keep the
//!     // thread until the end of the data.
//!     let data = vec![1u8; 1 << 20];
//!     let mut reader = coro::io::cooperative(&data[..]);
//!     let mut buf = [0u8; 64];
//!     let mut total = 0;
//!     loop {
//!         let n = std::future::poll_fn(|cx| std::pin::Pin::new(&mut reader).poll_read(cx, &mut buf))
//!             .await
//!             .unwrap();
//!         if n == 0 {
//!             break;
//!         }
//!         total += n;
//!     }
//!     assert_eq!(total, 1 << 20);
//!     assert_eq!(sibling.await.unwrap(), "ran");
//! }));
//! ```

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

/// Wraps `io` so that its reads and writes spend the cooperative budget. Costs a
/// thread-local read per operation.
///
/// ```
/// let reader = coro::io::cooperative(&b"abc"[..]);
/// assert_eq!(reader.into_inner(), b"abc");
/// ```
pub fn cooperative<T>(io: T) -> Cooperative<T> {
    Cooperative { inner: io }
}

/// A reader or writer whose operations spend the cooperative budget; made by
/// [`cooperative`].
///
/// ```
/// let mut wrapped = coro::io::cooperative(Vec::<u8>::new());
/// wrapped.get_mut().push(1);
/// assert_eq!(wrapped.get_ref().len(), 1);
/// ```
#[derive(Debug)]
pub struct Cooperative<T> {
    inner: T,
}

impl<T> Cooperative<T> {
    /// The wrapped value.
    ///
    /// ```
    /// assert_eq!(coro::io::cooperative(5).get_ref(), &5);
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped value, mutably.
    ///
    /// ```
    /// let mut wrapped = coro::io::cooperative(5);
    /// *wrapped.get_mut() += 1;
    /// assert_eq!(wrapped.into_inner(), 6);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps it.
    ///
    /// ```
    /// assert_eq!(coro::io::cooperative("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Cooperative<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let inner = &mut self.get_mut().inner;
        crate::coop::budgeted(cx, |cx| Pin::new(inner).poll_read(cx, buf))
    }
}

impl<T: AsyncBufRead + Unpin> AsyncBufRead for Cooperative<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let inner = &mut self.get_mut().inner;
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let polled = Pin::new(inner).poll_fill_buf(cx);
        if polled.is_ready() {
            crate::coop::spend();
        }
        polled
    }

    fn consume(self: Pin<&mut Self>, amount: usize) {
        Pin::new(&mut self.get_mut().inner).consume(amount);
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Cooperative<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let inner = &mut self.get_mut().inner;
        crate::coop::budgeted(cx, |cx| Pin::new(inner).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
