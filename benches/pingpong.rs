//! Ping-pong: 10^6 messages (500,000 round trips) between two tasks on one thread,
//! over coro's channels, tokio's mpsc and async-channel. Workers: one producer and
//! four consumers sharing one bounded(16) channel, 100,000 jobs, coro against
//! async-channel (tokio has no many-consumer channel).
//! Run pinned: `taskset -c 0 cargo bench --bench pingpong`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

const ROUND_TRIPS: u64 = 500_000;

fn coro_pingpong(n: u64) -> u64 {
    coro::run(coro::scope(async |s| {
        let (ping, mut ping_in) = coro::channel::bounded::<u64>(1);
        let (pong, mut pong_in) = coro::channel::bounded::<u64>(1);
        s.spawn(async move {
            while let Ok(value) = ping_in.recv().await {
                if pong.send(value + 1).await.is_err() {
                    break;
                }
            }
        });
        let mut value = 0;
        for _ in 0..n {
            ping.send(value).await.unwrap();
            value = pong_in.recv().await.unwrap();
        }
        value
    }))
}

fn tokio_pingpong(rt: &tokio::runtime::Runtime, n: u64) -> u64 {
    rt.block_on(async move {
        let (ping, mut ping_in) = tokio::sync::mpsc::channel::<u64>(1);
        let (pong, mut pong_in) = tokio::sync::mpsc::channel::<u64>(1);
        let echo = tokio::spawn(async move {
            while let Some(value) = ping_in.recv().await {
                if pong.send(value + 1).await.is_err() {
                    break;
                }
            }
        });
        let mut value = 0;
        for _ in 0..n {
            ping.send(value).await.unwrap();
            value = pong_in.recv().await.unwrap();
        }
        drop(ping);
        echo.await.unwrap();
        value
    })
}

fn async_channel_pingpong(n: u64) -> u64 {
    let executor = async_executor::LocalExecutor::new();
    futures::executor::block_on(executor.run(async {
        let (ping, ping_in) = async_channel::bounded::<u64>(1);
        let (pong, pong_in) = async_channel::bounded::<u64>(1);
        let echo = executor.spawn(async move {
            while let Ok(value) = ping_in.recv().await {
                if pong.send(value + 1).await.is_err() {
                    break;
                }
            }
        });
        let mut value = 0;
        for _ in 0..n {
            ping.send(value).await.unwrap();
            value = pong_in.recv().await.unwrap();
        }
        drop(ping);
        echo.await;
        value
    }))
}

const JOBS: u64 = 100_000;

fn coro_workers(jobs: u64) -> u64 {
    coro::run(coro::scope(async |s| {
        let (tx, rx) = coro::channel::bounded::<u64>(16);
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let mut rx = rx.clone();
                s.spawn(async move {
                    let mut sum = 0;
                    while let Ok(job) = rx.recv().await {
                        sum += job;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        for job in 0..jobs {
            tx.send(job).await.unwrap();
        }
        drop(tx);
        let mut total = 0;
        for worker in workers {
            total += worker.await.unwrap();
        }
        total
    }))
}

fn async_channel_workers(jobs: u64) -> u64 {
    let executor = async_executor::LocalExecutor::new();
    futures::executor::block_on(executor.run(async {
        let (tx, rx) = async_channel::bounded::<u64>(16);
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                executor.spawn(async move {
                    let mut sum = 0;
                    while let Ok(job) = rx.recv().await {
                        sum += job;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        for job in 0..jobs {
            tx.send(job).await.unwrap();
        }
        drop(tx);
        let mut total = 0;
        for worker in workers {
            total += worker.await;
        }
        total
    }))
}

fn pingpong(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(coro_pingpong(1000), 1000);
    assert_eq!(tokio_pingpong(&rt, 1000), 1000);
    assert_eq!(async_channel_pingpong(1000), 1000);
    let mut group = c.benchmark_group("pingpong_1m_messages");
    group.sample_size(10);
    group.bench_function("coro", |b| b.iter(|| coro_pingpong(black_box(ROUND_TRIPS))));
    group.bench_function("tokio mpsc", |b| {
        b.iter(|| tokio_pingpong(&rt, black_box(ROUND_TRIPS)))
    });
    group.bench_function("async-channel", |b| {
        b.iter(|| async_channel_pingpong(black_box(ROUND_TRIPS)))
    });
    group.finish();

    let expected = JOBS * (JOBS - 1) / 2;
    assert_eq!(coro_workers(JOBS), expected);
    assert_eq!(async_channel_workers(JOBS), expected);
    let mut group = c.benchmark_group("workers_100k_jobs");
    group.sample_size(10);
    group.bench_function("coro", |b| b.iter(|| coro_workers(black_box(JOBS))));
    group.bench_function("async-channel", |b| {
        b.iter(|| async_channel_workers(black_box(JOBS)))
    });
    group.finish();
}

criterion_group!(benches, pingpong);
criterion_main!(benches);
