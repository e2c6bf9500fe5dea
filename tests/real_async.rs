//! Real async code with `#[coro::coroutine]` on every function: an echo server and
//! its clients on async-net, coro's channels, an async-lock guard held across an
//! await, a stream adapter over another stream, and `&mut self` methods. Each of
//! these borrows a local or a parameter across a suspension point, as ordinary
//! async code does on nearly every line, so the macro picks its pinned lowering.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use coro::Stream;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{StreamExt, stream};

/// Reads until the peer closes, writing back every chunk.
#[coro::coroutine]
async fn echo_connection(mut stream: TcpStream) -> std::io::Result<usize> {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
}

/// Serves `connections` clients, one task each, and returns the bytes echoed.
#[coro::coroutine]
async fn serve(listener: TcpListener, connections: usize) -> std::io::Result<usize> {
    let totals = coro::scope(async |s| {
        let mut handles = Vec::new();
        for _ in 0..connections {
            let (stream, _) = listener.accept().await?;
            handles.push(s.spawn(echo_connection(stream)));
        }
        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("a connection task panicked")?;
        }
        Ok::<usize, std::io::Error>(total)
    })
    .await?;
    Ok(totals)
}

#[coro::coroutine]
async fn client(addr: std::net::SocketAddr, id: usize) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let message = format!("hello from {id}");
    stream.write_all(message.as_bytes()).await?;
    stream.close().await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    Ok(reply)
}

#[test]
fn an_echo_server_and_its_clients_run_under_the_attribute() {
    let replies = coro::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        coro::scope(async |s| {
            let server = s.spawn(serve(listener, 8));
            let clients: Vec<_> = (0..8).map(|id| s.spawn(client(addr, id))).collect();
            let mut replies = Vec::new();
            for c in clients {
                replies.push(c.await.unwrap().unwrap());
            }
            let echoed = server.await.unwrap().unwrap();
            (replies, echoed)
        })
        .await
    });
    let expected: Vec<String> = (0..8).map(|id| format!("hello from {id}")).collect();
    assert_eq!(replies.0, expected);
    assert_eq!(replies.1, expected.iter().map(String::len).sum::<usize>());
}

/// Receives until every sender is gone; `rx.recv()` borrows `rx` across the await.
#[coro::coroutine]
async fn sum_channel(mut rx: coro::channel::Receiver<u64>) -> u64 {
    let mut total = 0;
    while let Ok(v) = rx.recv().await {
        total += v;
    }
    total
}

#[coro::coroutine]
async fn produce(tx: coro::channel::Sender<u64>, values: Vec<u64>) {
    for v in &values {
        tx.send(*v).await.unwrap();
    }
}

#[test]
fn channel_receives_and_sends_borrow_their_ends() {
    let total = coro::run(coro::scope(async |s| {
        let (tx, rx) = coro::channel::bounded(2);
        let sum = s.spawn(sum_channel(rx));
        s.spawn(produce(tx.clone(), vec![1, 2, 3]));
        s.spawn(produce(tx, (10..15).collect()));
        sum.await.unwrap()
    }));
    assert_eq!(total, 6 + 10 + 11 + 12 + 13 + 14);
}

/// Holds the guard across a sleep: no other task sees the half-updated pair.
#[coro::coroutine]
async fn update_pair(pair: Arc<async_lock::Mutex<(u32, u32)>>, n: u32) {
    for _ in 0..n {
        let mut guard = pair.lock().await;
        guard.0 += 1;
        coro::sleep(Duration::from_micros(50)).await;
        guard.1 += 1;
        assert_eq!(guard.0, guard.1, "another task saw the pair mid-update");
    }
}

#[test]
fn an_async_lock_guard_is_held_across_an_await() {
    let pair = Arc::new(async_lock::Mutex::new((0, 0)));
    coro::run(coro::scope(async |s| {
        for _ in 0..4 {
            s.spawn(update_pair(pair.clone(), 5));
        }
    }));
    assert_eq!(*pair.try_lock().unwrap(), (20, 20));
}

/// An async generator over another stream: awaits `input.next()` and yields words
/// borrowed from the line it holds.
#[coro::coroutine]
fn words<S>(input: S) -> impl Stream<Item = String>
where
    S: Stream<Item = String>,
{
    let mut input = std::pin::pin!(input);
    while let Some(line) = input.next().await {
        for word in line.split_whitespace() {
            coro::yield_now().await;
            yield_!(word.to_uppercase());
        }
    }
}

#[test]
fn a_stream_adapter_awaits_its_input_and_yields_borrowed_words() {
    let lines = stream::iter(["a quick".to_owned(), String::new(), "brown fox".to_owned()]);
    let out: Vec<String> = coro::run(words(lines).collect());
    assert_eq!(out, ["A", "QUICK", "BROWN", "FOX"]);
}

struct Conn {
    pings: u32,
    log: Vec<String>,
}

impl Conn {
    #[coro::coroutine]
    async fn ping(&mut self) -> u32 {
        coro::yield_now().await;
        self.pings += 1;
        self.pings
    }

    /// `self` is reborrowed by each call, as in an `async fn`.
    #[coro::coroutine]
    async fn ping_twice(&mut self) -> (u32, u32) {
        let a = self.ping().await;
        let b = self.ping().await;
        self.log.push(format!("{a},{b}"));
        (a, b)
    }

    #[coro::coroutine]
    async fn items(&self) -> usize {
        let mut n = 0;
        for line in &self.log {
            coro::yield_now().await;
            n += line.len();
        }
        n
    }
}

#[coro::coroutine]
async fn through_param(conn: &mut Conn) -> u32 {
    let first = conn.ping().await;
    let second = conn.ping().await;
    first + second
}

#[test]
fn mut_self_and_mut_parameters_are_reborrowed_across_awaits() {
    let mut conn = Conn {
        pings: 0,
        log: Vec::new(),
    };
    assert_eq!(coro::run(conn.ping_twice()), (1, 2));
    assert_eq!(coro::run(through_param(&mut conn)), 3 + 4);
    assert_eq!(coro::run(conn.items()), 3);
}

/// Awaits inside std macros' arguments, and a `for` over a borrowed local.
#[coro::coroutine]
async fn report(values: Vec<u32>) -> String {
    let mut out = String::new();
    for v in &values {
        out.push_str(&format!("{}-", std::future::ready(*v).await));
    }
    assert_eq!(std::future::ready(values.len()).await, values.len());
    let copies = vec![std::future::ready(1).await, values[0]];
    format!("{out}{copies:?}")
}

#[test]
fn awaits_in_std_macros_and_loops_over_borrows() {
    assert_eq!(coro::run(report(vec![7, 8])), "7-8-[1, 7]");
}

/// A pinned future is `Send` when what it holds is, so it runs on tokio's
/// multi-threaded runtime.
#[test]
fn pinned_futures_are_send_when_their_contents_are() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pair = Arc::new(async_lock::Mutex::new((0, 0)));
    rt.block_on(async {
        let handle = tokio::spawn(assert_send(update_pair(pair.clone(), 3)));
        handle.await.unwrap();
    });
    assert_eq!(*pair.try_lock().unwrap(), (3, 3));
}

/// A block in a `yield_!` operand that borrows its own local across an await, and
/// suspends in a branch: both as an `async` block would take them.
#[coro::coroutine]
fn borrowed_inside_a_yield_operand(p: i64) -> impl Stream<Item = i64> {
    yield_!({
        let held = p * 2;
        let borrowed = &held;
        std::future::ready(()).await;
        match p {
            0 => *borrowed,
            _ => {
                yield_!(*borrowed + 1);
                *borrowed
            }
        }
    });
}

#[test]
fn a_yield_operand_may_borrow_its_own_locals_across_awaits() {
    let items: Vec<i64> = coro::run(borrowed_inside_a_yield_operand(3).collect());
    assert_eq!(items, [7, 6]);
    let items: Vec<i64> = coro::run(borrowed_inside_a_yield_operand(0).collect());
    assert_eq!(items, [0]);
}
