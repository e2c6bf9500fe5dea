//! Each suspend function of the crate runs, holding its borrows across awaits.

use coro_edition_2021::{apply, first, longer, sum, Counter, Cursor, Holder};

#[test]
fn suspend_functions_borrow_their_parameters_in_edition_2021() {
    let text = String::from("1, 2, 3");
    assert_eq!(coro::run(sum(&text)), 6);
    let (a, b) = (String::from("long"), String::from("no"));
    assert_eq!(coro::run(longer(&a, &b)), "long");
    let words = [String::from("first"), String::from("second")];
    assert_eq!(coro::run(first(words.iter())).as_deref(), Some("first"));
    assert_eq!(coro::run(apply(|s| s.len(), &text)), 7);
    let mut counter = Counter { count: 1 };
    assert_eq!(coro::run(counter.get()), 1);
    assert_eq!(coro::run(counter.bump(&4)), 5);
}

/// Methods of types with a lifetime of their own, holding `self` across awaits and
/// yields: `&self` of a covariant type, `&mut self` of one that is invariant behind
/// the reference, and an `impl Holder<'_>` block.
#[test]
fn methods_of_types_with_lifetimes_hold_self_in_edition_2021() {
    let text = String::from("héllo");
    let holder = Holder { text: &text };
    assert_eq!(coro::run(holder.text()), "héllo");
    assert_eq!(coro::run(holder.len()), 6);
    assert_eq!(coro::run(holder.first()), Some('h'));
    let mut cursor = Cursor { rest: &text };
    assert_eq!(coro::run(cursor.advance()), 5);
    let rest: String = cursor.take_each().collect();
    assert_eq!(rest, "éllo");
    assert_eq!(cursor.rest, "");
}
