struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {}
}

fn maybe() -> bool {
    true
}

// Without `compact`, the macro builds the pinned machine for this body.
#[coro::coroutine(compact)]
fn guarded() -> impl Iterator<Item = u32> {
    let guard = Guard;
    if maybe() {
        drop(guard);
    }
    yield_!(1);
}

fn main() {}
