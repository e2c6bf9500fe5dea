//! The watchdog: the task tree on stderr (or to a hook) when `run` has had nothing
//! to run for too long. It lives in the executor's loop, which asks it before each
//! wait how long it may wait.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use super::{TaskTree, dump};

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
