//! Tasks waiting on one side of a channel, in arrival order, each under the number
//! its future knows it by. A woken waiter leaves the queue; a waiter dropped before
//! it is woken takes its entry out, so nothing is left behind and no wake goes to a
//! future that is gone.
//!
//! A receiver that waits in a loop would clone its waker each time it waits and drop
//! it each time it is woken: two atomic operations a message, the largest cost of a
//! ping-pong after the lock. So a waiter woken in place (a task of this thread's
//! executor, whose wake only queues it) keeps its waker here, under its number, and
//! waits again with it; its owner forgets it when it stops receiving.

use std::collections::VecDeque;
use std::task::Waker;

#[derive(Default)]
pub(super) struct Waiters {
    queue: VecDeque<(u64, Waker)>,
    /// Wakers of waiters not queued now (woken in place, or done waiting for the
    /// moment), kept for their next wait. At most one per waiter number.
    kept: Vec<(u64, Waker)>,
    next_id: u64,
}

impl Waiters {
    /// Queues the waiter whose number is in `slot`, or refreshes its waker if it is
    /// still queued. A waiter that was woken and waits again goes to the back.
    pub(super) fn register(&mut self, slot: &mut Option<u64>, waker: &Waker) {
        self.register_keeping(slot, &mut None, waker);
    }

    /// [`register`](Self::register), for a waiter that may have a waker kept here:
    /// under its number in `slot` (woken in place), or in `resting` (it got what it
    /// waited for). It waits with that waker, cloning none.
    pub(super) fn register_keeping(
        &mut self,
        slot: &mut Option<u64>,
        resting: &mut Option<u64>,
        waker: &Waker,
    ) {
        if let Some(id) = *slot
            && let Some((_, queued)) = self.queue.iter_mut().find(|(waiter, _)| *waiter == id)
        {
            if !queued.will_wake(waker) {
                *queued = waker.clone();
            }
            return;
        }
        let known = match *slot {
            Some(id) => Some(id),
            None => resting.take(),
        };
        if let Some(id) = known
            && let Some(at) = self.kept.iter().position(|(waiter, _)| *waiter == id)
        {
            let (_, mut again) = self.kept.swap_remove(at);
            if !again.will_wake(waker) {
                again = waker.clone();
            }
            self.queue.push_back((id, again));
            *slot = Some(id);
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back((id, waker.clone()));
        *slot = Some(id);
    }

    /// Takes the waiter that has waited longest, for the caller to wake once it has
    /// let go of the channel's lock.
    pub(super) fn pop(&mut self) -> Option<Waker> {
        self.queue.pop_front().map(|(_, waker)| waker)
    }

    /// Wakes the waiter that has waited longest. A task of this thread's executor is
    /// woken now, under the channel's lock (its wake takes none and runs no code of
    /// the channel), and its waker kept for its next wait; any other waker is
    /// returned for the caller to wake once it has let go of the lock.
    pub(super) fn wake_first(&mut self) -> Option<Waker> {
        let (id, waker) = self.queue.pop_front()?;
        if !crate::raw::wake_in_place(&waker) {
            return Some(waker);
        }
        self.kept.push((id, waker));
        None
    }

    /// Waiter `id` is done waiting for now (it got what it waited for) and is
    /// likely to wait again: it leaves the queue, keeping its waker.
    pub(super) fn rest(&mut self, id: u64) {
        if let Some(at) = self.queue.iter().position(|(waiter, _)| *waiter == id) {
            let entry = self.queue.remove(at).expect("found above");
            self.kept.push(entry);
        }
    }

    /// Takes every waiter.
    pub(super) fn take_all(&mut self) -> Vec<Waker> {
        self.queue.drain(..).map(|(_, waker)| waker).collect()
    }

    /// Takes waiter `id` out, and its kept waker; `false` if it was no longer
    /// queued (it was woken).
    pub(super) fn remove(&mut self, id: u64) -> bool {
        // Ids are unique, so the first match is the only one.
        match self.queue.iter().position(|(waiter, _)| *waiter == id) {
            Some(at) => {
                self.queue.remove(at);
                true
            }
            None => {
                self.forget(id);
                false
            }
        }
    }

    /// Drops the waker kept for `id`, if any: its owner will not wait again.
    pub(super) fn forget(&mut self, id: u64) {
        if let Some(at) = self.kept.iter().position(|(waiter, _)| *waiter == id) {
            self.kept.swap_remove(at);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

pub(super) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

pub(super) fn wake_all(wakers: Vec<Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}
