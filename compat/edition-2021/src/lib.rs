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

/// A method of a type with a lifetime of its own.
pub struct Holder<'a> {
    pub text: &'a str,
}

impl<'a> Holder<'a> {
    #[coro::coroutine]
    pub async fn text(&self) -> &'a str {
        coro::yield_now().await;
        self.text
    }

    #[coro::coroutine]
    pub async fn len(&self) -> usize {
        coro::yield_now().await;
        self.text.len()
    }
}

impl Holder<'_> {
    #[coro::coroutine]
    pub async fn first(&self) -> Option<char> {
        coro::yield_now().await;
        self.text.chars().next()
    }
}

/// A method on `&mut self` of a type with a lifetime of its own.
pub struct Cursor<'a> {
    pub rest: &'a str,
}

impl<'a> Cursor<'a> {
    #[coro::coroutine]
    pub async fn advance(&mut self) -> usize {
        coro::yield_now().await;
        self.rest = &self.rest[1..];
        self.rest.len()
    }
}

impl<'a> Cursor<'a> {
    /// A generator method holding `&mut self` across its `yield_!`s. Its return type
    /// is the user's, so it captures what it says, as a plain `impl Iterator` would:
    /// in edition 2021, `+ '_` alone would not capture `'a`, which `&mut` makes
    /// invariant, and rustc would ask for this `use<..>`.
    #[coro::coroutine]
    pub fn take_each(&mut self) -> impl Iterator<Item = char> + use<'_, 'a> {
        while let Some(c) = self.rest.chars().next() {
            self.rest = &self.rest[c.len_utf8()..];
            yield_!(c);
        }
    }
}
