//! Coroutines against threads: the same jobs — wait 100 ms, then add up some numbers — run
//! with a coroutine per job on one thread, then with a thread per job. Time and
//! resident memory are printed for both.
//!
//! `cargo run --release --example threads_vs_coroutines` (pass a job count; default
//! 10,000).

use std::time::{Duration, Instant};

fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn work(job: u64) -> u64 {
    (0..100).map(|i| i * job % 7).sum()
}

fn main() {
    let jobs: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let wait = Duration::from_millis(100);

    let rss_before = resident_kib();
    let start = Instant::now();
    let (by_coroutines, peak_coroutines) = coro::run(coro::scope(async |s| {
        let handles: Vec<_> = (0..jobs)
            .map(|job| {
                s.spawn(async move {
                    coro::sleep(wait).await;
                    work(job)
                })
            })
            .collect();
        coro::yield_now().await;
        let peak = resident_kib();
        let mut total = 0;
        for handle in handles {
            total += handle.await.unwrap();
        }
        (total, peak)
    }));
    let coroutine_time = start.elapsed();
    let rss = resident_kib();
    let start = Instant::now();
    let handles: Vec<_> = (0..jobs)
        .map(|job| {
            std::thread::spawn(move || {
                std::thread::sleep(wait);
                work(job)
            })
        })
        .collect();
    let peak_threads = resident_kib();
    let by_threads: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let thread_time = start.elapsed();

    assert_eq!(by_threads, by_coroutines);

    let growth = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) => format!(
            "{} KiB ({:.1} KiB per job)",
            a.saturating_sub(b),
            a.saturating_sub(b) as f64 / jobs as f64
        ),
        _ => "unknown".to_string(),
    };
    println!("{jobs} jobs, each waiting {wait:?}; results agree ({by_threads})");
    println!(
        "thread per job:    {thread_time:>10.2?}, memory growth {}",
        growth(rss, peak_threads)
    );
    println!(
        "coroutine per job: {coroutine_time:>10.2?}, memory growth {}",
        growth(rss_before, peak_coroutines)
    );
}
