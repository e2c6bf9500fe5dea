#[coro::coroutine]
fn fetched() -> impl Iterator<Item = u32> {
    let n = std::future::ready(1).await;
    yield_!(n);
}

#[coro::coroutine]
fn resumed() -> impl coro::Coroutine<u32, Yield = u32, Return = ()> {
    let n = std::future::ready(1).await;
    yield_!(n);
}

fn main() {}
