use coro::Coroutine;

fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[coro::coroutine]
fn total() -> impl Coroutine<&'static str, Yield = (), Return = u32> {
    let first = parse(yield_!(()))?;
    first
}

fn main() {}
