//! Async cleanup on cancellation: `coro::on_cancel` guards run their futures to
//! completion, driven by the innermost surviving scope, before it completes.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

type Log = Rc<RefCell<Vec<String>>>;

fn note(log: &Log, what: impl Into<String>) {
    log.borrow_mut().push(what.into());
}

/// A guard whose cleanup awaits twice before it notes `name`.
fn goodbye(log: &Log, name: &'static str) -> coro::OnCancel {
    let log = log.clone();
    coro::on_cancel(async move {
        coro::sleep(Duration::from_millis(1)).await;
        coro::yield_now().await;
        note(&log, format!("{name} cleaned up"));
    })
}

#[test]
fn a_cancelled_task_three_levels_deep_is_cleaned_up_before_the_top_scope_returns() {
    let log: Log = Rc::default();
    coro::run(coro::scope(async |top| {
        let log2 = log.clone();
        let middle = top.spawn(async move {
            coro::scope(async |mid| {
                let log3 = log2.clone();
                mid.spawn(async move {
                    coro::scope(async |low| {
                        let log4 = log3.clone();
                        low.spawn(async move {
                            let _guard = goodbye(&log4, "deepest");
                            std::future::pending::<()>().await
                        });
                        let _guard = goodbye(&log3, "low body");
                        std::future::pending::<()>().await
                    })
                    .await
                });
                std::future::pending::<()>().await
            })
            .await
        });
        for _ in 0..4 {
            coro::yield_now().await; // every level is running and waiting
        }
        middle.cancel();
        assert!(middle.await.unwrap_err().is_cancelled());
    }));
    let mut log = log.take();
    log.sort();
    assert_eq!(log, ["deepest cleaned up", "low body cleaned up"]);
}

#[test]
fn a_timeout_that_expires_runs_the_cleanup_of_what_it_cancelled() {
    let log: Log = Rc::default();
    let result = coro::run(coro::scope(async |_| {
        coro::timeout(Duration::from_millis(2), async {
            let _guard = goodbye(&log, "timed out work");
            coro::sleep(Duration::from_secs(60)).await;
        })
        .await
    }));
    assert!(result.is_err());
    assert_eq!(*log.borrow(), ["timed out work cleaned up"]);
}

#[test]
fn a_cleanup_is_not_cancelled_by_the_cancellation_that_started_it_but_may_time_out() {
    let log: Log = Rc::default();
    coro::run(coro::scope(async |s| {
        s.cancel_handle(); // the scope keeps cancelling its children every turn
        let (slow_log, bounded_log) = (log.clone(), log.clone());
        s.spawn(async move {
            let _slow = coro::on_cancel(async move {
                for _ in 0..5 {
                    coro::sleep(Duration::from_millis(1)).await;
                }
                note(&slow_log, "slow cleanup finished");
            });
            let _bounded = coro::on_cancel(async move {
                let gave_up = coro::timeout(Duration::from_millis(2), std::future::pending::<()>())
                    .await
                    .is_err();
                note(&bounded_log, format!("bounded cleanup gave up: {gave_up}"));
            });
            std::future::pending::<()>().await
        });
        coro::yield_now().await;
        s.cancel();
    }));
    let mut log = log.take();
    log.sort();
    assert_eq!(
        log,
        ["bounded cleanup gave up: true", "slow cleanup finished"]
    );
}

#[test]
#[should_panic(expected = "cleanup failed")]
fn a_cleanup_that_panics_fails_its_scope() {
    coro::run(coro::scope(async |s| {
        let task = s.spawn(async {
            let _guard = coro::on_cancel(async { panic!("cleanup failed") });
            std::future::pending::<()>().await
        });
        coro::yield_now().await;
        task.cancel();
        coro::sleep(Duration::from_millis(5)).await;
    }));
}

#[test]
fn a_guard_on_the_normal_path_or_disarmed_runs_nothing() {
    let log: Log = Rc::default();
    coro::run(coro::scope(async |s| {
        let log2 = log.clone();
        s.spawn(async move {
            let _guard = goodbye(&log2, "finished task");
            coro::yield_now().await;
        });
        let log3 = log.clone();
        let disarmed = s.spawn(async move {
            let guard = goodbye(&log3, "disarmed task");
            guard.disarm();
            std::future::pending::<()>().await
        });
        coro::yield_now().await;
        disarmed.cancel();
    }));
    assert!(log.borrow().is_empty(), "{:?}", log.borrow());
}

#[test]
fn a_sibling_panic_cleans_up_the_siblings_it_cancels_then_resurfaces() {
    let log: Log = Rc::default();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        coro::run(coro::scope(async |s| {
            let log2 = log.clone();
            s.spawn(async move {
                let _guard = goodbye(&log2, "sibling");
                std::future::pending::<()>().await
            });
            s.spawn(async {
                coro::yield_now().await;
                panic!("boom")
            });
            std::future::pending::<()>().await
        }))
    }));
    assert!(outcome.is_err());
    assert_eq!(*log.borrow(), ["sibling cleaned up"]);
}
