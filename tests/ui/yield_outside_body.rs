fn not_a_coroutine() -> u32 {
    coro::yield_!(1);
    0
}

fn main() {
    not_a_coroutine();
}
