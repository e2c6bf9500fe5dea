//! Tasks waiting on one side of a channel, in arrival order, each under the number
//! its future knows it by. A woken waiter leaves the queue; a waiter dropped before
//! it is woken takes its entry out, so nothing is left behind and no wake goes to a
//! future that is gone.

use std::collections::VecDeque;
use std::task::Waker;

#[derive(Default)]
pub(super) struct Waiters {
    queue: VecDeque<(u64, Waker)>,
    next_id: u64,
}

impl Waiters {
    /// Queues the waiter whose number is in `slot`, or refreshes its waker if it is
    /// still queued. A waiter that was woken and waits again goes to the back.
    pub(super) fn register(&mut self, slot: &mut Option<u64>, waker: &Waker) {
        if let Some(id) = *slot
            && let Some((_, queued)) = self.queue.iter_mut().find(|(waiter, _)| *waiter == id)
        {
            if !queued.will_wake(waker) {
                *queued = waker.clone();
            }
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

    /// Takes every waiter.
    pub(super) fn take_all(&mut self) -> Vec<Waker> {
        self.queue.drain(..).map(|(_, waker)| waker).collect()
    }

    /// Takes waiter `id` out; `false` if it was no longer queued (it was woken).
    pub(super) fn remove(&mut self, id: u64) -> bool {
        // Ids are unique, so the first match is the only one.
        match self.queue.iter().position(|(waiter, _)| *waiter == id) {
            Some(at) => {
                self.queue.remove(at);
                true
            }
            None => false,
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
