//! One million concurrently suspended coroutines, each sleeping, against ten
//! thousand OS threads doing the same; resident memory per task, side by side.
//!
//! `cargo run --release --example million` (pass a task count to change the million).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Resident memory of this process, from Linux's `/proc/self/status`.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn per_task(before: Option<u64>, after: Option<u64>, tasks: usize) -> String {
    match (before, after) {
        (Some(before), Some(after)) => format!(
            "{:.0} bytes",
            after.saturating_sub(before) as f64 / tasks as f64
        ),
        _ => "unknown (no /proc/self/status)".to_string(),
    }
}

fn main() {
    let tasks: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let threads = (tasks / 100).max(1);

    let before = resident_bytes();
    let start = Instant::now();
    let (suspended, rss_tasks) = coro::run(coro::scope(async |s| {
        for _ in 0..tasks {
            s.spawn(coro::sleep(Duration::from_millis(1500)));
        }
        coro::yield_now().await; // every task has started and is now suspended
        coro::yield_now().await;
        (tasks, resident_bytes())
    }));
    let coroutine_time = start.elapsed();
    let coroutine_memory = per_task(before, rss_tasks, suspended);

    let before = resident_bytes();
    let start = Instant::now();
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait(); // every thread is running
                std::thread::sleep(Duration::from_millis(1500));
            })
        })
        .collect();
    barrier.wait();
    let rss_threads = resident_bytes();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let thread_time = start.elapsed();
    let thread_memory = per_task(before, rss_threads, threads);

    println!(
        "{:<28} {:>12} {:>22} {:>12}",
        "", "tasks", "resident memory each", "total time"
    );
    println!(
        "{:<28} {:>12} {:>22} {:>12.2?}",
        "coro tasks (coro::sleep)", tasks, coroutine_memory, coroutine_time
    );
    println!(
        "{:<28} {:>12} {:>22} {:>12.2?}",
        "OS threads (thread::sleep)", threads, thread_memory, thread_time
    );
    println!(
        "(for comparison: Go starts a goroutine with about 2 KB of stack; Rust reserves 2 MiB per spawned thread)"
    );
}
