//! The tasks a scope (or the executor, for detached tasks) owns and polls.
//!
//! Children live in a slab of boxed [`Task`]s: one allocation per child for the
//! future, plus a small `Arc` that is its waker. A waker nobody else holds when its
//! child finishes is kept for the next child at that index, so a scope that spawns
//! and joins in a steady stream allocates it once per index, not once per child. A waker only queues its child's index
//! and wakes the owner, from any thread; the owner polls just the queued children,
//! one batch per poll of its own, so a child that keeps waking itself cannot starve
//! the rest. Nothing is borrowed while a child runs, so a child may spawn, cancel or
//! drop other tasks freely.
//!
//! Owning the children, rather than handing them to an executor, is what makes scoped
//! tasks sound without `unsafe`: nothing polls a child but its scope's future, so if
//! that future is dropped the children are dropped with it, and if it is leaked they
//! are never polled again.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::task::{ChildTask, Failure, JoinHandle, Slot, Task, deliver_value, remember_waker};
use std::future::Future;

/// Left on the stack before a child is polled or dropped; below it, a new segment
/// is allocated (stacker, which rustc uses against deep recursion).
const STACK_RED_ZONE: usize = 128 * 1024;
/// The size of each segment the stack grows by.
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Cancels a child, whose drop drops the tree below it, depth first: as deep as
/// polling it is, so on a stack that grows.
fn cancel_deep(task: Pin<Box<dyn Task + '_>>) -> Result<(), Failure> {
    crate::cleanup::cancelling(|| {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || task.cancel())
    })
}

/// The index that stands for the owner's own body rather than a child.
pub(crate) const BODY: usize = usize::MAX;

/// What wakers share with the owner: which children are ready, and how to wake the
/// owner itself. `Send + Sync`, as wakers must be.
struct Ready {
    queue: Mutex<Vec<usize>>,
    owner: Mutex<Option<Waker>>,
}

impl Ready {
    fn push(&self, index: usize) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(index);
        let owner = self.owner.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(owner) = owner {
            // The owner may be a child of a scope in turn: a wake climbs the tree.
            stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || owner.wake());
        }
    }
}

/// A child's waker: queues the child (once until it is polled) and wakes the owner.
struct ChildWaker {
    index: usize,
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.push(self.index);
        }
    }
}

struct Entry<'env> {
    task: Option<Pin<Box<dyn Task + 'env>>>,
    waker: Arc<ChildWaker>,
}

pub(crate) struct Children<'env> {
    slab: RefCell<Vec<Option<Entry<'env>>>>,
    free: RefCell<Vec<usize>>,
    /// Per slab index, the waker of a finished child that no one else held.
    spare_wakers: RefCell<Vec<Option<Arc<ChildWaker>>>>,
    live: Cell<usize>,
    ready: Arc<Ready>,
    body_waker: Arc<ChildWaker>,
    failure: RefCell<Option<Failure>>,
    /// The batch being polled; swapped with the queue so neither reallocates.
    batch: RefCell<Vec<usize>>,
}

impl<'env> Children<'env> {
    pub(crate) fn new() -> Self {
        let ready = Arc::new(Ready {
            queue: Mutex::new(vec![BODY]),
            owner: Mutex::new(None),
        });
        let body_waker = Arc::new(ChildWaker {
            index: BODY,
            queued: AtomicBool::new(true),
            ready: ready.clone(),
        });
        Children {
            slab: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            spare_wakers: RefCell::new(Vec::new()),
            live: Cell::new(0),
            ready,
            body_waker,
            failure: RefCell::new(None),
            batch: RefCell::new(Vec::new()),
        }
    }

    /// The waker for the owner's body: polling it is the owner's business.
    pub(crate) fn body_waker(&self) -> Waker {
        Waker::from(self.body_waker.clone())
    }

    /// Adds a child; it first runs at the owner's next poll.
    pub(crate) fn spawn(&self, task: Pin<Box<dyn Task + 'env>>) {
        let index = self.free.borrow_mut().pop().unwrap_or_else(|| {
            let mut slab = self.slab.borrow_mut();
            slab.push(None);
            self.spare_wakers.borrow_mut().push(None);
            slab.len() - 1
        });
        let spare = self.spare_wakers.borrow_mut()[index].take();
        let waker = spare.unwrap_or_else(|| {
            Arc::new(ChildWaker {
                index,
                queued: AtomicBool::new(false),
                ready: self.ready.clone(),
            })
        });
        task.set_waker(&Waker::from(waker.clone()));
        self.slab.borrow_mut()[index] = Some(Entry {
            task: Some(task),
            waker: waker.clone(),
        });
        self.live.set(self.live.get() + 1);
        // Queued without waking the owner: a child is only spawned while its owner
        // runs (the body or a sibling is being polled), and the owner looks at the
        // queue before it returns.
        waker.queued.store(true, Ordering::Release);
        self.ready
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(index);
    }

    /// Spawns `future` as a child whose output is its handle's value; if
    /// `supervised`, its panic is the handle's business rather than the owner's.
    #[track_caller]
    pub(crate) fn spawn_value<F>(&self, future: F, supervised: bool) -> JoinHandle<F::Output>
    where
        F: Future + 'env,
        F::Output: 'env,
    {
        let slot = Slot::new();
        slot.spawned_at(std::panic::Location::caller());
        self.spawn(Box::pin(ChildTask::new(
            future,
            slot.clone(),
            supervised,
            deliver_value,
        )));
        JoinHandle::new(slot)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live.get() == 0
    }

    /// Remembers the owner's waker, for children woken from now on.
    pub(crate) fn set_owner(&self, waker: &Waker) {
        remember_waker(
            &mut self.ready.owner.lock().unwrap_or_else(|e| e.into_inner()),
            waker,
        );
    }

    /// Moves the queued indices into `batch`; says whether the body was among them.
    fn take_ready(&self, batch: &mut Vec<usize>) -> bool {
        batch.clear();
        std::mem::swap(
            batch,
            &mut *self.ready.queue.lock().unwrap_or_else(|e| e.into_inner()),
        );
        let body = batch
            .iter()
            .position(|&i| i == BODY)
            .map(|at| batch.swap_remove(at))
            .is_some();
        if body {
            self.body_waker.queued.store(false, Ordering::Release);
        }
        body
    }

    pub(crate) fn has_ready(&self) -> bool {
        !self
            .ready
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Polls the children queued since the last call. Returns whether the body was
    /// woken, for the owner to poll it.
    pub(crate) fn poll_ready(&self) -> bool {
        // A child polled here may poll a nested scope, never this one: the batch is
        // free to borrow for the whole loop.
        let mut batch = self.batch.take();
        let body = self.take_ready(&mut batch);
        for &index in &batch {
            let taken = {
                let mut slab = self.slab.borrow_mut();
                match slab.get_mut(index).and_then(Option::as_mut) {
                    Some(entry) => {
                        entry.waker.queued.store(false, Ordering::Release);
                        entry.task.take().map(|task| (task, entry.waker.clone()))
                    }
                    None => None,
                }
            };
            let Some((mut task, waker)) = taken else {
                continue;
            };
            if task.cancel_requested() {
                self.remove(index);
                if let Err(failure) = cancel_deep(task) {
                    self.record_failure(failure);
                }
                continue;
            }
            let waker = Waker::from(waker);
            // Scopes poll their children, which may be scopes: the recursion is
            // as deep as the tree. Grow the stack on demand rather than overflow.
            let polled = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
                crate::executor::polling_with(&waker, || {
                    crate::coop::with_fresh_budget(|| {
                        task.as_mut().poll_task(&mut Context::from_waker(&waker))
                    })
                })
            });
            match polled {
                Poll::Pending => {
                    if let Some(Some(entry)) = self.slab.borrow_mut().get_mut(index) {
                        entry.task = Some(task);
                    }
                }
                Poll::Ready(outcome) => {
                    // The task and this clone go first, so the waker may be spare.
                    drop(task);
                    drop(waker);
                    self.remove(index);
                    if let Err(failure) = outcome {
                        self.failure.borrow_mut().get_or_insert(failure);
                    }
                }
            }
        }
        *self.batch.borrow_mut() = batch;
        body
    }

    fn remove(&self, index: usize) {
        let entry = self.slab.borrow_mut()[index].take();
        self.free.borrow_mut().push(index);
        self.live.set(self.live.get() - 1);
        // A waker still held elsewhere could wake the next child here: that one
        // gets a fresh waker, and the old one at worst a spurious poll.
        if let Some(mut waker) = entry.map(|entry| entry.waker)
            && let Some(unique) = Arc::get_mut(&mut waker)
        {
            *unique.queued.get_mut() = false;
            self.spare_wakers.borrow_mut()[index] = Some(waker);
        }
    }

    /// The first failure a child reported, if any.
    pub(crate) fn take_failure(&self) -> Option<Failure> {
        self.failure.borrow_mut().take()
    }

    pub(crate) fn record_failure(&self, failure: Failure) {
        self.failure.borrow_mut().get_or_insert(failure);
    }

    /// Cancels every child: each handle learns it, then each future is dropped, which
    /// drops the tasks below it first.
    pub(crate) fn cancel_all(&self) {
        let mut index = 0;
        loop {
            let entry = {
                let mut slab = self.slab.borrow_mut();
                match slab.get_mut(index) {
                    Some(entry) => entry.take(),
                    None => break,
                }
            };
            if let Some(entry) = entry {
                self.free.borrow_mut().push(index);
                self.live.set(self.live.get() - 1);
                // The first failure stays the one reported: a destructor that
                // panics during the teardown another failure caused is dropped.
                if let Some(task) = entry.task
                    && let Err(failure) = cancel_deep(task)
                {
                    self.record_failure(failure);
                }
            }
            index += 1;
        }
    }
}

impl Drop for Children<'_> {
    fn drop(&mut self) {
        self.cancel_all();
    }
}
