//! Blocking work off the executor's thread (Kotlin's `Dispatchers.IO`).
//!
//! A small process-wide pool of threads, started lazily: a job runs on an idle
//! thread, or on a new one while there are fewer than 64; a thread idle for ten
//! seconds exits (both settable with [`Builder`](crate::Builder)). Each idle thread takes one job, so a burst of jobs starts a thread
//! for every job no idle thread is left for: jobs that wait on each other never
//! queue behind each other. The executor only awaits a shared cell, so blocking
//! work never stalls timers or other tasks.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// Most threads the pool runs at once by default; further jobs queue.
pub(crate) const DEFAULT_MAX_THREADS: usize = 64;
/// How long an idle pool thread waits for work before it exits, by default.
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// What `coro::debug::dump` shows of a job: where it was spawned, from which
/// thread, and since when it has been queued or running.
#[derive(Clone, Copy)]
pub(crate) struct JobInfo {
    pub(crate) spawned_at: &'static std::panic::Location<'static>,
    /// The thread that spawned it (see `crate::raw::current_thread`).
    pub(crate) spawned_by: u64,
    pub(crate) since: Instant,
    pub(crate) running: bool,
}

/// A queued job, with what a dump shows of it.
struct Queued {
    job: Job,
    info: JobInfo,
}

struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

struct PoolState {
    queue: VecDeque<Queued>,
    /// The jobs running now, by a number of their own.
    running: Vec<(u64, JobInfo)>,
    next_job: u64,
    idle: usize,
    threads: usize,
    max_threads: usize,
    idle_timeout: Duration,
}

static POOL: OnceLock<Pool> = OnceLock::new();

fn pool() -> &'static Pool {
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState {
            queue: VecDeque::new(),
            running: Vec::new(),
            next_job: 0,
            idle: 0,
            threads: 0,
            max_threads: DEFAULT_MAX_THREADS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }),
        work: Condvar::new(),
    })
}

/// Sets the pool's limits, for the runtime's builder. Threads already running keep
/// going; the new limits apply to the next job and the next idle wait.
/// The jobs spawned from this thread, running and then queued, oldest first.
pub(crate) fn jobs_of_this_thread() -> Vec<JobInfo> {
    let Some(pool) = POOL.get() else {
        return Vec::new();
    };
    let this = crate::raw::current_thread();
    let state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
    let mut jobs: Vec<JobInfo> = state
        .running
        .iter()
        .map(|(_, info)| *info)
        .chain(state.queue.iter().map(|queued| queued.info))
        .filter(|info| info.spawned_by == this)
        .collect();
    jobs.sort_by_key(|info| (!info.running, info.since));
    jobs
}

pub(crate) fn configure_pool(max_threads: usize, idle_timeout: Duration) {
    let mut state = pool().state.lock().unwrap_or_else(|e| e.into_inner());
    state.max_threads = max_threads;
    state.idle_timeout = idle_timeout;
}

impl Pool {
    fn execute(&'static self, job: Job, spawned_at: &'static std::panic::Location<'static>) {
        let info = JobInfo {
            spawned_at,
            spawned_by: crate::raw::current_thread(),
            since: Instant::now(),
            running: false,
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.queue.push_back(Queued { job, info });
        if state.queue.len() <= state.idle {
            self.work.notify_one();
        } else if state.threads < state.max_threads {
            state.threads += 1;
            thread::Builder::new()
                .name("coro-blocking".into())
                .spawn(move || self.work_loop())
                .expect("coro: could not start a blocking-pool thread");
        }
    }

    fn work_loop(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(Queued { job, mut info }) = state.queue.pop_front() {
                info.running = true;
                info.since = Instant::now();
                state.next_job += 1;
                let number = state.next_job;
                state.running.push((number, info));
                drop(state);
                job();
                state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(at) = state.running.iter().position(|(n, _)| *n == number) {
                    state.running.swap_remove(at);
                }
                continue;
            }
            state.idle += 1;
            let idle_timeout = state.idle_timeout;
            let (next, timeout) = self
                .work
                .wait_timeout(state, idle_timeout)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

struct Shared<T> {
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

/// Runs the blocking function `f` on the pool and returns a future of its result.
///
/// `f` starts at once, whether or not the future is awaited; dropping the future
/// does not stop it (a thread cannot be cancelled), it only discards the result. A
/// panic in `f` resurfaces where the future is awaited. Costs a job on the pool and
/// one shared allocation.
///
/// ```
/// let sum = coro::run(async {
///     coro::spawn_blocking(|| {
///         std::thread::sleep(std::time::Duration::from_millis(5)); // a blocking API
///         (1..=10).sum::<u32>()
///     })
///     .await
/// });
/// assert_eq!(sum, 55);
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let shared = Arc::new(Mutex::new(Shared {
        result: None,
        waker: None,
    }));
    let job_shared = shared.clone();
    let spawned_at = std::panic::Location::caller();
    let trace = crate::trace::current();
    pool().execute(
        Box::new(move || {
            // Open until the wake below, so that the trace's arrow starts in it.
            let _traced = trace.map(|trace| {
                crate::trace::on_thread(trace, format!("spawn_blocking at {spawned_at}"))
            });
            let result = catch_unwind(AssertUnwindSafe(f));
            let waker = {
                let mut shared = job_shared.lock().unwrap_or_else(|e| e.into_inner());
                shared.result = Some(result);
                shared.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }),
        spawned_at,
    );
    Blocking { shared }
}

/// The future returned by [`spawn_blocking`].
///
/// ```
/// let blocking: coro::Blocking<u8> = coro::spawn_blocking(|| 3);
/// assert_eq!(coro::run(blocking), 3);
/// ```
#[must_use = "the blocking function runs anyway; await this to get its result"]
pub struct Blocking<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

impl<T> Future for Blocking<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        crate::coop::budgeted(cx, |cx| {
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            match shared.result.take() {
                Some(Ok(value)) => Poll::Ready(value),
                Some(Err(payload)) => {
                    drop(shared);
                    resume_unwind(payload)
                }
                None => {
                    shared.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }
}
