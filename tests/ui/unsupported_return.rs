#[coro::coroutine]
fn concrete() -> u32 {
    yield_!(1);
    2
}

#[coro::coroutine]
fn other_trait() -> impl std::fmt::Display {
    yield_!(1);
    2
}

#[coro::coroutine]
fn nothing() {
    yield_!(1);
}

fn main() {}
