#[coro::coroutine]
struct Numbers {
    next: u32,
}

fn main() {}
