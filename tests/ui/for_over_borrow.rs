#[coro::coroutine]
fn each() -> impl Iterator<Item = u32> {
    let numbers = vec![1, 2, 3];
    for n in &numbers {
        yield_!(*n);
    }
}

fn main() {}
