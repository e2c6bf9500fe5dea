//! 100,000 timers of pseudo-random durations (0–10 ms), each in its own task, all
//! firing: coro against tokio's current-thread runtime.
//! Run pinned: `taskset -c 0 cargo bench --bench timers`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

const TIMERS: u64 = 100_000;

fn durations() -> Vec<Duration> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..TIMERS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Duration::from_micros(state % 10_000)
        })
        .collect()
}

fn coro_timers(durations: &[Duration]) -> usize {
    coro::run(coro::scope(async |s| {
        let handles: Vec<_> = durations.iter().map(|&d| s.spawn(coro::sleep(d))).collect();
        let mut fired = 0;
        for handle in handles {
            handle.await.unwrap();
            fired += 1;
        }
        fired
    }))
}

fn tokio_timers(rt: &tokio::runtime::Runtime, durations: &[Duration]) -> usize {
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for &d in durations {
            set.spawn(tokio::time::sleep(d));
        }
        let mut fired = 0;
        while let Some(done) = set.join_next().await {
            done.unwrap();
            fired += 1;
        }
        fired
    })
}

fn timers(c: &mut Criterion) {
    let durations = durations();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    assert_eq!(coro_timers(&durations), TIMERS as usize);
    assert_eq!(tokio_timers(&rt, &durations), TIMERS as usize);
    let mut group = c.benchmark_group("timers_100k");
    group.sample_size(10);
    group.bench_function("coro", |b| b.iter(|| coro_timers(&durations)));
    group.bench_function("tokio", |b| b.iter(|| tokio_timers(&rt, &durations)));
    group.finish();
}

criterion_group!(benches, timers);
criterion_main!(benches);
