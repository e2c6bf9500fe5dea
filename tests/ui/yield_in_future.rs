#[coro::coroutine]
async fn fetch() -> u32 {
    yield_!(1);
    2
}

fn main() {}
