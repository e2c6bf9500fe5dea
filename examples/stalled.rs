//! A deliberately deadlocked program explains itself: two tasks each wait for the
//! other's message, and `coro::debug::dump_when_stalled` prints the live task tree
//! to stderr once nothing has run for 200 ms. A timeout then cancels the deadlock.
//!
//! `cargo run --example stalled`

use std::time::Duration;

fn main() {
    coro::run(async {
        coro::debug::dump_when_stalled(Duration::from_millis(200));
        let deadlocked = coro::timeout(
            Duration::from_secs(1),
            coro::scope(async |s| {
                let (to_ping, mut ping_inbox) = coro::channel::bounded::<u32>(1);
                let (to_pong, mut pong_inbox) = coro::channel::bounded::<u32>(1);
                // Each waits for the other to speak first.
                s.task().name("ping").spawn(async move {
                    let ball = ping_inbox.recv().await.unwrap();
                    to_pong.send(ball + 1).await.unwrap();
                });
                s.task().name("pong").spawn(async move {
                    let ball = pong_inbox.recv().await.unwrap();
                    to_ping.send(ball + 1).await.unwrap();
                });
            }),
        )
        .await;
        println!(
            "the deadlock was cancelled by its timeout: {}",
            deadlocked.is_err()
        );
    });
}
