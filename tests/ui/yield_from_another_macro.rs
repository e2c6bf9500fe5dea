macro_rules! twice {
    ($value:expr) => {
        yield_!($value);
        yield_!($value);
    };
}

#[coro::coroutine]
fn doubled() -> impl Iterator<Item = u32> {
    twice!(3);
}

fn main() {}
