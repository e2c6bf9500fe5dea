//! Using tokio-based libraries with coro: coro futures inside tokio's `block_on`, and
//! a tokio runtime entered beside `coro::run` so tokio's sockets and timers work in
//! coro tasks.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[coro::coroutine]
async fn relay(mut rx: coro::channel::Receiver<u32>) -> u32 {
    let mut sum = 0;
    while let Ok(v) = rx.recv().await {
        coro::sleep(Duration::from_millis(1)).await;
        sum += v;
    }
    sum
}

#[test]
fn coro_futures_run_inside_tokios_block_on() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sum = runtime.block_on(async {
        let (tx, rx) = coro::channel::bounded(2);
        let producer = tokio::spawn(async move {
            for i in 1..=5 {
                tx.send(i).await.unwrap();
            }
        });
        let sum = relay(rx).await; // coro's sleep and channels under tokio
        producer.await.unwrap();
        sum
    });
    assert_eq!(sum, 15);
}

#[test]
fn a_tokio_runtime_entered_beside_coro_run_serves_tokio_sockets_and_timers() {
    let tokio_runtime = tokio::runtime::Runtime::new().unwrap();
    let echoed = coro::run(async {
        // tokio's I/O and timer drivers run on tokio's own threads; entering the
        // runtime lets tokio types find them from coro's thread.
        let _entered = tokio_runtime.enter();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio_runtime.spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
        });
        coro::scope(async |s| {
            let client = s.spawn(async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream.write_all(b"ping").await.unwrap();
                let mut buf = [0u8; 4];
                stream.read_exact(&mut buf).await.unwrap();
                buf
            });
            let echoed = client.await.unwrap();
            server.await.unwrap();
            echoed
        })
        .await
    });
    assert_eq!(&echoed, b"ping");
}
