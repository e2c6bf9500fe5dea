#[coro::coroutine(compact)]
async fn shown() -> u32 {
    println!("{}", std::future::ready(1).await);
    2
}

fn main() {}
