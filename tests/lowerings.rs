//! The two lowerings side by side: what `#[coro::coroutine(pinned)]` allows that the
//! compact machine cannot hold (borrows of locals across suspension points), what
//! each costs in auto traits, and that both drop, poison and fuse alike.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use coro::{Coroutine, CoroutineState, Stream};
use futures::StreamExt;
use futures::stream::FusedStream;

#[coro::coroutine(pinned)]
fn first_letters(words: Vec<String>) -> impl Iterator<Item = char> {
    for word in &words {
        for c in word.chars() {
            yield_!(c);
            if c == '-' {
                break;
            }
        }
    }
}

#[test]
fn a_pinned_generator_borrows_its_locals_across_yields() {
    let words = vec!["ab-c".to_owned(), "de".to_owned()];
    assert_eq!(
        first_letters(words).collect::<String>(),
        "ab-de",
        "the iterator over `&words` and the chars iterator live across yields"
    );
}

#[coro::coroutine(pinned)]
fn running_max() -> impl Coroutine<i32, Yield = i32, Return = Vec<i32>> {
    let mut seen = Vec::new();
    let mut best = &0;
    loop {
        let next: i32 = yield_!(*best);
        if next < 0 {
            break;
        }
        seen.push(next);
        best = seen.iter().max().unwrap();
        let _still_borrowed = best;
    }
    seen
}

#[test]
fn a_pinned_coroutine_takes_resume_arguments_and_holds_borrows() {
    let mut c = Box::pin(running_max());
    assert_eq!(
        c.as_mut().resume(100),
        CoroutineState::Yielded(0),
        "first resume starts; 100 is dropped"
    );
    assert_eq!(c.as_mut().resume(3), CoroutineState::Yielded(3));
    assert_eq!(c.as_mut().resume(1), CoroutineState::Yielded(3));
    assert_eq!(c.as_mut().resume(7), CoroutineState::Yielded(7));
    assert_eq!(
        c.as_mut().resume(-1),
        CoroutineState::Complete(vec![3, 1, 7])
    );
}

#[coro::coroutine]
fn doubler() -> impl Coroutine<u32, Yield = u32, Return = &'static str> {
    let mut x = yield_!(0);
    while x != 0 {
        x = yield_!(x * 2);
    }
    "inner done"
}

#[coro::coroutine(pinned)]
fn forwarding() -> impl Coroutine<u32, Yield = u32, Return = String> {
    let prefix = String::from("got ");
    let label = &prefix;
    let inner: &str = yield_from!(doubler());
    format!("{label}{inner}")
}

#[test]
fn yield_from_in_a_pinned_coroutine_forwards_resume_arguments() {
    let mut c = pin!(forwarding());
    assert_eq!(c.as_mut().resume(9), CoroutineState::Yielded(0));
    assert_eq!(c.as_mut().resume(5), CoroutineState::Yielded(10));
    assert_eq!(c.as_mut().resume(6), CoroutineState::Yielded(12));
    assert_eq!(
        c.as_mut().resume(0),
        CoroutineState::Complete("got inner done".to_owned())
    );
}

#[coro::coroutine(pinned)]
fn chained(parts: Vec<Vec<u8>>) -> impl Iterator<Item = u8> {
    for part in &parts {
        yield_from!(part.iter().copied());
    }
    yield_!(0);
}

#[test]
fn yield_from_in_a_pinned_generator_forwards_an_iterator() {
    assert_eq!(
        chained(vec![vec![1, 2], vec![], vec![3]]).collect::<Vec<_>>(),
        [1, 2, 3, 0]
    );
}

#[coro::coroutine]
fn letters(text: &'static str) -> impl Stream<Item = char> {
    let owned = text.to_owned();
    for c in owned.chars() {
        coro::yield_now().await;
        yield_!(c);
    }
}

#[coro::coroutine]
fn both_streams() -> impl FusedStream<Item = char> {
    let sep = String::from("|");
    yield_from!(letters("ab"));
    yield_!(sep.chars().next().unwrap());
    yield_from!(letters("c"));
}

#[test]
fn yield_from_in_a_pinned_async_generator_forwards_a_stream() {
    let mut s = pin!(both_streams());
    let items: Vec<char> = coro::run(async { s.as_mut().collect().await });
    assert_eq!(items, ['a', 'b', '|', 'c']);
    assert!(s.is_terminated(), "a finished async generator says so");
}

#[coro::coroutine]
fn compact_letters(n: u32) -> impl FusedStream<Item = u32> {
    for i in 0..n {
        coro::yield_now().await;
        yield_!(i);
    }
}

#[coro::coroutine]
fn compact_fused(n: u32) -> impl std::iter::FusedIterator<Item = u32> {
    for i in 0..n {
        yield_!(i);
    }
}

#[test]
fn generators_and_async_generators_may_promise_to_be_fused() {
    let mut s = pin!(compact_letters(2));
    assert!(!s.is_terminated());
    assert_eq!(coro::run(s.as_mut().collect::<Vec<_>>()), [0, 1]);
    assert!(s.is_terminated());
    let mut g = compact_fused(1);
    assert_eq!((g.next(), g.next(), g.next()), (Some(0), None, None));
}

/// Records drops in order, shared by every value of one test.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<&'static str>>>);

struct Noisy(&'static str, Log);

impl Drop for Noisy {
    fn drop(&mut self) {
        self.1.0.borrow_mut().push(self.0);
    }
}

#[coro::coroutine(pinned)]
fn holds_two(log: Log) -> impl Iterator<Item = u32> {
    let a = Noisy("a", log.clone());
    let a_ref = &a;
    yield_!(1);
    let _b = Noisy("b", log);
    yield_!(a_ref.0.len() as u32);
}

#[test]
fn dropping_a_suspended_pinned_generator_drops_its_locals_once_in_reverse_order() {
    let log = Log::default();
    let mut g = holds_two(log.clone());
    assert_eq!(g.next(), Some(1));
    assert_eq!(g.next(), Some(1));
    assert!(
        log.0.borrow().is_empty(),
        "nothing is dropped while suspended"
    );
    drop(g);
    assert_eq!(*log.0.borrow(), ["b", "a"]);
}

#[coro::coroutine(pinned)]
fn panics_once(fail: bool) -> impl Iterator<Item = u32> {
    yield_!(1);
    if fail {
        panic!("boom");
    }
    yield_!(2);
}

#[test]
fn a_pinned_generator_that_panicked_panics_again_with_a_clear_message() {
    let mut g = panics_once(true);
    assert_eq!(g.next(), Some(1));
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.next()));
    assert!(first.is_err());
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.next())).unwrap_err();
    assert_eq!(
        again.downcast_ref::<&str>(),
        Some(&"coroutine resumed after it panicked")
    );

    let mut fine = panics_once(false);
    assert_eq!(
        (fine.next(), fine.next(), fine.next(), fine.next()),
        (Some(1), Some(2), None, None)
    );
}

#[test]
fn a_completed_pinned_coroutine_panics_when_resumed() {
    let mut c = Box::pin(running_max());
    c.as_mut().resume(0);
    assert_eq!(c.as_mut().resume(-1), CoroutineState::Complete(vec![]));
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.as_mut().resume(1)))
        .unwrap_err();
    assert_eq!(
        again.downcast_ref::<&str>(),
        Some(&"coroutine resumed after it completed")
    );
}

/// An `Rc` in a pinned stream makes it `!Send`; an `Arc` keeps it `Send`. The
/// slot between the block and the wrapper adds no bound of its own.
#[coro::coroutine(pinned)]
fn counted(shared: std::sync::Arc<u32>) -> impl Stream<Item = u32> {
    let r = &shared;
    yield_!(**r);
}

#[test]
fn pinned_wrappers_are_send_when_their_contents_are() {
    fn assert_send<T: Send>(_: &T) {}
    let s = counted(std::sync::Arc::new(4));
    assert_send(&s);
    assert_send(&first_letters(vec![]));
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut s = pin!(s);
    assert_eq!(s.as_mut().poll_next(&mut cx), Poll::Ready(Some(4)));
    assert_eq!(s.as_mut().poll_next(&mut cx), Poll::Ready(None));
    assert_eq!(s.as_mut().poll_next(&mut cx), Poll::Ready(None), "fused");
}

/// A pinned stream whose awaited future is pending returns `Pending` itself and
/// is woken by that future, not by the yield slot.
#[test]
fn a_pinned_stream_is_pending_while_what_it_awaits_is() {
    #[coro::coroutine(pinned)]
    fn after(rx: coro::channel::OneshotReceiver<u32>) -> impl Stream<Item = u32> {
        let v = rx.await.unwrap();
        let r = &v;
        yield_!(*r);
    }
    let (tx, rx) = coro::channel::oneshot();
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut s = pin!(after(rx));
    assert_eq!(s.as_mut().poll_next(&mut cx), Poll::Pending);
    tx.send(8).unwrap();
    assert_eq!(s.as_mut().poll_next(&mut cx), Poll::Ready(Some(8)));
}

struct Tree {
    value: u32,
    children: Vec<Tree>,
}

/// Compact: a borrow through a shared-reference parameter borrows the caller's
/// data, not the machine, so it may cross a yield.
#[coro::coroutine]
fn values<'a>(tree: &'a Tree) -> impl Iterator<Item = u32> + 'a {
    yield_!(tree.value);
    for child in &tree.children {
        yield_!(child.value);
    }
}

struct Bag {
    items: Vec<u32>,
}

impl Bag {
    #[coro::coroutine]
    fn doubled(&self) -> impl Iterator<Item = u32> + '_ {
        for x in &self.items {
            yield_!(x * 2);
        }
    }
}

#[test]
fn compact_generators_borrow_through_shared_reference_parameters() {
    let tree = Tree {
        value: 1,
        children: vec![
            Tree {
                value: 2,
                children: vec![],
            },
            Tree {
                value: 3,
                children: vec![],
            },
        ],
    };
    assert_eq!(values(&tree).collect::<Vec<_>>(), [1, 2, 3]);
    let bag = Bag { items: vec![4, 5] };
    assert_eq!(bag.doubled().collect::<Vec<_>>(), [8, 10]);
    fn assert_unpin<T: Unpin>(_: &T) {}
    assert_unpin(&bag.doubled());
}

/// Every suspension macro works inside std macros' arguments in the pinned machine.
#[coro::coroutine(pinned)]
fn in_macros() -> impl Iterator<Item = String> {
    let v = vec![1, 2];
    yield_!(format!("{}", v.len()));
    assert_eq!(v, vec![1, 2]);
    let shown = format!("{:?}", v.iter().map(|x| x * 10).collect::<Vec<_>>());
    yield_!(shown);
}

#[test]
fn pinned_bodies_suspend_inside_std_macros() {
    assert_eq!(in_macros().collect::<Vec<_>>(), ["2", "[10, 20]"]);
}

/// A long straight body whose locals all live to its end: past a size the macro
/// takes the pinned machine, which rustc builds far faster than the compact enum.
#[coro::coroutine]
fn fifty_locals() -> impl Iterator<Item = u64> {
    let v0: u64 = {
        yield_!(0);
        0
    };
    let v1: u64 = {
        yield_!(1);
        1
    };
    let v2: u64 = {
        yield_!(2);
        2
    };
    let v3: u64 = {
        yield_!(3);
        3
    };
    let v4: u64 = {
        yield_!(4);
        4
    };
    let v5: u64 = {
        yield_!(5);
        5
    };
    let v6: u64 = {
        yield_!(6);
        6
    };
    let v7: u64 = {
        yield_!(7);
        7
    };
    let v8: u64 = {
        yield_!(8);
        8
    };
    let v9: u64 = {
        yield_!(9);
        9
    };
    let v10: u64 = {
        yield_!(10);
        10
    };
    let v11: u64 = {
        yield_!(11);
        11
    };
    let v12: u64 = {
        yield_!(12);
        12
    };
    let v13: u64 = {
        yield_!(13);
        13
    };
    let v14: u64 = {
        yield_!(14);
        14
    };
    let v15: u64 = {
        yield_!(15);
        15
    };
    let v16: u64 = {
        yield_!(16);
        16
    };
    let v17: u64 = {
        yield_!(17);
        17
    };
    let v18: u64 = {
        yield_!(18);
        18
    };
    let v19: u64 = {
        yield_!(19);
        19
    };
    let v20: u64 = {
        yield_!(20);
        20
    };
    let v21: u64 = {
        yield_!(21);
        21
    };
    let v22: u64 = {
        yield_!(22);
        22
    };
    let v23: u64 = {
        yield_!(23);
        23
    };
    let v24: u64 = {
        yield_!(24);
        24
    };
    let v25: u64 = {
        yield_!(25);
        25
    };
    let v26: u64 = {
        yield_!(26);
        26
    };
    let v27: u64 = {
        yield_!(27);
        27
    };
    let v28: u64 = {
        yield_!(28);
        28
    };
    let v29: u64 = {
        yield_!(29);
        29
    };
    let v30: u64 = {
        yield_!(30);
        30
    };
    let v31: u64 = {
        yield_!(31);
        31
    };
    let v32: u64 = {
        yield_!(32);
        32
    };
    let v33: u64 = {
        yield_!(33);
        33
    };
    let v34: u64 = {
        yield_!(34);
        34
    };
    let v35: u64 = {
        yield_!(35);
        35
    };
    let v36: u64 = {
        yield_!(36);
        36
    };
    let v37: u64 = {
        yield_!(37);
        37
    };
    let v38: u64 = {
        yield_!(38);
        38
    };
    let v39: u64 = {
        yield_!(39);
        39
    };
    let v40: u64 = {
        yield_!(40);
        40
    };
    let v41: u64 = {
        yield_!(41);
        41
    };
    let v42: u64 = {
        yield_!(42);
        42
    };
    let v43: u64 = {
        yield_!(43);
        43
    };
    let v44: u64 = {
        yield_!(44);
        44
    };
    let v45: u64 = {
        yield_!(45);
        45
    };
    let v46: u64 = {
        yield_!(46);
        46
    };
    let v47: u64 = {
        yield_!(47);
        47
    };
    let v48: u64 = {
        yield_!(48);
        48
    };
    let v49: u64 = {
        yield_!(49);
        49
    };
    yield_!(
        v0 + v1
            + v2
            + v3
            + v4
            + v5
            + v6
            + v7
            + v8
            + v9
            + v10
            + v11
            + v12
            + v13
            + v14
            + v15
            + v16
            + v17
            + v18
            + v19
            + v20
            + v21
            + v22
            + v23
            + v24
            + v25
            + v26
            + v27
            + v28
            + v29
            + v30
            + v31
            + v32
            + v33
            + v34
            + v35
            + v36
            + v37
            + v38
            + v39
            + v40
            + v41
            + v42
            + v43
            + v44
            + v45
            + v46
            + v47
            + v48
            + v49
    );
}

#[test]
fn a_body_with_many_live_locals_takes_the_pinned_machine_and_works() {
    // Boxed once, so it stays `Unpin`: a pointer, not fifty carried locals.
    assert!(std::mem::size_of_val(&fifty_locals()) <= 16);
    let items: Vec<u64> = fifty_locals().collect();
    assert_eq!(items.len(), 51);
    assert_eq!(items[..50], (0..50).collect::<Vec<_>>()[..]);
    assert_eq!(items[50], (0..50).sum::<u64>());
}
