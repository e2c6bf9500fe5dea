//! Twenty simulated network calls of 700–1400 ms each, three ways:
//! blocking sleeps on one thread (one after the other), `coro::sleep` in a scope (all
//! at once, on one thread), and a blocking API moved to `spawn_blocking`.
//!
//! `cargo run --release --example network_calls` runs at a quarter of real time
//! (175–350 ms calls); pass `--full` for the real durations, or `--scale N` to divide
//! them by N.

use std::time::{Duration, Instant};

const CALLS: u64 = 20;

/// The simulated latency of call `i`: spread over 700–1400 ms, then scaled.
fn latency(i: u64, scale: u64) -> Duration {
    Duration::from_millis(700 + (i * 37 % 701)) / scale as u32
}

fn blocking_call(i: u64, scale: u64) -> u64 {
    std::thread::sleep(latency(i, scale));
    i * 10
}

#[coro::coroutine]
async fn suspending_call(i: u64, scale: u64) -> u64 {
    coro::sleep(latency(i, scale)).await;
    i * 10
}

/// Waits for every call, in order, and adds up their results.
async fn sum_of(calls: Vec<coro::JoinHandle<u64>>) -> u64 {
    let mut sum = 0;
    for call in calls {
        sum += call.await.unwrap();
    }
    sum
}

fn scale_from_args() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--full") {
        return 1;
    }
    match args.iter().position(|a| a == "--scale") {
        Some(at) => args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .expect("--scale takes a positive number"),
        None => 4,
    }
}

fn main() {
    let scale = scale_from_args();
    let longest = (0..CALLS).map(|i| latency(i, scale)).max().unwrap();
    println!(
        "{CALLS} calls of {:?}..{:?} each (scale 1/{scale})",
        latency(0, scale),
        longest
    );

    let start = Instant::now();
    let sequential: u64 = (0..CALLS).map(|i| blocking_call(i, scale)).sum();
    let blocking_time = start.elapsed();
    println!(
        "blocking, one thread:     sum {sequential}, {blocking_time:?} (the sum of the latencies)"
    );

    let start = Instant::now();
    let concurrent = coro::run(coro::scope(async |s| {
        sum_of(
            (0..CALLS)
                .map(|i| s.spawn(suspending_call(i, scale)))
                .collect(),
        )
        .await
    }));
    let suspending_time = start.elapsed();
    println!(
        "coro::sleep, one thread:  sum {concurrent}, {suspending_time:?} (about the longest call)"
    );

    let start = Instant::now();
    let pooled = coro::run(coro::scope(async |s| {
        let calls =
            (0..CALLS).map(|i| s.spawn(coro::spawn_blocking(move || blocking_call(i, scale))));
        sum_of(calls.collect()).await
    }));
    let pooled_time = start.elapsed();
    println!(
        "spawn_blocking pool:      sum {pooled}, {pooled_time:?} (blocking API, off the executor thread)"
    );

    assert_eq!(sequential, concurrent);
    assert_eq!(sequential, pooled);
    println!(
        "speed-up over blocking: coro::sleep {:.1}x, spawn_blocking {:.1}x",
        blocking_time.as_secs_f64() / suspending_time.as_secs_f64(),
        blocking_time.as_secs_f64() / pooled_time.as_secs_f64()
    );
}
