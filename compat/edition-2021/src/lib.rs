//! Suspend functions that borrow their parameters, in a crate of edition 2021:
//! rustc's `async fn` captures every lifetime of its parameters there, so the
//! attribute's rewrite must too. The tests in `tests/` run them.

/// Sums the numbers in `input`, one per await.
#[coro::coroutine]
pub async fn sum(input: &str) -> u32 {
    let mut total = 0;
    for part in input.split(',') {
        coro::yield_now().await;
        total += part.trim().parse::<u32>().unwrap_or(0);
    }
    total
}

/// Two borrowed parameters, one with a name of its own.
#[coro::coroutine]
pub async fn longer<'a>(a: &'a str, b: &str) -> &'a str {
    coro::yield_now().await;
    if a.len() >= b.len() {
        a
    } else {
        ""
    }
}

/// A borrowed parameter behind `'_` in a path.
#[coro::coroutine]
pub async fn first(words: std::slice::Iter<'_, String>) -> Option<String> {
    let mut words = words;
    coro::yield_now().await;
    words.next().cloned()
}

/// A closure parameter whose elided lifetime is its own (higher-ranked).
#[coro::coroutine]
pub async fn apply(f: impl Fn(&str) -> usize, text: &str) -> usize {
    coro::yield_now().await;
    f(text)
}

/// Methods on `&self` and `&mut self`.
pub struct Counter {
    pub count: u32,
}

impl Counter {
    #[coro::coroutine]
    pub async fn get(&self) -> u32 {
        coro::yield_now().await;
        self.count
    }

    #[coro::coroutine]
    pub async fn bump(&mut self, by: &u32) -> u32 {
        coro::yield_now().await;
        self.count += *by;
        self.count
    }
}
