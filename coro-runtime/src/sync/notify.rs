//! [`Notify`]: a wake for a task, with a permit so a notification sent just before
//! the wait is not lost.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex as StdMutex, MutexGuard as StdMutexGuard};
use std::task::{Context, Poll};

use event_listener::{Event, EventListener};

/// Wakes tasks waiting in [`notified`](Notify::notified) (tokio's `Notify`).
///
/// [`notify_one`](Notify::notify_one) wakes one waiting task, or, when none waits,
/// leaves a permit that the next `notified()` takes at once: a notification sent
/// just before the wait is not lost. [`notify_waiters`](Notify::notify_waiters) wakes
/// every task waiting now and leaves no permit. `Send + Sync`: another thread may
/// notify. Built on event-listener (async-lock's own primitive); costs one
/// allocation per waiting task.
///
/// ```
/// use std::sync::Arc;
///
/// coro::run(coro::scope(async |s| {
///     let ready = Arc::new(coro::sync::Notify::new());
///     let waiter = {
///         let ready = ready.clone();
///         s.spawn(async move {
///             ready.notified().await;
///             "woken"
///         })
///     };
///     let notifier = ready.clone();
///     coro::spawn_blocking(move || notifier.notify_one()).await;
///     assert_eq!(waiter.await.unwrap(), "woken");
/// }));
/// ```
#[derive(Debug, Default)]
pub struct Notify {
    event: Event,
    /// The permit; its lock is held while a waiter registers and while a
    /// notification looks for one, so neither can slip between the other's steps.
    permit: StdMutex<bool>,
}

impl Notify {
    /// A `Notify` with no permit and no waiter.
    ///
    /// ```
    /// let notify = coro::sync::Notify::new();
    /// notify.notify_one(); // no waiter: a permit is left
    /// coro::run(notify.notified()); // takes it at once
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes one waiting task, or leaves a permit for the next wait if none waits.
    /// Permits do not add up: two notifications with nobody waiting leave one.
    ///
    /// ```
    /// let notify = coro::sync::Notify::new();
    /// notify.notify_one();
    /// notify.notify_one();
    /// coro::run(notify.notified());
    /// ```
    pub fn notify_one(&self) {
        let mut permit = self.lock_permit();
        if self.event.notify(1) == 0 {
            *permit = true;
        }
    }

    /// Wakes every task waiting now; a later wait waits for the next notification.
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// coro::run(coro::scope(async |s| {
    ///     let gate = Rc::new(coro::sync::Notify::new());
    ///     let waiters: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let gate = gate.clone();
    ///             s.spawn(async move { gate.notified().await })
    ///         })
    ///         .collect();
    ///     coro::yield_now().await; // let them all start waiting
    ///     gate.notify_waiters();
    ///     for waiter in waiters {
    ///         waiter.await.unwrap();
    ///     }
    /// }));
    /// ```
    pub fn notify_waiters(&self) {
        self.event.notify(usize::MAX);
    }

    /// Waits for a notification; returns at once if a permit is left. Cancel-safe:
    /// a dropped wait that had been notified passes its notification on to another
    /// waiter.
    ///
    /// ```
    /// let notify = coro::sync::Notify::new();
    /// notify.notify_one();
    /// coro::run(async { notify.notified().await });
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            listener: None,
        }
    }

    fn lock_permit(&self) -> StdMutexGuard<'_, bool> {
        self.permit.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The future returned by [`Notify::notified`].
///
/// ```
/// let notify = coro::sync::Notify::new();
/// notify.notify_one();
/// let waiting: coro::sync::Notified<'_> = notify.notified();
/// coro::run(waiting);
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Notified<'a> {
    notify: &'a Notify,
    listener: Option<Pin<Box<EventListener>>>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.listener.is_none() {
            let notify = self.notify;
            let mut permit = notify.lock_permit();
            if std::mem::take(&mut *permit) {
                return Poll::Ready(());
            }
            self.listener = Some(Box::pin(notify.event.listen()));
        }
        let listener = self.listener.as_mut().expect("registered above");
        listener.as_mut().poll(cx)
    }
}
