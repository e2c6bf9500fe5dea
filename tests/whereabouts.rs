//! A generator's or coroutine's `Debug` says where its body stands: not started,
//! suspended at the `yield_!` it stopped at (the user's file, line and column),
//! finished, or poisoned by a panic.

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;

use coro::{Coroutine, CoroutineState};

#[coro::coroutine]
fn fib() -> impl Iterator<Item = u64> + Debug {
    let mut a = 0;
    let mut b = 1;
    loop {
        yield_!(a);
        let next = a + b;
        a = b;
        b = next;
    }
}

#[test]
fn a_generator_says_where_it_is_suspended() {
    let mut numbers = fib();
    assert_eq!(format!("{numbers:?}"), "generator `fib` not started");
    assert_eq!(numbers.next(), Some(0));
    assert_eq!(
        format!("{numbers:?}"),
        "generator `fib` suspended at tests/whereabouts.rs:16:9"
    );
}

#[coro::coroutine]
fn two_steps(fail: bool) -> impl Coroutine<u32, Yield = u32, Return = u32> + Debug {
    let first = yield_!(1);
    if fail {
        panic!("asked to fail");
    }
    let second = yield_!(first + 1);
    first + second
}

#[test]
fn a_coroutine_says_which_yield_it_waits_at_and_when_it_is_done() {
    let mut c = two_steps(false);
    let mut c = Pin::new(&mut c);
    assert_eq!(c.as_mut().resume(0), CoroutineState::Yielded(1));
    assert_eq!(
        format!("{c:?}"),
        "coroutine `two_steps` suspended at tests/whereabouts.rs:36:17"
    );
    assert_eq!(c.as_mut().resume(5), CoroutineState::Yielded(6));
    assert_eq!(
        format!("{c:?}"),
        "coroutine `two_steps` suspended at tests/whereabouts.rs:40:18"
    );
    assert_eq!(c.as_mut().resume(7), CoroutineState::Complete(12));
    assert_eq!(format!("{c:?}"), "coroutine `two_steps` finished");
}

#[test]
fn a_coroutine_that_panicked_says_it_is_poisoned() {
    let mut c = two_steps(true);
    let mut c = Pin::new(&mut c);
    c.as_mut().resume(0);
    let panicked = catch_unwind(AssertUnwindSafe(|| c.as_mut().resume(1)));
    assert!(panicked.is_err());
    assert_eq!(
        format!("{c:?}"),
        "coroutine `two_steps` poisoned by a panic"
    );
}

/// The pinned machine says the same, from the place each `yield_!` recorded.
#[coro::coroutine(pinned)]
fn pinned_words(text: String) -> impl Iterator<Item = String> + Debug {
    for word in text.split(' ') {
        yield_!(word.to_owned());
    }
}

#[test]
fn a_pinned_generator_says_where_it_is_suspended() {
    let mut words = pinned_words("a b".to_owned());
    assert_eq!(format!("{words:?}"), "generator `pinned_words` not started");
    assert_eq!(words.next().as_deref(), Some("a"));
    assert_eq!(
        format!("{words:?}"),
        "generator `pinned_words` suspended at tests/whereabouts.rs:79:9"
    );
    assert_eq!(words.by_ref().count(), 1);
    assert_eq!(format!("{words:?}"), "generator `pinned_words` finished");
}

#[coro::coroutine(pinned)]
fn pinned_echo() -> impl Coroutine<u32, Yield = u32, Return = ()> + Debug {
    let _first = yield_!(0);
    yield_from!(two_steps(false));
}

#[test]
fn a_pinned_coroutine_says_where_it_forwards_from() {
    let mut c = Box::pin(pinned_echo());
    c.as_mut().resume(0);
    assert_eq!(
        format!("{c:?}"),
        "coroutine `pinned_echo` suspended at tests/whereabouts.rs:98:18"
    );
    c.as_mut().resume(3);
    assert_eq!(
        format!("{c:?}"),
        "coroutine `pinned_echo` suspended at tests/whereabouts.rs:99:5"
    );
}
