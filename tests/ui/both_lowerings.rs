#[coro::coroutine(compact, pinned)]
async fn both() -> u32 {
    1
}

fn main() {}
