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
