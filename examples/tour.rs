//! A tour of coro: a generator, a coroutine with resume arguments, an async
//! generator, and structured concurrency: a scope whose child is cancelled, and a
//! timeout.
//!
//! Run it with `cargo run --release --example tour`.

use std::pin::pin;
use std::time::{Duration, Instant};

use coro::{Coroutine, CoroutineState};

/// A generator: `yield_!` hands out the next item of an `Iterator`.
#[coro::coroutine]
fn fibonacci() -> impl Iterator<Item = u64> {
    let (mut a, mut b) = (0, 1);
    loop {
        yield_!(a);
        (a, b) = (b, a + b);
    }
}

/// A coroutine with resume arguments: each `yield_!` evaluates to what the caller
/// passes to the next `resume`.
#[coro::coroutine]
fn running_average() -> impl Coroutine<f64, Yield = f64, Return = usize> {
    let (mut sum, mut count) = (0.0, 0);
    loop {
        let sample = yield_!(if count == 0 { 0.0 } else { sum / count as f64 });
        if sample < 0.0 {
            return count;
        }
        sum += sample;
        count += 1;
    }
}

/// An async generator: awaits and yields in one body.
#[coro::coroutine]
fn countdown(from: u32) -> impl coro::Stream<Item = String> {
    for n in (1..=from).rev() {
        let label = std::future::ready(format!("{n}...")).await;
        yield_!(label);
    }
    yield_!("liftoff".to_string());
}

/// A suspend function: `coro::sleep` suspends the task, it does not block the thread.
#[coro::coroutine]
async fn fetch(id: u32, millis: u64) -> String {
    coro::sleep(Duration::from_millis(millis)).await;
    format!("record {id}")
}

fn main() {
    let first: Vec<u64> = fibonacci().take(10).collect();
    println!("fibonacci: {first:?}");

    let mut average = pin!(running_average());
    average.as_mut().resume(0.0); // starts the body; the first argument is dropped
    for sample in [3.0, 5.0, 10.0] {
        if let CoroutineState::Yielded(mean) = average.as_mut().resume(sample) {
            println!("after {sample}: mean {mean:.2}");
        }
    }
    if let CoroutineState::Complete(count) = average.as_mut().resume(-1.0) {
        println!("running_average finished after {count} samples");
    }

    coro::run(async {
        let mut stream = pin!(countdown(3));
        let mut said = Vec::new();
        while let Some(word) =
            std::future::poll_fn(|cx| coro::Stream::poll_next(stream.as_mut(), cx)).await
        {
            said.push(word);
        }
        println!("countdown: {}", said.join(" "));

        // Structured concurrency: the scope returns when every child is done.
        let start = Instant::now();
        let (fast, slow_was_cancelled) = coro::scope(async |s| {
            let fast = s.spawn(fetch(1, 20));
            let slow = s.spawn(fetch(2, 10_000));
            let fast = fast.await.unwrap();
            slow.cancel(); // the slow call is dropped, with everything it owns
            (fast, slow.await.unwrap_err().is_cancelled())
        })
        .await;
        println!(
            "scope: got {fast:?}; slow child cancelled: {slow_was_cancelled}; took {:?}",
            start.elapsed()
        );

        let late = coro::timeout(Duration::from_millis(30), fetch(3, 10_000)).await;
        println!("timeout after 30 ms: {late:?}");
    });

    println!(
        "size of the fibonacci generator: {} bytes",
        std::mem::size_of_val(&fibonacci())
    );
}
