#[coro::coroutine]
fn numbers() -> impl Iterator<Item = u32> {
    (0..3).for_each(|n| {
        yield_!(n);
    });
}

fn main() {}
