//! Echo over localhost TCP: 100 connections, each making 100 round trips of 64
//! bytes, on coro (async-net sockets in coro's reactor), tokio's current-thread
//! runtime and smol, client and server on one thread. Criterion times a whole run
//! (10,000 round trips); after it, a table of round trips per second and the p50 and
//! p99 latency of one round trip, from one more run of each.
//! Run pinned: `taskset -c 0 cargo bench --bench echo`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

const CONNECTIONS: usize = 100;
const ROUNDS: usize = 100;
const MESSAGE: [u8; 64] = [7; 64];

/// Latencies of every round trip, sorted.
type Latencies = Vec<Duration>;

mod coro_side {
    use super::*;
    use async_net::{TcpListener, TcpStream};
    use futures::{AsyncReadExt, AsyncWriteExt};

    async fn serve(mut stream: TcpStream) {
        let mut buf = [0u8; 64];
        while stream.read_exact(&mut buf).await.is_ok() {
            if stream.write_all(&buf).await.is_err() {
                break;
            }
        }
    }

    async fn client(addr: SocketAddr) -> Latencies {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        let mut latencies = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let sent = Instant::now();
            stream.write_all(&MESSAGE).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
            latencies.push(sent.elapsed());
        }
        latencies
    }

    pub fn run() -> Latencies {
        coro::run(coro::scope(async |s| {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = s.spawn(async move {
                coro::scope(async |conns| {
                    for _ in 0..CONNECTIONS {
                        let (stream, _) = listener.accept().await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        conns.spawn(serve(stream));
                    }
                })
                .await
            });
            let clients: Vec<_> = (0..CONNECTIONS).map(|_| s.spawn(client(addr))).collect();
            let mut all = Vec::new();
            for client in clients {
                all.extend(client.await.unwrap());
            }
            server.await.unwrap();
            all
        }))
    }
}

mod tokio_side {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub fn run(runtime: &tokio::runtime::Runtime) -> Latencies {
        let local = tokio::task::LocalSet::new();
        local.block_on(runtime, async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::task::spawn_local(async move {
                for _ in 0..CONNECTIONS {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    tokio::task::spawn_local(async move {
                        let mut buf = [0u8; 64];
                        while stream.read_exact(&mut buf).await.is_ok() {
                            if stream.write_all(&buf).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|_| {
                    tokio::task::spawn_local(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let mut buf = [0u8; 64];
                        let mut latencies = Vec::with_capacity(ROUNDS);
                        for _ in 0..ROUNDS {
                            let sent = Instant::now();
                            stream.write_all(&MESSAGE).await.unwrap();
                            stream.read_exact(&mut buf).await.unwrap();
                            latencies.push(sent.elapsed());
                        }
                        latencies
                    })
                })
                .collect();
            let mut all = Vec::new();
            for client in clients {
                all.extend(client.await.unwrap());
            }
            server.await.unwrap();
            all
        })
    }
}

mod smol_side {
    use super::*;
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    use smol::net::{TcpListener, TcpStream};

    pub fn run() -> Latencies {
        let executor = std::rc::Rc::new(smol::LocalExecutor::new());
        let spawner = executor.clone();
        smol::block_on(executor.run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server_spawner = spawner.clone();
            let server = spawner.spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..CONNECTIONS {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    conns.push(server_spawner.spawn(async move {
                        let mut buf = [0u8; 64];
                        while stream.read_exact(&mut buf).await.is_ok() {
                            if stream.write_all(&buf).await.is_err() {
                                break;
                            }
                        }
                    }));
                }
                for conn in conns {
                    conn.await;
                }
            });
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|_| {
                    spawner.spawn(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        stream.set_nodelay(true).unwrap();
                        let mut buf = [0u8; 64];
                        let mut latencies = Vec::with_capacity(ROUNDS);
                        for _ in 0..ROUNDS {
                            let sent = Instant::now();
                            stream.write_all(&MESSAGE).await.unwrap();
                            stream.read_exact(&mut buf).await.unwrap();
                            latencies.push(sent.elapsed());
                        }
                        latencies
                    })
                })
                .collect();
            let mut all = Vec::new();
            for client in clients {
                all.extend(client.await);
            }
            server.await;
            all
        }))
    }
}

/// Round trips per second, p50 and p99, from one timed run.
fn report(name: &str, run: impl Fn() -> Latencies) -> (f64, Duration, Duration) {
    let started = Instant::now();
    let mut latencies = run();
    let elapsed = started.elapsed();
    assert_eq!(latencies.len(), CONNECTIONS * ROUNDS, "{name}");
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
    )
}

fn echo(c: &mut Criterion) {
    let tokio_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("echo_100_connections_10k_round_trips");
    group.sample_size(10);
    group.bench_function("coro", |b| b.iter(coro_side::run));
    group.bench_function("tokio current-thread", |b| {
        b.iter(|| tokio_side::run(&tokio_runtime))
    });
    group.bench_function("smol", |b| b.iter(smol_side::run));
    group.finish();

    println!("\n| runtime | round trips/s | p50 | p99 |\n|---|---:|---:|---:|");
    let rows: [(&str, &dyn Fn() -> Latencies); 3] = [
        ("coro", &coro_side::run),
        ("tokio current-thread", &|| tokio_side::run(&tokio_runtime)),
        ("smol", &smol_side::run),
    ];
    for (name, run) in rows {
        let (rate, p50, p99) = report(name, run);
        println!("| {name} | {rate:.0} | {p50:.1?} | {p99:.1?} |");
    }
}

criterion_group!(benches, echo);
criterion_main!(benches);
