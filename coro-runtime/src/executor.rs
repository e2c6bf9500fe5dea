//! The single-threaded executor: [`run`] blocks the thread on one future (Kotlin
//! `runBlocking`), polls detached tasks beside it, fires timers, and sleeps in
//! between.
//!
//! Wakers are `Send + Sync` (the main future's is a `std::task::Wake` on an `Arc`,
//! a task's its entry in a wake table, see [`crate::raw`]): a wake from any thread
//! sets a flag or queues a task and wakes the thread. When nothing is ready the
//! thread waits in the I/O reactor until a socket is ready, the next timer is due,
//! or a wake arrives: an idle executor uses no CPU. How that wait is built is the
//! business of [`crate::reactor`].

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use crate::children::Children;
use crate::task::JoinHandle;
use crate::time::Timers;

pub(crate) struct Executor {
    pub(crate) detached: Children<'static>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) watchdog: crate::debug::Watchdog,
    pub(crate) clock: crate::clock::Clock,
    pub(crate) dump_requests: Arc<crate::debug::DumpRequests>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Executor>>> = const { RefCell::new(None) };
    /// The data pointer of the waker the executor (or a scope) is polling a task
    /// with right now.
    static POLLING_WITH: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Polls with `waker` marked as the executor's own for the duration of `poll`.
#[inline]
pub(crate) fn polling_with<R>(waker: &Waker, poll: impl FnOnce() -> R) -> R {
    /// Puts the outer waker back, on return or unwind.
    struct Restore(*const ());
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            POLLING_WITH.set(self.0);
        }
    }
    let _restore = Restore(POLLING_WITH.replace(waker.data()));
    poll()
}

/// Is `waker` the one the executor is polling the current task with? A future
/// polled with another one sits under a combinator or another executor (a
/// `futures::executor::block_on` inside a task), which may block this thread: a
/// timer registered with this executor would then never fire.
pub(crate) fn is_executor_waker(waker: &Waker) -> bool {
    let data = waker.data();
    !data.is_null() && POLLING_WITH.get() == data
}

/// Runs `f` with this thread's executor.
///
/// # Panics
/// Outside [`run`], naming `what` so the message says which call needs it.
pub(crate) fn with_executor<R>(what: &str, f: impl FnOnce(&Executor) -> R) -> R {
    try_with_executor(f).unwrap_or_else(|| {
        panic!("`{what}` must be called inside `coro::run`, on the executor's thread")
    })
}

pub(crate) fn try_with_executor<R>(f: impl FnOnce(&Executor) -> R) -> Option<R> {
    let executor = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()?;
    Some(f(&executor))
}

/// Wakes the future `run` blocks on: a flag for the loop, then the thread, unless
/// the wake comes from inside the loop's own turn, which looks at the flag before it
/// waits: then the flag is all (a plain store, no read-modify-write).
struct MainWaker {
    woken: AtomicBool,
    thread: Waker,
    /// The executor's thread, for the trace.
    thread_id: u64,
}

thread_local! {
    /// The `MainWaker` whose loop is running a turn on this thread.
    static TURNING: Cell<*const MainWaker> = const { Cell::new(std::ptr::null()) };
}

impl MainWaker {
    /// Tells the trace, if this wake is the one that queues the main future.
    #[cold]
    #[inline(never)]
    fn traced(&self) {
        if !self.woken.load(Ordering::Acquire) {
            crate::trace::woken(self.thread_id, crate::trace::MAIN);
        }
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    #[inline(always)]
    fn wake_by_ref(self: &Arc<Self>) {
        if crate::trace::on() {
            self.traced();
        }
        self.woken.store(true, Ordering::Release);
        if TURNING.get() != Arc::as_ptr(self) {
            self.thread.wake_by_ref();
        }
    }
}

/// Marks `main`'s loop as running a turn on this thread, until dropped.
struct Turning(*const MainWaker);

impl Turning {
    fn enter(main: &Arc<MainWaker>) -> Self {
        Turning(TURNING.replace(Arc::as_ptr(main)))
    }
}

impl Drop for Turning {
    fn drop(&mut self) {
        TURNING.set(self.0);
    }
}

/// Installs the executor for this thread; on the way out (return or panic) drops
/// the detached tasks, then uninstalls it. A detached task's destructor may spawn
/// another detached task, so the teardown repeats until none is left.
struct Installed(Rc<Executor>);

impl Drop for Installed {
    fn drop(&mut self) {
        self.0.dump_requests.end();
        crate::trace::because(
            || "its run ended (the main future finished)".to_owned(),
            || {
                while !self.0.detached.is_empty() {
                    self.0.detached.cancel_all();
                }
            },
        );
        crate::trace::finish();
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

/// Blocks the current thread on `future` until it finishes, running every task it
/// starts on this thread (Kotlin's `runBlocking`). Any `Future` runs on it.
///
/// A panic in `future`, or in a scope child it awaits, resurfaces from here.
/// [Detached](spawn_detached) tasks still running when `future` finishes are
/// dropped. While nothing is ready the thread sleeps until the next timer or wake.
///
/// # Panics
/// If called inside another `run` on the same thread: await the future instead.
///
/// ```
/// let answer = coro::run(async {
///     coro::sleep(std::time::Duration::from_millis(1)).await;
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let executor = Rc::new(Executor {
        detached: Children::new(
            crate::debug::ScopeKind::Executor,
            Some(std::panic::Location::caller()),
        ),
        timers: RefCell::new(Timers::default()),
        watchdog: Default::default(),
        clock: Default::default(),
        dump_requests: Default::default(),
    });
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        assert!(
            current.is_none(),
            "`coro::run` cannot be nested on one thread: `.await` the inner future instead"
        );
        *current = Some(executor.clone());
    });
    let installed = Installed(executor);
    let executor = &installed.0;
    crate::trace::start_from_env(&executor.detached.record);
    executor.clock.sample();
    let mut future = pin!(future);
    let mut turn: Option<Turn> = None;
    crate::reactor::block_on(|cx, reactor| {
        let turn = turn.get_or_insert_with(|| {
            executor.detached.set_owner(cx.waker());
            executor.dump_requests.set_executor(cx.waker());
            Turn::new(cx.waker())
        });
        let _turning = Turning::enter(&turn.main);
        // A detached task woken from this thread meanwhile is only queued: the
        // loop looks at the queue before it waits or yields to the reactor.
        let _detached_turning = executor.detached.turning();
        // Entered after each wait, and every few dozen rounds while busy.
        executor.clock.sample();
        // Looked at once a turn: a trace started during one begins with the next.
        let traced = crate::trace::on();
        let mut rounds = 0;
        // Whether anything ran since the loop last waited, for the watchdog.
        let mut polled = false;
        loop {
            // Load, then clear: a wake in between is for progress the poll below
            // sees anyway.
            if turn.main.woken.load(Ordering::Acquire)
                && {
                    turn.main.woken.store(false, Ordering::Release);
                    polled = true;
                    true
                }
                && let Poll::Ready(output) = {
                    // Polled as the body of the executor's record, which keeps
                    // where it stops for `coro::debug`.
                    let mut poll = || {
                        executor.detached.record.body_runs();
                        executor.detached.record.polling(crate::children::BODY, || {
                            polling_with(&turn.main_waker, || {
                                crate::coop::with_fresh_budget(|| {
                                    future
                                        .as_mut()
                                        .poll(&mut Context::from_waker(&turn.main_waker))
                                })
                            })
                        })
                    };
                    if traced {
                        crate::trace::main_poll(poll)
                    } else {
                        poll()
                    }
                }
            {
                return Poll::Ready(output);
            }
            if executor.detached.has_ready() {
                polled = true;
                executor.detached.poll_ready();
            }
            let next_timer = Timers::fire(&executor.timers);
            executor.dump_requests.answer();
            if turn.main.woken.load(Ordering::Acquire) || executor.detached.has_ready() {
                rounds += 1;
                if rounds == crate::reactor::ROUNDS_BETWEEN_IO_POLLS {
                    return reactor.poll_io_then_continue(cx);
                }
                continue;
            }
            let wake_by = executor.watchdog.before_wait(polled, next_timer);
            if turn.main.woken.load(Ordering::Acquire) || executor.detached.has_ready() {
                // The watchdog's hook woke something.
                polled = true;
                continue;
            }
            executor.clock.sample();
            return reactor.wait(cx, wake_by);
        }
    })
}

/// What one `run` keeps between the polls the reactor's loop makes of it.
struct Turn {
    main: Arc<MainWaker>,
    main_waker: Waker,
}

impl Turn {
    fn new(thread: &Waker) -> Self {
        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            thread: thread.clone(),
            thread_id: crate::raw::current_thread(),
        });
        Turn {
            main_waker: Waker::from(main.clone()),
            main,
        }
    }
}

/// Starts `future` as a task of the current [`run`], outside any scope (Kotlin's
/// `GlobalScope.launch`). Its panic is reported on its handle only.
///
/// `run` does not wait for detached tasks: when the future given to `run` finishes,
/// the detached tasks still running are dropped (cancelled). Prefer a [`scope`]
/// whenever the work has an owner. Costs one allocation, for the future, its output
/// and its handle's state together.
///
/// # Panics
/// Outside [`run`].
///
/// [`scope`]: crate::scope()
///
/// ```
/// coro::run(async {
///     let background = coro::spawn_detached(async { 7 });
///     assert_eq!(background.await.unwrap(), 7);
/// });
/// ```
#[track_caller]
pub fn spawn_detached<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let at = std::panic::Location::caller();
    let handle = with_executor("coro::spawn_detached", |executor| {
        executor.detached.spawn_value(future, true)
    });
    handle.slot_spawned_at(at);
    handle
}

/// Suspends once, letting every other ready task run before this one continues.
/// Costs one wake of the current task.
///
/// ```
/// coro::run(async {
///     coro::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// ```
/// let yielding: coro::YieldNow = coro::yield_now();
/// coro::run(yielding);
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    /// A detached task woken from inside the executor's loop (by the main future,
    /// or by another task) is only queued: the loop looks at the queue before it
    /// waits, so waking the reactor's `block_on` as well would be an atomic
    /// read-modify-write for nothing.
    #[test]
    fn wakes_of_detached_tasks_inside_the_loop_only_queue() {
        let (inside, value) = crate::run(async {
            let (tx, mut rx) = crate::channel::bounded::<u32>(1);
            let task = crate::spawn_detached(async move { rx.recv().await.unwrap() });
            crate::yield_now().await; // the task waits on the channel
            let inside = super::try_with_executor(|executor| executor.detached.is_turning());
            tx.send(5).await.unwrap(); // wakes it from the main future
            (inside, task.await.unwrap())
        });
        assert_eq!(value, 5);
        assert_eq!(
            inside,
            Some(true),
            "a wake from the loop would wake block_on too"
        );
    }
}
