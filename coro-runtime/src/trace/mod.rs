//! The timeline of a run ([`crate::debug::trace_to`]): every poll of every task as
//! a slice on the task's own track, tracks grouped by scope, an arrow from each
//! wake (or spawn) to the poll it caused, and each cancellation with its cause.
//!
//! Written as Chrome trace-event JSON, which Perfetto and `chrome://tracing` open,
//! or drawn as an SVG picture ([`crate::debug::trace_to`] with a `.svg` path).
//!
//! Off, it costs a load of one static flag at each spawn, poll, wake that queues
//! a task, and cancellation. On, each of those takes the trace's lock: tracing is
//! for looking at a program, not for timing it. Everything a hook needs is kept
//! here, in maps keyed by the task's place (its owner's wake table and index), so
//! that the task cell and the scope's record stay as small as they are untraced.
//! A wake is only written when the poll it caused happens, so every arrow has both
//! ends, and a task woken and then dropped leaves none behind.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Poll;
use std::time::Instant;

mod event;
mod picture;

pub(crate) use event::Event;
use event::{Output, Phase, Track};

use crate::debug::{Frame, ScopeRecord};
use crate::task::{Failure, Header};

/// A task's place: its owner's wake table (by address) and its index there. The
/// main future of a run is [`MAIN`].
pub(crate) type TaskKey = (usize, usize);

/// How many track and scope names are kept for an output added later (a second
/// `trace_to` right after the first gets them all; the trace's memory stays
/// bounded however many tasks a long run spawns).
const NAMES_KEPT: usize = 4096;

/// The main future's place: no wake table has address 0.
pub(crate) const MAIN: TaskKey = (0, 0);

/// How many runs are being traced, in the whole process: what every hook looks at
/// first.
static TRACED_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Is any run being traced? The one check each hook makes when nobody is.
#[inline(always)]
pub(crate) fn on() -> bool {
    TRACED_RUNS.load(Ordering::Relaxed) != 0
}

/// Where the `Sink` of each traced run is, by its thread's id, for wakes that come
/// from other threads.
static SINKS: Mutex<Vec<(u64, Weak<Sink>)>> = Mutex::new(Vec::new());

thread_local! {
    /// The trace of the run on this thread, if it is traced.
    static LOCAL: RefCell<Option<Arc<Sink>>> = const { RefCell::new(None) };
    /// The track of the task being polled on this thread; `None` between tasks.
    static POLLING: Cell<Option<Track>> = const { Cell::new(None) };
    /// Why the tasks dropped from now on are cancelled (the outermost cause wins:
    /// the tasks below a cancelled one go for the same reason).
    static CAUSE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// What a wake (or spawn) left for the poll it causes.
#[derive(Clone, Copy)]
struct Cause {
    at: u64,
    from: Track,
    /// Not inside a poll slice: the arrow needs a slice of its own to start from.
    own_slice: bool,
    what: &'static str,
}

/// A run's trace.
pub(crate) struct Sink {
    state: Mutex<State>,
}

struct State {
    started: Instant,
    outputs: Vec<(PathBuf, Output)>,
    /// The executor's own track: timers, I/O and the wakes between tasks.
    executor: Track,
    main: Track,
    tasks: HashMap<TaskKey, TaskTrack>,
    /// Wakes and spawns whose poll has not come yet.
    causes: HashMap<TaskKey, Cause>,
    /// Cancel requests through handles, by task.
    requests: HashMap<TaskKey, String>,
    /// Other threads' tracks, by thread id.
    threads: HashMap<u64, Track>,
    named: HashSet<u64>,
    /// The names of the tracks and scopes so far, for outputs added later.
    names: Vec<Event>,
    next_tid: u64,
    next_flow: u64,
}

struct TaskTrack {
    track: Track,
    named: bool,
}

/// A poll under way, from [`poll_starts`] to [`poll_ends`].
pub(crate) struct PollMark {
    key: TaskKey,
    track: Track,
    started: u64,
    outer: Option<Track>,
}

impl Sink {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn emit(&mut self, event: Event) {
        for (path, output) in &mut self.outputs {
            if let Err(error) = output.write(&event) {
                unwritten(path, &error);
            }
        }
    }

    fn emit_at(&mut self, phase: Phase, name: String, at: u64, track: Track) -> &mut Self {
        self.emit(Event {
            phase,
            name,
            at,
            track,
            args: Vec::new(),
        });
        self
    }

    fn new_tid(&mut self) -> u64 {
        self.next_tid += 1;
        self.next_tid
    }

    fn name_track(&mut self, track: Track, name: String) {
        self.emit_name(Event {
            phase: Phase::ThreadName,
            name,
            at: 0,
            track,
            args: Vec::new(),
        });
    }

    fn name_process(&mut self, pid: u64, name: impl FnOnce() -> String) {
        if self.named.insert(pid) {
            self.emit_name(Event {
                phase: Phase::ProcessName,
                name: name(),
                at: 0,
                track: Track { pid, tid: 0 },
                args: Vec::new(),
            });
        }
    }

    fn emit_name(&mut self, event: Event) {
        if self.names.len() < NAMES_KEPT {
            self.names.push(event.clone());
        }
        self.emit(event);
    }

    /// The task's track, made (and its scope named) if it is new.
    fn task(&mut self, key: TaskKey, record: &ScopeRecord) -> Track {
        if let Some(task) = self.tasks.get(&key) {
            return task.track;
        }
        self.name_process(record.id(), || record.describe());
        let track = Track {
            pid: record.id(),
            tid: self.new_tid(),
        };
        self.tasks.insert(
            key,
            TaskTrack {
                track,
                named: false,
            },
        );
        track
    }

    /// Names the task's track once its name is known (a builder names a task after
    /// it is spawned, before it runs).
    fn name_task(&mut self, key: TaskKey, header: &Header) {
        let Some(task) = self.tasks.get_mut(&key) else {
            return;
        };
        if std::mem::replace(&mut task.named, true) {
            return;
        }
        let track = task.track;
        let mut name = format!("task {}.{}", track.pid, key.1);
        if let Some(task_name) = header.name() {
            let _ = write!(name, " `{task_name}`");
        }
        if let Some(at) = header.copy().spawned_at {
            let _ = write!(name, " spawned at {at}");
        }
        self.name_track(track, name);
    }

    /// This thread's track, when it is not the executor's.
    fn thread(&mut self, thread: u64) -> Track {
        if let Some(track) = self.threads.get(&thread) {
            return *track;
        }
        let track = Track {
            pid: self.executor.pid,
            tid: self.new_tid(),
        };
        self.threads.insert(thread, track);
        let name = match std::thread::current().name() {
            Some(name) => format!("thread `{name}`"),
            None => format!("thread {thread}"),
        };
        self.name_track(track, name);
        track
    }

    /// Writes the arrow from what caused this poll, if anything did.
    fn arrive(&mut self, key: TaskKey, track: Track, at: u64) {
        let Some(cause) = self.causes.remove(&key) else {
            return;
        };
        self.next_flow += 1;
        let flow = self.next_flow;
        if cause.own_slice {
            self.emit_at(Phase::Slice(1_000), cause.what.into(), cause.at, cause.from);
        }
        self.emit_at(
            Phase::FlowStart(flow),
            cause.what.into(),
            cause.at,
            cause.from,
        )
        .emit_at(Phase::FlowEnd(flow), cause.what.into(), at, track);
    }
}

/// The trace of the run on this thread, if it is traced.
fn local() -> Option<Arc<Sink>> {
    LOCAL
        .try_with(|local| local.borrow().clone())
        .ok()
        .flatten()
}

/// Starts tracing this thread's run into `path`, or adds `path` to its outputs.
pub(crate) fn start(path: &Path, executor: &ScopeRecord) -> io::Result<()> {
    let mut output = Output::open(path)?;
    if let Some(sink) = local() {
        let mut state = sink.lock();
        // A late output gets the names the others have had.
        for event in &state.names {
            output.write(event)?;
        }
        state.outputs.push((path.to_owned(), output));
        return Ok(());
    }
    let executor_track = Track {
        pid: executor.id(),
        tid: 1,
    };
    let main = Track {
        pid: executor.id(),
        tid: 2,
    };
    let sink = Arc::new(Sink {
        state: Mutex::new(State {
            started: Instant::now(),
            outputs: vec![(path.to_owned(), output)],
            executor: executor_track,
            main,
            tasks: HashMap::new(),
            causes: HashMap::new(),
            requests: HashMap::new(),
            threads: HashMap::new(),
            named: HashSet::new(),
            names: Vec::new(),
            next_tid: 2,
            next_flow: 0,
        }),
    });
    {
        let mut state = sink.lock();
        state.name_process(executor.id(), || executor.describe());
        state.name_track(
            executor_track,
            "executor: timers, I/O, wakes between tasks".into(),
        );
        state.name_track(main, "main future".into());
    }
    let thread = crate::raw::current_thread();
    SINKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((thread, Arc::downgrade(&sink)));
    LOCAL.with(|local| *local.borrow_mut() = Some(sink));
    TRACED_RUNS.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The run on this thread ended: writes what is left and closes the files.
pub(crate) fn finish() {
    let Some(sink) = LOCAL
        .try_with(|local| local.borrow_mut().take())
        .ok()
        .flatten()
    else {
        return;
    };
    TRACED_RUNS.fetch_sub(1, Ordering::Relaxed);
    SINKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(_, other)| !std::ptr::eq(other.as_ptr(), Arc::as_ptr(&sink)));
    let outputs = std::mem::take(&mut sink.lock().outputs);
    for (path, output) in outputs {
        if let Err(error) = output.finish() {
            unwritten(&path, &error);
        }
    }
}

/// A trace file could not be written: said on stderr, since the program it traces
/// goes on.
fn unwritten(path: &Path, error: &io::Error) {
    eprintln!(
        "coro: could not write the trace to {}: {error}",
        path.display()
    );
}

/// Starts tracing from `CORO_TRACE`, if it is set: the first run of the process
/// writes to the path it names, later ones to `name.2.json`, `name.3.json`, ...
pub(crate) fn start_from_env(executor: &ScopeRecord) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let Some(path) = std::env::var_os("CORO_TRACE") else {
        return;
    };
    let path = PathBuf::from(path);
    let nth = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    let path = if nth == 1 {
        path
    } else {
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let name = match path.extension() {
            Some(extension) => format!("{stem}.{nth}.{}", extension.to_string_lossy()),
            None => format!("{stem}.{nth}"),
        };
        path.with_file_name(name)
    };
    if let Err(error) = start(&path, executor) {
        eprintln!(
            "coro: CORO_TRACE: could not write {}: {error}",
            path.display()
        );
    }
}

/// A task was spawned at `key` of `record`: its first poll gets an arrow from here.
pub(crate) fn spawned(record: &ScopeRecord, key: TaskKey) {
    let Some(sink) = local() else { return };
    let mut state = sink.lock();
    state.task(key, record);
    let at = state.now();
    let cause = here(&mut state, at, "spawn");
    state.causes.insert(key, cause);
}

/// What a wake or spawn on this thread comes from: the task being polled, or else
/// the executor between tasks.
fn here(state: &mut State, at: u64, what: &'static str) -> Cause {
    let (from, own_slice) = match POLLING.get() {
        Some(track) => (track, false),
        None => (state.executor, true),
    };
    Cause {
        at,
        from,
        own_slice,
        what,
    }
}

/// A poll of the task at `key` starts.
pub(crate) fn poll_starts(record: &ScopeRecord, key: TaskKey, header: &Header) -> Option<PollMark> {
    let sink = local()?;
    let mut state = sink.lock();
    let track = state.task(key, record);
    state.name_task(key, header);
    Some(start_poll(&mut state, key, track))
}

/// `poll` of the main future, written to the trace: out of line, so that an
/// untraced poll pays only for the check.
#[cold]
#[inline(never)]
pub(crate) fn main_poll<T>(poll: impl FnOnce() -> Poll<T>) -> Poll<T> {
    let mark = local().map(|sink| {
        let mut state = sink.lock();
        let track = state.main;
        start_poll(&mut state, MAIN, track)
    });
    let polled = poll();
    if let Some(mark) = mark {
        poll_ends(mark, PollEnd::main(&polled));
    }
    polled
}

fn start_poll(state: &mut State, key: TaskKey, track: Track) -> PollMark {
    let started = state.now();
    state.arrive(key, track, started);
    PollMark {
        key,
        track,
        started,
        outer: POLLING.replace(Some(track)),
    }
}

/// How a poll ended, for its slice's name.
pub(crate) enum PollEnd<'a> {
    /// Still running; stopped at these sites, innermost first.
    Pending(&'a [Frame]),
    Completed,
    Panicked,
    ReturnedErr,
}

impl PollEnd<'_> {
    /// How the main future's poll ended.
    pub(crate) fn main<T>(polled: &Poll<T>) -> PollEnd<'static> {
        match polled {
            Poll::Pending => PollEnd::Pending(&[]),
            Poll::Ready(_) => PollEnd::Completed,
        }
    }

    /// How a task's poll ended.
    pub(crate) fn of<'a>(
        polled: &Poll<Result<(), Failure>>,
        backtrace: &'a [Frame],
    ) -> PollEnd<'a> {
        match polled {
            Poll::Pending => PollEnd::Pending(backtrace),
            Poll::Ready(Ok(())) => PollEnd::Completed,
            Poll::Ready(Err(Failure::Panic(_))) => PollEnd::Panicked,
            Poll::Ready(Err(Failure::Error)) => PollEnd::ReturnedErr,
        }
    }
}

/// The poll `mark` started has ended.
pub(crate) fn poll_ends(mark: PollMark, end: PollEnd<'_>) {
    POLLING.set(mark.outer);
    let Some(sink) = local() else { return };
    let mut state = sink.lock();
    let ended = state.now();
    let (name, args, finished) = match end {
        PollEnd::Pending(backtrace) => {
            let name = match backtrace.first() {
                Some(frame) => format!("{}:{}", short_file(frame.file()), frame.line()),
                None => "poll".to_owned(),
            };
            let args = if backtrace.is_empty() {
                Vec::new()
            } else {
                let lines: Vec<String> = backtrace.iter().map(|site| site.to_string()).collect();
                vec![("suspended at", lines.join("\n"))]
            };
            (name, args, None)
        }
        PollEnd::Completed => ("poll".to_owned(), Vec::new(), Some("completed")),
        PollEnd::Panicked => ("poll".to_owned(), Vec::new(), Some("panicked")),
        PollEnd::ReturnedErr => ("poll".to_owned(), Vec::new(), Some("returned Err")),
    };
    state.emit(Event {
        phase: Phase::Slice(ended - mark.started),
        name,
        at: mark.started,
        track: mark.track,
        args,
    });
    if let Some(how) = finished {
        state.emit_at(Phase::Instant, how.into(), ended, mark.track);
        state.tasks.remove(&mark.key);
        state.causes.remove(&mark.key);
        state.requests.remove(&mark.key);
    }
}

/// A wake queued the task at `key` of the run on thread `owner`: its next poll
/// gets an arrow from here. Only the first wake before a poll counts (the others
/// queue nothing).
pub(crate) fn woken(owner: u64, key: TaskKey) {
    let this_thread = crate::raw::current_thread();
    let on_owner = this_thread == owner;
    let sink = if on_owner {
        local()
    } else {
        SINKS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(thread, _)| *thread == owner)
            .and_then(|(_, sink)| sink.upgrade())
    };
    let Some(sink) = sink else { return };
    let mut state = sink.lock();
    if state.causes.contains_key(&key) {
        return;
    }
    let at = state.now();
    let cause = if on_owner {
        here(&mut state, at, "wake")
    } else {
        Cause {
            at,
            from: state.thread(this_thread),
            own_slice: true,
            what: "wake",
        }
    };
    state.causes.insert(key, cause);
}

/// A slice on this (non-executor) thread's track in a run's trace, for
/// blocking-pool work: returned by [`on_thread`], closed when dropped.
pub(crate) struct ThreadSlice {
    sink: Arc<Sink>,
    name: String,
    started: u64,
}

/// The run on this thread's trace, to carry to a blocking-pool job.
pub(crate) fn current() -> Option<Arc<Sink>> {
    if on() { local() } else { None }
}

/// Opens a slice named `name` on this thread's track in `sink`.
pub(crate) fn on_thread(sink: Arc<Sink>, name: String) -> ThreadSlice {
    let started = sink.lock().now();
    ThreadSlice {
        sink,
        name,
        started,
    }
}

impl Drop for ThreadSlice {
    fn drop(&mut self) {
        let mut state = self.sink.lock();
        let ended = state.now();
        let track = state.thread(crate::raw::current_thread());
        let name = std::mem::take(&mut self.name);
        state.emit_at(
            Phase::Slice(ended - self.started),
            name,
            self.started,
            track,
        );
    }
}

/// A cancel request for the task at `key` through its handle, at `at`.
pub(crate) fn cancel_requested(key: TaskKey, at: &'static Location<'static>) {
    let Some(sink) = local() else { return };
    sink.lock()
        .requests
        .entry(key)
        .or_insert_with(|| format!("cancel() on its handle at {at}"));
}

/// Runs `drop` (which cancels tasks) with `cause` as the reason, unless an outer
/// cancellation already gave one.
pub(crate) fn because<R>(cause: impl FnOnce() -> String, drop: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            if self.0 {
                let _ = CAUSE.try_with(|cause| cause.borrow_mut().take());
            }
        }
    }
    let set = on()
        && CAUSE
            .try_with(|current| {
                let mut current = current.borrow_mut();
                if current.is_some() {
                    return false;
                }
                *current = Some(cause());
                true
            })
            .unwrap_or(false);
    let _restore = Restore(set);
    drop()
}

/// The task at `key` of `record` is being cancelled (dropped before it finished).
pub(crate) fn cancelled(record: &ScopeRecord, key: TaskKey, header: &Header) {
    let Some(sink) = local() else { return };
    let mut state = sink.lock();
    let track = state.task(key, record);
    state.name_task(key, header);
    let cause = state
        .requests
        .remove(&key)
        .or_else(|| {
            CAUSE
                .try_with(|cause| cause.borrow().clone())
                .ok()
                .flatten()
        })
        .unwrap_or_else(|| "the future that owned its scope was dropped".to_owned());
    let at = state.now();
    state.emit(Event {
        phase: Phase::Instant,
        name: "cancelled".into(),
        at,
        track,
        args: vec![("cause", cause)],
    });
    state.tasks.remove(&key);
    state.causes.remove(&key);
}

/// `task 3.2 `fetch` panicked: no route`: a child's failure, as the cause of the
/// cancellations it brings.
pub(crate) fn failed(
    record: &ScopeRecord,
    index: usize,
    header: &Header,
    failure: &Failure,
) -> String {
    let mut cause = task_label(record, index, header);
    match failure {
        Failure::Panic(payload) => {
            let _ = write!(
                cause,
                " panicked: {}",
                crate::task::panic_message(payload.as_ref())
            );
        }
        Failure::Error => cause.push_str(" returned Err"),
    }
    cause
}

/// How a task is named in a trace's causes and in the note a panic prints: `task
/// 3.1`, then its name if it has one (`task 3.1 \`fetch\``).
pub(crate) fn task_label(record: &ScopeRecord, index: usize, header: &Header) -> String {
    let mut label = format!("task {}.{index}", record.id());
    if let Some(name) = header.name() {
        let _ = write!(label, " `{name}`");
    }
    label
}

/// `src/lib.rs` of a long path, for slice names.
fn short_file(file: &str) -> &str {
    let mut parts = file.rsplitn(3, ['/', '\\']);
    let (Some(_), Some(_)) = (parts.next(), parts.next()) else {
        return file;
    };
    match parts.next() {
        Some(rest) => &file[rest.len() + 1..],
        None => file,
    }
}
