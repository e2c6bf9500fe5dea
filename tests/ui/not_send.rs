use std::rc::Rc;

#[coro::coroutine]
fn shared() -> impl Iterator<Item = usize> + Send {
    let counter = Rc::new(1);
    yield_!(Rc::strong_count(&counter));
    yield_!(*counter);
}

fn main() {}
