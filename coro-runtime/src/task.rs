//! What a spawned task is to its owner, and to whoever holds its [`JoinHandle`].
//!
//! A task is its future wrapped in a [`ChildTask`], boxed once and owned by a scope
//! (or by the executor, for detached tasks). The wrapper delivers the output to the
//! handle's [`Slot`], catches panics, and installs the task's inherited context while
//! it runs. The handle only shares the slot: dropping it detaches nothing and cancels
//! nothing, and cancelling through it is a request the owner carries out by dropping
//! the future, so every destructor below it has run before the handle reports
//! `Cancelled`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::context::{self, ContextMap};

/// Why a task did not produce its value.
///
/// ```
/// coro::run(async {
///     coro::supervisor_scope(async |s| {
///         let handle = s.spawn(async { panic!("boom") });
///         let error = handle.await.unwrap_err();
///         assert!(error.is_panic());
///         assert_eq!(*error.into_panic().downcast::<&str>().unwrap(), "boom");
///     })
///     .await;
/// });
/// ```
pub struct JoinError {
    repr: Repr,
    /// Which task: boxed, so a task's result slot stays small.
    origin: Option<Box<Origin>>,
}

/// The task a [`JoinError`] is about.
struct Origin {
    name: Option<Arc<String>>,
    spawned_at: Option<&'static Location<'static>>,
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    pub(crate) fn cancelled() -> Self {
        JoinError {
            repr: Repr::Cancelled,
            origin: None,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError {
            repr: Repr::Panic(payload),
            origin: None,
        }
    }

    /// The name the task was spawned with ([`TaskBuilder::name`]), if any; it also
    /// shows in the error's `Display`.
    ///
    /// [`TaskBuilder::name`]: crate::TaskBuilder::name
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let fetch = s.task().name("fetch").spawn(async { panic!("timed out") });
    ///     let error = fetch.await.unwrap_err();
    ///     assert_eq!(error.task_name(), Some("fetch"));
    ///     assert!(error.to_string().starts_with("task `fetch` (spawned at "));
    ///     assert!(error.to_string().ends_with("panicked: timed out"));
    /// }));
    /// ```
    pub fn task_name(&self) -> Option<&str> {
        self.origin.as_ref()?.name.as_deref().map(String::as_str)
    }

    /// Where the task was spawned (the call to `spawn`), which also shows in the
    /// error's `Display`.
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let line = line!() + 1;
    ///     let failed = s.spawn(async { panic!("boom") });
    ///     let error = failed.await.unwrap_err();
    ///     assert_eq!(error.spawned_at().map(|at| at.line()), Some(line));
    ///     assert!(error.to_string().contains(&format!(":{line}:")));
    /// }));
    /// ```
    pub fn spawned_at(&self) -> Option<&'static Location<'static>> {
        self.origin.as_ref()?.spawned_at
    }

    /// The task was cancelled: through [`JoinHandle::cancel`], or because its scope
    /// failed or was itself cancelled.
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let task = s.spawn(std::future::pending::<()>());
    ///     task.cancel();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// }));
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked (only reported on handles of a supervisor scope or of a
    /// detached task: elsewhere a child's panic fails its scope).
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let error = s.spawn(async { panic!("no") }).await.unwrap_err();
    ///     assert!(error.is_panic() && !error.is_cancelled());
    /// }));
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic's payload, to inspect or to resume with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the task was cancelled rather than panicking; see [`JoinError::try_into_panic`].
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let error = s.spawn(async { panic!("{}", 42) }).await.unwrap_err();
    ///     assert_eq!(*error.into_panic().downcast::<String>().unwrap(), "42");
    /// }));
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task's error")
    }

    /// The panic's payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let task = s.spawn(std::future::pending::<()>());
    ///     task.cancel();
    ///     let error = task.await.unwrap_err();
    ///     assert!(error.try_into_panic().unwrap_err().is_cancelled());
    /// }));
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(payload) => {
                write!(f, "JoinError::Panic({:?})", panic_message(payload.as_ref()))
            }
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task")?;
        if let Some(name) = self.task_name() {
            write!(f, " `{name}`")?;
        }
        if let Some(at) = self.spawned_at() {
            write!(f, " (spawned at {at})")?;
        }
        match &self.repr {
            Repr::Cancelled => f.write_str(" was cancelled"),
            Repr::Panic(payload) => write!(f, " panicked: {}", panic_message(payload.as_ref())),
        }
    }
}

impl std::error::Error for JoinError {}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}

/// Where a task's outcome meets its handle.
pub(crate) struct Slot<T> {
    state: RefCell<SlotState<T>>,
    joiner: Cell<Option<Waker>>,
    cancel_requested: Cell<bool>,
    /// The task's own waker: a cancel request wakes the task so its owner sees it.
    task_waker: Cell<Option<Waker>>,
    /// A thin pointer: most tasks have no name.
    name: Cell<Option<Arc<String>>>,
    spawned_at: Cell<Option<&'static Location<'static>>>,
}

enum SlotState<T> {
    Running,
    Done(T),
    Failed(JoinError),
    Taken,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(Slot {
            state: RefCell::new(SlotState::Running),
            joiner: Cell::new(None),
            cancel_requested: Cell::new(false),
            task_waker: Cell::new(None),
            name: Cell::new(None),
            spawned_at: Cell::new(None),
        })
    }

    fn finish(&self, state: SlotState<T>) {
        *self.state.borrow_mut() = state;
        if let Some(joiner) = self.joiner.take() {
            joiner.wake();
        }
    }

    pub(crate) fn complete(&self, value: T) {
        self.finish(SlotState::Done(value));
    }

    fn name(&self) -> Option<Arc<String>> {
        let name = self.name.take();
        self.name.set(name.clone());
        name
    }

    /// Remembers where the task was spawned, for its errors.
    pub(crate) fn spawned_at(&self, at: &'static Location<'static>) {
        self.spawned_at.set(Some(at));
    }

    pub(crate) fn fail(&self, mut error: JoinError) {
        let (name, spawned_at) = (self.name(), self.spawned_at.get());
        if name.is_some() || spawned_at.is_some() {
            error.origin = Some(Box::new(Origin { name, spawned_at }));
        }
        self.finish(SlotState::Failed(error));
    }

    fn is_running(&self) -> bool {
        matches!(*self.state.borrow(), SlotState::Running)
    }
}

/// A handle to a spawned task: await it for the task's value, or cancel the task.
///
/// Awaiting gives `Ok(value)`, or a [`JoinError`] if the task was cancelled or (in a
/// supervisor scope, or detached) panicked. Dropping the handle does **not** cancel
/// the task: its scope still owns it and waits for it. The handle is one `Rc` to a
/// small shared slot; it is not `Send`, like the single-threaded tasks it refers to.
///
/// ```
/// coro::run(async {
///     coro::scope(async |s| {
///         let doubled = s.spawn(async { 21 * 2 });
///         assert_eq!(doubled.await.unwrap(), 42);
///     })
///     .await;
/// });
/// ```
pub struct JoinHandle<T> {
    slot: Rc<Slot<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(slot: Rc<Slot<T>>) -> Self {
        JoinHandle { slot }
    }

    /// Corrects where the task was spawned, for spawns that go through a closure.
    pub(crate) fn slot_spawned_at(&self, at: &'static Location<'static>) {
        self.slot.spawned_at(at);
    }

    /// Names the task, before it first runs.
    pub(crate) fn named(self, name: Option<Arc<String>>) -> Self {
        self.slot.name.set(name);
        self
    }

    /// The name the task was spawned with, if any.
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let task = s.task().name("index").spawn(async {});
    ///     assert_eq!(task.name().as_deref(), Some("index"));
    /// }));
    /// ```
    pub fn name(&self) -> Option<String> {
        self.slot.name().map(|name| String::clone(&name))
    }

    /// Asks for the task to be cancelled. Its owner drops it (and with it every task
    /// below it, depth first) the next time it runs, before this handle reports
    /// [`JoinError::is_cancelled`]. Does nothing if the task already finished.
    ///
    /// ```
    /// coro::run(async {
    ///     coro::scope(async |s| {
    ///         let forever = s.spawn(std::future::pending::<()>());
    ///         forever.cancel();
    ///         assert!(forever.await.unwrap_err().is_cancelled());
    ///     })
    ///     .await;
    /// });
    /// ```
    pub fn cancel(&self) {
        if !self.slot.is_running() {
            return;
        }
        self.slot.cancel_requested.set(true);
        let waker = self.slot.task_waker.take();
        if let Some(waker) = &waker {
            waker.wake_by_ref();
        }
        self.slot.task_waker.set(waker);
    }

    /// Has the task finished, by completing, failing or being cancelled?
    ///
    /// ```
    /// coro::run(async {
    ///     coro::scope(async |s| {
    ///         let task = s.spawn(async {});
    ///         assert!(!task.is_finished()); // spawned tasks start when the body yields
    ///         coro::yield_now().await;
    ///         assert!(task.is_finished());
    ///     })
    ///     .await;
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        !self.slot.is_running()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::coop::budgeted(cx, |cx| {
            let mut state = self.slot.state.borrow_mut();
            match std::mem::replace(&mut *state, SlotState::Taken) {
                SlotState::Running => {
                    *state = SlotState::Running;
                    let mut joiner = self.slot.joiner.take();
                    remember_waker(&mut joiner, cx.waker());
                    self.slot.joiner.set(joiner);
                    Poll::Pending
                }
                SlotState::Done(value) => Poll::Ready(Ok(value)),
                SlotState::Failed(error) => Poll::Ready(Err(error)),
                SlotState::Taken => {
                    panic!("`JoinHandle` polled after it returned the task's result")
                }
            }
        })
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Stores `waker` in `slot` unless the one there already wakes the same task: a
/// task re-polled by the same executor keeps its waker, and no clone is made.
pub(crate) fn remember_waker(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot
        .as_ref()
        .is_some_and(|current| current.will_wake(waker))
    {
        *slot = Some(waker.clone());
    }
}

/// Why a task ended in a way its owner has to act on.
pub(crate) enum Failure {
    Panic(Box<dyn Any + Send + 'static>),
    /// A `try_scope` child returned `Err`; the error waits in the scope.
    Error,
}

/// A task as its owner sees it.
pub(crate) trait Task {
    /// Runs the task; `Ready(Ok)` once its outcome reached its handle,
    /// `Ready(Err)` when the owner must handle a failure.
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Failure>>;
    fn cancel_requested(&self) -> bool;
    /// Cancels the task: tells the handle, then drops the future with the task's
    /// context installed (its destructors see what the task saw). A panic while
    /// dropping is the handle's in a supervised task and the owner's failure
    /// otherwise, as a panic while running would be; it never unwinds into the owner.
    fn cancel(self: Pin<Box<Self>>) -> Result<(), Failure>;
    fn set_waker(&self, waker: &Waker);
}

/// How a task's output reaches its handle; `false` means the output is a failure
/// the owner must handle (a `try_scope` child's `Err`, already stored in its scope).
/// Passed as a function item, it takes no room in the task.
pub(crate) trait Deliver<O, T>: Fn(O, &Slot<T>) -> bool {}

impl<O, T, D: Fn(O, &Slot<T>) -> bool> Deliver<O, T> for D {}

pin_project_lite::pin_project! {
    /// A future with its handle's slot, its inherited context and its panic policy.
    pub(crate) struct ChildTask<F: Future, T, D> {
        #[pin]
        future: F,
        slot: Rc<Slot<T>>,
        context: Option<Rc<ContextMap>>,
        // Panics are the handle's business (supervisor scopes, detached tasks).
        supervised: bool,
        deliver: D,
    }
}

impl<F: Future, T, D: Deliver<F::Output, T>> ChildTask<F, T, D> {
    pub(crate) fn new(future: F, slot: Rc<Slot<T>>, supervised: bool, deliver: D) -> Self {
        ChildTask {
            future,
            slot,
            context: context::current(),
            supervised,
            deliver,
        }
    }
}

impl<F: Future, T, D: Deliver<F::Output, T>> Task for ChildTask<F, T, D> {
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        let this = self.project();
        let future = this.future;
        let polled = context::with_installed(this.context.clone(), || {
            catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
        });
        if !matches!(polled, Ok(Poll::Pending)) {
            // Finished: nothing is left to wake, and the waker may serve the next
            // child at this index.
            drop(this.slot.task_waker.take());
        }
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => match (this.deliver)(output, this.slot) {
                true => Poll::Ready(Ok(())),
                false => Poll::Ready(Err(Failure::Error)),
            },
            Err(payload) if *this.supervised => {
                this.slot.fail(JoinError::panic(payload));
                Poll::Ready(Ok(()))
            }
            Err(payload) => {
                this.slot.fail(JoinError::cancelled());
                Poll::Ready(Err(Failure::Panic(payload)))
            }
        }
    }

    fn cancel_requested(&self) -> bool {
        self.slot.cancel_requested.get()
    }

    fn cancel(self: Pin<Box<Self>>) -> Result<(), Failure> {
        if self.slot.is_running() {
            self.slot.fail(JoinError::cancelled());
        }
        let (slot, context, supervised) =
            (self.slot.clone(), self.context.clone(), self.supervised);
        let dropped = context::with_installed(context, || {
            catch_unwind(AssertUnwindSafe(move || drop(self)))
        });
        match dropped {
            Ok(()) => Ok(()),
            Err(payload) if supervised => {
                slot.fail(JoinError::panic(payload));
                Ok(())
            }
            Err(payload) => Err(Failure::Panic(payload)),
        }
    }

    fn set_waker(&self, waker: &Waker) {
        self.slot.task_waker.set(Some(waker.clone()));
    }
}

/// The output is the handle's value.
pub(crate) fn deliver_value<T>(output: T, slot: &Slot<T>) -> bool {
    slot.complete(output);
    true
}

/// `Some` is the handle's value; `None` means the task failed with an error its scope
/// now holds.
pub(crate) fn deliver_success<T>(output: Option<T>, slot: &Slot<T>) -> bool {
    match output {
        Some(value) => {
            slot.complete(value);
            true
        }
        None => {
            slot.fail(JoinError::cancelled());
            false
        }
    }
}
