//! A generator or coroutine whose signature asks for `Debug` says where its body
//! stands: not started, suspended at the `yield_!` it stopped at, poisoned or
//! finished. Both machines.

use std::fmt::Debug;

use coro::{Coroutine, CoroutineState};

#[coro::coroutine]
fn countdown(from: u32) -> impl Iterator<Item = u32> + Debug {
    let mut n = from;
    while n > 0 {
        yield_!(n);
        n -= 1;
    }
    yield_!(0);
}
const COUNTDOWN: u32 = line!() - 5;

#[coro::coroutine(pinned)]
fn letters(words: Vec<String>) -> impl Iterator<Item = char> + Debug {
    for word in &words {
        for letter in word.chars() {
            yield_!(letter);
        }
    }
}
const LETTERS: u32 = line!() - 4;

#[coro::coroutine]
fn running_sum() -> impl Coroutine<u32, Yield = u32, Return = ()> + std::fmt::Debug {
    let mut total = 0;
    loop {
        let n = yield_!(total);
        total += n;
    }
}
const RUNNING_SUM: u32 = line!() - 4;

#[test]
fn a_compact_generator_says_where_it_stands() {
    let mut numbers = countdown(1);
    assert_eq!(format!("{numbers:?}"), "generator `countdown` not started");
    assert_eq!(numbers.next(), Some(1));
    assert_eq!(
        format!("{numbers:?}"),
        format!("generator `countdown` suspended at tests/describe.rs:{COUNTDOWN}:9")
    );
    assert_eq!(numbers.next(), Some(0));
    assert_eq!(
        format!("{numbers:?}"),
        format!(
            "generator `countdown` suspended at tests/describe.rs:{}:5",
            COUNTDOWN + 3
        )
    );
    assert_eq!(numbers.next(), None);
    assert_eq!(format!("{numbers:?}"), "generator `countdown` finished");
}

#[test]
fn a_pinned_generator_says_where_it_stands() {
    let mut chars = letters(vec!["ab".into()]);
    assert_eq!(format!("{chars:?}"), "generator `letters` not started");
    assert_eq!(chars.next(), Some('a'));
    assert_eq!(
        format!("{chars:?}"),
        format!("generator `letters` suspended at tests/describe.rs:{LETTERS}:13")
    );
    assert_eq!(chars.by_ref().count(), 1);
    assert_eq!(format!("{chars:?}"), "generator `letters` finished");
}

#[test]
fn a_coroutine_says_where_it_stands() {
    let mut sum = std::pin::pin!(running_sum());
    assert_eq!(format!("{sum:?}"), "coroutine `running_sum` not started");
    assert!(matches!(sum.as_mut().resume(0), CoroutineState::Yielded(0)));
    assert!(matches!(sum.as_mut().resume(5), CoroutineState::Yielded(5)));
    assert_eq!(
        format!("{sum:?}"),
        format!("coroutine `running_sum` suspended at tests/describe.rs:{RUNNING_SUM}:17")
    );
}

#[test]
fn a_generator_that_panicked_says_it_is_poisoned() {
    #[coro::coroutine]
    fn fails() -> impl Iterator<Item = u32> + Debug {
        yield_!(1);
        panic!("no more");
    }

    #[coro::coroutine(pinned)]
    fn fails_pinned() -> impl Iterator<Item = u32> + Debug {
        yield_!(1);
        panic!("no more");
    }

    /// How `generator` describes itself once its second item panicked.
    fn after_its_panic(mut generator: impl Iterator + Debug) -> String {
        generator.next();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generator.next()));
        assert!(caught.is_err());
        format!("{generator:?}")
    }
    assert_eq!(
        after_its_panic(fails()),
        "generator `fails` poisoned (it panicked)"
    );
    assert_eq!(
        after_its_panic(fails_pinned()),
        "generator `fails_pinned` poisoned (it panicked)"
    );
}
