#[coro::coroutine(fast)]
fn numbers() -> impl Iterator<Item = u32> {
    yield_!(1);
}

fn main() {}
