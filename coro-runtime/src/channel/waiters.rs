//! Tasks waiting on one side of a channel, in arrival order, each under the number
//! its future knows it by. A woken waiter leaves the queue; a waiter dropped before
//! it is woken takes its entry out, so nothing is left behind and no wake goes to a
//! future that is gone.
//!
//! A receiver that waits in a loop would clone its waker each time it waits and drop
//! it each time it is woken: two atomic operations a message, the largest cost of a
//! ping-pong after the lock. So a waiter keeps its place here, with its waker, from
//! its first wait until its owner lets it go: a waiter woken in place (a task of
//! this thread's executor, whose wake only queues it) waits again with the same
//! waker, and the queue holds only places, so a wait and a wake move no waker.
//! A place is reused only once its owner has given its number back, so a number
//! a future holds always names its own place.

use std::collections::VecDeque;
use std::task::Waker;

/// One waiter's place: its waker (taken out when it was woken from elsewhere, to
/// be woken outside the lock) and whether it is queued.
#[derive(Default)]
struct Place {
    waker: Option<Waker>,
    queued: bool,
}

#[derive(Default)]
pub(super) struct Waiters {
    places: Vec<Place>,
    /// Places whose owners gave them back.
    free: Vec<u32>,
    /// The queued places, longest waiting first.
    queue: VecDeque<u32>,
}

impl Waiters {
    /// Queues the waiter whose number is in `slot`, or refreshes its waker if it is
    /// still queued. A waiter that was woken and waits again goes to the back.
    pub(super) fn register(&mut self, slot: &mut Option<u64>, waker: &Waker) {
        self.register_keeping(slot, &mut None, waker);
    }

    /// [`register`](Self::register), for a waiter that may have a place here
    /// under its number in `resting` (it got what it waited for, and left the
    /// queue keeping its waker) rather than in `slot`.
    pub(super) fn register_keeping(
        &mut self,
        slot: &mut Option<u64>,
        resting: &mut Option<u64>,
        waker: &Waker,
    ) {
        let index = match slot.or_else(|| resting.take()) {
            Some(id) => id as u32,
            None => self.new_place(),
        };
        let place = &mut self.places[index as usize];
        match &mut place.waker {
            Some(kept) if kept.will_wake(waker) => {}
            kept => *kept = Some(waker.clone()),
        }
        if !place.queued {
            place.queued = true;
            self.queue.push_back(index);
        }
        *slot = Some(u64::from(index));
    }

    #[cold]
    fn new_place(&mut self) -> u32 {
        if let Some(index) = self.free.pop() {
            return index;
        }
        let index = u32::try_from(self.places.len()).expect("fewer than 2^32 waiters");
        self.places.push(Place::default());
        index
    }

    /// The number of the waiter that has waited longest, left in the queue.
    pub(super) fn first(&self) -> Option<u64> {
        self.queue.front().map(|&index| u64::from(index))
    }

    /// Takes the waiter that has waited longest, for the caller to wake once it has
    /// let go of the channel's lock.
    pub(super) fn pop(&mut self) -> Option<Waker> {
        let index = self.queue.pop_front()?;
        let place = &mut self.places[index as usize];
        place.queued = false;
        place.waker.take()
    }

    /// Wakes the waiter that has waited longest. A task of this thread's executor is
    /// woken now, under the channel's lock (its wake takes none and runs no code of
    /// the channel), and its waker kept for its next wait; any other waker is
    /// returned for the caller to wake once it has let go of the lock.
    pub(super) fn wake_first(&mut self) -> Option<Waker> {
        let index = self.queue.pop_front()?;
        let place = &mut self.places[index as usize];
        place.queued = false;
        match &place.waker {
            Some(waker) if crate::raw::wake_in_place(waker) => None,
            _ => place.waker.take(),
        }
    }

    /// Waiter `id` is done waiting for now (it got what it waited for) and is
    /// likely to wait again: it leaves the queue, keeping its place and waker.
    pub(super) fn rest(&mut self, id: u64) {
        self.unqueue(id as u32);
    }

    /// Takes every waiter out of the queue, and their wakers; they keep their
    /// places.
    pub(super) fn take_all(&mut self) -> Vec<Waker> {
        let places = &mut self.places;
        self.queue
            .drain(..)
            .filter_map(|index| {
                let place = &mut places[index as usize];
                place.queued = false;
                place.waker.take()
            })
            .collect()
    }

    /// Gives waiter `id`'s place back, with its waker; `false` if it was no longer
    /// queued (it was woken).
    pub(super) fn remove(&mut self, id: u64) -> bool {
        let index = id as u32;
        let was_queued = self.unqueue(index);
        self.places[index as usize].waker = None;
        self.free.push(index);
        was_queued
    }

    /// Takes the place at `index` out of the queue; whether it was in it.
    fn unqueue(&mut self, index: u32) -> bool {
        let place = &mut self.places[index as usize];
        if !place.queued {
            return false;
        }
        place.queued = false;
        // Places are queued once at most, so the first match is the only one.
        let at = self.queue.iter().position(|&queued| queued == index);
        self.queue
            .remove(at.expect("a queued place is in the queue"));
        true
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[inline]
pub(super) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

pub(super) fn wake_all(wakers: Vec<Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::counted_waker::Counted;
    use std::sync::Arc;

    fn counting() -> Counting {
        let counter = Counted::new();
        (counter.clone(), Waker::from(counter))
    }

    /// A waiter's counter and waker.
    type Counting = (Arc<Counted>, Waker);

    /// Three waiters, queued in order, and their numbers.
    fn three_queued(waiters: &mut Waiters) -> (Vec<Counting>, [Option<u64>; 3]) {
        let wakers: Vec<_> = (0..3).map(|_| counting()).collect();
        let mut ids = [None; 3];
        for (id, (_, waker)) in ids.iter_mut().zip(&wakers) {
            waiters.register(id, waker);
        }
        (wakers, ids)
    }

    #[test]
    fn waiters_are_taken_in_arrival_order_and_a_rewait_goes_to_the_back() {
        let mut waiters = Waiters::default();
        let (wakers, mut ids) = three_queued(&mut waiters);
        // Still queued: registering again keeps its place.
        waiters.register(&mut ids[0], &wakers[0].1);
        wake(waiters.pop());
        assert_eq!(wakers[0].0.wakes(), 1);
        // Woken, then waiting again: behind the others.
        waiters.register(&mut ids[0], &wakers[0].1);
        for expected in [1, 2, 0] {
            wake(waiters.pop());
            assert_eq!(
                wakers[expected].0.wakes(),
                if expected == 0 { 2 } else { 1 }
            );
        }
        assert!(waiters.pop().is_none());
    }

    #[test]
    fn a_waiter_waiting_again_with_the_same_waker_clones_none() {
        let mut waiters = Waiters::default();
        let (counter, waker) = counting();
        let mut id = None;
        waiters.register(&mut id, &waker);
        let held = Arc::strong_count(&counter);
        waiters.register(&mut id, &waker);
        let mut resting = id.take();
        waiters.rest(resting.unwrap());
        waiters.register_keeping(&mut id, &mut resting, &waker);
        assert_eq!(Arc::strong_count(&counter), held);
        assert!(resting.is_none());
        assert!(!waiters.is_empty());
    }

    #[test]
    fn a_place_given_back_is_reused_and_its_waker_dropped() {
        let mut waiters = Waiters::default();
        let (first_counter, first) = counting();
        let (second_counter, second) = counting();
        let mut a = None;
        waiters.register(&mut a, &first);
        assert!(waiters.remove(a.take().unwrap()), "it was queued");
        assert_eq!(Arc::strong_count(&first_counter), 2, "its waker is dropped");
        assert!(waiters.is_empty());
        let mut b = None;
        waiters.register(&mut b, &second);
        assert_eq!(waiters.places.len(), 1, "the place was reused");
        wake(waiters.wake_first());
        assert_eq!(second_counter.wakes(), 1);
        assert!(
            !waiters.remove(b.take().unwrap()),
            "it was woken, not queued"
        );
        assert_eq!(first_counter.wakes(), 0);
    }

    #[test]
    fn take_all_wakes_every_queued_waiter_and_they_keep_their_places() {
        let mut waiters = Waiters::default();
        let (wakers, mut ids) = three_queued(&mut waiters);
        wake_all(waiters.take_all());
        assert!(wakers.iter().all(|(counter, _)| counter.wakes() == 1));
        assert!(waiters.is_empty());
        waiters.register(&mut ids[1], &wakers[1].1);
        assert_eq!(waiters.places.len(), 3, "waiting again takes no new place");
        wake(waiters.pop());
        assert_eq!(wakers[1].0.wakes(), 2);
    }
}
