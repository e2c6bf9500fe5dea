//! The cooperative budget: a task whose awaits are always ready still lets timers and
//! its siblings run. Each test would hang without the budget, so each also stops
//! itself after a few seconds and then fails.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const GIVE_UP: Duration = Duration::from_secs(5);

#[test]
fn an_always_ready_loop_lets_a_10ms_timer_fire_within_50ms() {
    let (late_by, spins) = coro::run(coro::scope(async |s| {
        let fired = Rc::new(Cell::new(None));
        let timer = fired.clone();
        let started = Instant::now();
        s.spawn(async move {
            coro::sleep(Duration::from_millis(10)).await;
            timer.set(Some(started.elapsed()));
        });
        // Always ready: the channel has a value every time it is asked.
        let (tx, mut rx) = coro::channel::unbounded();
        let mut spins = 0u64;
        while fired.get().is_none() && started.elapsed() < GIVE_UP {
            tx.send(spins).await.unwrap();
            assert_eq!(rx.recv().await, Ok(spins));
            spins += 1;
        }
        (fired.get(), spins)
    }));
    let fired_at = late_by.expect("the timer never fired while the loop ran");
    assert!(spins > 0);
    assert!(
        fired_at < Duration::from_millis(50),
        "a 10 ms timer fired after {fired_at:?}"
    );
}

#[test]
fn an_always_ready_loop_lets_its_sibling_run() {
    coro::run(coro::scope(async |s| {
        let sibling_ran = Rc::new(Cell::new(false));
        let flag = sibling_ran.clone();
        let started = Instant::now();
        s.spawn(async move { flag.set(true) });
        let (tx, mut rx) = coro::channel::bounded(1);
        while !sibling_ran.get() && started.elapsed() < GIVE_UP {
            tx.send(()).await.unwrap();
            rx.recv().await.unwrap();
        }
        assert!(sibling_ran.get(), "the sibling never ran");
    }));
}

#[test]
fn a_loop_over_a_due_sleep_and_join_handles_yields_too() {
    coro::run(coro::scope(async |s| {
        let sibling_ran = Rc::new(Cell::new(false));
        let flag = sibling_ran.clone();
        let started = Instant::now();
        s.spawn(async move { flag.set(true) });
        while !sibling_ran.get() && started.elapsed() < GIVE_UP {
            coro::sleep(Duration::ZERO).await;
        }
        assert!(
            sibling_ran.get(),
            "a sleep already due never let the sibling in"
        );
    }));
}

#[test]
fn consume_budget_lets_a_loop_of_foreign_futures_yield() {
    coro::run(coro::scope(async |s| {
        let sibling_ran = Rc::new(Cell::new(false));
        let flag = sibling_ran.clone();
        let started = Instant::now();
        s.spawn(async move { flag.set(true) });
        while !sibling_ran.get() && started.elapsed() < GIVE_UP {
            std::future::ready(()).await;
            coro::consume_budget().await;
        }
        assert!(sibling_ran.get());
    }));
}

#[test]
fn outside_the_executor_nothing_is_held_back() {
    // Under another executor there is no budget: a long ready loop finishes in one
    // poll.
    let (tx, mut rx) = coro::channel::unbounded();
    let total = futures::executor::block_on(async {
        let mut total = 0u64;
        for i in 0..1_000u64 {
            tx.send(i).await.unwrap();
            total += rx.recv().await.unwrap();
        }
        total
    });
    assert_eq!(total, 499_500);
}

#[test]
fn a_cooperative_reader_that_is_always_ready_lets_its_sibling_run() {
    use futures::AsyncReadExt;
    coro::run(coro::scope(async |s| {
        let sibling_ran = Rc::new(Cell::new(false));
        let flag = sibling_ran.clone();
        let started = Instant::now();
        s.spawn(async move { flag.set(true) });
        let mut endless = coro::io::cooperative(futures::io::repeat(7));
        let mut buf = [0u8; 16];
        while !sibling_ran.get() && started.elapsed() < GIVE_UP {
            endless.read_exact(&mut buf).await.unwrap();
        }
        assert!(sibling_ran.get(), "an always-ready reader kept the thread");
    }));
}

#[test]
fn two_children_passing_messages_let_a_task_outside_their_scope_run() {
    // Every message wakes the other child inside the scope's own poll, so the scope
    // always has another round to run; its rounds spend the budget too, or the
    // detached task and the timer would wait for the scope to end.
    coro::run(async {
        let outside_ran = Rc::new(Cell::new(false));
        let flag = outside_ran.clone();
        coro::spawn_detached(async move { flag.set(true) });
        let timer_fired = Rc::new(Cell::new(false));
        let started = Instant::now();
        coro::scope(async |s| {
            let timer = timer_fired.clone();
            s.spawn(async move {
                coro::sleep(Duration::from_millis(1)).await;
                timer.set(true);
            });
            let (ping, mut ping_in) = coro::channel::bounded::<u64>(1);
            let (pong, mut pong_in) = coro::channel::bounded::<u64>(1);
            s.spawn(async move {
                while let Ok(value) = ping_in.recv().await {
                    if pong.send(value + 1).await.is_err() {
                        break;
                    }
                }
            });
            let watching = (outside_ran.clone(), timer_fired.clone());
            let messages = s.spawn(async move {
                let mut value = 0;
                while !(watching.0.get() && watching.1.get()) && started.elapsed() < GIVE_UP {
                    ping.send(value).await.unwrap();
                    value = pong_in.recv().await.unwrap();
                }
                (watching.0.get(), watching.1.get())
            });
            // Read while the messages still flow: once they stop, the scope waits
            // and everything outside runs anyway.
            let (outside_ran, timer_fired) = messages.await.unwrap();
            assert!(outside_ran, "the detached task never ran");
            assert!(timer_fired, "the timer never fired");
        })
        .await;
    });
}

/// A loop whose awaits are all uncontended locks, a read lock, a semaphore's
/// permit or a barrier of one: always ready, so each spends the budget like coro's
/// channels, and a sibling that the loop waits for gets to run.
#[test]
fn a_loop_over_uncontended_locks_lets_its_sibling_run() {
    coro::run(coro::scope(async |s| {
        let mutex = Rc::new(coro::sync::Mutex::new(false));
        let rwlock = coro::sync::RwLock::new(0u32);
        let semaphore = coro::sync::Semaphore::new(1);
        let barrier = coro::sync::Barrier::new(1);
        let flag = mutex.clone();
        s.spawn(async move { *flag.lock().await = true });
        let started = Instant::now();
        let mut turns = 0u64;
        while started.elapsed() < GIVE_UP {
            if *mutex.lock().await {
                break;
            }
            *rwlock.write().await += 1;
            let _ = *rwlock.read().await;
            let _ = *rwlock.upgradable_read().await;
            drop(semaphore.acquire().await);
            barrier.wait().await;
            turns += 1;
        }
        assert!(*mutex.lock().await, "the sibling never ran");
        assert!(turns < 128, "the loop went round {turns} times first");
    }));
}
