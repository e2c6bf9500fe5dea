//! What a spawned task is to its owner, and to whoever holds its [`JoinHandle`].
//!
//! A task is one allocation (built in [`crate::raw`]): its future, then its outcome,
//! and a [`Header`] with what the handle and the owner share (the joiner's waker, the
//! cancel request, the name and spawn site). A scope (or the executor, for detached
//! tasks) owns it and polls it; the handle only looks at it: dropping the handle
//! detaches nothing and cancels nothing, and cancelling through it is a request the
//! owner carries out by dropping the future, so every destructor below it has run
//! before the handle reports `Cancelled`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::raw::{Outcome, TaskView};

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
    /// Boxed: the error shares its room in the task with the output, which it
    /// would otherwise make three times as large for a `()` task.
    inner: Box<ErrorInner>,
}

struct ErrorInner {
    repr: Repr,
    /// Which task.
    name: Option<Arc<String>>,
    spawned_at: Option<&'static Location<'static>>,
    /// The `.await`s a panic unwound through, innermost first.
    backtrace: Vec<crate::debug::Frame>,
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    pub(crate) fn cancelled() -> Self {
        JoinError::new(Repr::Cancelled)
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError::new(Repr::Panic(payload))
    }

    fn new(repr: Repr) -> Self {
        JoinError {
            inner: Box::new(ErrorInner {
                repr,
                name: None,
                spawned_at: None,
                backtrace: Vec::new(),
            }),
        }
    }

    /// This panic unwound through these `.await`s.
    pub(crate) fn with_backtrace(mut self, backtrace: Vec<crate::debug::Frame>) -> Self {
        self.inner.backtrace = backtrace;
        self
    }

    /// Where a panicked task was when it panicked: each `.await` of a
    /// `#[coro::coroutine]` function the panic unwound through, innermost first, as
    /// `function at file:line:col` (each also shows in the error's `Display`, a
    /// line each). Empty for a cancelled task. Awaits outside such functions, and
    /// those of straight-line bodies the macro lays out itself (the compact
    /// machine), are not listed.
    ///
    /// ```
    /// #[coro::coroutine]
    /// async fn fails() {
    ///     coro::yield_now().await;
    ///     panic!("no route");
    /// }
    ///
    /// #[coro::coroutine]
    /// async fn serve() {
    ///     for _ in 0..1 {
    ///         fails().await;
    ///     }
    /// }
    ///
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let error = s.spawn(serve()).await.unwrap_err();
    ///     let frames = error.panicked_in();
    ///     assert!(frames.iter().any(|frame| frame.starts_with("`serve` at ")));
    ///     assert!(error.to_string().contains("\n  in `serve` at "));
    /// }));
    /// ```
    pub fn panicked_in(&self) -> Vec<String> {
        self.inner
            .backtrace
            .iter()
            .map(ToString::to_string)
            .collect()
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
        self.inner.name.as_deref().map(String::as_str)
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
        self.inner.spawned_at
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
        matches!(self.inner.repr, Repr::Cancelled)
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
        matches!(self.inner.repr, Repr::Panic(_))
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
        if self.is_cancelled() {
            return Err(self);
        }
        match self.inner.repr {
            Repr::Panic(payload) => Ok(payload),
            Repr::Cancelled => unreachable!("checked above"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.repr {
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
        match &self.inner.repr {
            Repr::Cancelled => f.write_str(" was cancelled"),
            Repr::Panic(payload) => {
                write!(f, " panicked: {}", panic_message(payload.as_ref()))?;
                for site in &self.inner.backtrace {
                    write!(f, "\n  in {site}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for JoinError {}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}

/// What a task's handle and its owner share beside the outcome.
pub(crate) struct Header {
    /// Whoever awaits the handle, in one word (see `crate::raw`).
    joiner: crate::raw::StoredWaker,
    spawned_at: Cell<Option<&'static Location<'static>>>,
    /// The task's place in its owner's slab and wake table.
    index: u32,
    /// `CANCEL_REQUESTED`, `NAMED`, `SUPERVISED` and `OWN_CONTEXT`, a bit each: with the cell's
    /// state and the index they fill one word.
    flags: Cell<u8>,
    /// The task cell's own state (see `crate::raw`).
    pub(crate) cell: crate::raw::CellState,
}

/// The handle asked for the task to be cancelled.
const CANCEL_REQUESTED: u8 = 1;
/// The task has a name, kept in [`NAMES`]: most tasks have none, so a name costs
/// the others nothing but this bit.
const NAMED: u8 = 2;
/// Panics are the handle's business (supervisor scopes, detached tasks).
const SUPERVISED: u8 = 4;
/// Spawned under another context than its owner's: the owner keeps the task's
/// beside its own (see `crate::context`), and looks there only for this task.
const OWN_CONTEXT: u8 = 8;

thread_local! {
    /// The names of this thread's named tasks, by [`Header::key`]. Tasks are
    /// `Rc`s, so a header is only ever read and dropped on the thread it was
    /// made on.
    static NAMES: RefCell<HashMap<usize, Arc<String>>> = RefCell::new(HashMap::new());
}

impl Drop for Header {
    #[inline]
    fn drop(&mut self) {
        self.forget_name();
    }
}

/// What `coro::debug` reads of a task: copies, so no reference into the task
/// outlives the look.
pub(crate) struct HeaderCopy {
    pub(crate) spawned_at: Option<&'static Location<'static>>,
    pub(crate) name: Option<Arc<String>>,
    pub(crate) cancel_requested: bool,
}

impl Header {
    pub(crate) fn new(
        spawned_at: &'static Location<'static>,
        supervised: bool,
        index: usize,
    ) -> Self {
        Header {
            index: u32::try_from(index).expect("a scope holds at most 4 billion children"),
            joiner: crate::raw::StoredWaker::new(),
            flags: Cell::new(if supervised { SUPERVISED } else { 0 }),
            spawned_at: Cell::new(Some(spawned_at)),
            cell: crate::raw::CellState::new(),
        }
    }

    fn has(&self, flag: u8) -> bool {
        self.flags.get() & flag != 0
    }

    fn set(&self, flag: u8, on: bool) {
        let flags = self.flags.get();
        self.flags
            .set(if on { flags | flag } else { flags & !flag });
    }

    pub(crate) fn name(&self) -> Option<Arc<String>> {
        if !self.has(NAMED) {
            return None;
        }
        NAMES
            .try_with(|names| names.borrow().get(&self.key()).cloned())
            .ok()
            .flatten()
    }

    fn set_name(&self, name: Option<Arc<String>>) {
        self.forget_name();
        if let Some(name) = name {
            let key = self.key();
            let kept = NAMES.try_with(|names| names.borrow_mut().insert(key, name));
            self.set(NAMED, kept.is_ok());
        }
    }

    /// Takes the task's name, if it has one, out of [`NAMES`]: a spawn with no
    /// name touches no map.
    fn forget_name(&self) {
        if self.has(NAMED) {
            self.set(NAMED, false);
            let key = self.key();
            // Out of the map before it is dropped, with the map no longer borrowed.
            let name = NAMES.try_with(|names| names.borrow_mut().remove(&key));
            drop(name);
        }
    }

    /// Where the header is, which names it in [`NAMES`]: it never moves (it sits
    /// in its task's allocation), and its entry goes when it is dropped, before
    /// another header can take its place.
    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// `error`, saying which task it is about.
    pub(crate) fn failed(&self, mut error: JoinError) -> JoinError {
        error.inner.name = self.name();
        error.inner.spawned_at = self.spawned_at.get();
        error
    }

    /// What `coro::debug` shows of the task.
    pub(crate) fn copy(&self) -> HeaderCopy {
        HeaderCopy {
            spawned_at: self.spawned_at.get(),
            name: self.name(),
            cancel_requested: self.cancel_requested(),
        }
    }

    pub(crate) fn supervised(&self) -> bool {
        self.has(SUPERVISED)
    }

    pub(crate) fn has_own_context(&self) -> bool {
        self.has(OWN_CONTEXT)
    }

    pub(crate) fn mark_own_context(&self) {
        self.set(OWN_CONTEXT, true);
    }

    pub(crate) fn take_joiner(&self) -> Option<Waker> {
        self.joiner.take()
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        self.has(CANCEL_REQUESTED)
    }
}

/// A handle to a spawned task: await it for the task's value, or cancel the task.
///
/// Awaiting gives `Ok(value)`, or a [`JoinError`] if the task was cancelled or (in a
/// supervisor scope, or detached) panicked. Dropping the handle does **not** cancel
/// the task: its scope still owns it and waits for it. The handle is two pointers,
/// one to the task and one to its scope's wake table, and costs no allocation; it is
/// not `Send`, like the single-threaded tasks it refers to.
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
    task: TaskView<T>,
    /// How a cancel request wakes the task so its owner sees it: its owner's wake
    /// table (a waker would cost two atomic operations). Kept here rather than in
    /// the task, where only the handle needs it.
    owner: Rc<crate::raw::OwnerSide>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: TaskView<T>, owner: Rc<crate::raw::OwnerSide>) -> Self {
        JoinHandle { task, owner }
    }

    fn header(&self) -> &Header {
        self.task.header()
    }

    /// Corrects where the task was spawned, for spawns that go through a closure.
    pub(crate) fn slot_spawned_at(&self, at: &'static Location<'static>) {
        self.header().spawned_at.set(Some(at));
    }

    /// Names the task, before it first runs.
    pub(crate) fn named(self, name: Option<Arc<String>>) -> Self {
        self.header().set_name(name);
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
        self.header().name().map(|name| String::clone(&name))
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
    #[track_caller]
    pub fn cancel(&self) {
        if !self.task.is_running() {
            return;
        }
        let header = self.header();
        header.set(CANCEL_REQUESTED, true);
        let index = header.index as usize;
        if crate::trace::on() {
            crate::trace::cancel_requested(self.owner.key(index), Location::caller());
        }
        self.owner.wake(index);
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
        !self.task.is_running()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::coop::budgeted(cx, |cx| match self.task.take_outcome() {
            Outcome::Running => {
                let header = self.header();
                header.joiner.remember(cx.waker());
                Poll::Pending
            }
            Outcome::Ready(result) => Poll::Ready(result),
            Outcome::Gone => panic!("`JoinHandle` polled after it returned the task's result"),
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

/// The output is the handle's value.
pub(crate) fn deliver_value<T>(output: T) -> Option<T> {
    Some(output)
}

/// `Some` is the handle's value; `None` means the task failed with an error its scope
/// now holds.
pub(crate) fn deliver_success<T>(output: Option<T>) -> Option<T> {
    output
}
