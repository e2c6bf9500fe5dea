//! Seeing inside a running program: [`dump`] returns the live tree of scopes and
//! tasks on this thread, each task with where it was spawned and what it is doing.
//!
//! Every set of children (a scope's, the executor's detached tasks, a scope's
//! cleanups) keeps a small record, registered in a thread-local list: its kind,
//! where it was opened, which task (or body) it was opened in, and a weak look at
//! its slab of tasks. A dump walks those records; until then nobody pays for it but
//! the opening of a scope (the record) and a task's poll (a store of its index
//! before, and one after).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use crate::children::BODY;
use crate::raw::{OwnerSide, SlabProbe};

/// A suspension point, built by the `#[coro::coroutine]` expansion: the function
/// and where in it (an `.await`).
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    /// The function's name.
    pub function: &'static str,
    /// Its file, line and column.
    pub file: &'static str,
    #[allow(missing_docs)]
    pub line: u32,
    #[allow(missing_docs)]
    pub column: u32,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` at {}:{}:{}",
            self.function, self.file, self.line, self.column
        )
    }
}

thread_local! {
    /// The sites the task being polled stopped at in this poll, innermost first.
    static BACKTRACE: RefCell<Vec<&'static Site>> = const { RefCell::new(Vec::new()) };
    /// Whether a task is being polled here, and so whether sites are wanted.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
    /// `BACKTRACE`'s length, readable without a borrow.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Where the sites of the task being polled start in `BACKTRACE`.
    static BASE: Cell<usize> = const { Cell::new(0) };
}

thread_local! {
    /// The payload of the last panic a note was written for (by address: a scope
    /// re-raises the same box, through every task above the one it began in).
    static NOTED: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Is this the first time a task's poll ends with this panic (rather than a scope
/// below re-raising it)? Remembers it.
pub(crate) fn first_note_of(payload: &(dyn std::any::Any + Send)) -> bool {
    let address = payload as *const (dyn std::any::Any + Send) as *const ();
    NOTED
        .try_with(|noted| noted.replace(address) != address)
        .unwrap_or(false)
}

/// The sites the task being polled has pushed in this poll: after a panic, the
/// `.await`s it unwound through, innermost first.
pub(crate) fn unwound() -> Vec<&'static Site> {
    let base = BASE.get();
    BACKTRACE
        .try_with(|backtrace| backtrace.borrow().get(base..).unwrap_or_default().to_vec())
        .unwrap_or_default()
}

/// A coroutine's future returned `Pending` at `site`: the first thing the task's
/// async backtrace gets, if a task is being polled, then each frame around it.
#[doc(hidden)]
#[inline]
pub fn suspended_at(site: &'static Site) {
    if RECORDING.get() {
        BACKTRACE.with_borrow_mut(|backtrace| backtrace.push(site));
        DEPTH.set(DEPTH.get() + 1);
    }
}

pin_project_lite::pin_project! {
    /// An `.await`ed future in a pinned coroutine, which says where it was awaited
    /// when it returns `Pending`. `S` is a closure without captures: no room taken.
    #[doc(hidden)]
    pub struct Sited<F, S> {
        #[pin]
        future: F,
        site: S,
    }
}

/// `future`, to be awaited at `site`.
#[doc(hidden)]
#[inline(always)]
pub fn sited<F: std::future::IntoFuture, S: Fn() -> &'static Site>(
    future: F,
    site: S,
) -> Sited<F::IntoFuture, S> {
    Sited {
        future: future.into_future(),
        site,
    }
}

impl<F: std::future::Future, S: Fn() -> &'static Site> std::future::Future for Sited<F, S> {
    type Output = F::Output;

    #[inline]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        poll_at(this.future, cx, this.site)
    }
}

/// Polls `future`, awaited at `site`: on `Pending`, and while a panic unwinds
/// through the poll (so that the task's `JoinError` says where it panicked), the
/// site joins the task's async backtrace. What the compact machine's awaits call.
#[doc(hidden)]
#[inline(always)]
pub fn poll_at<F: std::future::Future + ?Sized, S: Fn() -> &'static Site>(
    future: std::pin::Pin<&mut F>,
    cx: &mut std::task::Context<'_>,
    site: &S,
) -> std::task::Poll<F::Output> {
    let unwinding = Unwinding(site);
    let polled = future.poll(cx);
    std::mem::forget(unwinding);
    if polled.is_pending() {
        suspended_at(site());
    }
    polled
}

/// [`poll_at`] for a stream an async generator forwards with `yield_from!`.
#[doc(hidden)]
#[inline(always)]
pub fn poll_next_at<St: futures_core::Stream + ?Sized, S: Fn() -> &'static Site>(
    stream: std::pin::Pin<&mut St>,
    cx: &mut std::task::Context<'_>,
    site: &S,
) -> std::task::Poll<Option<St::Item>> {
    let unwinding = Unwinding(site);
    let polled = stream.poll_next(cx);
    std::mem::forget(unwinding);
    if polled.is_pending() {
        suspended_at(site());
    }
    polled
}

/// Records the site while a panic unwinds through an `.await`: dropped only then,
/// forgotten otherwise, so it costs nothing on the way that does not panic.
struct Unwinding<'a, S: Fn() -> &'static Site>(&'a S);

impl<S: Fn() -> &'static Site> Drop for Unwinding<'_, S> {
    fn drop(&mut self) {
        suspended_at((self.0)());
    }
}

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
    fn label(self) -> &'static str {
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
    record: u64,
    index: usize,
}

/// What one set of children tells [`dump`].
pub(crate) struct ScopeRecord {
    id: u64,
    kind: ScopeKind,
    opened_at: Option<&'static Location<'static>>,
    opened_in: Option<Place>,
    /// The owner's tasks, read only when a dump asks.
    tasks: SlabProbe,
    /// The index polled right now, or `NOT_POLLING`.
    polling: Cell<usize>,
    /// Per index, where its task stopped when it last returned `Pending`
    /// (innermost first). Kept here rather than in the task, which stays small:
    /// an index's vector is reused by the tasks that come after.
    backtraces: RefCell<Vec<Vec<&'static Site>>>,
    /// Whether any task here ever kept a site: if not, there is nothing to clear.
    any_backtrace: Cell<bool>,
    wakes: Rc<OwnerSide>,
    /// Its place in `REGISTRY`, for a removal in constant time.
    registered_at: Cell<usize>,
}

/// No index: nothing of the record is being polled.
const NOT_POLLING: usize = usize::MAX - 1;

thread_local! {
    static REGISTRY: RefCell<Vec<Weak<ScopeRecord>>> = const { RefCell::new(Vec::new()) };
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
    /// its futures return `Pending` at. Those gather in one thread-local vector,
    /// above the ones of the tasks polling this one, and are copied out after the
    /// poll; a poll that records nothing, of a task that had nothing, costs a few
    /// flag and length checks.
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
            fn drop(&mut self) {
                self.record.polling.set(self.outer_index);
                RECORDING.set(self.was_recording);
                BASE.set(self.outer_base);
                if DEPTH.get() == self.base {
                    // Nothing recorded: the usual case for tasks that are not
                    // coroutines. Forget what an earlier poll kept, if anything.
                    self.record.forget_backtrace(self.index);
                    return;
                }
                DEPTH.set(self.base);
                self.record.any_backtrace.set(true);
                BACKTRACE.with_borrow_mut(|current| {
                    let own = current.get(self.base..).unwrap_or_default();
                    let mut backtraces = self.record.backtraces.borrow_mut();
                    match backtraces.get_mut(self.index) {
                        Some(kept) => {
                            kept.clear();
                            kept.extend_from_slice(own);
                        }
                        None if own.is_empty() => {}
                        None => {
                            backtraces.resize_with(self.index, Vec::new);
                            backtraces.push(own.to_vec());
                        }
                    }
                    current.truncate(self.base);
                });
            }
        }
        let base = DEPTH.get();
        let _restore = Restore {
            record: self,
            index,
            outer_index: self.polling.replace(index),
            base,
            outer_base: BASE.replace(base),
            was_recording: RECORDING.replace(true),
        };
        poll()
    }

    /// Clears what the task at `index` kept: its poll recorded nothing, or it is
    /// gone and the next task there starts with no sites.
    #[inline]
    pub(crate) fn forget_backtrace(&self, index: usize) {
        if self.any_backtrace.get()
            && let Some(kept) = self.backtraces.borrow_mut().get_mut(index)
        {
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

    pub(crate) fn backtrace(&self, index: usize) -> Vec<&'static Site> {
        self.backtraces
            .borrow()
            .get(index)
            .cloned()
            .unwrap_or_default()
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

/// What a task is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Being polled right now: the task that called [`dump`], or one of its
    /// ancestors.
    Running,
    /// Woken, waiting for its turn.
    Ready,
    /// Waiting for a wake.
    Suspended,
    /// Cancelled through its handle; its scope drops it at its next turn.
    Cancelling,
    /// A cleanup ([`on_cancel`](crate::on_cancel)) that a cancelled task left to its
    /// scope, which runs it to the end before it completes; not being polled now.
    RunningCleanup,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Running => "running",
            TaskState::Ready => "ready",
            TaskState::Suspended => "suspended",
            TaskState::Cancelling => "cancelling",
            TaskState::RunningCleanup => "running cleanup",
        })
    }
}

/// One task in a [`TaskTree`].
#[derive(Clone, Debug)]
pub struct TaskInfo {
    detached: bool,
    scope: u64,
    index: usize,
    name: Option<String>,
    spawned_at: Option<&'static Location<'static>>,
    state: TaskState,
    backtrace: Vec<&'static Site>,
    since_ran: Option<Duration>,
}

impl TaskInfo {
    /// How long since the task last began a poll (or was spawned, if it has not
    /// run yet): for a suspended task, how long it has been waiting. As precise as
    /// the executor's coarse clock, which reads the time when it is about to wait
    /// and every few dozen rounds while busy (a dump costs no reading per poll):
    /// off by at most the time between two readings. `None` for the running task,
    /// and outside [`run`](crate::run).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// coro::run(coro::scope(async |s| {
    ///     let waiting = s.spawn(std::future::pending::<()>());
    ///     coro::sleep(Duration::from_millis(20)).await;
    ///     let tree = coro::debug::dump();
    ///     let since = tree.tasks().next().unwrap().since_ran().unwrap();
    ///     assert!(since >= Duration::from_millis(10), "{since:?}");
    ///     waiting.cancel();
    /// }));
    /// ```
    pub fn since_ran(&self) -> Option<Duration> {
        self.since_ran
    }

    /// Where the task stopped when it last returned `Pending`, innermost first, as
    /// `function at file:line:col`: every `.await` of a `#[coro::coroutine]`
    /// function on the way down from the task (a plain `async fn` in between adds no
    /// line of its own). Under a combinator that polls several futures, each one
    /// that is pending shows.
    pub fn suspended_at(&self) -> Vec<String> {
        self.backtrace.iter().map(ToString::to_string).collect()
    }

    /// The task's id while it lives: its scope's number and its place there
    /// (`3.1`). A place is reused once its task is gone.
    pub fn id(&self) -> String {
        format!("{}.{}", self.scope, self.index)
    }

    /// The name it was spawned with ([`TaskBuilder::name`](crate::TaskBuilder::name)).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where it was spawned.
    pub fn spawned_at(&self) -> Option<&'static Location<'static>> {
        self.spawned_at
    }

    /// What it is doing.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// Spawned by [`spawn_detached`](crate::spawn_detached), outside any scope.
    pub fn is_detached(&self) -> bool {
        self.detached
    }
}

/// A line of the tree.
#[derive(Clone, Debug)]
pub enum Node {
    /// A set of tasks: an executor, a scope, a scope's cleanups.
    Scope {
        /// How deep in the tree (the executor is 0).
        depth: usize,
        /// Which kind.
        kind: ScopeKind,
        /// Where it was opened (the call to `scope`, `run`, ...), when known.
        opened_at: Option<&'static Location<'static>>,
    },
    /// The future a `run` blocks on (the tasks and scopes under it are its own).
    MainFuture {
        /// How deep in the tree.
        depth: usize,
    },
    /// A task.
    Task {
        /// How deep in the tree.
        depth: usize,
        /// What it is, where it was spawned, what it does.
        info: TaskInfo,
    },
    /// The blocking pool, with the jobs this thread gave it
    /// ([`spawn_blocking`](crate::spawn_blocking)) that have not finished.
    BlockingPool {
        /// How deep in the tree (0: the pool is beside the executors).
        depth: usize,
    },
    /// A job on the blocking pool.
    BlockingJob {
        /// How deep in the tree.
        depth: usize,
        /// Where it was spawned, and what it does.
        job: JobInfo,
    },
}

impl Node {
    fn depth(&self) -> usize {
        match self {
            Node::Scope { depth, .. }
            | Node::MainFuture { depth }
            | Node::Task { depth, .. }
            | Node::BlockingPool { depth }
            | Node::BlockingJob { depth, .. } => *depth,
        }
    }
}

/// A job on the blocking pool, in a [`TaskTree`].
///
/// ```
/// use std::time::Duration;
///
/// coro::run(async {
///     let (release, wait) = std::sync::mpsc::channel::<()>();
///     let (started, has_started) = std::sync::mpsc::channel::<()>();
///     let job = coro::spawn_blocking(move || {
///         started.send(()).unwrap();
///         wait.recv().unwrap()
///     });
///     while has_started.try_recv().is_err() {
///         coro::sleep(Duration::from_millis(1)).await;
///     }
///     let tree = coro::debug::dump();
///     let running = tree.jobs().next().expect("the job is listed");
///     assert!(running.is_running());
///     assert!(tree.to_string().contains("blocking pool\n  job spawned at "));
///     release.send(()).unwrap();
///     job.await;
/// });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct JobInfo {
    spawned_at: &'static Location<'static>,
    running: bool,
    since: Duration,
}

impl JobInfo {
    /// Where it was spawned.
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }

    /// Running on a pool thread, rather than queued for one.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// How long it has been running, or queued.
    pub fn since(&self) -> Duration {
        self.since
    }
}

/// The live tree of scopes and tasks on this thread, as [`dump`] found it: depth
/// first, each scope followed by the scopes its body opened, then its tasks, each
/// followed by the scopes it opened. `Display` draws it.
///
/// ```
/// coro::run(coro::scope(async |s| {
///     s.spawn(std::future::pending::<()>());
///     coro::yield_now().await;
///     let tree = coro::debug::dump();
///     let task = tree.tasks().next().unwrap();
///     assert_eq!(task.state(), coro::debug::TaskState::Suspended);
///     s.cancel();
/// }));
/// ```
#[derive(Clone, Debug, Default)]
pub struct TaskTree {
    nodes: Vec<Node>,
}

impl TaskTree {
    /// Every line, depth first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The jobs this thread gave the blocking pool that have not finished, the
    /// running ones first.
    pub fn jobs(&self) -> impl Iterator<Item = &JobInfo> {
        self.nodes.iter().filter_map(|node| match node {
            Node::BlockingJob { job, .. } => Some(job),
            _ => None,
        })
    }

    /// Every task, depth first.
    pub fn tasks(&self) -> impl Iterator<Item = &TaskInfo> {
        self.nodes.iter().filter_map(|node| match node {
            Node::Task { info, .. } => Some(info),
            _ => None,
        })
    }
}

impl fmt::Display for TaskTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for node in &self.nodes {
            write!(f, "{:width$}", "", width = 2 * node.depth())?;
            match node {
                Node::Scope {
                    kind, opened_at, ..
                } => {
                    f.write_str(kind.label())?;
                    if let Some(at) = opened_at {
                        write!(f, " opened at {at}")?;
                    }
                }
                Node::MainFuture { .. } => f.write_str("main future")?,
                Node::BlockingPool { .. } => f.write_str("blocking pool")?,
                Node::BlockingJob { job, .. } => {
                    let doing = if job.running { "running" } else { "queued" };
                    write!(
                        f,
                        "job spawned at {}: {doing} for {}",
                        job.spawned_at,
                        Seconds(job.since)
                    )?;
                }
                Node::Task { info, .. } => {
                    if info.detached {
                        f.write_str("detached ")?;
                    }
                    write!(f, "task {}", info.id())?;
                    if let Some(name) = &info.name {
                        write!(f, " `{name}`")?;
                    }
                    if let Some(at) = info.spawned_at {
                        write!(f, " spawned at {at}")?;
                    }
                    write!(f, ": {}", info.state)?;
                    if let Some(since) = info.since_ran {
                        match info.state {
                            TaskState::Suspended => write!(f, " for {}", Seconds(since))?,
                            _ => write!(f, ", last ran {} ago", Seconds(since))?,
                        }
                    }
                    if info.state != TaskState::Running {
                        for site in &info.backtrace {
                            writeln!(f)?;
                            write!(f, "{:width$}in {site}", "", width = 2 * node.depth() + 4)?;
                        }
                    }
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// A duration as a person reads it in a dump: `0.25s`, `12.0s`, `3m 20s`.
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.as_secs_f64();
        match self.0.as_secs() {
            0..10 => write!(f, "{seconds:.2}s"),
            10..120 => write!(f, "{seconds:.1}s"),
            whole => write!(f, "{}m {:02}s", whole / 60, whole % 60),
        }
    }
}

/// The live tree of scopes and tasks on this thread: every executor, scope and set
/// of cleanups, with where it was opened, and every task in it, with its id, name,
/// spawn site, state (running, ready, suspended, cancelling, running a cleanup)
/// and how long it has waited; then the jobs this thread gave the blocking pool. Callable from any
/// task or outside them; costs a walk of the tree and a `String` per name, and
/// nothing before it is called beyond a weak reference per task.
///
/// ```
/// coro::run(coro::scope(async |s| {
///     let worker = s.task().name("worker").spawn(std::future::pending::<()>());
///     coro::yield_now().await;
///     let tree = coro::debug::dump().to_string();
///     assert!(tree.contains("scope opened at"));
///     assert!(tree.contains("`worker` spawned at"));
///     assert!(tree.contains(": suspended"));
///     worker.cancel();
/// }));
/// ```
pub fn dump() -> TaskTree {
    let records: Vec<Rc<ScopeRecord>> = REGISTRY
        .try_with(|registry| registry.borrow().iter().filter_map(Weak::upgrade).collect())
        .unwrap_or_default();
    let mut ordered: Vec<&Rc<ScopeRecord>> = records.iter().collect();
    ordered.sort_by_key(|record| record.id);
    let live = |place: Option<Place>| {
        place.is_some_and(|place| ordered.iter().any(|record| record.id == place.record))
    };
    let mut tree = TaskTree::default();
    for record in &ordered {
        // Roots: opened outside any task, or in one whose record is gone.
        if !live(record.opened_in) {
            add_record(&mut tree, &ordered, record, 0);
        }
    }
    let jobs = crate::blocking::jobs_of_this_thread();
    if !jobs.is_empty() {
        tree.nodes.push(Node::BlockingPool { depth: 0 });
        tree.nodes
            .extend(jobs.into_iter().map(|job| Node::BlockingJob {
                depth: 1,
                job: JobInfo {
                    spawned_at: job.spawned_at,
                    running: job.running,
                    since: job.since.elapsed(),
                },
            }));
    }
    tree
}

fn opened_in<'a>(
    records: &'a [&'a Rc<ScopeRecord>],
    place: Place,
) -> impl Iterator<Item = &'a Rc<ScopeRecord>> {
    records
        .iter()
        .copied()
        .filter(move |record| record.opened_in == Some(place))
}

fn add_record(
    tree: &mut TaskTree,
    records: &[&Rc<ScopeRecord>],
    record: &ScopeRecord,
    depth: usize,
) {
    tree.nodes.push(Node::Scope {
        depth,
        kind: record.kind,
        opened_at: record.opened_at,
    });
    let body = Place {
        record: record.id,
        index: BODY,
    };
    let mut body_depth = depth + 1;
    if record.kind == ScopeKind::Executor {
        tree.nodes.push(Node::MainFuture { depth: depth + 1 });
        body_depth += 1;
    }
    for nested in opened_in(records, body) {
        add_record(tree, records, nested, body_depth);
    }
    let clock = |round| {
        crate::executor::try_with_executor(|executor| executor.clock.since(round)).flatten()
    };
    for (index, header, ran) in record.tasks.headers() {
        let state = if record.polling.get() == index {
            TaskState::Running
        } else if record.kind == ScopeKind::Cleanups {
            TaskState::RunningCleanup
        } else if header.cancel_requested {
            TaskState::Cancelling
        } else if record.wakes.is_queued(index) {
            TaskState::Ready
        } else {
            TaskState::Suspended
        };
        tree.nodes.push(Node::Task {
            depth: depth + 1,
            info: TaskInfo {
                detached: record.kind == ScopeKind::Executor,
                scope: record.id,
                index,
                name: header.name.map(|name| String::clone(&name)),
                spawned_at: header.spawned_at,
                state,
                backtrace: record.backtrace(index),
                since_ran: if state == TaskState::Running {
                    None
                } else {
                    clock(ran)
                },
            },
        });
        let place = Place {
            record: record.id,
            index,
        };
        for nested in opened_in(records, place) {
            add_record(tree, records, nested, depth + 2);
        }
    }
}

/// Prints the task tree to stderr whenever this thread's [`run`](crate::run) has
/// had nothing to run for `limit`: a hung program explains itself. Once per stall;
/// after a task runs again, the next stall is reported too. Replaces an earlier
/// watchdog of this `run`. Costs a clock read each time the executor is about to
/// wait, and nothing while tasks keep running.
///
/// # Panics
/// Outside [`run`](crate::run).
///
/// ```
/// coro::run(async {
///     coro::debug::dump_when_stalled(std::time::Duration::from_secs(10));
///     coro::sleep(std::time::Duration::from_millis(1)).await;
/// });
/// ```
pub fn dump_when_stalled(limit: Duration) {
    on_stall(limit, move |tree| {
        eprintln!("coro: no task has run for {limit:?}; the live tasks:\n{tree}");
    });
}

/// Calls `hook` with the task tree whenever this thread's [`run`](crate::run) has
/// had nothing to run for `limit` (see [`dump_when_stalled`], which prints it). The
/// hook runs on the executor's thread, between tasks; it may cancel work (through a
/// [`CancelHandle`](crate::CancelHandle)) to get the program going again. A panic
/// in it resurfaces from `run`.
///
/// # Panics
/// Outside [`run`](crate::run).
///
/// ```
/// use std::time::Duration;
///
/// coro::run(coro::scope(async |s| {
///     let stuck = s.cancel_handle();
///     coro::debug::on_stall(Duration::from_millis(20), move |tree| {
///         assert_eq!(tree.tasks().count(), 1);
///         stuck.cancel();
///     });
///     s.spawn(std::future::pending::<()>());
/// }));
/// ```
pub fn on_stall(limit: Duration, hook: impl FnMut(&TaskTree) + 'static) {
    crate::executor::with_executor("coro::debug::on_stall", |executor| {
        *executor.watchdog.stall.borrow_mut() = Some(Stall {
            limit,
            hook: Some(Box::new(hook)),
            idle_since: None,
            reported: false,
        });
    });
}

/// The executor's watchdog: see [`on_stall`].
#[derive(Default)]
pub(crate) struct Watchdog {
    stall: RefCell<Option<Stall>>,
}

/// What the watchdog calls with the tree.
type StallHook = Box<dyn FnMut(&TaskTree)>;

struct Stall {
    limit: Duration,
    /// Out while it runs.
    hook: Option<StallHook>,
    idle_since: Option<Instant>,
    reported: bool,
}

impl Watchdog {
    /// The executor is about to wait until `next_timer`; `polled` says whether it
    /// ran anything since it last waited. Reports a stall that is due, and returns
    /// when to wake up at the latest.
    pub(crate) fn before_wait(&self, polled: bool, next_timer: Option<Instant>) -> Option<Instant> {
        let mut stall = self.stall.borrow_mut();
        let Some(watch) = stall.as_mut() else {
            return next_timer;
        };
        let now = Instant::now();
        if polled || watch.idle_since.is_none() {
            watch.idle_since = Some(now);
            watch.reported = false;
        }
        if watch.reported {
            return next_timer;
        }
        let due = watch.idle_since.unwrap_or(now) + watch.limit;
        if now < due {
            return Some(next_timer.map_or(due, |timer| timer.min(due)));
        }
        watch.reported = true;
        let Some(mut hook) = watch.hook.take() else {
            return next_timer;
        };
        drop(stall);
        hook(&dump());
        if let Some(watch) = self.stall.borrow_mut().as_mut() {
            watch.hook.get_or_insert(hook);
        }
        next_timer
    }
}

/// A way to ask a [`run`](crate::run) for its task tree from another thread (a
/// signal-handling thread, an admin endpoint): `Send`, `Sync` and cheap to clone.
/// See [`handle`].
#[derive(Clone)]
pub struct DumpHandle {
    requests: std::sync::Arc<DumpRequests>,
}

/// Requests for dumps, answered by the executor's loop between tasks.
#[derive(Default)]
pub(crate) struct DumpRequests {
    pending: std::sync::atomic::AtomicBool,
    state: std::sync::Mutex<RequestState>,
}

#[derive(Default)]
struct RequestState {
    waiting: Vec<std::sync::mpsc::Sender<TaskTree>>,
    /// The executor's waker, to interrupt its wait; `None` once its `run` ended.
    executor: Option<std::task::Waker>,
    ended: bool,
}

impl DumpRequests {
    fn lock(&self) -> std::sync::MutexGuard<'_, RequestState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The executor's loop: remembers its waker.
    pub(crate) fn set_executor(&self, waker: &std::task::Waker) {
        self.lock().executor = Some(waker.clone());
    }

    /// The executor's loop, between tasks: answers every request that came in.
    /// One atomic load when there is none.
    #[inline]
    pub(crate) fn answer(&self) {
        if self.pending.load(std::sync::atomic::Ordering::Acquire) {
            self.answer_waiting();
        }
    }

    #[cold]
    fn answer_waiting(&self) {
        use std::sync::atomic::Ordering;
        let waiting = {
            let mut state = self.lock();
            self.pending.store(false, Ordering::Relaxed);
            std::mem::take(&mut state.waiting)
        };
        let tree = dump();
        for answer in waiting {
            let _ = answer.send(tree.clone());
        }
    }

    /// The `run` ended: nobody will answer.
    pub(crate) fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.executor = None;
        state.waiting.clear();
    }
}

impl DumpHandle {
    /// The task tree of the handle's `run`, taken on its thread between two tasks;
    /// `None` if it did not come within `patience` (the thread is stuck inside a
    /// task that does not return, or too busy) or the `run` has ended. Blocks the
    /// calling thread meanwhile, so never call it on the executor's own thread:
    /// there, call [`dump`].
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// coro::run(coro::scope(async |s| {
    ///     let handle = coro::debug::handle();
    ///     let task = s.task().name("serving").spawn(std::future::pending::<()>());
    ///     let tree = coro::spawn_blocking(move || handle.dump(Duration::from_secs(5)))
    ///         .await
    ///         .expect("the executor answers between tasks");
    ///     assert!(tree.to_string().contains("`serving`"));
    ///     task.cancel();
    /// }));
    /// ```
    pub fn dump(&self, patience: Duration) -> Option<TaskTree> {
        let (answer, answered) = std::sync::mpsc::channel();
        let executor = {
            let mut state = self.requests.lock();
            if state.ended {
                return None;
            }
            state.waiting.push(answer);
            self.requests
                .pending
                .store(true, std::sync::atomic::Ordering::Release);
            state.executor.clone()
        };
        if let Some(executor) = executor {
            executor.wake();
        }
        answered.recv_timeout(patience).ok()
    }
}

impl fmt::Debug for DumpHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DumpHandle")
            .field("ended", &self.requests.lock().ended)
            .finish()
    }
}

/// A [`DumpHandle`] for this thread's [`run`](crate::run), for other threads to ask
/// for its task tree.
///
/// # Panics
/// Outside [`run`](crate::run).
///
/// ```
/// let handle = coro::run(async { coro::debug::handle() });
/// // That `run` is over: nobody answers.
/// assert!(handle.dump(std::time::Duration::from_millis(1)).is_none());
/// ```
pub fn handle() -> DumpHandle {
    crate::executor::with_executor("coro::debug::handle", |executor| DumpHandle {
        requests: executor.dump_requests.clone(),
    })
}

/// Writes the timeline of this thread's [`run`](crate::run), from now until it
/// ends, to `path`: Chrome trace-event JSON, which [Perfetto](https://ui.perfetto.dev)
/// and `chrome://tracing` open, or, for a path ending in `.svg`, a picture of it.
/// Call it more than once to write both. Setting `CORO_TRACE=path` does the same
/// from the start of a program's first `run` (later runs write `path.2.json`, ...).
///
/// What the timeline shows:
/// - a track per task, named by its id, name and spawn site, grouped under its
///   scope (which says where it was opened, and in which task);
/// - each poll as a slice, named by the line it stopped at, with its async
///   backtrace as an argument;
/// - an arrow from each spawn or wake to the poll it caused, from other threads
///   too (blocking-pool jobs and async-io's thread have tracks of their own);
/// - completions, panics, and every cancellation with its cause: which `cancel()`,
///   which child's panic or `Err`, which timeout.
///
/// Costs nothing while no run is traced (a load of one flag at each spawn, poll,
/// wake and cancellation). A traced run takes a lock per event and keeps a
/// buffer of 256 KiB per JSON file, written out as it fills and when `run` ends; a
/// picture keeps up to 200,000 events in memory and is drawn when `run` ends.
///
/// # Errors
/// If the file cannot be created.
///
/// # Panics
/// Outside [`run`](crate::run).
///
/// ```
/// let path = std::env::temp_dir().join("coro-doc-trace.json");
/// coro::run(coro::scope(async |s| {
///     coro::debug::trace_to(&path).unwrap();
///     s.task().name("worker").spawn(coro::yield_now());
/// }));
/// let json = std::fs::read_to_string(&path).unwrap();
/// assert!(json.contains("`worker` spawned at"));
/// ```
pub fn trace_to(path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
    let executor = crate::executor::with_executor("coro::debug::trace_to", |executor| {
        executor.detached.record.clone()
    });
    crate::trace::start(path.as_ref(), &executor)
}
