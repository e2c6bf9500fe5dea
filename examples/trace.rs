//! The timeline of a small program, written as a trace: a pipeline of three stages
//! on channels, a lookup on the blocking pool, and a fan-out to three replicas
//! under a timeout that cancels the two slow ones.
//!
//! `cargo run --release --example trace [DIR]` writes `DIR/coro-trace.json` (open it
//! in <https://ui.perfetto.dev> or `chrome://tracing`) and `DIR/coro-trace.svg`, a
//! picture of the same events. `DIR` defaults to the system's temporary directory.

use std::time::Duration;

use coro::channel;

#[coro::coroutine]
async fn generate(out: channel::Sender<u64>, count: u64) {
    for n in 1..=count {
        if out.send(n).await.is_err() {
            break;
        }
        coro::sleep(Duration::from_millis(1)).await;
    }
}

#[coro::coroutine]
async fn square(mut input: channel::Receiver<u64>, out: channel::Sender<u64>) {
    while let Ok(n) = input.recv().await {
        if out.send(n * n).await.is_err() {
            break;
        }
    }
}

#[coro::coroutine]
async fn sum(mut input: channel::Receiver<u64>) -> u64 {
    let mut total = 0;
    while let Ok(n) = input.recv().await {
        total += n;
    }
    total
}

/// A replica that answers after `delay`.
#[coro::coroutine]
async fn ask_replica(replica: u64, delay: Duration) -> u64 {
    coro::sleep(delay).await;
    replica
}

/// Asks every replica and waits for all of them: the timeout around it decides.
async fn ask_all() -> Vec<u64> {
    coro::scope(async |s| {
        let asked: Vec<_> = (0..3)
            .map(|replica| {
                let delay = Duration::from_millis(2 + 20 * replica);
                s.task()
                    .name(format!("replica {replica}"))
                    .spawn(ask_replica(replica, delay))
            })
            .collect();
        let mut answers = Vec::new();
        for answer in asked {
            answers.push(answer.await.expect("a replica answers"));
        }
        answers
    })
    .await
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(std::env::temp_dir, Into::into);
    let json = dir.join("coro-trace.json");
    let picture = dir.join("coro-trace.svg");
    let (total, config, answers) = coro::run(async {
        coro::debug::trace_to(&json).expect("the trace file can be written");
        coro::debug::trace_to(&picture).expect("the picture can be written");
        coro::scope(async |s| {
            let (numbers, numbers_in) = channel::bounded(2);
            let (squares, squares_in) = channel::bounded(2);
            s.task().name("generate").spawn(generate(numbers, 6));
            s.task().name("square").spawn(square(numbers_in, squares));
            let total = s.task().name("sum").spawn(sum(squares_in));
            let config = coro::spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(3));
                "config read"
            })
            .await;
            let answers = coro::timeout(Duration::from_millis(10), ask_all()).await;
            (total.await.expect("the sum finishes"), config, answers)
        })
        .await
    });
    println!("sum of squares: {total}; {config}");
    match answers {
        Ok(answers) => println!("every replica answered: {answers:?}"),
        Err(elapsed) => println!("asking the replicas: {elapsed}; the slow ones were cancelled"),
    }
    println!("trace: {}", json.display());
    println!("picture: {}", picture.display());
}
