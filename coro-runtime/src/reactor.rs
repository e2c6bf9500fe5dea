//! Where [`run`](crate::run) waits when nothing is ready: in async-io's reactor
//! (epoll, kqueue, IOCP through `polling`), the one async-net and every `Async<T>`
//! socket register with. While this thread waits there, a ready socket wakes its task
//! from this thread, with no hop through another one.
//!
//! async-io keeps its reactor private; the one way in from outside is its
//! `block_on`, which waits in the reactor whenever the future it drives is pending.
//! So the executor's loop is that future: it runs until nothing is ready, arms an
//! async-io timer for coro's next deadline, and returns `Pending`. Wakes from other
//! threads (timers of foreign wakers, the blocking pool, another executor) go through
//! `block_on`'s waker, which interrupts the reactor's wait.
//!
//! A loop that always has work would never return to `block_on`, and sockets would
//! then be polled by async-io's helper thread instead. Every
//! [`ROUNDS_BETWEEN_IO_POLLS`] rounds the loop yields to `block_on` for one
//! non-blocking poll of the reactor, as tokio's event interval does.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Timer;

/// Rounds of the executor's loop between two non-blocking polls of the reactor while
/// there is always work (tokio's default event interval).
pub(crate) const ROUNDS_BETWEEN_IO_POLLS: u32 = 61;

/// The executor's side of the reactor: the timer that ends a wait at coro's next
/// deadline.
pub(crate) struct Reactor {
    deadline: Timer,
    armed_for: Option<Instant>,
}

/// Runs `turn` under async-io's `block_on` until it is ready. `turn` returns
/// `Pending` through [`Reactor::wait`] or [`Reactor::poll_io_then_continue`].
pub(crate) fn block_on<T>(mut turn: impl FnMut(&mut Context<'_>, &mut Reactor) -> Poll<T>) -> T {
    let mut reactor = Reactor {
        deadline: Timer::never(),
        armed_for: None,
    };
    async_io::block_on(poll_fn(|cx| turn(cx, &mut reactor)))
}

impl Reactor {
    /// Nothing is ready: wait in the reactor until a wake, a socket, or
    /// `next_timer`, whichever comes first.
    pub(crate) fn wait<T>(&mut self, cx: &mut Context<'_>, next_timer: Option<Instant>) -> Poll<T> {
        match next_timer {
            Some(deadline) => {
                if self.armed_for != Some(deadline) {
                    self.deadline.set_at(deadline);
                    self.armed_for = Some(deadline);
                }
                if Pin::new(&mut self.deadline).poll(cx).is_ready() {
                    // Due between the loop's look at the timers and now.
                    self.armed_for = None;
                    cx.waker().wake_by_ref();
                }
            }
            None => {
                if self.armed_for.take().is_some() {
                    self.deadline = Timer::never();
                }
            }
        }
        Poll::Pending
    }

    /// There is more work, but sockets have waited long enough: let `block_on` poll
    /// the reactor once without blocking, then come straight back.
    pub(crate) fn poll_io_then_continue<T>(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
