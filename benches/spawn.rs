//! Spawn, run and join 100,000 tiny tasks; and a task yielding 100,000 times.
//! coro's scope against tokio (`LocalSet`, `JoinSet`), async-executor's
//! `LocalExecutor` and futures' `LocalPool`, all on one thread.
//! Run pinned: `taskset -c 0 cargo bench --bench spawn`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::task::LocalSpawnExt;

const TASKS: u64 = 100_000;
const YIELDS: u64 = 100_000;

fn expected() -> u64 {
    (0..TASKS).sum()
}

fn coro_spawn(n: u64) -> u64 {
    coro::run(coro::scope(async |s| {
        let handles: Vec<_> = (0..n).map(|i| s.spawn(async move { i })).collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    }))
}

fn tokio_local_set(rt: &tokio::runtime::Runtime, n: u64) -> u64 {
    let local = tokio::task::LocalSet::new();
    rt.block_on(local.run_until(async move {
        let handles: Vec<_> = (0..n)
            .map(|i| tokio::task::spawn_local(async move { i }))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    }))
}

fn tokio_join_set(rt: &tokio::runtime::Runtime, n: u64) -> u64 {
    rt.block_on(async move {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            set.spawn(async move { i });
        }
        let mut sum = 0;
        while let Some(value) = set.join_next().await {
            sum += value.unwrap();
        }
        sum
    })
}

fn async_executor_spawn(n: u64) -> u64 {
    let executor = async_executor::LocalExecutor::new();
    futures::executor::block_on(executor.run(async {
        let handles: Vec<_> = (0..n).map(|i| executor.spawn(async move { i })).collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await;
        }
        sum
    }))
}

fn local_pool_spawn(n: u64) -> u64 {
    let mut pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    pool.run_until(async move {
        let handles: Vec<_> = (0..n)
            .map(|i| spawner.spawn_local_with_handle(async move { i }).unwrap())
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await;
        }
        sum
    })
}

fn spawn(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let expected = expected();
    assert_eq!(coro_spawn(TASKS), expected);
    assert_eq!(tokio_local_set(&rt, TASKS), expected);
    assert_eq!(tokio_join_set(&rt, TASKS), expected);
    assert_eq!(async_executor_spawn(TASKS), expected);
    assert_eq!(local_pool_spawn(TASKS), expected);
    let mut group = c.benchmark_group("spawn_join_100k");
    group.sample_size(20);
    group.bench_function("coro", |b| b.iter(|| coro_spawn(black_box(TASKS))));
    group.bench_function("tokio LocalSet", |b| {
        b.iter(|| tokio_local_set(&rt, black_box(TASKS)))
    });
    group.bench_function("tokio JoinSet", |b| {
        b.iter(|| tokio_join_set(&rt, black_box(TASKS)))
    });
    group.bench_function("async-executor", |b| {
        b.iter(|| async_executor_spawn(black_box(TASKS)))
    });
    group.bench_function("futures LocalPool", |b| {
        b.iter(|| local_pool_spawn(black_box(TASKS)))
    });
    group.finish();

    let mut group = c.benchmark_group("yield_now_100k");
    group.sample_size(20);
    group.bench_function("coro", |b| {
        b.iter(|| {
            coro::run(async {
                for _ in 0..black_box(YIELDS) {
                    coro::yield_now().await;
                }
            })
        })
    });
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..black_box(YIELDS) {
                    tokio::task::yield_now().await;
                }
            })
        })
    });
    group.bench_function("async-executor", |b| {
        b.iter(|| {
            let executor = async_executor::LocalExecutor::new();
            futures::executor::block_on(executor.run(executor.spawn(async {
                for _ in 0..black_box(YIELDS) {
                    coro::yield_now().await; // wakes itself and returns Pending once: runs on any executor
                }
            })))
        })
    });
    group.finish();
}

criterion_group!(benches, spawn);
criterion_main!(benches);
