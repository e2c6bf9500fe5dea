//! The tasks a scope (or the executor, for detached tasks) owns and polls.
//!
//! Children live in a slab of tasks, one allocation each ([`crate::raw`] builds it).
//! A child's waker is its entry in the scope's wake table, no allocation of its own:
//! it only queues its child's index and wakes the owner, from any thread (cheapest
//! from the owner's own); the owner polls just the queued children,
//! one batch per poll of its own, so a child that keeps waking itself cannot starve
//! the rest. Nothing is borrowed while a child runs, so a child may spawn, cancel or
//! drop other tasks freely.
//!
//! Owning the children, rather than handing them to an executor, is what makes scoped
//! tasks sound: nothing polls a child but its scope's future, so if that future is
//! dropped the children are dropped with it, and if it is leaked they are never
//! polled again. (A handle may outlive the scope; `crate::raw` says why that is
//! sound too.)

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::task::{Context, Poll, Waker};

use crate::context::{self, ContextMap};
use crate::debug::{ScopeKind, ScopeRecord};
use crate::raw::{Deliver, OwnedTask, OwnerSide, Polling, Slab, new_task, probe_slab};
use crate::task::{Failure, Header, JoinHandle, deliver_value};
use std::rc::Rc;

/// Left on the stack before a child is polled or dropped; below it, a new segment
/// is allocated (stacker, which rustc uses against deep recursion).
const STACK_RED_ZONE: usize = 128 * 1024;
/// The size of each segment the stack grows by.
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Cancels a child, whose drop drops the tree below it, depth first: as deep as
/// polling it is, so on a stack that grows.
fn cancel_deep(task: OwnedTask<'_>) -> Result<(), Failure> {
    crate::cleanup::cancelling(|| {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || task.cancel())
    })
}

/// A child's context, when it is not its owner's (`None`: no context at all).
type OwnContext = Option<Rc<ContextMap>>;

/// The index that stands for the owner's own body rather than a child.
pub(crate) const BODY: usize = usize::MAX;

pub(crate) struct Children<'env> {
    /// The tasks, by index; `None` at a free index. In an `Rc` so that
    /// `coro::debug` can look at it.
    slab: Rc<Slab<'env>>,
    /// Free indices, as `u32` (a scope holds at most 4 billion children).
    free: RefCell<Vec<u32>>,
    /// The context current when these children's owner opened them, which almost
    /// every child is spawned under: kept here once, rather than in each task.
    context: Option<Rc<ContextMap>>,
    /// The contexts of the children spawned under another one, by index (their
    /// headers say `has_own_context`).
    own_contexts: RefCell<HashMap<u32, OwnContext>>,
    live: Cell<usize>,
    /// Shared with each task's header, for cancel requests to wake it.
    wakes: Rc<OwnerSide>,
    /// What `coro::debug::dump` sees of these children.
    pub(crate) record: Rc<ScopeRecord>,
    failure: RefCell<Option<Failure>>,
    /// What the first failure was, in words, when the run is traced: the cause of
    /// the cancellations it brings.
    failure_cause: RefCell<Option<String>>,
    /// The batch being polled; swapped with the queue so neither reallocates.
    batch: RefCell<Vec<u32>>,
}

impl<'env> Children<'env> {
    /// Children of a `kind` of owner, opened at `opened_at` (when known).
    pub(crate) fn new(kind: ScopeKind, opened_at: Option<&'static Location<'static>>) -> Self {
        let wakes = OwnerSide::new();
        // Opened in what the innermost scope being polled (or else this thread's
        // executor) is polling now.
        let opened_in = crate::cancel::ScopeCancel::current()
            .and_then(|scope| scope.record())
            .or_else(|| {
                crate::executor::try_with_executor(|executor| executor.detached.record.clone())
            })
            .map(|record| record.place());
        let slab = Rc::new(RefCell::default());
        let wakes = Rc::new(wakes);
        Children {
            record: ScopeRecord::register(
                kind,
                opened_at,
                opened_in,
                probe_slab(&slab),
                wakes.clone(),
            ),
            slab,
            free: RefCell::new(Vec::new()),
            context: context::current(),
            own_contexts: RefCell::new(HashMap::new()),
            live: Cell::new(0),
            wakes,
            failure: RefCell::new(None),
            failure_cause: RefCell::new(None),
            batch: RefCell::new(Vec::new()),
        }
    }

    /// The waker for the owner's body: polling it is the owner's business.
    pub(crate) fn body_waker(&self) -> Waker {
        self.wakes.waker(BODY)
    }

    /// Spawns `future` as a child; `deliver` turns its output into its handle's
    /// value, and if `supervised`, its panic is the handle's business rather than
    /// the owner's. It first runs at the owner's next poll.
    pub(crate) fn spawn_with<F, T, D>(
        &self,
        future: F,
        supervised: bool,
        deliver: D,
        spawned_at: &'static Location<'static>,
    ) -> JoinHandle<T>
    where
        F: Future + 'env,
        T: 'env,
        D: Deliver<F::Output, T> + 'env,
    {
        let free = self.free.borrow_mut().pop();
        let index = match free {
            Some(index) => index as usize,
            None => self.slab.borrow_mut().push_empty(),
        };
        let header = Header::new(spawned_at, supervised, index);
        if !context::is_current(&self.context) {
            header.mark_own_context();
            self.own_contexts
                .borrow_mut()
                .insert(index as u32, context::current());
        }
        let (task, view) = new_task(future, header, deliver);
        self.wakes.queue_new(index);
        if crate::trace::on() {
            crate::trace::spawned(&self.record, self.wakes.key(index));
        }
        {
            let mut slab = self.slab.borrow_mut();
            slab.tasks[index] = Some(task);
            slab.ran[index].set(crate::clock::epoch());
        }
        self.live.set(self.live.get() + 1);
        JoinHandle::new(view, self.wakes.clone())
    }

    /// Spawns `future` as a child whose output is its handle's value.
    #[track_caller]
    pub(crate) fn spawn_value<F>(&self, future: F, supervised: bool) -> JoinHandle<F::Output>
    where
        F: Future + 'env,
        F::Output: 'env,
    {
        self.spawn_with(future, supervised, deliver_value, Location::caller())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live.get() == 0
    }

    /// Marks the owner's turn, until the guard is dropped: wakes meanwhile only
    /// queue (see [`OwnerSide::turning`](crate::raw::OwnerSide::turning)).
    pub(crate) fn turning(&self) -> crate::raw::Turning<'_> {
        self.wakes.turning()
    }

    /// Whether a wake from this thread would only queue (see [`turning`](Self::turning)).
    #[cfg(test)]
    pub(crate) fn is_turning(&self) -> bool {
        self.wakes.is_turning()
    }

    /// Remembers the owner's waker, for children woken from now on.
    pub(crate) fn set_owner(&self, waker: &Waker) {
        self.wakes.set_owner(waker);
    }

    pub(crate) fn has_ready(&self) -> bool {
        self.wakes.has_ready()
    }

    /// Polls the children queued since the last call. Returns whether the body was
    /// woken, before or during these polls, for the owner to poll it.
    pub(crate) fn poll_ready(&self) -> bool {
        // A child polled here may poll a nested scope, never this one: the batch is
        // free to borrow for the whole loop.
        let mut batch = self.batch.take();
        self.wakes.take_ready(&mut batch);
        let mut body = false;
        for &packed in &batch {
            let index = crate::raw::unpack_index(packed);
            if index == BODY {
                body |= self.wakes.unqueue_body();
                continue;
            }
            // Polled through a second reference, so the slab is not borrowed while
            // the task runs (it may spawn).
            let polling = {
                let slab = self.slab.borrow();
                match slab.tasks.get(index) {
                    Some(Some(task)) if task.header().cancel_requested() => None,
                    Some(Some(task)) => {
                        slab.ran[index].set(crate::clock::epoch());
                        Some(task.polling())
                    }
                    _ => continue,
                }
            };
            let Some(task) = polling else {
                if let Some((task, own_context)) = self.remove(index)
                    && let Err(failure) = self.cancel_child(index, task, own_context)
                {
                    self.record_failure(failure);
                }
                continue;
            };
            // Scopes poll their children, which may be scopes: the recursion is
            // as deep as the tree. Grow the stack on demand rather than overflow.
            let poll = || {
                stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
                    self.wakes.polling(index, |waker| {
                        self.record.polling(index, || {
                            crate::executor::polling_with(waker, || {
                                crate::coop::with_fresh_budget(|| {
                                    self.with_context_of(index, task.header(), || {
                                        task.poll(&mut Context::from_waker(waker))
                                    })
                                })
                            })
                        })
                    })
                })
            };
            let polled = if crate::trace::on() {
                self.traced_poll(index, &task, poll)
            } else {
                poll()
            };
            if let Poll::Ready(Err(Failure::Panic(payload))) = &polled {
                self.note_panic(index, &task, payload.as_ref());
            }
            match polled {
                Poll::Pending => {}
                Poll::Ready(outcome) => {
                    drop(task);
                    drop(self.remove(index));
                    if let Err(failure) = outcome {
                        self.failure.borrow_mut().get_or_insert(failure);
                    }
                }
            }
        }
        *self.batch.borrow_mut() = batch;
        // A child that woke the body (sent it a value, finished what it awaits)
        // has it polled in this round rather than the next.
        body | self.wakes.take_woken_body()
    }

    /// `poll` of the task at `index`, written to the trace: out of line, so that
    /// an untraced poll pays only for the check.
    #[cold]
    #[inline(never)]
    fn traced_poll(
        &self,
        index: usize,
        task: &Polling<'_>,
        poll: impl FnOnce() -> Poll<Result<(), Failure>>,
    ) -> Poll<Result<(), Failure>> {
        let mark = crate::trace::poll_starts(&self.record, self.wakes.key(index), task.header());
        let polled = poll();
        if let Some(mark) = mark {
            let backtrace = self.record.backtrace(index);
            crate::trace::poll_ends(mark, crate::trace::PollEnd::of(&polled, &backtrace));
            if let Poll::Ready(Err(failure)) = &polled {
                let cause = crate::trace::failed(&self.record, index, task.header(), failure);
                self.record_failure_cause(cause);
            }
        }
        polled
    }

    /// A child panicked, and its scope will re-raise the panic: says on stderr,
    /// after what the panic hook printed, which task it was and which `.await`s
    /// it unwound through, since the re-raised panic cannot carry them. A panic
    /// re-raised from a scope further down was noted there already.
    #[cold]
    fn note_panic(&self, index: usize, task: &Polling<'_>, payload: &(dyn std::any::Any + Send)) {
        if !crate::debug::first_note_of(payload) {
            return;
        }
        let header = task.header();
        let mut note = format!(
            "coro: {}",
            crate::trace::task_label(&self.record, index, header)
        );
        if let Some(at) = header.copy().spawned_at {
            note.push_str(&format!(" (spawned at {at})"));
        }
        note.push_str(&format!(
            " panicked: {}",
            crate::task::panic_message(payload)
        ));
        for site in self.record.backtrace(index) {
            note.push_str(&format!("\n  in {site}"));
        }
        note.push_str(&format!("\n  re-raised by {}", self.record.describe()));
        eprintln!("{note}");
    }

    /// Runs `f` with the context of the task at `index` installed: these
    /// children's, or the task's own (see `own_contexts`).
    #[inline]
    fn with_context_of<R>(&self, index: usize, header: &Header, f: impl FnOnce() -> R) -> R {
        if header.has_own_context() {
            let own = self.own_contexts.borrow().get(&(index as u32)).cloned();
            context::with_installed(&own.flatten(), f)
        } else {
            context::with_installed(&self.context, f)
        }
    }

    /// Takes the task at `index` out, if it is still there, with its own context
    /// if it has one. The index is free again at once: the context leaves the map
    /// first, so a task spawned in its place keeps its own.
    fn remove(&self, index: usize) -> Option<(OwnedTask<'env>, Option<OwnContext>)> {
        let task = self.slab.borrow_mut().tasks.get_mut(index)?.take()?;
        let own_context = if task.header().has_own_context() {
            self.own_contexts.borrow_mut().remove(&(index as u32))
        } else {
            None
        };
        self.record.forget_backtrace(index);
        self.free.borrow_mut().push(index as u32);
        self.live.set(self.live.get() - 1);
        Some((task, own_context))
    }

    /// The first failure a child reported, if any.
    pub(crate) fn take_failure(&self) -> Option<Failure> {
        self.failure.borrow_mut().take()
    }

    /// The first failure, in words, if the run is traced (see `failure_cause`).
    pub(crate) fn take_failure_cause(&self) -> Option<String> {
        self.failure_cause.borrow_mut().take()
    }

    /// Says what the failure about to be recorded is, if it is the first.
    pub(crate) fn record_failure_cause(&self, cause: String) {
        if self.failure.borrow().is_none() {
            self.failure_cause.borrow_mut().get_or_insert(cause);
        }
    }

    /// Cancels the child at `index`, taken out of the slab with its own context
    /// (if it had one), and tells the trace. Its destructors run with its context
    /// installed, as its polls did.
    fn cancel_child(
        &self,
        index: usize,
        task: OwnedTask<'_>,
        own_context: Option<OwnContext>,
    ) -> Result<(), Failure> {
        if crate::trace::on() {
            crate::trace::cancelled(&self.record, self.wakes.key(index), task.header());
        }
        let context = own_context.as_ref().unwrap_or(&self.context);
        context::with_installed(context, || cancel_deep(task))
    }

    pub(crate) fn record_failure(&self, failure: Failure) {
        self.failure.borrow_mut().get_or_insert(failure);
    }

    /// Cancels every child: each handle learns it, then each future is dropped, which
    /// drops the tasks below it first.
    pub(crate) fn cancel_all(&self) {
        let mut index = 0;
        while index < self.slab.borrow().tasks.len() {
            if let Some((task, own_context)) = self.remove(index) {
                // The first failure stays the one reported: a destructor that
                // panics during the teardown another failure caused is dropped.
                if let Err(failure) = self.cancel_child(index, task, own_context) {
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
