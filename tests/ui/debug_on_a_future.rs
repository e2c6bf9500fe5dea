use std::fmt::Debug;

#[coro::coroutine]
fn fetch() -> impl std::future::Future<Output = u32> + Debug {
    7
}

#[coro::coroutine]
fn lines() -> impl coro::Stream<Item = String> + Debug {
    coro::yield_!(String::new());
}

fn main() {}
