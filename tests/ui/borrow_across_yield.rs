#[coro::coroutine]
fn lengths() -> impl Iterator<Item = usize> {
    let names = vec![String::from("a"), String::from("bc")];
    let first = &names[0];
    yield_!(names.len());
    yield_!(first.len());
}

fn main() {}
