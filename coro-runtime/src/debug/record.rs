//! What one set of children (a scope's, the executor's detached tasks, a scope's
//! cleanups) tells a dump: its kind, where it was opened, the task it was opened
//! in, a weak look at its slab, and the backtraces its tasks stopped at, in a
//! thread-local registry of records.

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::rc::{Rc, Weak};

use super::sites::{Frame, STOPPED};
use crate::children::BODY;
use crate::raw::{OwnerSide, SlabProbe};

/// What kind of set of tasks a record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    /// The executor of a [`run`](crate::run): its main future, and the detached tasks.
    Executor,
    /// A [`scope`](crate::scope()).
    Scope,
    /// A [`try_scope`](crate::try_scope).
    TryScope,
    /// A [`supervisor_scope`](crate::supervisor_scope).
    SupervisorScope,
    /// The cleanups ([`on_cancel`](crate::on_cancel)) a scope runs.
    Cleanups,
}

impl ScopeKind {
    pub(super) fn label(self) -> &'static str {
        match self {
            ScopeKind::Executor => "executor",
            ScopeKind::Scope => "scope",
            ScopeKind::TryScope => "try_scope",
            ScopeKind::SupervisorScope => "supervisor_scope",
            ScopeKind::Cleanups => "cleanups",
        }
    }
}

/// Where a set of tasks was opened: in which record's task (or body).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub(super) record: u64,
    pub(super) index: usize,
}

/// What one set of children tells [`dump`].
pub(crate) struct ScopeRecord {
    pub(super) id: u64,
    pub(super) kind: ScopeKind,
    pub(super) opened_at: Option<&'static Location<'static>>,
    pub(super) opened_in: Option<Place>,
    /// The owner's tasks, read only when a dump asks.
    pub(super) tasks: SlabProbe,
    /// The index polled right now, or `NOT_POLLING`.
    pub(super) polling: Cell<usize>,
    /// Per index, where its task stopped when it last returned `Pending`
    /// (innermost first). Kept here rather than in the task, which stays small:
    /// an index's vector is reused by the tasks that come after.
    pub(super) backtraces: RefCell<Vec<Vec<Frame>>>,
    /// Where the body stopped, for the executor's record: its main future, which
    /// is polled as the record's `BODY` (a scope's body is its owner task's, and
    /// keeps its sites there).
    pub(super) body_backtrace: RefCell<Vec<Frame>>,
    /// The clock's epoch (see [`crate::clock`]) in which the executor's main
    /// future last began a poll, for the dump's durations.
    pub(super) body_ran: Cell<crate::clock::Epoch>,
    /// Whether any task here ever kept a site: if not, there is nothing to clear.
    pub(super) any_backtrace: Cell<bool>,
    pub(super) wakes: Rc<OwnerSide>,
    /// Its place in `REGISTRY`, for a removal in constant time.
    pub(super) registered_at: Cell<usize>,
}

/// Gives `backtraces` a place at `index`: once per slab index, so out of the way
/// of the poll that keeps its sites.
#[cold]
#[inline(never)]
fn grow_to(backtraces: &mut Vec<Vec<Frame>>, index: usize) {
    backtraces.resize_with(index + 1, Vec::new);
}

/// No index: nothing of the record is being polled.
pub(super) const NOT_POLLING: usize = usize::MAX - 1;

thread_local! {
    pub(super) static REGISTRY: RefCell<Vec<Weak<ScopeRecord>>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

impl ScopeRecord {
    /// Registers a new record, opened in `opened_in` (the innermost task or body
    /// being polled, found through the scope being polled, see `Children::new`).
    pub(crate) fn register(
        kind: ScopeKind,
        opened_at: Option<&'static Location<'static>>,
        opened_in: Option<Place>,
        tasks: SlabProbe,
        wakes: Rc<OwnerSide>,
    ) -> Rc<Self> {
        let id = NEXT_ID.with(|next| next.replace(next.get() + 1));
        let record = Rc::new(ScopeRecord {
            id,
            kind,
            opened_at,
            opened_in,
            tasks,
            polling: Cell::new(NOT_POLLING),
            backtraces: RefCell::new(Vec::new()),
            body_backtrace: RefCell::new(Vec::new()),
            body_ran: Cell::new(crate::clock::epoch()),
            any_backtrace: Cell::new(false),
            wakes,
            registered_at: Cell::new(0),
        });
        let _ = REGISTRY.try_with(|registry| {
            let mut registry = registry.borrow_mut();
            record.registered_at.set(registry.len());
            registry.push(Rc::downgrade(&record));
        });
        record
    }

    /// What is being polled in this record now: a task, or else its owner's body
    /// (the owner polls its body only when no task of its is being polled, so the
    /// body needs no mark of its own).
    pub(crate) fn place(&self) -> Place {
        let index = self.polling.get();
        Place {
            record: self.id,
            index: if index == NOT_POLLING { BODY } else { index },
        }
    }

    /// Runs `poll` with task `index` marked as being polled, and keeps the sites
    /// its futures return `Pending` at. Those gather on one thread-local stack
    /// (`sites::Stopped`), above the ones of the tasks polling this one, and are
    /// copied out after the poll; a poll that records nothing, of a task that had
    /// nothing, costs a few flag and length checks.
    #[inline]
    pub(crate) fn polling<R>(&self, index: usize, poll: impl FnOnce() -> R) -> R {
        /// Puts back what was polled before and keeps this poll's sites, on return
        /// or unwind.
        struct Restore<'a> {
            record: &'a ScopeRecord,
            index: usize,
            outer_index: usize,
            base: usize,
            outer_base: usize,
            was_recording: bool,
        }
        impl Drop for Restore<'_> {
            #[inline]
            fn drop(&mut self) {
                self.record.polling.set(self.outer_index);
                let recorded = STOPPED.with(|stopped| {
                    stopped.recording.set(self.was_recording);
                    stopped.base.set(self.outer_base);
                    stopped.depth.get() != self.base
                });
                if recorded {
                    self.keep_recorded();
                } else {
                    // Nothing recorded: the usual case for tasks that are not
                    // coroutines. Forget what an earlier poll kept, if anything.
                    self.record.forget_backtrace(self.index);
                }
            }
        }
        impl Restore<'_> {
            /// Out of line: only coroutines record sites, and the poll of any task
            /// pays for the check above.
            #[inline(never)]
            fn keep_recorded(&self) {
                self.record.any_backtrace.set(true);
                self.record.keep_backtrace(self.index, |kept| {
                    STOPPED.with(|stopped| {
                        stopped.copy_into(self.base, kept);
                        stopped.truncate(self.base);
                    });
                });
            }
        }
        let _restore = STOPPED.with(|stopped| {
            let base = stopped.depth.get();
            Restore {
                record: self,
                index,
                outer_index: self.polling.replace(index),
                base,
                outer_base: stopped.base.replace(base),
                was_recording: stopped.recording.replace(true),
            }
        });
        poll()
    }

    /// Keeps what `fill` writes as where the task at `index` (or the body)
    /// stopped, in the vector it kept before: no allocation once it has one.
    fn keep_backtrace(&self, index: usize, fill: impl FnOnce(&mut Vec<Frame>)) {
        if index == BODY {
            let mut kept = self.body_backtrace.borrow_mut();
            kept.clear();
            fill(&mut kept);
            return;
        }
        let mut backtraces = self.backtraces.borrow_mut();
        if backtraces.len() <= index {
            grow_to(&mut backtraces, index);
        }
        let kept = &mut backtraces[index];
        kept.clear();
        fill(kept);
    }

    /// Clears what the task at `index` (or the body) kept: its poll recorded
    /// nothing, or it is gone and the next task there starts with no sites.
    #[inline]
    pub(crate) fn forget_backtrace(&self, index: usize) {
        if !self.any_backtrace.get() {
            return;
        }
        if index == BODY {
            self.body_backtrace.borrow_mut().clear();
        } else if let Some(kept) = self.backtraces.borrow_mut().get_mut(index) {
            kept.clear();
        }
    }

    /// The record's number: its scope's in task ids (`3` of `3.1`).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// `try_scope 4`.
    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.kind.label(), self.id)
    }

    /// `try_scope 4 opened at src/main.rs:9:5, in task 3.1`: the record in a line.
    pub(crate) fn describe(&self) -> String {
        let mut line = self.name();
        if let Some(at) = self.opened_at {
            line.push_str(&format!(" opened at {at}"));
        }
        match self.opened_in {
            Some(place) if place.index == BODY => {
                line.push_str(&format!(", in the body of {}", place.record));
            }
            Some(place) => line.push_str(&format!(", in task {}.{}", place.record, place.index)),
            None => {}
        }
        line
    }

    pub(crate) fn backtrace(&self, index: usize) -> Vec<Frame> {
        if index == BODY {
            return self.body_backtrace.borrow().clone();
        }
        self.backtraces
            .borrow()
            .get(index)
            .cloned()
            .unwrap_or_default()
    }

    /// The executor's main future begins a poll now.
    #[inline]
    pub(crate) fn body_runs(&self) {
        self.body_ran.set(crate::clock::epoch());
    }

    /// Whether the body (the executor's main future) is being polled now, or
    /// a task of its.
    pub(super) fn body_running(&self) -> bool {
        self.polling.get() == BODY
    }
}

impl Drop for ScopeRecord {
    fn drop(&mut self) {
        let at = self.registered_at.get();
        let _ = REGISTRY.try_with(|registry| {
            let mut registry = registry.borrow_mut();
            if at < registry.len() {
                registry.swap_remove(at);
                if let Some(moved) = registry.get(at).and_then(Weak::upgrade) {
                    moved.registered_at.set(at);
                }
            }
        });
    }
}
