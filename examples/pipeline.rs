//! Goroutine-style stages connected by channels — generate, square, sum — and a
//! cancellation that tears the whole pipeline down cleanly: every stage's
//! destructor runs, no task is left behind.
//!
//! `cargo run --release --example pipeline`

use std::time::Duration;

use coro::channel;

/// Says when a stage ends, however it ends.
struct Stage(&'static str);

impl Drop for Stage {
    fn drop(&mut self) {
        println!("stage {} stopped", self.0);
    }
}

async fn generate(out: channel::Sender<u64>, pause: Duration) {
    let _stage = Stage("generate");
    let mut n = 1;
    while out.send(n).await.is_ok() {
        n += 1;
        coro::sleep(pause).await;
    }
}

async fn square(mut input: channel::Receiver<u64>, out: channel::Sender<u64>) {
    let _stage = Stage("square");
    while let Ok(n) = input.recv().await {
        if out.send(n * n).await.is_err() {
            break;
        }
    }
}

async fn sum_until(mut input: channel::Receiver<u64>, limit: u64) -> u64 {
    let _stage = Stage("sum");
    let mut total = 0;
    while let Ok(n) = input.recv().await {
        total += n;
        if total > limit {
            break;
        }
    }
    total
}

fn main() {
    // A pipeline that ends by itself: the sum stage stops, and the others see their
    // channel close.
    let total = coro::run(coro::scope(async |s| {
        let (numbers, numbers_in) = channel::bounded(4);
        let (squares, squares_in) = channel::bounded(4);
        s.spawn(generate(numbers, Duration::ZERO));
        s.spawn(square(numbers_in, squares));
        s.spawn(sum_until(squares_in, 1000)).await.unwrap()
    }));
    println!("sum of squares past 1000: {total}");

    // A pipeline that runs forever, cancelled from outside after 20 ms: the timeout
    // drops the scope, which drops every stage.
    let outcome = coro::run(coro::timeout(
        Duration::from_millis(20),
        coro::scope(async |s| {
            let (numbers, numbers_in) = channel::bounded(4);
            let (squares, squares_in) = channel::bounded(4);
            s.spawn(generate(numbers, Duration::from_millis(1)));
            s.spawn(square(numbers_in, squares));
            s.spawn(sum_until(squares_in, u64::MAX)).await.unwrap()
        }),
    ));
    println!(
        "endless pipeline: {}",
        if outcome.is_err() {
            "cancelled by the timeout"
        } else {
            "finished"
        }
    );
}
