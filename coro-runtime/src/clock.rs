//! A coarse clock for the task tree: how long a task has been suspended, without
//! reading the time at every poll.
//!
//! Reading the clock costs more than a poll of a small task, so a poll only notes
//! the clock's epoch: a thread-local counter, in a task's slab slot as four bytes.
//! The loop reads the time when it starts, when it is about to wait, and every few
//! dozen rounds while it stays busy (when it looks at the reactor); a reading a
//! millisecond or more after the epoch's first starts the next epoch, and is kept
//! as that epoch's (epoch, instant) sample. A dump turns a task's epoch into the
//! time since that epoch began: how long the task has waited, over by at most the
//! length of an epoch (a millisecond, plus the time between two readings). Old
//! samples are thinned, so a task that has waited an hour is told to within a
//! fraction of that hour, with a few hundred samples kept.
//!
//! Epochs rather than the loop's rounds, which are as short as 15 ns: four bytes of
//! milliseconds wrap after 49 days, so a task idle longer than that is shown as
//! idle for its idle time less a multiple of 49 days. Four bytes of rounds would
//! wrap in a minute.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

/// What a task's slot keeps of the epoch it last ran in: the low bits of the
/// thread's count.
pub(crate) type Epoch = u32;

/// The shortest epoch.
const EPOCH_LENGTH: Duration = Duration::from_millis(1);

thread_local! {
    /// The clock's epoch on this thread, in full.
    static EPOCH: Cell<u64> = const { Cell::new(0) };
}

/// The epoch this thread's executor is in.
#[inline]
pub(crate) fn epoch() -> Epoch {
    EPOCH.get() as Epoch
}

/// How many samples are kept before the older half is thinned.
const KEPT: usize = 512;

/// The executor's readings of the time: when each epoch began.
#[derive(Default)]
pub(crate) struct Clock {
    samples: RefCell<Vec<(u64, Instant)>>,
}

impl Clock {
    /// Reads the time now; starts a new epoch if the current one is a millisecond
    /// old, or is not this clock's.
    pub(crate) fn sample(&self) {
        self.sample_at(Instant::now());
    }

    fn sample_at(&self, now: Instant) {
        let mut samples = self.samples.borrow_mut();
        if samples.capacity() == 0 {
            // All the room it will need, at once: a busy executor allocates no
            // more for its clock (`tests/memory.rs` counts allocations per task).
            samples.reserve_exact(KEPT + 1);
        }
        if let Some(&(epoch, began)) = samples.last()
            && epoch == EPOCH.get()
            && now.duration_since(began) < EPOCH_LENGTH
        {
            return;
        }
        let epoch = EPOCH.get() + 1;
        EPOCH.set(epoch);
        samples.push((epoch, now));
        if samples.len() > KEPT {
            // Every other one of the older half goes (but the first): recent epochs
            // keep their precision, old ones keep a precision relative to their age.
            let older = samples.len() / 2;
            let mut index = 0;
            samples.retain(|_| {
                index += 1;
                index == 1 || index > older || index % 2 == 0
            });
        }
    }

    /// How long ago `epoch` began: from the last sample at or before it (or the
    /// first sample, for an epoch older than every one) until now.
    pub(crate) fn since(&self, epoch: Epoch) -> Option<Duration> {
        let now = EPOCH.get();
        // The full count, as the most recent one with these low bits.
        let epoch = now.saturating_sub(u64::from((now as Epoch).wrapping_sub(epoch)));
        let samples = self.samples.borrow();
        let after = samples.partition_point(|(sampled, _)| *sampled <= epoch);
        let (_, began) = samples.get(after.saturating_sub(1))?;
        Some(began.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_within_a_millisecond_share_an_epoch() {
        let clock = Clock::default();
        let start = Instant::now();
        clock.sample_at(start);
        let first = epoch();
        clock.sample_at(start + Duration::from_micros(400));
        assert_eq!(epoch(), first, "under a millisecond: the same epoch");
        clock.sample_at(start + Duration::from_millis(2));
        assert_eq!(epoch(), first.wrapping_add(1));
        // A task that ran in the first epoch waited since it began, at least.
        let floor = start.elapsed();
        assert!(clock.since(first).unwrap() >= floor);
        assert!(clock.since(first).unwrap() >= clock.since(epoch()).unwrap());
        assert_eq!(clock.samples.borrow().len(), 2);
    }

    #[test]
    fn a_new_clock_starts_an_epoch_of_its_own() {
        let first = Clock::default();
        first.sample();
        let before = epoch();
        let second = Clock::default();
        second.sample();
        assert_ne!(epoch(), before, "an epoch belongs to one clock");
        // An epoch older than the clock's first sample counts from that sample.
        assert!(second.since(before).is_some());
    }

    #[test]
    fn thinning_keeps_the_recent_samples_and_every_epoch_an_answer() {
        let clock = Clock::default();
        let start = Instant::now();
        for step in 0..2_000 {
            clock.sample_at(start + EPOCH_LENGTH * step);
        }
        let samples = clock.samples.borrow().clone();
        assert!(samples.len() <= KEPT);
        assert!(samples.windows(2).all(|pair| pair[0].0 < pair[1].0));
        let newest = samples.last().unwrap().0;
        // The newest epochs are all there; the oldest are thinned, not dropped.
        assert!((newest - 100..=newest).all(|epoch| samples.iter().any(|s| s.0 == epoch)));
        assert!(samples[0].0 <= newest - 1_900);
        drop(samples);
        let old = clock.since((newest - 1_500) as Epoch).unwrap();
        let recent = clock.since(newest as Epoch).unwrap();
        assert!(old >= recent, "an older epoch is at least as long ago");
    }

    #[test]
    fn an_epoch_is_found_across_the_wrap_of_its_low_bits() {
        EPOCH.set(u64::from(u32::MAX) - 1);
        let clock = Clock::default();
        let start = Instant::now();
        clock.sample_at(start);
        let before_wrap = epoch();
        assert_eq!(before_wrap, u32::MAX);
        // Samples an hour ahead: however slowly this runs (valgrind), the last
        // one is still in the future when it is read.
        let ahead = Duration::from_secs(3600);
        for step in 1..4 {
            clock.sample_at(start + ahead + EPOCH_LENGTH * 2 * step);
        }
        assert!(epoch() < before_wrap, "the low bits wrapped");
        // Counted from the first sample, not from a later one or none: the later
        // ones are in the future, and count as no time at all.
        let floor = start.elapsed();
        let since = clock.since(before_wrap).unwrap();
        assert!(since >= floor && since > Duration::ZERO, "{since:?}");
        assert_eq!(clock.since(epoch()).unwrap(), Duration::ZERO);
    }
}
