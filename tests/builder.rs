//! `coro::Runtime::builder()`: each setting takes effect, and bad ones are errors.
//! One test, because the blocking pool is shared by the whole process.

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
