#[coro::coroutine(compact)]
async fn lengths() -> usize {
    let names = vec![String::from("a")];
    let first = &names[0];
    std::future::ready(()).await;
    first.len()
}

fn main() {}
