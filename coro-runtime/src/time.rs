//! Time that suspends instead of blocking: [`sleep`], [`timeout`], [`interval`]
//! (Kotlin's `delay` and `withTimeout`, not `Thread.sleep`).
//!
//! Timers live in the executor: a binary heap of deadlines and a map from timer to
//! waker. A sleeping future registers once and refreshes its waker only if it
//! changed; dropping it unregisters it (its heap entry is skipped lazily, and
//! swept once dead entries outnumber live ones). The
//! executor parks the thread until the earliest deadline. Polled on another executor
//! (tokio, smol, `futures`), a sleep registers with a process-wide timer thread
//! instead, so coro's time works anywhere.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::executor::try_with_executor;

/// `now + duration`, or a deadline so far away it never comes (thirty years, as
/// tokio does) when the sum does not fit in an `Instant`: `Duration::MAX` means
/// "never".
pub(crate) fn deadline_after(now: Instant, duration: Duration) -> Instant {
    const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);
    now.checked_add(duration.min(FAR_FUTURE))
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// One timer heap. Each gets its own number, so a registration is only ever
/// refreshed or cancelled in the heap it was made in.
pub(crate) struct Timers {
    wheel: u64,
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    wakers: HashMap<u64, Waker>,
    next_id: u64,
}

impl Default for Timers {
    fn default() -> Self {
        static WHEELS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Timers {
            wheel: WHEELS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            heap: BinaryHeap::new(),
            wakers: HashMap::new(),
            next_id: 0,
        }
    }
}

impl Timers {
    fn register(&mut self, deadline: Instant, waker: &Waker) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.heap.push(Reverse((deadline, id)));
        self.wakers.insert(id, waker.clone());
        id
    }

    fn refresh(&mut self, id: u64, waker: &Waker) {
        if let Some(current) = self.wakers.get_mut(&id)
            && !current.will_wake(waker)
        {
            *current = waker.clone();
        }
    }

    /// Forgets a timer. Its heap entry stays until it falls due, but once dead
    /// entries outnumber live ones the heap is rebuilt without them, so a long-lived
    /// timer cannot make cancelled ones pile up behind it; each rebuild follows at
    /// least as many cancellations as it costs.
    fn cancel(&mut self, id: u64) {
        if self.wakers.remove(&id).is_some() && self.heap.len() > 2 * self.wakers.len() + 64 {
            let wakers = &self.wakers;
            self.heap.retain(|Reverse((_, id))| wakers.contains_key(id));
        }
    }

    /// Removes the timers due at `now`: their wakers, and the next deadline.
    fn take_due(&mut self, now: Instant) -> (Vec<Waker>, Option<Instant>) {
        let mut due = Vec::new();
        while let Some(Reverse((deadline, id))) = self.heap.peek().copied() {
            if !self.wakers.contains_key(&id) {
                self.heap.pop();
            } else if deadline <= now {
                self.heap.pop();
                due.extend(self.wakers.remove(&id));
            } else {
                break;
            }
        }
        (
            due,
            self.heap.peek().map(|Reverse((deadline, _))| *deadline),
        )
    }

    /// Wakes every timer due now; returns the next deadline. Wakers run after the
    /// timers are released, so a woken task may register new ones. Reads the clock
    /// only when a timer is pending.
    pub(crate) fn fire(timers: &RefCell<Timers>) -> Option<Instant> {
        if timers.borrow().heap.is_empty() {
            return None;
        }
        let (due, next) = timers.borrow_mut().take_due(Instant::now());
        due.into_iter().for_each(Waker::wake);
        next
    }
}

/// The timers of sleeps polled outside coro's executor: a thread, started on first
/// use, that sleeps until the earliest deadline and wakes what is due.
struct TimerThread {
    timers: Mutex<Timers>,
    changed: Condvar,
}

impl TimerThread {
    fn get() -> &'static TimerThread {
        static THREAD: OnceLock<TimerThread> = OnceLock::new();
        let mut started = false;
        let clock = THREAD.get_or_init(|| {
            started = true;
            TimerThread {
                timers: Mutex::new(Timers::default()),
                changed: Condvar::new(),
            }
        });
        if started {
            std::thread::Builder::new()
                .name("coro-timers".into())
                .spawn(move || clock.run())
                .expect("coro: could not start the timer thread");
        }
        clock
    }

    fn lock(&self) -> MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        let mut timers = self.lock();
        loop {
            let (due, next) = timers.take_due(Instant::now());
            if !due.is_empty() {
                drop(timers);
                due.into_iter().for_each(Waker::wake);
                timers = self.lock();
                continue;
            }
            timers = match next {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    self.changed
                        .wait_timeout(timers, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.changed.wait(timers).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

/// Where a sleep's timer is registered: in which executor's heap, or on the
/// timer thread.
#[derive(Debug, Clone, Copy)]
enum Registered {
    Executor { wheel: u64, id: u64 },
    Thread(u64),
}

impl Registered {
    /// Cancels the registration where it was made. A registration in another
    /// executor's heap (the sleep has moved to another `run` or thread) cannot be
    /// reached from here; it is a stale entry there, which wakes nobody who still
    /// waits and is dropped when it falls due or its executor ends.
    fn cancel(self) {
        match self {
            Registered::Executor { wheel, id } => {
                try_with_executor(|executor| {
                    let mut timers = executor.timers.borrow_mut();
                    if timers.wheel == wheel {
                        timers.cancel(id);
                    }
                });
            }
            Registered::Thread(id) => TimerThread::get().lock().cancel(id),
        }
    }
}

/// Suspends the current task for `duration` without blocking the thread.
///
/// Costs one heap entry in the executor while pending. The task resumes at the
/// first executor turn after the deadline; it never resumes early. Polled on another
/// executor, the sleep is woken by a process-wide timer thread instead.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// coro::run(async {
///     let start = Instant::now();
///     coro::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(Instant::now(), duration))
}

/// Suspends the current task until `deadline`; see [`sleep`].
///
/// ```
/// use std::time::{Duration, Instant};
///
/// coro::run(coro::sleep_until(Instant::now() + Duration::from_millis(1)));
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        timer: None,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// ```
/// let nap: coro::Sleep = coro::sleep(std::time::Duration::from_millis(1));
/// coro::run(nap);
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    timer: Option<Registered>,
}

impl Sleep {
    /// When this sleep ends.
    ///
    /// ```
    /// let sleep = coro::sleep(std::time::Duration::from_secs(1));
    /// assert!(sleep.deadline() > std::time::Instant::now());
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        crate::coop::budgeted(cx, |cx| {
            if Instant::now() >= self.deadline {
                if let Some(timer) = self.timer.take() {
                    timer.cancel();
                }
                return Poll::Ready(());
            }
            let (deadline, waker) = (self.deadline, cx.waker());
            let on_thread = |deadline: Instant, waker: &Waker| {
                let clock = TimerThread::get();
                let id = clock.lock().register(deadline, waker);
                clock.changed.notify_one();
                Registered::Thread(id)
            };
            // Register with this thread's executor when it is the one polling, or
            // with the timer thread (outside one, or under another executor or a
            // combinator with wakers of its own).
            let ours = crate::executor::is_executor_waker(waker);
            let register = |deadline: Instant, waker: &Waker| {
                if !ours {
                    return on_thread(deadline, waker);
                }
                try_with_executor(|executor| {
                    let mut timers = executor.timers.borrow_mut();
                    let id = timers.register(deadline, waker);
                    Registered::Executor {
                        wheel: timers.wheel,
                        id,
                    }
                })
                .unwrap_or_else(|| on_thread(deadline, waker))
            };
            self.timer = Some(match self.timer {
                Some(Registered::Executor { wheel, id }) if ours => {
                    let refreshed = try_with_executor(|executor| {
                        let mut timers = executor.timers.borrow_mut();
                        (timers.wheel == wheel).then(|| timers.refresh(id, waker))
                    })
                    .flatten();
                    match refreshed {
                        Some(()) => Registered::Executor { wheel, id },
                        // Moved to another `run`, or off the executor's thread.
                        None => register(deadline, waker),
                    }
                }
                Some(Registered::Executor { .. }) => {
                    // Now polled by someone else: the timer thread takes over.
                    if let Some(timer) = self.timer.take() {
                        timer.cancel();
                    }
                    on_thread(deadline, waker)
                }
                Some(Registered::Thread(id)) => {
                    TimerThread::get().lock().refresh(id, waker);
                    Registered::Thread(id)
                }
                None => register(deadline, waker),
            });
            Poll::Pending
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.cancel();
        }
    }
}

/// The error of a [`timeout`] that expired.
///
/// ```
/// let error = coro::run(coro::timeout(std::time::Duration::ZERO, std::future::pending::<()>()));
/// assert_eq!(error.unwrap_err().to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future` for at most `duration`: its output, or [`Elapsed`] once the time is
/// up, in which case `future` is dropped (cancelled) at that moment, with everything
/// it owns (Kotlin's `withTimeout`).
///
/// ```
/// use std::time::Duration;
///
/// coro::run(async {
///     let quick = coro::timeout(Duration::from_secs(1), async { 5 }).await;
///     assert_eq!(quick, Ok(5));
///     let slow = coro::timeout(Duration::from_millis(1), coro::sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future: Some(future),
        sleep: sleep(duration),
        set_at: std::panic::Location::caller(),
    }
}

/// Runs `future` until `deadline`: [`timeout`] with an instant rather than a
/// duration, for a deadline handed down from the caller (Go's
/// `context.WithDeadline`).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// coro::run(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     let first = coro::timeout_at(deadline, async { 1 }).await;
///     let second = coro::timeout_at(deadline, std::future::pending::<()>()).await;
///     assert_eq!(first, Ok(1));
///     assert!(second.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future: Some(future),
        sleep: sleep_until(deadline),
        set_at: std::panic::Location::caller(),
    }
}

thread_local! {
    /// The nearest deadline of the `timeout`s around the future being polled.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The nearest deadline of the [`timeout`]s and [`timeout_at`]s the current code runs
/// under, if any: pass it on to work that takes a deadline of its own (a socket's
/// timeout, a request to another service), as Go code reads `ctx.Deadline()`. Scope
/// children run under the timeouts around their scope; detached tasks and
/// blocking-pool jobs start afresh. Costs a thread-local read.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// coro::run(async {
///     assert_eq!(coro::deadline(), None);
///     let outer = Instant::now() + Duration::from_secs(10);
///     coro::timeout_at(outer, async {
///         assert_eq!(coro::deadline(), Some(outer));
///         coro::timeout(Duration::from_secs(60), async {
///             assert_eq!(coro::deadline(), Some(outer)); // the nearer one
///         })
///         .await
///         .unwrap();
///     })
///     .await
///     .unwrap();
/// });
/// ```
pub fn deadline() -> Option<Instant> {
    DEADLINE.get()
}

/// Polls with `deadline` (or an outer one that comes sooner) as [`deadline`].
fn under_deadline<R>(deadline: Instant, poll: impl FnOnce() -> R) -> R {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.set(self.0);
        }
    }
    let outer = DEADLINE.get();
    let nearest = outer.map_or(deadline, |outer| outer.min(deadline));
    let _restore = Restore(DEADLINE.replace(Some(nearest)));
    poll()
}

pin_project_lite::pin_project! {
    /// The future returned by [`timeout`].
    ///
    /// ```
    /// let bounded: coro::Timeout<_> = coro::timeout(std::time::Duration::from_secs(1), async { 1 });
    /// assert_eq!(coro::run(bounded), Ok(1));
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: Option<F>,
        sleep: Sleep,
        // Where it was set: the cause of the cancellations it brings, in a trace.
        set_at: &'static std::panic::Location<'static>,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(Err(Elapsed(())));
        };
        if let Poll::Ready(output) = under_deadline(this.sleep.deadline, || future.poll(cx)) {
            return Poll::Ready(Ok(output));
        }
        if Pin::new(this.sleep).poll(cx).is_ready() {
            let set_at = *this.set_at;
            crate::trace::because(
                || format!("the timeout set at {set_at} elapsed"),
                || crate::cleanup::cancelling(|| this.future.set(None)),
            );
            return Poll::Ready(Err(Elapsed(())));
        }
        Poll::Pending
    }
}

/// A clock that ticks every `period`, the first tick at once.
///
/// If a tick is late (the task was busy), the next ones are counted from when it
/// happened: ticks are skipped rather than bunched up.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
///
/// coro::run(async {
///     let mut every = coro::interval(Duration::from_millis(2));
///     let first = every.tick().await;
///     let second = every.tick().await;
///     assert!(second - first >= Duration::from_millis(2));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "`coro::interval` needs a period above zero"
    );
    Interval {
        period,
        next: Instant::now(),
    }
}

/// The clock returned by [`interval`].
///
/// ```
/// let mut clock: coro::Interval = coro::interval(std::time::Duration::from_millis(1));
/// coro::run(async move { clock.tick().await });
/// ```
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    next: Instant,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due.
    ///
    /// ```
    /// coro::run(async {
    ///     let mut every = coro::interval(std::time::Duration::from_millis(1));
    ///     every.tick().await;
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        let due = self.next;
        sleep_until(due).await;
        let now = Instant::now();
        let on_time = deadline_after(due, self.period);
        self.next = if now > on_time {
            deadline_after(now, self.period)
        } else {
            on_time
        };
        due
    }

    /// The time between ticks.
    ///
    /// ```
    /// let every = coro::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(every.period(), std::time::Duration::from_secs(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}
