#[coro::coroutine]
fn parsed(lines: Vec<String>) -> impl coro::Stream<Item = u32> {
    for line in lines {
        let n: u32 = line.parse()?;
        yield_!(n);
    }
}

fn main() {}
