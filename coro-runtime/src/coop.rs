//! The cooperative budget: how many operations a task may complete in one turn before
//! coro's own futures make it give the thread back.
//!
//! A loop whose every await is ready at once (a channel that always has a value, a
//! timer already due) never returns `Pending`, so on one thread it would starve its
//! siblings, the timers and the sockets. Each time the executor (or a scope) polls a
//! task, the task gets a fresh budget; every operation of coro's leaf futures that
//! completes spends one unit. Once it is spent, the next such operation wakes its task
//! and returns `Pending`, as if it had to wait, so the task is queued behind the
//! others. An operation that really waits spends nothing. Futures polled outside coro's
//! executor have no budget and are never held back. tokio uses the same scheme, with
//! the same default of 128. A scope's turn counts too: each round after its first
//! (its children woke each other, or the body) spends a unit of the budget the turn
//! runs under, so a scope busy with its own messages gives the thread back as well.
//!
//! Futures that are not coro's (async-io sockets, async-lock's own types) do not
//! spend it; [`consume_budget`] lets such a loop take part, and `coro::sync`'s
//! locks spend it on the lock's behalf.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Operations per task turn, as in tokio.
pub(crate) const DEFAULT_BUDGET: u32 = 128;

thread_local! {
    /// What is left of the running task's budget; `None` outside a task.
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
    /// The budget each task turn starts with on this thread.
    static PER_TURN: Cell<u32> = const { Cell::new(DEFAULT_BUDGET) };
}

/// Sets the budget of each task turn on this thread, for the runtime's builder;
/// returns the one it replaces.
pub(crate) fn set_budget_per_turn(budget: u32) -> u32 {
    PER_TURN.replace(budget)
}

/// Runs one turn of a task with a fresh budget, restoring the outer task's after:
/// a scope polls its children from inside its own turn.
#[inline]
pub(crate) fn with_fresh_budget<R>(turn: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            LEFT.set(self.0);
        }
    }
    let _restore = Restore(LEFT.replace(Some(PER_TURN.get())));
    turn()
}

/// Before an operation that could complete at once: `Pending` (with the task woken)
/// when the budget is spent, so the caller returns `Pending` too.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    match LEFT.get() {
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        _ => Poll::Ready(()),
    }
}

/// An operation completed: it spends one unit.
#[inline]
pub(crate) fn spend() {
    if let Some(left) = LEFT.get() {
        LEFT.set(Some(left.saturating_sub(1)));
    }
}

/// A scope is about to run another round of its turn: spends one unit, or returns
/// `false` when the budget is spent. Outside a task there is no budget, and the
/// scope bounds its rounds itself.
pub(crate) fn spend_on_a_round() -> bool {
    match LEFT.get() {
        Some(0) => false,
        Some(left) => {
            LEFT.set(Some(left - 1));
            true
        }
        None => true,
    }
}

/// Checks the budget and spends a unit of it if the operation `poll` completes.
#[inline]
pub(crate) fn budgeted<T>(
    cx: &mut Context<'_>,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    if poll_proceed(cx).is_pending() {
        return Poll::Pending;
    }
    let polled = poll(cx);
    if polled.is_ready() {
        spend();
    }
    polled
}

/// Spends one unit of the current task's budget, and gives the thread back when it
/// is spent: for loops that only await futures that are not coro's (which do not
/// count), or do CPU work between awaits. Costs a thread-local read when the budget
/// is left, one wake of the task when it is not.
///
/// ```
/// coro::run(async {
///     let mut sum = 0u64;
///     for i in 0..10_000 {
///         sum += i;
///         coro::consume_budget().await; // lets timers and siblings in now and then
///     }
///     assert_eq!(sum, 49_995_000);
/// });
/// ```
pub fn consume_budget() -> ConsumeBudget {
    ConsumeBudget { _private: () }
}

/// The future returned by [`consume_budget`].
///
/// ```
/// let spending: coro::ConsumeBudget = coro::consume_budget();
/// coro::run(spending);
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct ConsumeBudget {
    _private: (),
}

impl Future for ConsumeBudget {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        budgeted(cx, |_| Poll::Ready(()))
    }
}
