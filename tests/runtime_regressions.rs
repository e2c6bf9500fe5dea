//! Runtime bugs found by probing, each kept as the test that showed it. A test that
//! could hang runs its scenario on a thread and fails, instead of hanging, when the
//! scenario has not finished long after it should have.

use std::sync::mpsc;
use std::time::Duration;

/// Runs `scenario` on its own thread; panics if it has not returned within `limit`
/// (a hang), or re-raises its panic.
fn finishes_within<T: Send + 'static>(
    limit: Duration,
    scenario: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(scenario());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the scenario hung"),
    }
}

/// An idle pool thread is not a promise that it will take every queued job: a
/// burst gets a thread per waiting job.
#[test]
fn a_burst_of_blocking_jobs_gets_a_thread_each() {
    finishes_within(Duration::from_secs(60), || {
        coro::run(coro::spawn_blocking(|| ()));
        std::thread::sleep(Duration::from_millis(300)); // the thread is now idle
        coro::run(async {
            let (tx, rx) = mpsc::channel::<()>();
            let first = coro::spawn_blocking(move || rx.recv().is_ok());
            let second = coro::spawn_blocking(move || {
                let _ = tx.send(());
            });
            assert!(first.await, "the first job saw the second one's message");
            second.await;
        });
    });
}

#[test]
fn sixteen_blocking_jobs_on_one_barrier_all_run_at_once() {
    finishes_within(Duration::from_secs(60), || {
        // Eight warm threads: eight jobs that only finish together.
        let warm = std::sync::Arc::new(std::sync::Barrier::new(8));
        coro::run(async {
            let jobs: Vec<_> = (0..8)
                .map(|_| {
                    let warm = warm.clone();
                    coro::spawn_blocking(move || {
                        warm.wait();
                    })
                })
                .collect();
            for job in jobs {
                job.await;
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
        let leaders = coro::run(async {
            let jobs: Vec<_> = (0..16)
                .map(|_| {
                    let barrier = barrier.clone();
                    coro::spawn_blocking(move || barrier.wait().is_leader())
                })
                .collect();
            let mut leaders = 0;
            for job in jobs {
                leaders += usize::from(job.await);
            }
            leaders
        });
        assert_eq!(leaders, 1, "all sixteen met at the barrier");
    });
}

/// `Duration::MAX` means "never", as in tokio, in every timer.
#[test]
fn duration_max_means_never() {
    let value = coro::run(async {
        let quick = coro::timeout(Duration::MAX, async { 3 }).await;
        let raced = coro::timeout(Duration::from_millis(5), coro::sleep(Duration::MAX)).await;
        let mut every = coro::interval(Duration::MAX);
        every.tick().await; // the first tick is at once
        let second = coro::timeout(Duration::from_millis(5), every.tick()).await;
        (quick, raced.is_err(), second.is_err())
    });
    assert_eq!(value, (Ok(3), true, true));
}

/// A timer belongs to the executor it was registered with: awaited under another
/// `run`, a sleep registers again there, and dropping it touches nobody else's
/// timer.
#[test]
fn a_sleep_moved_between_runs_still_fires() {
    finishes_within(Duration::from_secs(30), || {
        let mut sleep = Box::pin(coro::sleep(Duration::from_millis(50)));
        let early = coro::run(coro::timeout(Duration::from_millis(5), sleep.as_mut()));
        assert!(early.is_err());
        coro::run(sleep.as_mut());
    });
    finishes_within(Duration::from_secs(30), || {
        let mut sleep = Box::pin(coro::sleep(Duration::from_millis(50)));
        let _ = coro::run(coro::timeout(Duration::from_millis(5), sleep.as_mut()));
        std::thread::spawn(move || coro::run(sleep.as_mut()))
            .join()
            .unwrap();
    });
}

#[test]
fn dropping_a_sleep_from_an_old_run_cancels_no_timer_of_the_new_one() {
    finishes_within(Duration::from_secs(30), || {
        let mut stale = Box::pin(coro::sleep(Duration::from_secs(60)));
        let _ = coro::run(coro::timeout(Duration::from_millis(1), stale.as_mut()));
        coro::run(async move {
            // The new run's first timer may get the same number the stale one had.
            let fresh = coro::sleep(Duration::from_millis(20));
            drop(stale);
            fresh.await;
        });
    });
}

/// Teardown of detached tasks repeats until none is left, even when a destructor
/// spawns another detached task whose destructor does the same.
#[test]
fn run_tears_down_detached_tasks_spawned_by_destructors() {
    struct Respawn(u32, std::rc::Rc<std::cell::Cell<u32>>);
    impl Drop for Respawn {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
            if self.0 > 0 {
                let next = Respawn(self.0 - 1, self.1.clone());
                coro::spawn_detached(async move {
                    let _next = next;
                    std::future::pending::<()>().await;
                });
            }
        }
    }
    let dropped = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = dropped.clone();
    coro::run(async move {
        let first = Respawn(3, counter);
        coro::spawn_detached(async move {
            let _first = first;
            std::future::pending::<()>().await;
        });
        coro::yield_now().await;
    });
    assert_eq!(dropped.get(), 4, "every generation was dropped");
}

struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A panic while a cancelled child is dropped belongs to that child's handle in a
/// supervisor scope; its siblings and the scope go on.
#[test]
fn a_panicking_destructor_of_a_cancelled_child_stays_on_its_handle_under_a_supervisor() {
    let (first, second) = coro::run(coro::supervisor_scope(async |s| {
        let a = s.spawn(async {
            let _p = PanicOnDrop("drop boom");
            std::future::pending::<()>().await
        });
        let b = s.spawn(async {
            coro::sleep(ms(20)).await;
            5
        });
        coro::yield_now().await;
        a.cancel();
        let a = a.await;
        (a, b.await.unwrap())
    }));
    let error = first.unwrap_err();
    assert!(
        error.is_panic(),
        "the handle reports the destructor's panic: {error}"
    );
    assert_eq!(second, 5);
}

/// In a plain scope, the same panic is a failure like any other: it surfaces.
#[test]
fn a_panicking_destructor_of_a_cancelled_child_fails_a_plain_scope() {
    let outcome = std::panic::catch_unwind(|| {
        coro::run(coro::scope(async |s| {
            let a = s.spawn(async {
                let _p = PanicOnDrop("drop boom");
                std::future::pending::<()>().await
            });
            coro::yield_now().await;
            a.cancel();
            let _ = a.await;
            coro::sleep(ms(5)).await;
        }))
    });
    assert_eq!(panic_text(&*outcome.unwrap_err()), "drop boom");
}

/// The first failure is the one reported, not a destructor's panic during the
/// teardown it caused.
#[test]
fn the_first_panic_is_kept_when_a_sibling_panics_while_being_cancelled() {
    let outcome = std::panic::catch_unwind(|| {
        coro::run(coro::scope(async |s| {
            s.spawn(async {
                let _p = PanicOnDrop("secondary");
                std::future::pending::<()>().await
            });
            s.spawn(async {
                coro::yield_now().await;
                panic!("original");
            });
            std::future::pending::<()>().await
        }))
    });
    assert_eq!(panic_text(&*outcome.unwrap_err()), "original");
}

/// A cancelled child's destructors run with the child's context installed, as a
/// completing child's do.
#[test]
fn a_cancelled_childs_destructor_sees_its_context() {
    struct Report(std::rc::Rc<std::cell::Cell<Option<u32>>>);
    impl Drop for Report {
        fn drop(&mut self) {
            self.0.set(coro::context::get::<u32>());
        }
    }
    let seen = std::rc::Rc::new(std::cell::Cell::new(None));
    let report = Report(seen.clone());
    // The timeout drops the scope from outside the context: only the child's own
    // inherited context can be there while it is dropped.
    let outcome = coro::run(coro::timeout(
        ms(5),
        coro::context::with(
            7u32,
            coro::scope(async |s| {
                s.spawn(async move {
                    let _report = report;
                    std::future::pending::<()>().await
                });
                std::future::pending::<()>().await
            }),
        ),
    ));
    assert!(outcome.is_err());
    assert_eq!(seen.get(), Some(7));
}

/// Another executor blocking inside `coro::run` (Kotlin's nested `runBlocking`):
/// the sleep it polls cannot count on this executor's timers, which are not
/// running, so the timer thread takes it.
#[test]
fn a_sleep_under_a_nested_block_on_completes() {
    finishes_within(Duration::from_secs(30), || {
        coro::run(async {
            futures::executor::block_on(coro::sleep(ms(20)));
            let value = futures::executor::block_on(async {
                coro::sleep(ms(5)).await;
                7
            });
            assert_eq!(value, 7);
        });
    });
}

/// One received message frees one slot, and wakes one waiting sender: with 200
/// senders blocked on a full channel, each message costs a sender poll or two,
/// not a poll of every sender.
#[test]
fn a_receive_wakes_one_waiting_sender() {
    use std::cell::Cell;
    use std::rc::Rc;
    let polls = Rc::new(Cell::new(0usize));
    let received = coro::run(coro::scope(async |s| {
        let (tx, mut rx) = coro::channel::bounded::<usize>(1);
        for i in 0..200 {
            let (tx, polls) = (tx.clone(), polls.clone());
            s.spawn(async move {
                let mut send = std::pin::pin!(tx.send(i));
                std::future::poll_fn(|cx| {
                    polls.set(polls.get() + 1);
                    send.as_mut().poll(cx)
                })
                .await
                .unwrap();
            });
        }
        drop(tx);
        coro::yield_now().await; // every sender has run once: one sent, 199 wait
        let before = polls.get();
        let mut received = 0;
        while rx.recv().await.is_ok() {
            received += 1;
        }
        let per_message = (polls.get() - before) as f64 / received as f64;
        assert!(per_message <= 2.0, "{per_message} sender polls per message");
        received
    }));
    assert_eq!(received, 200);
}

/// A send given up while the channel is full (a timeout against a stalled
/// consumer) leaves no waiter behind, and a slot handed to a send that is then
/// dropped goes to the next waiting sender.
#[test]
fn abandoned_sends_leave_nothing_and_lose_no_wake() {
    coro::run(coro::scope(async |s| {
        let (tx, mut rx) = coro::channel::bounded::<u32>(1);
        tx.try_send(0).unwrap();
        for i in 0..1000 {
            let sent = coro::timeout(Duration::ZERO, tx.send(i)).await;
            assert!(sent.is_err(), "the channel stays full");
        }
        // Two waiting senders; the first is woken by a receive, then dropped
        // before it runs: the second must still get the slot.
        let first = s.spawn({
            let tx = tx.clone();
            async move { tx.send(1).await.unwrap() }
        });
        let second = s.spawn({
            let tx = tx.clone();
            async move { tx.send(2).await.unwrap() }
        });
        coro::yield_now().await;
        assert_eq!(rx.recv().await, Ok(0));
        first.cancel();
        assert!(first.await.unwrap_err().is_cancelled());
        second.await.unwrap();
        assert_eq!(rx.recv().await, Ok(2));
    }));
}

/// A chain of scopes, each with one child that opens the next.
fn nested(
    depth: u32,
    leaf: fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = u32>>>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = u32>>> {
    if depth == 0 {
        return leaf();
    }
    Box::pin(async move {
        coro::scope(async |s| s.spawn(nested(depth - 1, leaf)).await.unwrap() + 1).await
    })
}

/// Runs `scenario` on a thread with a 2 MiB stack, the default for spawned
/// threads and tokio's workers.
fn on_a_small_stack<T: Send + 'static>(scenario: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(scenario)
        .unwrap()
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

const DEEP: u32 = 10_000;

#[test]
fn ten_thousand_nested_scopes_run_on_a_small_stack() {
    let depth = on_a_small_stack(|| {
        coro::run(nested(DEEP, || {
            Box::pin(async {
                coro::yield_now().await;
                0
            })
        }))
    });
    assert_eq!(depth, DEEP);
}

#[test]
fn ten_thousand_nested_scopes_are_cancelled_from_the_top_on_a_small_stack() {
    let outcome = on_a_small_stack(|| {
        coro::run(coro::timeout(
            ms(50),
            nested(DEEP, || Box::pin(std::future::pending())),
        ))
    });
    assert!(outcome.is_err(), "the timeout cancelled the whole chain");
}

#[test]
fn a_panic_at_the_leaf_of_ten_thousand_scopes_reaches_the_top() {
    let outcome = on_a_small_stack(|| {
        std::panic::catch_unwind(|| {
            coro::run(nested(DEEP, || {
                Box::pin(async {
                    coro::yield_now().await;
                    panic!("leaf")
                })
            }))
        })
    });
    let payload = outcome.unwrap_err();
    assert_eq!(panic_text(&*payload), "leaf");
}

/// The stack one level of nesting takes while the leaf runs (printed with
/// `--nocapture`; the README quotes it): scopes poll their children, so the
/// frame is paid once per level, and the stack grows past it on demand.
#[test]
fn the_stack_per_level_of_nesting_is_measured() {
    thread_local! {
        static AT_LEAF: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    const LEVELS: u32 = 200;
    let per_level = on_a_small_stack(|| {
        let top = stacker::remaining_stack().unwrap();
        coro::run(nested(LEVELS, || {
            Box::pin(async {
                AT_LEAF.set(stacker::remaining_stack().unwrap());
                0
            })
        }));
        (top - AT_LEAF.get()) / LEVELS as usize
    });
    println!("stack per level of nested scopes: {per_level} bytes");
    assert!(
        per_level > 0 && per_level < 64 * 1024,
        "{per_level} bytes per level"
    );
}
