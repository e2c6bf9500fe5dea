//! The only `unsafe` code in coro: a task in one allocation, wakers that are
//! pointers into their scope's table rather than allocations of their own, and the
//! channels' lock and hand-off slot.
//!
//! All exist for speed (a spawn used to cost three allocations, a wake two mutexes,
//! a channel's message three `std` mutex pairs); each is built so that a reviewer
//! can check each `unsafe` block against its own file alone:
//!
//! - **The task cell** ([`task_cell`]). A spawned future, its output and what its
//!   handle needs share one allocation, reached through thin pointers that count
//!   themselves: the owner (a scope, or the executor) holds an [`OwnedTask`], the
//!   [`JoinHandle`](crate::JoinHandle) a [`TaskView`]. The handle's view outlives
//!   the borrows the future may hold, which [`OwnedTask`]'s `Drop` makes sound: no
//!   future survives its owner.
//! - **The wake table** ([`wake_table`]). Each scope keeps one table in an `Arc`.
//!   A child's waker points at the child's entry in it, and counts as one
//!   reference to the table. A wake on the owner's thread queues the child in a
//!   plain `Vec` (no lock, no read-modify-write, no allocation); a wake from
//!   another thread goes through a mutex.
//! - **The stored waker** ([`stored_waker`]): whoever awaits a handle, kept in one
//!   word of the task's header; a waker of coro's own is its entry pointer, any
//!   other is boxed.
//! - **The channels' lock** ([`lock`]): a spin-then-yield lock, one atomic
//!   read-modify-write to take and a plain store to give back, for state that is
//!   held for a few instructions and never across foreign code that could block.
//! - **The hand-off slot** ([`handoff`]): a send that finds a receiver waiting
//!   puts the value in a slot of that receiver's own, one writer and one reader,
//!   which the receiver empties without the channel's lock.
//! - **The probe.** `coro::debug` looks at a scope's tasks through a weak reference to
//!   its slab (`SlabProbe`), which may outlive the borrows the tasks hold: it only
//!   reads their headers, and only while the slab is alive.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

mod handoff;
mod lock;
mod stored_waker;
mod task_cell;
mod wake_table;

/// A waker for tests that counts its wakes; its `Arc`'s strong count shows clones.
#[cfg(test)]
pub(crate) mod counted_waker {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    pub(crate) struct Counted(pub(crate) AtomicUsize);

    impl Counted {
        pub(crate) fn new() -> Arc<Self> {
            Arc::new(Counted(AtomicUsize::new(0)))
        }

        pub(crate) fn wakes(&self) -> usize {
            self.0.load(Ordering::Relaxed)
        }
    }

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub(crate) use handoff::{HandoffReader, HandoffWriter, handoff};
pub(crate) use lock::{SpinGuard, SpinLock};
pub(crate) use stored_waker::StoredWaker;
pub(crate) use task_cell::{CellState, Deliver, Outcome, OwnedTask, Polling, TaskView, new_task};
pub(crate) use wake_table::{OwnerSide, Turning, current_thread, unpack_index, wake_in_place};

use crate::task::HeaderCopy;

/// The slab a set of children keeps its tasks in, by index.
pub(crate) type Slab<'env> = RefCell<Slots<'env>>;

/// A slab's places: each one's task, if any, and the clock's epoch (see
/// [`crate::clock`]) in which that task was spawned or last began a poll, for
/// `coro::debug`. Kept beside the task rather than in it: the owner touches the
/// slot anyway on its way to a poll. Two vectors rather than one of pairs, which
/// would pad each epoch's four bytes to eight.
#[derive(Default)]
pub(crate) struct Slots<'env> {
    pub(crate) tasks: Vec<Option<OwnedTask<'env>>>,
    pub(crate) ran: Vec<std::cell::Cell<crate::clock::Epoch>>,
}

impl Slots<'_> {
    /// Adds an empty place at the end, and gives its index.
    pub(crate) fn push_empty(&mut self) -> usize {
        self.tasks.push(None);
        self.ran.push(std::cell::Cell::new(0));
        self.tasks.len() - 1
    }
}

/// A look at a slab's tasks for `coro::debug` that keeps nothing alive: a weak
/// reference, so it never drops the slab, nor runs its drop glue.
pub(crate) struct SlabProbe {
    slab: Weak<dyn ReadHeaders>,
}

/// A live task's index, header and epoch (see [`Slots`]).
pub(crate) type ProbedTask = (usize, HeaderCopy, crate::clock::Epoch);

trait ReadHeaders {
    fn headers(&self) -> Vec<ProbedTask>;
}

impl ReadHeaders for Slab<'_> {
    fn headers(&self) -> Vec<ProbedTask> {
        // Borrowed only for a moment by its owner, which calls out to nothing
        // meanwhile; were it borrowed, there would be nothing consistent to read.
        let Ok(slab) = self.try_borrow() else {
            return Vec::new();
        };
        slab.tasks
            .iter()
            .zip(&slab.ran)
            .enumerate()
            .filter_map(|(index, (task, ran))| {
                Some((index, task.as_ref()?.header().copy(), ran.get()))
            })
            .collect()
    }
}

/// A probe of `slab`, which may outlive `'env`.
pub(crate) fn probe_slab<'env>(slab: &Rc<Slab<'env>>) -> SlabProbe {
    let weak: Weak<dyn ReadHeaders + 'env> = Rc::downgrade(slab) as Weak<Slab<'env>>;
    // SAFETY: only the trait object's lifetime bound changes. A `Weak` never drops
    // the value (dropping the last one only frees the memory, with the layout the
    // vtable gives), and `SlabProbe::headers` reaches the value only while a strong
    // reference keeps it alive, and then only reads the tasks' headers, which borrow
    // nothing of `'env`. After `'env`, a strong reference exists only if the owner
    // was leaked, and then the slab and its tasks are leaked with it, never freed.
    let slab =
        unsafe { std::mem::transmute::<Weak<dyn ReadHeaders + 'env>, Weak<dyn ReadHeaders>>(weak) };
    SlabProbe { slab }
}

impl SlabProbe {
    /// Each live task's index, header and epoch, if the slab is still alive.
    pub(crate) fn headers(&self) -> Vec<ProbedTask> {
        if self.slab.strong_count() == 0 {
            return Vec::new();
        }
        // SAFETY: a strong reference exists, so the slab is alive; `Rc` is not
        // `Send`, so no other thread can drop it meanwhile, and `headers` runs no
        // code that could drop it (it copies plain fields out of the headers).
        let slab = unsafe { &*self.slab.as_ptr() };
        slab.headers()
    }
}
