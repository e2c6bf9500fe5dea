#[coro::coroutine]
fn scaled() -> impl Iterator<Item = u32> {
    let factor = 3;
    let scale = |n: u32| n * factor;
    yield_!(scale(1));
    yield_!(scale(2));
}

fn main() {}
