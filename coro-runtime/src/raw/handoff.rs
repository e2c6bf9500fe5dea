//! A one-value slot between a channel and one of its receivers: a send that finds
//! the receiver waiting puts the value into the receiver's own hands, and the
//! receiver, once woken, takes it without taking the channel's lock.
//!
//! In a ping-pong, half the channel's locks were those of a receiver collecting a
//! value it had been woken for: a read-modify-write to take the lock, another
//! queue to look in. A slot with one writer and one reader needs neither. The
//! writer writes only into an empty slot and the reader reads only a full one;
//! each marks the change with a release store that the other's acquire load sees
//! before it touches the value, so the two never touch it at once, and neither
//! needs a read-modify-write. Go's channels hand a value to a parked receiver the
//! same way (`chansend` → `send` onto the receiver's stack).
//!
//! The slot is safe to use in any order: a `put` into a full slot gives the value
//! back, a `take` from an empty one finds nothing. Who may write when (only to a
//! receiver that waits, so only into an empty slot) is the channel's business.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

struct Slot<T> {
    /// Whether `value` holds a value. Changed only by the writer (empty to full)
    /// and the reader (full to empty), each after it is done with `value`.
    full: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is reached by one thread at a time (see `put` and `take`), so
// sharing the slot only moves the value from the writer's thread to the reader's,
// which `T: Send` allows.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        if *self.full.get_mut() {
            // SAFETY: `full` says the value was written and not yet read, and
            // `&mut self` (the last `Arc` is gone) leaves no writer or reader.
            unsafe { self.value.get_mut().assume_init_drop() }
        }
    }
}

/// The only side that fills the slot. Not `Clone`: one writer.
pub(crate) struct HandoffWriter<T>(Arc<Slot<T>>);

/// The only side that empties the slot. Not `Clone`: one reader.
pub(crate) struct HandoffReader<T>(Arc<Slot<T>>);

/// An empty slot's two sides. One allocation.
pub(crate) fn handoff<T>() -> (HandoffWriter<T>, HandoffReader<T>) {
    let slot = Arc::new(Slot {
        full: AtomicBool::new(false),
        value: UnsafeCell::new(MaybeUninit::uninit()),
    });
    (HandoffWriter(slot.clone()), HandoffReader(slot))
}

impl<T> HandoffWriter<T> {
    /// Puts `value` into the slot; gives it back if the slot is still full.
    pub(crate) fn put(&mut self, value: T) -> Result<(), T> {
        let slot = &*self.0;
        if slot.full.load(Ordering::Acquire) {
            return Err(value);
        }
        // SAFETY: the slot is empty, and only this writer (unique, and borrowed
        // mutably) fills it, so the reader will not read until the store below.
        // The acquire load saw the reader's release store of `false`, made after
        // its last read, so that read is over.
        unsafe { (*slot.value.get()).write(value) };
        slot.full.store(true, Ordering::Release);
        Ok(())
    }
}

impl<T> HandoffReader<T> {
    /// Takes the value, if the writer has put one.
    #[inline]
    pub(crate) fn take(&mut self) -> Option<T> {
        let slot = &*self.0;
        if !slot.full.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: the acquire load saw the writer's release store of `true`, made
        // after it wrote the value, so the value is initialised and the writer is
        // done with it; it will not write again until the store below, and only
        // this reader (unique, and borrowed mutably) reads.
        let value = unsafe { (*slot.value.get()).assume_init_read() };
        slot.full.store(false, Ordering::Release);
        Some(value)
    }

    /// Whether a value waits in the slot.
    pub(crate) fn is_full(&self) -> bool {
        self.0.full.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn a_value_put_is_taken_once_and_a_full_slot_refuses_another() {
        let (mut writer, mut reader) = handoff();
        assert_eq!(reader.take(), None::<String>);
        writer.put("first".to_string()).unwrap();
        assert!(reader.is_full());
        assert_eq!(writer.put("second".to_string()), Err("second".to_string()));
        assert_eq!(reader.take().as_deref(), Some("first"));
        assert_eq!(reader.take(), None);
        writer.put("third".to_string()).unwrap();
        assert_eq!(reader.take().as_deref(), Some("third"));
    }

    #[test]
    fn a_value_left_in_the_slot_is_dropped_with_the_last_side_and_only_then() {
        let value = Rc::new(());
        let (mut writer, reader) = handoff();
        writer.put(value.clone()).ok().unwrap();
        drop(reader);
        assert_eq!(
            Rc::strong_count(&value),
            2,
            "the writer still holds the slot"
        );
        drop(writer);
        assert_eq!(Rc::strong_count(&value), 1);
        // Taken, it is the taker's alone: the slot drops nothing more.
        let (mut writer, mut reader) = handoff();
        writer.put(value.clone()).ok().unwrap();
        let taken = reader.take().unwrap();
        drop((writer, reader));
        assert_eq!(Rc::strong_count(&value), 2);
        drop(taken);
        assert_eq!(Rc::strong_count(&value), 1);
    }

    #[test]
    fn values_handed_between_threads_arrive_in_order_and_whole() {
        const VALUES: usize = 2_000;
        let (mut writer, mut reader) = handoff::<Box<usize>>();
        let feeder = std::thread::spawn(move || {
            for i in 0..VALUES {
                let mut value = Box::new(i);
                while let Err(back) = writer.put(value) {
                    value = back;
                    std::thread::yield_now();
                }
            }
        });
        for expected in 0..VALUES {
            let value = loop {
                match reader.take() {
                    Some(value) => break value,
                    None => std::thread::yield_now(),
                }
            };
            assert_eq!(*value, expected);
        }
        feeder.join().unwrap();
        assert!(!reader.is_full());
    }
}
