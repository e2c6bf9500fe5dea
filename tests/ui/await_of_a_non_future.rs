//! Awaiting a value that is not a future: rustc's own message, first, at the
//! awaited expression.

struct Config;

#[coro::coroutine]
async fn load() -> u32 {
    let config = Config;
    config.await;
    1
}

fn main() {
    coro::run(load());
}
