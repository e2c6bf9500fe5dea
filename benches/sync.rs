//! Locks under `coro::run`: async-lock's (which `coro::sync` wraps so that its
//! waits spend the budget) against tokio's `sync`, on one thread. Uncontended: 10,000 lock/unlock pairs in one task.
//! Handoff: two tasks take turns, each holding the lock across a `yield_now`, 5,000
//! times each. Run pinned: `taskset -c 0 cargo bench --bench sync`.

use std::hint::black_box;
use std::rc::Rc;

use criterion::{Criterion, criterion_group, criterion_main};

const LOCKS: u64 = 10_000;
const HANDOFFS: u64 = 5_000;

fn uncontended_async_lock() -> u64 {
    coro::run(async {
        let mutex = coro::sync::Mutex::new(0u64);
        for _ in 0..LOCKS {
            *mutex.lock().await += 1;
        }
        mutex.into_inner()
    })
}

fn uncontended_tokio() -> u64 {
    coro::run(async {
        let mutex = tokio::sync::Mutex::new(0u64);
        for _ in 0..LOCKS {
            *mutex.lock().await += 1;
        }
        mutex.into_inner()
    })
}

macro_rules! handoff {
    ($name:ident, $mutex:ty) => {
        fn $name() -> u64 {
            coro::run(coro::scope(async |s| {
                let mutex = Rc::new(<$mutex>::new(0u64));
                for _ in 0..2 {
                    let mutex = mutex.clone();
                    s.spawn(async move {
                        for _ in 0..HANDOFFS {
                            let mut guard = mutex.lock().await;
                            coro::yield_now().await;
                            *guard += 1;
                        }
                    });
                }
                s.spawn(async {}).await.unwrap();
                mutex
            }))
            .try_lock()
            .map(|guard| *guard)
            .unwrap_or(0)
        }
    };
}

handoff!(handoff_async_lock, coro::sync::Mutex<u64>);
handoff!(handoff_tokio, tokio::sync::Mutex<u64>);

fn sync(c: &mut Criterion) {
    assert_eq!(uncontended_async_lock(), LOCKS);
    assert_eq!(uncontended_tokio(), LOCKS);
    assert_eq!(handoff_async_lock(), 2 * HANDOFFS);
    assert_eq!(handoff_tokio(), 2 * HANDOFFS);
    let mut group = c.benchmark_group("mutex_uncontended_10k");
    group.bench_function("coro::sync (async-lock)", |b| {
        b.iter(|| black_box(uncontended_async_lock()))
    });
    group.bench_function("tokio::sync", |b| b.iter(|| black_box(uncontended_tokio())));
    group.finish();
    let mut group = c.benchmark_group("mutex_handoff_10k");
    group.bench_function("coro::sync (async-lock)", |b| {
        b.iter(|| black_box(handoff_async_lock()))
    });
    group.bench_function("tokio::sync", |b| b.iter(|| black_box(handoff_tokio())));
    group.finish();
}

criterion_group!(benches, sync);
criterion_main!(benches);
