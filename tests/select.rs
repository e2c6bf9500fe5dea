//! `coro::select!`: which arm wins, fairness, guards, patterns, `else`, and that the
//! losers are dropped before the winner's handler runs.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// Ready after `polls` polls, logging its drop.
struct ReadyAfter {
    polls: u32,
    value: u32,
    log: Rc<RefCell<Vec<String>>>,
}

impl std::future::Future for ReadyAfter {
    type Output = u32;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<u32> {
        if self.polls == 0 {
            return std::task::Poll::Ready(self.value);
        }
        self.polls -= 1;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

impl Drop for ReadyAfter {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("drop {}", self.value));
    }
}

#[test]
fn the_first_to_complete_wins_and_the_losers_are_dropped_before_its_handler() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let future = |polls, value| ReadyAfter {
        polls,
        value,
        log: log.clone(),
    };
    let won = coro::run(async {
        coro::select! {
            a = future(3, 1) => { log.borrow_mut().push(format!("handler {a}")); a }
            b = future(1, 2) => { log.borrow_mut().push(format!("handler {b}")); b }
            c = future(5, 3) => { log.borrow_mut().push(format!("handler {c}")); c }
        }
    });
    assert_eq!(won, 2);
    let log = log.borrow();
    assert_eq!(log.last().unwrap(), "handler 2");
    assert_eq!(log.len(), 4, "{log:?}");
    for loser in ["drop 1", "drop 3", "drop 2"] {
        assert!(log[..3].contains(&loser.to_string()), "{log:?}");
    }
}

#[test]
fn ready_arms_are_picked_fairly_and_in_order_when_biased() {
    let (mut first, mut second) = (0, 0);
    coro::run(async {
        for _ in 0..400 {
            coro::select! {
                _ = async {} => first += 1,
                _ = async {} => second += 1,
            }
        }
    });
    assert_eq!(first + second, 400);
    assert!(first > 100 && second > 100, "{first} against {second}");
    let mut order = Vec::new();
    coro::run(async {
        for _ in 0..10 {
            coro::select! {
                biased;
                _ = async {} => order.push(0),
                _ = async {} => order.push(1),
            }
        }
    });
    assert_eq!(order, [0; 10]);
}

#[test]
fn a_closed_channel_arm_is_disabled_and_the_timer_arm_fires() {
    let (rounds, timed_out) = coro::run(async {
        let (tx, mut rx) = coro::channel::unbounded::<u32>();
        drop(tx);
        let mut rounds = 0;
        let timed_out = coro::select! {
            Ok(v) = rx.recv() => { rounds += 1; Some(v) }
            _ = coro::sleep(Duration::from_millis(5)) => None,
        };
        rounds += 1;
        (rounds, timed_out)
    });
    assert_eq!((rounds, timed_out), (1, None));
}

#[test]
fn a_loop_of_selects_over_a_closed_channel_does_not_starve_timers() {
    // The arm that takes `Err` is always ready, yet the timer arm still wins: the
    // start is random and the budget makes the task give the thread back.
    let spins = coro::run(async {
        let (tx, mut rx) = coro::channel::unbounded::<u32>();
        drop(tx);
        let deadline = coro::sleep(Duration::from_millis(10));
        let mut deadline = std::pin::pin!(deadline);
        let mut spins = 0u64;
        loop {
            coro::select! {
                closed = rx.recv() => { assert!(closed.is_err()); spins += 1; }
                _ = deadline.as_mut() => break spins,
            }
        }
    });
    assert!(spins > 0);
}

#[test]
fn a_false_guard_disables_its_arm() {
    let polled = Rc::new(Cell::new(false));
    let value = coro::run(async {
        let polled = polled.clone();
        coro::select! {
            v = async move { polled.set(true); 1 } if false => v,
            v = async { coro::yield_now().await; 2 } => v,
        }
    });
    assert_eq!(value, 2);
    assert!(!polled.get(), "a disabled arm was polled");
}

#[test]
fn else_runs_when_nothing_is_ready_and_not_otherwise() {
    let (not_ready, ready) = coro::run(async {
        let (tx, mut rx) = coro::channel::unbounded();
        let not_ready = coro::select! {
            Ok(v) = rx.recv() => Some(v),
            else => None,
        };
        tx.try_send(9).unwrap();
        let ready = coro::select! {
            Ok(v) = rx.recv() => Some(v),
            else => None,
        };
        (not_ready, ready)
    });
    assert_eq!((not_ready, ready), (None, Some(9)));
}

#[test]
fn patterns_bind_by_value_with_mut_and_alternatives() {
    let joined = coro::run(async {
        coro::select! {
            (mut text, 1 | 2) = async { (String::from("a"), 2) } => { text.push('b'); text }
        }
    });
    assert_eq!(joined, "ab");
}

#[test]
#[should_panic(expected = "every arm is disabled")]
fn every_arm_disabled_without_else_panics() {
    coro::run(async {
        coro::select! {
            Some(v) = async { None::<u32> } => v,
            v = async { 1 } if false => v,
        }
    });
}

#[coro::coroutine]
async fn first_of(mut rx: coro::channel::Receiver<u32>, wait: Duration) -> Option<u32> {
    coro::select! {
        Ok(v) = rx.recv() => Some(v),
        _ = coro::sleep(wait) => None,
    }
}

#[test]
fn select_works_inside_a_coroutine_body() {
    let (tx, rx) = coro::channel::unbounded();
    tx.try_send(4).unwrap();
    assert_eq!(coro::run(first_of(rx, Duration::from_secs(5))), Some(4));
    let (_tx, rx) = coro::channel::unbounded();
    assert_eq!(coro::run(first_of(rx, Duration::from_millis(1))), None);
}

#[test]
fn an_else_arm_alone_runs_at_once() {
    assert_eq!(
        coro::run(async {
            coro::select! { else => 5 }
        }),
        5
    );
}
