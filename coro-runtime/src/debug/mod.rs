//! Seeing inside a running program: [`dump`] returns the live tree of scopes and
//! tasks on this thread, each task with where it was spawned and what it is doing.
//!
//! Every set of children (a scope's, the executor's detached tasks, a scope's
//! cleanups) keeps a small record, registered in a thread-local list: its kind,
//! where it was opened, which task (or body) it was opened in, and a weak look at
//! its slab of tasks. A dump walks those records; until then nobody pays for it but
//! the opening of a scope (the record) and a task's poll (a store of its index
//! before, and one after).
//!
//! Here: the tree a dump returns and how it is drawn, and [`trace_to`]. In their
//! own files: `sites` (where a coroutine stopped), `functions` (the names of
//! the functions a pinned `.await` is in), `record` (what a set of
//! children keeps for a dump), `watchdog` (the tree when `run` stalls) and
//! `handle` (dumps for other threads). The timeline itself is `crate::trace`.

use std::fmt;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::time::Duration;

mod functions;
mod handle;
mod record;
mod sites;
mod watchdog;

#[doc(hidden)]
pub use functions::{body_starts, here};
pub(crate) use handle::DumpRequests;
pub use handle::{DumpHandle, handle};
pub use record::ScopeKind;
pub(crate) use record::ScopeRecord;
use record::{Place, REGISTRY};
pub(crate) use sites::Frame;
#[doc(hidden)]
pub use sites::{Site, Sited, poll_at, poll_next_at, suspended_at};
pub(crate) use sites::{first_note_of, unwound};
pub(crate) use watchdog::Watchdog;
pub use watchdog::{dump_when_stalled, on_stall};

use crate::children::BODY;

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
    backtrace: Vec<Frame>,
    since_ran: Option<Duration>,
}

impl TaskInfo {
    /// How long since the task last began a poll (or was spawned, if it has not
    /// run yet): for a suspended task, how long it has been waiting. As precise as
    /// the executor's coarse clock, which reads the time when it is about to wait
    /// and every few dozen rounds while busy (a dump costs no reading per poll),
    /// and notes in which millisecond each task ran: never under the true figure,
    /// and over it by at most a millisecond plus the time between two readings.
    /// The figure wraps after 49 days. `None` for the running task, and outside
    /// [`run`](crate::run).
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
        /// Being polled now: the dump was taken inside it.
        running: bool,
        /// Where it stopped when it last returned `Pending`, innermost first, as
        /// [`TaskInfo::suspended_at`] gives a task's; empty while it runs.
        suspended_at: Vec<String>,
        /// How long since it last began a poll, as [`TaskInfo::since_ran`] says
        /// it of a task; `None` while it runs.
        since_ran: Option<Duration>,
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
            | Node::MainFuture { depth, .. }
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
                Node::MainFuture {
                    running,
                    suspended_at,
                    since_ran,
                    ..
                } => {
                    f.write_str("main future")?;
                    if *running {
                        f.write_str(": running")?;
                    } else if let Some(since) = since_ran {
                        write!(f, ": last ran {} ago", Seconds(*since))?;
                    }
                    for site in suspended_at {
                        writeln!(f)?;
                        write!(f, "{:width$}in {site}", "", width = 2 * node.depth() + 4)?;
                    }
                }
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
    let clock = |epoch| {
        crate::executor::try_with_executor(|executor| executor.clock.since(epoch)).flatten()
    };
    let mut body_depth = depth + 1;
    if record.kind == ScopeKind::Executor {
        let running = record.body_running();
        tree.nodes.push(Node::MainFuture {
            depth: depth + 1,
            running,
            since_ran: if running {
                None
            } else {
                clock(record.body_ran.get())
            },
            suspended_at: if running {
                Vec::new()
            } else {
                record
                    .backtrace(BODY)
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            },
        });
        body_depth += 1;
    }
    for nested in opened_in(records, body) {
        add_record(tree, records, nested, body_depth);
    }
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
