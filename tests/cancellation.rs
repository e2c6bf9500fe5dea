//! Cancellation as a value: scopes cancelled from the body, a child or another
//! thread; `is_cancelled`, `ensure_active`, `timeout_at` and `deadline`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

struct LogDrop(&'static str, Rc<RefCell<Vec<&'static str>>>);

impl Drop for LogDrop {
    fn drop(&mut self) {
        self.1.borrow_mut().push(self.0);
    }
}

#[test]
fn cancelling_a_scope_cancels_its_children_now_and_later_and_the_body_goes_on() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let value = coro::run(coro::scope(async |s| {
        let guard = LogDrop("child dropped", log.clone());
        let child = s.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        coro::yield_now().await; // the child is running and waiting
        s.cancel();
        assert!(child.await.unwrap_err().is_cancelled());
        assert_eq!(*log.borrow(), ["child dropped"]);
        let late = s.spawn(async { 1 });
        assert!(
            late.await.unwrap_err().is_cancelled(),
            "a child spawned after ran"
        );
        assert!(coro::is_cancelled());
        assert_eq!(coro::ensure_active().await, Err(coro::Cancelled));
        "the body's value"
    }));
    assert_eq!(value, "the body's value");
}

#[test]
fn a_handle_from_another_thread_wakes_an_idle_scope() {
    let started = Instant::now();
    coro::run(coro::scope(async |s| {
        let handle = s.cancel_handle();
        let sleeper = s.spawn(coro::sleep(Duration::from_secs(60)));
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            handle.cancel();
        });
        assert!(sleeper.await.unwrap_err().is_cancelled());
        canceller.join().unwrap();
    }));
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_child_can_cancel_its_own_scope_and_its_siblings() {
    coro::run(coro::scope(async |s| {
        let handle = s.cancel_handle();
        let sibling = s.spawn(std::future::pending::<()>());
        let canceller = s.spawn(async move {
            coro::yield_now().await;
            handle.cancel();
        });
        assert!(sibling.await.unwrap_err().is_cancelled());
        // The canceller finished in the turn it cancelled, or was cancelled itself.
        let _ = canceller.await;
    }));
}

#[test]
fn scopes_nested_in_a_cancelled_body_see_it_and_a_sibling_scope_does_not() {
    coro::run(async {
        let cancelled_inside = coro::scope(async |outer| {
            outer.cancel();
            coro::scope(async |_| coro::is_cancelled()).await
        })
        .await;
        assert!(cancelled_inside);
        let other = coro::scope(async |_| coro::is_cancelled()).await;
        assert!(!other, "a cancelled sibling scope leaked its flag");
        assert!(!coro::is_cancelled());
    });
}

#[test]
fn a_cancelled_try_scope_drops_its_body_and_returns_cancelled() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let result: Result<(), coro::Cancelled> = coro::run(coro::try_scope(async |s| {
        let _guard = LogDrop("body dropped", log.clone());
        let child_guard = LogDrop("child dropped", log.clone());
        s.spawn(async move {
            let _guard = child_guard;
            std::future::pending::<()>().await;
            Ok(())
        });
        coro::yield_now().await;
        s.cancel();
        std::future::pending::<()>().await;
        Ok(())
    }));
    assert_eq!(result, Err(coro::Cancelled));
    let log = log.borrow();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.contains(&"body dropped") && log.contains(&"child dropped"));
}

#[test]
fn the_first_failure_wins_over_a_later_cancel() {
    let result: Result<(), String> = coro::run(coro::try_scope(async |s| {
        s.spawn(async { Err::<(), _>(String::from("failed first")) });
        coro::yield_now().await;
        Ok(())
    }));
    assert_eq!(result, Err("failed first".into()));
}

#[test]
fn ensure_active_stops_a_cpu_bound_child_of_a_cancelled_scope() {
    let iterations = coro::run(coro::scope(async |s| {
        let handle = s.cancel_handle();
        let crunch = s.spawn(async {
            let mut n = 0u64;
            while coro::ensure_active().await.is_ok() {
                n += 1;
            }
            n
        });
        s.spawn(async move {
            coro::yield_now().await;
            handle.cancel();
        });
        crunch.await
    }));
    // The child was dropped at the cancel, or saw it through `ensure_active`.
    assert!(iterations.map_or_else(|e| e.is_cancelled(), |n| n > 0));
}

#[test]
fn deadline_is_the_nearest_timeout_and_reaches_scope_children() {
    coro::run(async {
        assert_eq!(coro::deadline(), None);
        let near = Instant::now() + Duration::from_secs(5);
        let seen = coro::timeout_at(
            near,
            coro::timeout(
                Duration::from_secs(100),
                coro::scope(async |s| {
                    let child = s.spawn(async { coro::deadline() });
                    child.await.unwrap()
                }),
            ),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(seen, Some(near));
        assert_eq!(coro::deadline(), None, "the deadline outlived its timeout");
    });
}

#[test]
fn timeout_at_a_past_instant_gives_up_at_once() {
    let result = coro::run(coro::timeout_at(
        Instant::now() - Duration::from_millis(1),
        coro::sleep(Duration::from_secs(60)),
    ));
    assert!(result.is_err());
}
