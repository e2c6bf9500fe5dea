//! A coarse clock for the task tree: how long a task has been suspended, without
//! reading the time at every poll.
//!
//! Reading the clock costs more than a poll of a small task, so a poll only notes
//! the executor's round (a thread-local counter the loop bumps once a round). The
//! loop reads the time when it starts, when it is about to wait, and every few
//! dozen rounds while it stays busy (when it looks at the reactor), and keeps those readings as (round, instant)
//! samples. A dump turns a task's round into the first reading at or after it (or
//! the last one, for a round newer than every reading): how long the task has
//! waited, off by at most the gap between two readings. Old samples are thinned, so a task that has waited an hour is told to
//! within a fraction of that hour, with a few hundred samples kept.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

thread_local! {
    /// The executor loop's round on this thread.
    static ROUND: Cell<u64> = const { Cell::new(0) };
}

/// The round the executor on this thread is in.
#[inline]
pub(crate) fn round() -> u64 {
    ROUND.get()
}

/// How many samples are kept before the older half is thinned.
const KEPT: usize = 512;

/// The executor's readings of the time, by round.
#[derive(Default)]
pub(crate) struct Clock {
    samples: RefCell<Vec<(u64, Instant)>>,
}

impl Clock {
    /// The loop starts a round.
    #[inline]
    pub(crate) fn next_round(&self) {
        ROUND.set(ROUND.get() + 1);
    }

    /// Reads the time now, for the rounds up to this one.
    pub(crate) fn sample(&self) {
        let mut samples = self.samples.borrow_mut();
        if samples.capacity() == 0 {
            // All the room it will need, at once: a busy executor allocates no
            // more for its clock (`tests/memory.rs` counts allocations per task).
            samples.reserve_exact(KEPT + 1);
        }
        let round = ROUND.get();
        // A round's first reading is the one that bounds it.
        if samples.last().is_some_and(|last| last.0 == round) {
            return;
        }
        samples.push((round, Instant::now()));
        if samples.len() > KEPT {
            // Every other one of the older half goes (but the first): recent rounds keep their
            // precision, old ones keep a precision relative to their age.
            let older = samples.len() / 2;
            let mut index = 0;
            samples.retain(|_| {
                index += 1;
                index == 1 || index > older || index % 2 == 0
            });
        }
    }

    /// How long ago `round` was: from the first reading at or after it (or the
    /// last one, if it is newer than every reading) until now.
    pub(crate) fn since(&self, round: u64) -> Option<Duration> {
        let samples = self.samples.borrow();
        let after = samples.partition_point(|(sampled, _)| *sampled < round);
        let (_, at) = samples.get(after).or(samples.last())?;
        Some(at.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_recent_samples_and_every_round_an_answer() {
        let clock = Clock::default();
        for _ in 0..2_000 {
            clock.next_round();
            clock.sample();
        }
        let samples = clock.samples.borrow().clone();
        assert!(samples.len() <= KEPT);
        assert!(samples.windows(2).all(|pair| pair[0].0 < pair[1].0));
        let newest = samples.last().unwrap().0;
        // The newest rounds are all there; the oldest are thinned, not dropped.
        assert!((newest - 100..=newest).all(|round| samples.iter().any(|s| s.0 == round)));
        assert!(samples[0].0 <= newest - 1_900);
        drop(samples);
        let old = clock.since(newest - 1_500).unwrap();
        let recent = clock.since(newest).unwrap();
        assert!(old >= recent, "an older round is at least as long ago");
    }
}
