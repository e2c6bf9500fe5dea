//! `coro::Runtime::builder()`: each setting takes effect, and bad ones are errors.
//! The settings are one test, because the blocking pool is shared by the whole
//! process; task names and spawn sites are another.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn interleaving(runtime: &coro::Runtime) -> Vec<&'static str> {
    runtime.run(coro::scope(async |s| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let (tx, mut rx) = coro::channel::unbounded();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        let sibling = log.clone();
        s.spawn(async move { sibling.borrow_mut().push("sibling") });
        rx.recv().await.unwrap();
        log.borrow_mut().push("first");
        rx.recv().await.unwrap();
        log.borrow_mut().push("second");
        s.spawn(async {}).await.unwrap();
        log.take()
    }))
}

#[test]
fn settings_take_effect_and_bad_ones_are_errors() {
    let default = coro::Runtime::builder().build().unwrap();
    assert_eq!(interleaving(&default), ["first", "second", "sibling"]);
    let tight = coro::Runtime::builder().budget(1).build().unwrap();
    assert_eq!(interleaving(&tight), ["first", "sibling", "second"]);
    // The runtime is kept and reused; the budget is back to the default after it.
    assert_eq!(interleaving(&tight), ["first", "sibling", "second"]);
    assert_eq!(interleaving(&default), ["first", "second", "sibling"]);

    let one_thread = coro::Runtime::builder()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    one_thread.run(coro::scope(async |s| {
        for _ in 0..4 {
            let (running, most) = (running.clone(), most.clone());
            s.spawn(coro::spawn_blocking(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
            }));
        }
    }));
    assert_eq!(most.load(Ordering::SeqCst), 1);

    for (builder, setting) in [
        (coro::Runtime::builder().budget(0), "budget"),
        (
            coro::Runtime::builder().max_blocking_threads(0),
            "max_blocking_threads",
        ),
        (
            coro::Runtime::builder().blocking_idle_timeout(Duration::ZERO),
            "blocking_idle_timeout",
        ),
    ] {
        let error = builder.build().unwrap_err();
        assert!(error.to_string().contains(setting), "{error}");
    }
}

#[test]
fn a_join_error_names_the_task_and_where_it_was_spawned() {
    coro::run(coro::supervisor_scope(async |s| {
        let line = line!() + 1;
        let failed = s.task().name("fetch").spawn(async { panic!("refused") });
        let error = failed.await.unwrap_err();
        let at = error.spawned_at().expect("a spawn site");
        assert_eq!((at.file(), at.line()), (file!(), line));
        assert_eq!(
            error.to_string(),
            format!("task `fetch` (spawned at {at}) panicked: refused")
        );
        let line = line!() + 1;
        let detached = coro::spawn_detached(async { panic!("lost") });
        let at = detached.await.unwrap_err().spawned_at().unwrap();
        assert_eq!((at.file(), at.line()), (file!(), line));
        let line = line!() + 1;
        let cancelled = s.spawn(std::future::pending::<()>());
        cancelled.cancel();
        let error = cancelled.await.unwrap_err();
        assert_eq!(error.spawned_at().map(|at| at.line()), Some(line));
        assert!(error.to_string().ends_with("was cancelled"));
    }));
}

#[test]
fn a_name_stays_with_its_task_and_never_passes_to_the_next_one() {
    // Names are kept beside the tasks, by where each task sits in memory: a task
    // that takes a finished one's place must not inherit its name.
    coro::run(coro::scope(async |s| {
        for round in 0..100 {
            let named = s.task().name(format!("job {round}")).spawn(async {});
            assert_eq!(
                named.name().as_deref(),
                Some(format!("job {round}").as_str())
            );
            named.await.unwrap();
            for _ in 0..3 {
                let unnamed = s.spawn(async {});
                assert_eq!(unnamed.name(), None);
                unnamed.await.unwrap();
            }
        }
        let renamed = s.task().name("first").spawn(async {});
        let tree = coro::debug::dump();
        let task = tree.tasks().next().expect("the named task");
        assert_eq!(task.name(), Some("first"));
        renamed.await.unwrap();
    }));
}
