//! An echo server and 1,000 concurrent clients on localhost, all on one thread.
//!
//! The server accepts in a `try_scope` of its own, one child per connection. Each
//! client checks its echoes, reports, then waits on its socket. Once every client
//! has reported, the server's scope is cancelled through its cancel handle: every
//! connection task is dropped, which closes its socket, and each client sees its
//! connection end. `cargo run --release --example echo -- --clients N --rounds R`
//! changes the sizes (each client needs two file descriptors).
//!
//! At most 64 clients connect at once (a `coro::sync::Semaphore`): the listener's
//! backlog holds 128 connections not yet accepted, and a connection the kernel
//! drops past it is retried only a second later.

use std::net::SocketAddr;

use async_net::{TcpListener, TcpStream};
use futures::{AsyncReadExt, AsyncWriteExt};

/// One connection: echoes what it reads until the client goes.
#[coro::coroutine]
async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Accepts until its scope is cancelled.
async fn serve(listener: TcpListener, cancel: coro::channel::OneshotSender<coro::CancelHandle>) {
    let served: Result<(), coro::Cancelled> = coro::try_scope(async |connections| {
        let _ = cancel.send(connections.cancel_handle());
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            connections.spawn(async move {
                let _ = echo(stream).await; // a client that resets is its own business
                Ok::<(), coro::Cancelled>(())
            });
        }
    })
    .await;
    assert_eq!(served, Err(coro::Cancelled));
}

/// Checks `rounds` echoes, reports, then waits for the server to close the
/// connection; says whether it did.
#[coro::coroutine]
async fn client(
    addr: SocketAddr,
    id: u32,
    rounds: u32,
    connecting: &coro::sync::Semaphore,
    done: coro::channel::Sender<u32>,
) -> bool {
    let permit = connecting.acquire().await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    drop(permit);
    let mut reply = [0u8; 8];
    for round in 0..rounds {
        let message = format!("{id:04}{round:04}");
        stream.write_all(message.as_bytes()).await.unwrap();
        stream.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, message.as_bytes(), "client {id} got another's echo");
    }
    done.send(rounds).await.unwrap();
    // The server closes the connection when its scope is cancelled: end of stream,
    // or a reset.
    let mut rest = [0u8; 1];
    matches!(stream.read(&mut rest).await, Ok(0) | Err(_))
}

fn arg(name: &str, default: u32) -> u32 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|at| args.get(at + 1)?.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let (clients, rounds) = (arg("--clients", 1000), arg("--rounds", 10));
    let started = std::time::Instant::now();
    // Borrowed by the clients, so made outside the scope that owns them.
    let connecting = &coro::sync::Semaphore::new(64);
    let (echoed, closed) = coro::run(coro::scope(async |s| {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind localhost");
        let addr = listener.local_addr().unwrap();
        let (cancel_tx, cancel_rx) = coro::channel::oneshot();
        let server = s.spawn(serve(listener, cancel_tx));
        let cancel_server = cancel_rx.await.expect("the server started");
        let (done_tx, mut done_rx) = coro::channel::unbounded();
        let handles: Vec<_> = (0..clients)
            .map(|id| s.spawn(client(addr, id, rounds, connecting, done_tx.clone())))
            .collect();
        let mut echoed = 0;
        for _ in 0..clients {
            echoed += done_rx.recv().await.unwrap();
        }
        cancel_server.cancel();
        server.await.unwrap();
        let mut closed = 0;
        for handle in handles {
            closed += handle.await.unwrap() as u32;
        }
        (echoed, closed)
    }));
    println!("{clients} clients, {rounds} round trips each: {echoed} echoes checked");
    println!("server scope cancelled: {closed} of {clients} connections closed");
    println!("in {:?}", started.elapsed());
}
