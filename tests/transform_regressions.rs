//! Bodies the transform once got wrong, each run through the differential harness
//! (as a coroutine and as plain code, traces compared) so it stays right.

#[macro_use]
mod support;

use support::{Noisy, log};

pub fn no() -> bool {
    false
}

pub fn yes() -> bool {
    true
}

// A `Copy` value "moved" into a yield and assigned in a loop that may not run was
// taken for uninitialised (E0381 in generated code).
differential! {
    fn copy_value_assigned_in_an_inner_loop(mut a: i64) -> impl Coroutine<i64, Yield = i64, Return = i64> {
        for _c in 0..2i64 {
            yield_!(a);
            for _d in 0..1i64 {
                a = 9;
            }
            yield_!(1);
        }
        2
    }
    run(5) script [0, 0, 0, 0] expect ["yield 5", "yield 1", "yield 9", "yield 1", "return 2"]
}

// An assignment in a match guard runs only if the guard's pattern matches, so the
// value from before the `match` may still be the one read after it: it must be
// carried across the `yield_!` in the scrutinee (E0381 in generated code).
differential! {
    fn assigned_in_a_match_guard(p: i64) -> impl Coroutine<i64, Yield = i64, Return = i64> {
        let mut x = p;
        match yield_!(x) {
            0 => {
                yield_!(p);
            }
            1 if {
                x = 4;
                true
            } => {}
            _ => {}
        }
        x
    }
    run(7) script [2, 0] expect ["yield 7", "return 7"]
}

// Initialised on one branch only, then held across a yield.
differential! {
    fn deferred_initialisation_in_a_branch() -> impl Iterator<Item = u32> {
        let _b: Noisy;
        if yes() {
            _b = Noisy::new("b");
        }
        yield_!(4);
        log("after");
    }
    run() limit 5 expect ["make b", "yield 4", "after", "drop b", "return ()"]
}

// A binding assigned only in a later state was declared again, uninitialised, in a
// state that names an inner binding of the same name: nothing gave the outer one a
// type (E0282 in generated code).
differential! {
    fn assigned_later_and_shadowed_between() -> impl Iterator<Item = i64> {
        let mut x = 1;
        yield_!(x);
        x = {
            let x = 4;
            yield_!(x);
            yield_!(x + 1);
            x + 2
        };
        yield_!(x);
    }
    run() limit 6 expect ["yield 1", "yield 4", "yield 5", "yield 6", "return ()"]
}

// The join of an `if` in a loop is written after the `if`: what a branch declared
// is dropped as it falls out, before the join's code, and the loop goes round
// without passing through the dispatch.
differential! {
    fn branch_locals_drop_before_the_join_in_a_loop() -> impl Iterator<Item = i64> {
        for i in 0..3i64 {
            let _outer = Noisy::new("outer");
            if i != 1 {
                let _inner = Noisy::new("inner");
                if i == 2 {
                    yield_!(i);
                }
                log("even");
            } else {
                log("odd");
            }
            log("join");
        }
    }
    run() limit 8 expect [
        "make outer", "make inner", "even", "drop inner", "join", "drop outer",
        "make outer", "odd", "join", "drop outer",
        "make outer", "make inner", "yield 2", "even", "drop inner", "join", "drop outer",
        "return ()"
    ]
}

// Moved on a branch not taken: still dropped at the end of its scope, not at the
// suspension point.
differential! {
    fn moved_on_a_branch_not_taken() -> impl Iterator<Item = ()> {
        let b = Noisy::new("b");
        if no() {
            drop(b);
        }
        yield_!(());
        log("after");
    }
    run() limit 5 expect ["make b", "yield ()", "after", "drop b", "return ()"]
}

differential! {
    fn moved_on_the_branch_taken() -> impl Iterator<Item = ()> {
        let b = Noisy::new("b");
        if yes() {
            drop(b);
        }
        yield_!(());
        log("after");
    }
    run() limit 5 expect ["make b", "drop b", "yield ()", "after", "return ()"]
}

// A body that ends in `return` is not typed `()` at its end.
differential! {
    fn ends_in_return() -> impl Coroutine<(), Yield = (), Return = u32> {
        yield_!(());
        return 1;
    }
    run() script [()] expect ["yield ()", "return 1"]
}

// A block that ends in `return` gives a `match` arm no `()` value.
differential! {
    fn match_arm_that_suspends_then_returns(x: Option<u32>) -> impl Iterator<Item = u32> {
        let v = match x {
            Some(v) => v,
            None => {
                yield_!(0);
                return;
            }
        };
        yield_!(v);
    }
    run(None) limit 5 expect ["yield 0", "return ()"]
}

differential! {
    fn match_arm_that_returns_takes_the_other_arm(x: Option<u32>) -> impl Iterator<Item = u32> {
        let v = match x {
            Some(v) => v,
            None => {
                yield_!(0);
                return;
            }
        };
        yield_!(v);
    }
    run(Some(3)) limit 5 expect ["yield 3", "return ()"]
}

// An endless loop at the end of a coroutine with a return type.
differential! {
    fn endless_loop_at_the_end(start: u32) -> impl Coroutine<u32, Yield = u32, Return = String> {
        let mut n = start;
        loop {
            n += yield_!(n);
        }
    }
    run(1) script [2, 3] expect ["yield 1", "yield 3", "yield 6", "stop"]
}

// A closure in a loop whose head the machine would copy: one closure type only.
differential! {
    fn closure_in_a_loop_body(v: Vec<u32>) -> impl Iterator<Item = u32> {
        for item in v {
            let note = move |m: &str| log(format!("{m} {item}"));
            note("a");
            yield_!(item);
            note("b");
        }
    }
    run(vec![1, 2]) limit 5 expect ["a 1", "yield 1", "b 1", "a 2", "yield 2", "b 2", "return ()"]
}

#[coro::coroutine]
fn async_blocks_in_a_loop(n: u32) -> impl Iterator<Item = std::future::Ready<u32>> {
    for i in 0..n {
        yield_!(std::future::ready(i * 10));
    }
}

#[coro::coroutine]
fn yields_async_blocks(
    n: u32,
) -> impl Iterator<Item = std::pin::Pin<Box<dyn std::future::Future<Output = u32>>>> {
    for i in 0..n {
        yield_!(Box::pin(async move { i }));
    }
}

#[test]
fn futures_made_in_a_loop_are_one_type() {
    let values: Vec<u32> = async_blocks_in_a_loop(3)
        .map(futures::executor::block_on)
        .collect();
    assert_eq!(values, [0, 10, 20]);
    let values: Vec<u32> = yields_async_blocks(3)
        .map(futures::executor::block_on)
        .collect();
    assert_eq!(values, [0, 1, 2]);
}

#[coro::coroutine]
fn closures_of_a_loop(n: u32) -> impl Iterator<Item = impl Fn() -> u32> {
    for i in 0..n {
        yield_!(move || i * 2);
    }
}

#[coro::coroutine]
fn async_blocks_of_a_loop(n: u32) -> impl Iterator<Item = impl std::future::Future<Output = u32>> {
    for i in 0..n {
        yield_!(async move { i + 1 });
    }
}

#[test]
fn items_may_be_unnameable_closures_and_async_blocks() {
    let doubled: Vec<u32> = closures_of_a_loop(3).map(|f| f()).collect();
    assert_eq!(doubled, [0, 2, 4]);
    let next: Vec<u32> = async_blocks_of_a_loop(3)
        .map(futures::executor::block_on)
        .collect();
    assert_eq!(next, [1, 2, 3]);
}

// A borrow that ends before the suspension point, from a method's result and from a
// `ref mut` pattern.
differential! {
    fn borrow_from_as_mut_ends_before_the_yield(opt: Option<u32>) -> impl Iterator<Item = u32> {
        let mut opt = opt;
        match opt.as_mut() {
            Some(v) => {
                *v += 1;
                yield_!(0);
            }
            None => {}
        }
        yield_!(opt.unwrap_or(0));
    }
    run(Some(1)) limit 5 expect ["yield 0", "yield 2", "return ()"]
}

differential! {
    fn ref_mut_pattern_ends_before_the_yield(opt: Option<u32>) -> impl Iterator<Item = u32> {
        let mut opt = opt;
        match opt {
            Some(ref mut v) => {
                *v += 1;
                yield_!(0);
            }
            None => {}
        }
        yield_!(opt.unwrap_or(0));
    }
    run(Some(1)) limit 5 expect ["yield 0", "yield 2", "return ()"]
}

// A method's result that may borrow its receiver, held across a yield: the macro
// builds this generator pinned rather than guess.
differential! {
    fn iterator_of_a_local_held_across_a_yield(v: Vec<u32>) -> impl Iterator<Item = u32> {
        let mut it = v.iter();
        yield_!(1);
        yield_!(*it.next().unwrap());
    }
    run(vec![5]) limit 5 expect ["yield 1", "yield 5", "return ()"]
}

differential! {
    fn words_of_an_owned_line(line: String) -> impl Iterator<Item = String> {
        for w in line.split(' ') {
            yield_!(w.to_owned());
        }
    }
    run("a b".to_string()) limit 5 expect ["yield \"a\"", "yield \"b\"", "return ()"]
}

differential! {
    fn guard_of_a_local_mutex_held_across_a_yield(m: std::sync::Mutex<u32>) -> impl Iterator<Item = u32> {
        let g = m.lock().unwrap();
        yield_!(*g);
        log("still locked");
    }
    run(std::sync::Mutex::new(3)) limit 5 expect ["yield 3", "still locked", "return ()"]
}

struct Stack {
    items: Vec<u32>,
}

impl Stack {
    #[coro::coroutine]
    fn drain(&mut self) -> impl Iterator<Item = u32> + '_ {
        while let Some(x) = self.items.pop() {
            yield_!(x);
        }
    }

    #[coro::coroutine]
    fn bump_each(&mut self) -> impl Iterator<Item = u32> + '_ {
        for x in self.items.iter_mut() {
            *x += 1;
            yield_!(*x);
        }
    }

    #[coro::coroutine]
    fn push_twice(&mut self) -> impl Iterator<Item = usize> + '_ {
        self.items.push(1);
        yield_!(self.items.len());
        self.items.push(2);
        yield_!(self.items.len());
    }
}

#[coro::coroutine]
fn reborrowed<'a>(items: &'a mut Vec<u32>) -> impl Iterator<Item = usize> + 'a {
    let view = &*items;
    yield_!(view.len());
}

#[test]
fn mut_self_and_mut_parameters_are_reborrowed_in_generators() {
    let mut s = Stack {
        items: vec![1, 2, 3],
    };
    assert_eq!(s.bump_each().collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(s.push_twice().collect::<Vec<_>>(), [4, 5]);
    assert_eq!(s.drain().collect::<Vec<_>>(), [2, 1, 4, 3, 2]);
    let mut v = vec![1];
    assert_eq!(reborrowed(&mut v).collect::<Vec<_>>(), [1]);
}

// Suspension points the compact machine cannot split: the macro builds these
// generators pinned.
differential! {
    fn yield_in_a_match_guard(values: Vec<u32>) -> impl Iterator<Item = u32> {
        for v in values {
            match v {
                n if { yield_!(n); n > 1 } => yield_!(n * 10),
                _ => {}
            }
        }
    }
    run(vec![1, 2]) limit 10 expect ["yield 1", "yield 2", "yield 20", "return ()"]
}

differential! {
    fn yield_in_a_let_chain(value: Option<u32>) -> impl Iterator<Item = u32> {
        if let Some(n) = value
            && { yield_!(n); n > 0 }
        {
            yield_!(n + 1);
        }
    }
    run(Some(4)) limit 10 expect ["yield 4", "yield 5", "return ()"]
}

differential! {
    fn yields_inside_std_macros() -> impl Iterator<Item = String> {
        let shown = format!("{}-{}", { yield_!("a".to_string()); 1 }, 2);
        log(shown);
        let v = vec![{ yield_!("b".to_string()); 3 }, 4];
        // The message is evaluated only when the assertion fails: no yield here.
        assert_eq!(v.len(), 2, "{}", { yield_!("c".to_string()); "never shown" });
        yield_!(format!("{v:?}"));
    }
    run() limit 10 expect ["yield \"a\"", "1-2", "yield \"b\"", "yield \"[3, 4]\"", "return ()"]
}

// An operand read before a later operand assigns it is read first, as rustc
// evaluates it: the comparison sees 5, not -5.
differential! {
    fn operand_read_before_a_later_operand_assigns_it() -> impl Iterator<Item = i64> {
        let mut x = 5i64;
        if x < {
            yield_!(x);
            x -= 10;
            1
        } {
            log("less");
        } else {
            log("not less");
        }
        yield_!(x);
    }
    run() limit 5 expect ["yield 5", "not less", "yield -5", "return ()"]
}

struct Node {
    value: u32,
    children: Vec<Node>,
}

/// Recursion, boxed as a trait object as the macro's error asks.
#[coro::coroutine]
fn walk(node: &Node) -> impl Iterator<Item = u32> + '_ {
    yield_!(node.value);
    for child in &node.children {
        yield_from!(Box::new(walk(child)) as Box<dyn Iterator<Item = u32> + '_>);
    }
}

#[coro::coroutine]
async fn depth(node: &Node) -> u32 {
    let mut deepest = 0;
    for child in &node.children {
        let below = Box::pin(depth(child))
            as std::pin::Pin<Box<dyn std::future::Future<Output = u32> + '_>>;
        deepest = deepest.max(below.await);
    }
    deepest + 1
}

#[test]
fn recursive_coroutines_boxed_as_trait_objects() {
    let leaf = |value| Node {
        value,
        children: vec![],
    };
    let tree = Node {
        value: 1,
        children: vec![
            leaf(2),
            Node {
                value: 3,
                children: vec![leaf(4)],
            },
        ],
    };
    assert_eq!(walk(&tree).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(coro::run(depth(&tree)), 3);
}

/// A `#[coro::coroutine]` function nested in another is transformed on its own.
#[coro::coroutine]
fn with_a_nested_coroutine() -> impl Iterator<Item = u32> {
    #[coro::coroutine]
    fn inner() -> impl Iterator<Item = u32> {
        yield_!(1);
        yield_!(2);
    }
    yield_from!(inner());
    yield_!(3);
}

/// A coroutine that never returns, its return type left unsaid.
#[coro::coroutine]
fn endless() -> impl coro::Coroutine<Yield = u32> {
    let mut n = 0u32;
    loop {
        yield_!(n);
        n += 1;
    }
}

macro_rules! twice {
    ($value:expr) => {
        yield_!($value);
        yield_!($value);
    };
}

/// A suspension point written by another macro: the pinned machine expands it.
#[coro::coroutine(pinned)]
fn doubled() -> impl Iterator<Item = u32> {
    twice!(3);
    twice!(4);
}

#[test]
fn nested_endless_and_macro_made_suspensions() {
    assert_eq!(with_a_nested_coroutine().collect::<Vec<_>>(), [1, 2, 3]);
    let mut e = endless();
    let mut pinned = std::pin::Pin::new(&mut e);
    for expected in 0..3 {
        let state = coro::Coroutine::resume(pinned.as_mut(), ());
        assert!(matches!(state, coro::CoroutineState::Yielded(n) if n == expected));
    }
    assert_eq!(doubled().collect::<Vec<_>>(), [3, 3, 4, 4]);
}

#[coro::coroutine]
fn countdown(from: u32) -> impl coro::Coroutine<(), Yield = u32, Return = &'static str> {
    for n in (1..=from).rev() {
        yield_!(n);
    }
    "liftoff"
}

/// `yield_from!` in a generator forwards a coroutine too, and evaluates to its
/// return value, in both machines.
#[coro::coroutine]
fn launch() -> impl Iterator<Item = u32> {
    let said = yield_from!(countdown(2));
    yield_from!([7]);
    yield_!(said.len() as u32);
}

#[coro::coroutine(pinned)]
fn launch_pinned() -> impl Iterator<Item = u32> {
    let said = yield_from!(countdown(2));
    yield_from!([7]);
    yield_!(said.len() as u32);
}

#[test]
fn yield_from_in_a_generator_takes_a_coroutine_and_gives_its_return_value() {
    assert_eq!(launch().collect::<Vec<_>>(), [2, 1, 7, 7]);
    assert_eq!(launch_pinned().collect::<Vec<_>>(), [2, 1, 7, 7]);
}

// A body that ends in `return x` or `panic!()` draws no warning from the
// machine's code after it.
#[deny(unreachable_code)]
#[coro::coroutine]
fn tail_return(x: u32) -> impl coro::Coroutine<Yield = u32, Return = u32> {
    yield_!(x);
    return x + 1;
}

#[deny(unreachable_code)]
#[coro::coroutine]
fn ends_in_panic(fail: bool) -> impl Iterator<Item = u32> {
    yield_!(1);
    if !fail {
        return;
    }
    panic!("the end");
}

// A `mut` binding assigned only in a later state, where it is declared again, drew
// `unused_mut` on the user's own `let mut`.
#[deny(unused_mut)]
#[coro::coroutine]
fn reassigned_after_a_yield(first: u32) -> impl Iterator<Item = u32> {
    let mut x = first;
    yield_!(x);
    x = 7;
    yield_!(x);
}

#[test]
fn a_mut_binding_assigned_only_after_a_yield_draws_no_unused_mut() {
    assert_eq!(reassigned_after_a_yield(3).collect::<Vec<_>>(), [3, 7]);
}

// A loop's head is a state passed through within one resume; what it carries (here
// a box, dead at the yield) made the stored state 16 bytes where rustc's is 1.
#[coro::coroutine]
fn replaced_each_turn() -> impl coro::Coroutine<Box<u8>, Yield = u8, Return = ()> {
    let mut x = Box::new(0u8);
    loop {
        let seen = *x;
        drop(x);
        x = yield_!(seen);
    }
}

#[test]
fn what_a_loop_head_carries_does_not_grow_the_stored_state() {
    let mut c = replaced_each_turn();
    assert_eq!(
        std::mem::size_of_val(&c),
        1,
        "only the discriminant is kept across the yield"
    );
    let mut c = std::pin::Pin::new(&mut c);
    assert_eq!(
        coro::Coroutine::resume(c.as_mut(), Box::new(9)),
        coro::CoroutineState::Yielded(0)
    );
    assert_eq!(
        coro::Coroutine::resume(c.as_mut(), Box::new(5)),
        coro::CoroutineState::Yielded(5)
    );
}

#[test]
fn diverging_tails_compile_without_warnings() {
    let mut c = Box::pin(tail_return(4));
    assert_eq!(
        coro::Coroutine::resume(c.as_mut(), ()),
        coro::CoroutineState::Yielded(4)
    );
    assert_eq!(
        coro::Coroutine::resume(c.as_mut(), ()),
        coro::CoroutineState::Complete(5)
    );
    assert_eq!(ends_in_panic(false).collect::<Vec<_>>(), [1]);
}
