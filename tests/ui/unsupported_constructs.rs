#[coro::coroutine(compact)]
fn guard() -> impl Iterator<Item = u32> {
    match Some(1) {
        Some(n) if yield_!(n) == () => {}
        _ => {}
    }
}

#[coro::coroutine(compact)]
fn inside_unsafe() -> impl Iterator<Item = u32> {
    unsafe {
        yield_!(1);
    }
}

#[coro::coroutine(compact)]
fn let_chain() -> impl Iterator<Item = u32> {
    if let Some(n) = Some(1) && yield_!(n) == () {
        yield_!(2);
    }
}

#[coro::coroutine(compact)]
fn inside_another_macro() -> impl Iterator<Item = u32> {
    println!("{:?}", yield_!(1));
}

fn main() {}
