//! A waker kept in one word: what a task's header holds for whoever awaits its
//! handle.
//!
//! A `Waker` is two words, a data pointer and a vtable pointer, and most tasks are
//! awaited from a scope's body or another task of the same executor, whose waker
//! is coro's own: a pointer to a wake-table entry with coro's one vtable. So the
//! word holds that pointer alone, which gives the vtable back for free; any other
//! waker (the main future's, another executor's) is boxed, one allocation when it
//! is stored. The box is aligned to a wake-table chunk, whose first bytes are never
//! an entry, so the word's low bits say which it is. Eight bytes off every task.

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::task::{RawWaker, Waker};

use super::wake_table::{CHUNK_BYTES, VTABLE};

/// A waker that is not coro's own, boxed at an address no entry can have: a
/// multiple of [`CHUNK_BYTES`], where chunks keep their header. 64 bytes for the
/// 16 of a `Waker`, paid only by joins from outside coro's tasks and scopes.
#[repr(align(64))]
struct Foreign(Waker);

const _: () = assert!(std::mem::align_of::<Foreign>() == CHUNK_BYTES);

/// Whether a non-null word points to a [`Foreign`] box rather than an entry.
fn is_boxed(word: *mut ()) -> bool {
    word.addr().is_multiple_of(CHUNK_BYTES)
}

/// A waker, or none, in one word. Not `Send`: it lives in a header, which stays
/// on its thread.
pub(crate) struct StoredWaker {
    /// Null for none; otherwise an entry pointer that owns one count of its table
    /// (as a coro waker's data does), or a `Box<Foreign>` pointer.
    word: Cell<*mut ()>,
}

impl StoredWaker {
    pub(crate) const fn new() -> Self {
        StoredWaker {
            word: Cell::new(std::ptr::null_mut()),
        }
    }

    /// Keeps a clone of `waker`, unless the waker kept already wakes the same task.
    pub(crate) fn remember(&self, waker: &Waker) {
        let word = self.word.get();
        if !word.is_null() {
            let same = if is_boxed(word) {
                // SAFETY: a boxed word is a pointer from `Box::into_raw` (see
                // below), live until `take` frees it; only `&self` methods reach
                // it, none of which is running meanwhile (`Cell`, one thread).
                unsafe { &*word.cast::<Foreign>() }.0.will_wake(waker)
            } else {
                std::ptr::eq(waker.vtable(), &VTABLE) && std::ptr::eq(waker.data(), word)
            };
            if same {
                return;
            }
        }
        let kept = if std::ptr::eq(waker.vtable(), &VTABLE) {
            // The clone's count of the table is what the word owns from now on.
            ManuallyDrop::new(waker.clone()).data().cast_mut()
        } else {
            Box::into_raw(Box::new(Foreign(waker.clone()))).cast::<()>()
        };
        drop(self.take());
        self.word.set(kept);
    }

    /// The waker kept, leaving none.
    pub(crate) fn take(&self) -> Option<Waker> {
        let word = self.word.replace(std::ptr::null_mut());
        if word.is_null() {
            return None;
        }
        if is_boxed(word) {
            // SAFETY: a boxed word is a pointer from `Box::into_raw`, not yet
            // freed: the word was just cleared, so this is its only use.
            Some(unsafe { Box::from_raw(word.cast::<Foreign>()) }.0)
        } else {
            // SAFETY: any other word is the data of a waker with coro's vtable
            // whose count the word took over (`remember`), and now hands back:
            // the waker rebuilt here is that waker, owning that count.
            Some(unsafe { Waker::from_raw(RawWaker::new(word, &VTABLE)) })
        }
    }
}

impl Drop for StoredWaker {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(test)]
mod tests {
    //! Run under valgrind in CI (`cargo test -p coro-runtime --lib`): a count or a
    //! box lost or freed twice shows there.

    use super::*;
    use crate::raw::OwnerSide;
    use crate::raw::counted_waker::Counted;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_foreign_waker_is_boxed_once_and_given_back() {
        let counted = Arc::new(Counted(AtomicUsize::new(0)));
        let waker = Waker::from(counted.clone());
        let stored = StoredWaker::new();
        stored.remember(&waker);
        stored.remember(&waker);
        assert_eq!(
            Arc::strong_count(&counted),
            3,
            "one clone kept, however often"
        );
        stored.take().expect("kept").wake();
        assert_eq!(counted.0.load(Ordering::Relaxed), 1);
        assert!(stored.take().is_none());
        stored.remember(&waker);
        drop(stored);
        assert_eq!(
            Arc::strong_count(&counted),
            2,
            "the drop gave the clone back"
        );
    }

    #[test]
    fn coros_own_waker_is_kept_as_its_entry_and_wakes_it() {
        let side = OwnerSide::new();
        let stored = StoredWaker::new();
        let waker = side.waker(3);
        stored.remember(&waker);
        stored.remember(&waker.clone());
        assert!(!side.is_queued(3));
        let taken = stored.take().expect("kept");
        assert!(taken.will_wake(&waker));
        taken.wake();
        assert!(side.is_queued(3), "the rebuilt waker woke its entry");
    }

    #[test]
    fn a_waker_replaced_by_another_kind_is_dropped() {
        let side = OwnerSide::new();
        let counted = Arc::new(Counted(AtomicUsize::new(0)));
        let stored = StoredWaker::new();
        stored.remember(&side.waker(1));
        stored.remember(&Waker::from(counted.clone()));
        stored.remember(&side.waker(2));
        assert_eq!(Arc::strong_count(&counted), 1, "the boxed one went");
        stored.take().expect("kept").wake();
        assert!(side.is_queued(2) && !side.is_queued(1));
        // The entry's table holds no count for a waker that is gone: valgrind
        // reports the table as leaked otherwise, once `side` drops.
    }
}
