#[coro::coroutine]
fn parsed(text: &'static str) -> impl Iterator<Item = u32> {
    let n: u32 = text.parse()?;
    yield_!(n);
}

fn main() {}
