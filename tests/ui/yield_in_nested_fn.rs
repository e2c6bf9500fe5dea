#[coro::coroutine]
fn outer() -> impl Iterator<Item = u32> {
    fn helper() -> u32 {
        yield_!(1);
        2
    }
    yield_!(helper());
}

fn main() {}
