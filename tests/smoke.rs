use coro::{Coroutine, CoroutineState};
use std::pin::pin;

#[coro::coroutine]
fn fib() -> impl Iterator<Item = u64> {
    let (mut a, mut b) = (0, 1);
    loop {
        yield_!(a);
        (a, b) = (b, a + b);
    }
}

#[coro::coroutine]
fn summer() -> impl Coroutine<u32, Yield = u32, Return = u32> {
    let mut total = 0;
    while total < 100 {
        total += yield_!(total);
    }
    total
}

#[test]
fn smoke() {
    let v: Vec<u64> = fib().take(10).collect();
    assert_eq!(v, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);
    let mut c = pin!(summer());
    assert_eq!(c.as_mut().resume(0), CoroutineState::Yielded(0));
    assert_eq!(c.as_mut().resume(50), CoroutineState::Yielded(50));
    assert_eq!(c.as_mut().resume(60), CoroutineState::Complete(110));
}
