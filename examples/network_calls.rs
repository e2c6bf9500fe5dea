//! Twenty calls to a service on localhost that takes 700–1400 ms to answer each,
//! three ways: blocking sockets on one thread (one after the other), async sockets in
//! a scope (all at once, on one thread), and the blocking client moved to
//! `spawn_blocking`.
//!
//! The service is real TCP: a server in this program, on its own thread and its own
//! `coro::run`, reads a request line, waits its latency with `coro::sleep`, and
//! answers. `cargo run --release --example network_calls` runs at a quarter of real
//! time (175–350 ms calls); pass `--full` for the real durations, or `--scale N` to
//! divide them by N.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_net::{TcpListener, TcpStream};
use futures::{AsyncBufReadExt, AsyncWriteExt};

const CALLS: u64 = 20;

/// The latency of call `i`: spread over 700–1400 ms, then scaled.
fn latency(i: u64, scale: u64) -> Duration {
    Duration::from_millis(700 + (i * 37 % 701)) / scale as u32
}

/// One connection: a request `i` per line, each answered with `i * 10` after call
/// `i`'s latency.
#[coro::coroutine]
async fn serve(stream: TcpStream, scale: u64) -> std::io::Result<()> {
    let mut lines = futures::io::BufReader::new(stream.clone()).lines();
    let mut writer = stream;
    while let Some(line) = futures::StreamExt::next(&mut lines).await {
        let i: u64 = line?.trim().parse().unwrap_or(0);
        coro::sleep(latency(i, scale)).await;
        writer.write_all(format!("{}\n", i * 10).as_bytes()).await?;
    }
    Ok(())
}

/// Starts the service on a thread of its own; returns its address.
fn start_server(scale: u64) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind localhost");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        coro::run(coro::scope(async |s| {
            let listener = TcpListener::try_from(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                s.spawn(serve(stream, scale));
            }
        }))
    });
    addr
}

fn blocking_call(addr: SocketAddr, i: u64) -> u64 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    writeln!(stream, "{i}").unwrap();
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).unwrap();
    answer.trim().parse().unwrap()
}

#[coro::coroutine]
async fn suspending_call(addr: SocketAddr, i: u64) -> u64 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("{i}\n").as_bytes()).await.unwrap();
    let mut answer = String::new();
    futures::io::BufReader::new(stream)
        .read_line(&mut answer)
        .await
        .unwrap();
    answer.trim().parse().unwrap()
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
    let addr = start_server(scale);
    println!(
        "{CALLS} calls to {addr}, each answered after {:?}..{:?} (scale 1/{scale})",
        latency(0, scale),
        longest
    );

    let start = Instant::now();
    let sequential: u64 = (0..CALLS).map(|i| blocking_call(addr, i)).sum();
    let blocking_time = start.elapsed();
    println!(
        "blocking sockets, one thread: sum {sequential}, {blocking_time:?} (the sum of the latencies)"
    );

    let start = Instant::now();
    let concurrent = coro::run(coro::scope(async |s| {
        sum_of(
            (0..CALLS)
                .map(|i| s.spawn(suspending_call(addr, i)))
                .collect(),
        )
        .await
    }));
    let suspending_time = start.elapsed();
    println!(
        "async sockets, one thread:    sum {concurrent}, {suspending_time:?} (about the longest call)"
    );

    let start = Instant::now();
    let pooled = coro::run(coro::scope(async |s| {
        let calls =
            (0..CALLS).map(|i| s.spawn(coro::spawn_blocking(move || blocking_call(addr, i))));
        sum_of(calls.collect()).await
    }));
    let pooled_time = start.elapsed();
    println!(
        "spawn_blocking pool:          sum {pooled}, {pooled_time:?} (blocking client, off the executor thread)"
    );

    assert_eq!(sequential, concurrent);
    assert_eq!(sequential, pooled);
    println!(
        "speed-up over blocking: async sockets {:.1}x, spawn_blocking {:.1}x",
        blocking_time.as_secs_f64() / suspending_time.as_secs_f64(),
        blocking_time.as_secs_f64() / pooled_time.as_secs_f64()
    );
}
