//! What a coroutine promises beyond its trace: methods and generics, auto traits,
//! storage, drops, and what happens on misuse at run time.

use std::cell::Cell;
use std::marker::PhantomPinned;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::rc::Rc;

use coro::{Coroutine, CoroutineState};

struct Counter {
    step: u32,
    total: u32,
}

impl Counter {
    #[coro::coroutine]
    fn multiples(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        for i in 1..=n {
            yield_!(i * self.step);
        }
    }

    #[coro::coroutine]
    fn accumulate(&mut self) -> impl Coroutine<u32, Yield = u32, Return = u32> + '_ {
        loop {
            let add = yield_!(self.total);
            if add == 0 {
                return self.total;
            }
            self.total += add;
        }
    }

    #[coro::coroutine]
    fn into_steps(self) -> impl Iterator<Item = u32> {
        let mut this = self;
        while this.total > 0 {
            this.total = this.total.saturating_sub(this.step);
            yield_!(this.total);
        }
    }
}

trait Source {
    fn items(&self) -> impl Iterator<Item = String>;
}

struct Names(Vec<&'static str>);

impl Source for Names {
    #[coro::coroutine]
    fn items(&self) -> impl Iterator<Item = String> {
        let names = self.0.clone();
        for name in names {
            yield_!(name.to_uppercase());
        }
    }
}

#[test]
fn methods_take_self_in_every_form() {
    let mut counter = Counter { step: 3, total: 0 };
    assert_eq!(counter.multiples(3).collect::<Vec<_>>(), [3, 6, 9]);

    {
        let mut acc = pin!(counter.accumulate());
        assert_eq!(acc.as_mut().resume(0), CoroutineState::Yielded(0));
        assert_eq!(acc.as_mut().resume(5), CoroutineState::Yielded(5));
        assert_eq!(acc.as_mut().resume(0), CoroutineState::Complete(5));
    }
    assert_eq!(counter.total, 5);

    assert_eq!(counter.into_steps().collect::<Vec<_>>(), [2, 0]);
    assert_eq!(
        Names(vec!["a", "b"]).items().collect::<Vec<_>>(),
        ["A", "B"]
    );
}

#[coro::coroutine]
fn repeat_each<T, I>(items: I, times: usize) -> impl Iterator<Item = T>
where
    I: IntoIterator<Item = T>,
    T: Clone,
{
    for item in items {
        for _ in 0..times {
            yield_!(item.clone());
        }
    }
}

#[coro::coroutine]
fn words<'a>(text: &'a str, separator: char) -> impl Iterator<Item = &'a str> + 'a {
    let mut rest = text;
    while let Some(at) = rest.find(separator) {
        yield_!(&rest[..at]);
        rest = &rest[at + separator.len_utf8()..];
    }
    yield_!(rest);
}

#[coro::coroutine]
fn elided(text: &str) -> impl Iterator<Item = char> + '_ {
    for c in text.chars() {
        yield_!(c);
    }
}

#[test]
fn generics_where_clauses_and_lifetimes() {
    assert_eq!(repeat_each(['a', 'b'], 2).collect::<String>(), "aabb");
    assert_eq!(
        words("a,bb,,c", ',').collect::<Vec<_>>(),
        ["a", "bb", "", "c"]
    );
    assert_eq!(elided("hé").collect::<Vec<_>>(), ['h', 'é']);
}

fn assert_send<T: Send>(_: &T) {}
fn assert_sync<T: Sync>(_: &T) {}
fn assert_unpin<T: Unpin>(_: &T) {}

#[coro::coroutine]
fn holds_string() -> impl Iterator<Item = usize> + Send + Sync {
    let text = String::from("held across a yield");
    yield_!(text.len());
    yield_!(text.len() * 2);
}

#[coro::coroutine]
fn holds_pinned() -> impl Iterator<Item = u8> {
    let marker = PhantomPinned;
    yield_!(1);
    let _still_here = &marker;
}

#[test]
fn auto_traits_follow_the_contents() {
    let generator = holds_string();
    assert_send(&generator);
    assert_sync(&generator);
    assert_unpin(&generator);
    assert_eq!(generator.collect::<Vec<_>>(), [19, 38]);
    // The state moves between resumes and is never pinned: even a `!Unpin` local
    // leaves the coroutine `Unpin`.
    let pinned = holds_pinned();
    assert_unpin(&pinned);
    assert_eq!(pinned.count(), 1);
}

#[coro::coroutine]
fn disjoint_phases() -> impl Iterator<Item = u8> {
    {
        let first = [1u8; 1024];
        yield_!(first[0]);
        yield_!(first[1023]);
    }
    {
        let second = [2u8; 1024];
        yield_!(second[0]);
    }
}

#[coro::coroutine]
fn temporary_not_stored() -> impl Iterator<Item = u32> {
    // A binding lives to the end of its scope, as in plain Rust: a block ends it.
    let sum: u32 = {
        let big = [1u32; 1024];
        big.iter().sum()
    };
    yield_!(sum);
}

#[test]
fn states_share_storage_and_hold_only_what_crosses() {
    let size = std::mem::size_of_val(&disjoint_phases());
    assert!(
        size < 1100,
        "two disjoint 1 KiB phases should share storage, got {size} bytes"
    );
    assert_eq!(disjoint_phases().collect::<Vec<_>>(), [1, 1, 2]);
    let size = std::mem::size_of_val(&temporary_not_stored());
    assert!(
        size <= 16,
        "a buffer whose scope ended before the yield is not stored, got {size} bytes"
    );
    assert_eq!(temporary_not_stored().collect::<Vec<_>>(), [1024]);
}

struct DropCount(Rc<Cell<u32>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[coro::coroutine]
fn holds_two(drops: Rc<Cell<u32>>, fail: bool) -> impl Iterator<Item = u32> {
    let _a = DropCount(drops.clone());
    yield_!(1);
    let _b = DropCount(drops.clone());
    if fail {
        panic!("failing on purpose");
    }
    yield_!(2);
}

#[test]
fn dropping_a_suspended_coroutine_drops_each_live_binding_once() {
    let drops = Rc::new(Cell::new(0));
    let mut generator = holds_two(drops.clone(), false);
    assert_eq!(generator.next(), Some(1));
    drop(generator);
    assert_eq!(drops.get(), 1);

    let mut generator = holds_two(drops.clone(), false);
    generator.next();
    generator.next();
    assert_eq!(drops.get(), 1, "nothing dropped while suspended");
    drop(generator);
    assert_eq!(drops.get(), 3);
}

#[test]
fn a_panic_poisons_the_coroutine_without_double_drops() {
    let drops = Rc::new(Cell::new(0));
    let mut generator = holds_two(drops.clone(), true);
    assert_eq!(generator.next(), Some(1));
    let panicked = catch_unwind(AssertUnwindSafe(|| generator.next()));
    assert!(panicked.is_err());
    assert_eq!(drops.get(), 2, "both locals dropped by the unwinding");
    let again = catch_unwind(AssertUnwindSafe(|| generator.next())).unwrap_err();
    let message = again.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "coroutine resumed after it panicked");
    drop(generator);
    assert_eq!(drops.get(), 2, "nothing dropped twice");
}

#[coro::coroutine]
fn once() -> impl Coroutine<Yield = u8, Return = &'static str> {
    yield_!(1);
    "done"
}

#[test]
fn resuming_a_completed_coroutine_panics_and_iterators_stay_fused() {
    let mut c = pin!(once());
    assert_eq!(c.as_mut().resume(()), CoroutineState::Yielded(1));
    assert_eq!(c.as_mut().resume(()), CoroutineState::Complete("done"));
    let error = catch_unwind(AssertUnwindSafe(|| c.as_mut().resume(()))).unwrap_err();
    let message = error.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "coroutine resumed after it completed");

    let mut fused = holds_string();
    assert_eq!(fused.by_ref().count(), 2);
    assert_eq!(fused.next(), None);
    assert_eq!(fused.next(), None);
}

#[test]
fn the_first_resume_argument_is_dropped() {
    #[coro::coroutine]
    fn first_value() -> impl Coroutine<String, Yield = (), Return = String> {
        yield_!(())
    }
    let mut c = pin!(first_value());
    assert_eq!(
        c.as_mut().resume("ignored".into()),
        CoroutineState::Yielded(())
    );
    assert_eq!(
        c.as_mut().resume("kept".into()),
        CoroutineState::Complete("kept".to_string())
    );
}

type Log = Rc<std::cell::RefCell<Vec<String>>>;

/// Counts to `len`, and says when it is dropped.
struct LoggedCount {
    name: &'static str,
    next: u32,
    len: u32,
    log: Log,
}

impl LoggedCount {
    fn new(log: &Log, name: &'static str, len: u32) -> Self {
        LoggedCount {
            name,
            next: 0,
            len,
            log: log.clone(),
        }
    }
}

impl Iterator for LoggedCount {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let item = (self.next < self.len).then_some(self.next);
        self.next += 1;
        item
    }
}

impl Drop for LoggedCount {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("drop {}", self.name));
    }
}

/// Loops that run out, break, and are left by `continue 'outer`, each over a logged
/// iterator. `plain_loops` is the same body with a push where this one yields.
#[coro::coroutine]
fn logged_loops(log: Log) -> impl Iterator<Item = u32> {
    let say = {
        let log = log.clone();
        move |line: &str| log.borrow_mut().push(line.to_owned())
    };
    for i in LoggedCount::new(&log, "a", 2) {
        yield_!(i);
    }
    say("after a");
    for i in LoggedCount::new(&log, "b", 3) {
        if i == 1 {
            break;
        }
        yield_!(10 + i);
    }
    say("after b");
    'outer: for i in LoggedCount::new(&log, "c", 2) {
        for j in LoggedCount::new(&log, "d", 3) {
            if j == 1 {
                continue 'outer;
            }
            yield_!(20 + 2 * i + j);
        }
    }
    say("after c");
    for i in LoggedCount::new(&log, "e", 0) {
        yield_!(30 + i);
    }
    say("after e");
}

fn plain_loops(log: Log) {
    let say = |line: &str| log.borrow_mut().push(line.to_owned());
    let emit = |item: u32| log.borrow_mut().push(format!("item {item}"));
    for i in LoggedCount::new(&log, "a", 2) {
        emit(i);
    }
    say("after a");
    for i in LoggedCount::new(&log, "b", 3) {
        if i == 1 {
            break;
        }
        emit(10 + i);
    }
    say("after b");
    'outer: for i in LoggedCount::new(&log, "c", 2) {
        for j in LoggedCount::new(&log, "d", 3) {
            if j == 1 {
                continue 'outer;
            }
            emit(20 + 2 * i + j);
        }
    }
    say("after c");
    for i in LoggedCount::new(&log, "e", 0) {
        emit(30 + i);
    }
    say("after e");
}

#[test]
fn a_for_loops_iterator_is_dropped_where_rust_drops_it() {
    let plain = Log::default();
    plain_loops(plain.clone());
    let machine = Log::default();
    for item in logged_loops(machine.clone()) {
        machine.borrow_mut().push(format!("item {item}"));
    }
    assert_eq!(*machine.borrow(), *plain.borrow());
    assert!(plain.borrow().contains(&"drop e".to_owned()));
}

/// Pushes `drop <name>` to its log when dropped.
struct Loud {
    log: Log,
    name: &'static str,
}

impl Loud {
    fn new(log: &Log, name: &'static str) -> Self {
        log.borrow_mut().push(format!("make {name}"));
        Loud {
            log: log.clone(),
            name,
        }
    }
}

impl Drop for Loud {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("drop {}", self.name));
    }
}

/// A generator body and the same body as a plain function, where each `yield_!`
/// pushes `item <value>` to the log.
macro_rules! twins {
    ($machine:ident, $plain:ident, |$log:ident, $which:ident| $body:block) => {
        #[coro::coroutine]
        fn $machine($log: Log, $which: u32) -> impl Iterator<Item = u32> $body

        fn $plain($log: Log, $which: u32) {
            macro_rules! yield_ {
                ($value:expr) => {
                    $log.borrow_mut().push(format!("item {}", $value))
                };
            }
            $body
        }
    };
}

fn say(log: &Log, line: String) {
    log.borrow_mut().push(line);
}

// Code after a loop, in the scopes around it: a binding made after the loop in a
// `match` arm, one moved on only some paths before a `break`, a name that hides
// an outer one.
twins!(made_after_a_loop, plain_made_after_a_loop, |log, which| {
    match which {
        0 => {}
        _ => {
            for i in 0..2 {
                yield_!(i);
            }
            let _d = Loud::new(&log, "d");
        }
    }
    say(&log, "after match".to_owned());
});

twins!(
    moved_on_some_paths_before_a_break,
    plain_moved_on_some_paths_before_a_break,
    |log, which| {
        let mut round = 0;
        loop {
            yield_!(10 + round);
            let e = Loud::new(&log, "e");
            if round == which {
                drop(e);
            }
            if round >= 1 {
                break;
            }
            round += 1;
        }
        say(&log, "after the loop".to_owned());
    }
);

twins!(
    hides_a_name_after_a_loop,
    plain_hides_a_name_after_a_loop,
    |log, which| {
        let x = which;
        {
            for i in 0..2 {
                yield_!(20 + i);
            }
            let x = 7;
            say(&log, format!("inner x {x}"));
        }
        say(&log, format!("outer x {x}"));
    }
);

// Two values made in a branch that may `break`, dropped before the loop's next turn.
twins!(
    dropped_before_the_next_turn,
    plain_dropped_before_the_next_turn,
    |log, which| {
        for i in 0..3 {
            if i == which {
                yield_!(i);
            } else {
                let _d = Loud::new(&log, "d");
                if i > 5 {
                    break;
                }
                let _e = Loud::new(&log, "e");
            }
        }
        say(&log, "after the loop".to_owned());
    }
);

// A loop's body that starts its bindings with literals and ends in a `yield_!`: the
// machine starts the next turn's bindings before it suspends, so both `yield_!`s
// resume into one state. Not when the body still holds a value with a destructor
// there: ending the turn early would drop it before the item is seen.
twins!(
    restarts_with_literals,
    plain_restarts_with_literals,
    |log, which| {
        let mut round = 0;
        loop {
            let mut n = 0;
            let mut total = 0;
            while n < 3 {
                n += 1;
                total += n;
                yield_!(n);
            }
            round += 1;
            if round == 3 {
                break;
            }
            yield_!(100 * round + total + which);
        }
        say(&log, format!("rounds {round}"));
    }
);

#[test]
fn code_after_a_loop_drops_and_names_what_rust_does() {
    type Machine = fn(Log, u32) -> Box<dyn Iterator<Item = u32>>;
    type Plain = fn(Log, u32);
    let cases: [(Machine, Plain); 5] = [
        (
            |l, w| Box::new(made_after_a_loop(l, w)),
            plain_made_after_a_loop,
        ),
        (
            |l, w| Box::new(restarts_with_literals(l, w)),
            plain_restarts_with_literals,
        ),
        (
            |l, w| Box::new(moved_on_some_paths_before_a_break(l, w)),
            plain_moved_on_some_paths_before_a_break,
        ),
        (
            |l, w| Box::new(hides_a_name_after_a_loop(l, w)),
            plain_hides_a_name_after_a_loop,
        ),
        (
            |l, w| Box::new(dropped_before_the_next_turn(l, w)),
            plain_dropped_before_the_next_turn,
        ),
    ];
    for (case, (machine_body, plain_body)) in cases.into_iter().enumerate() {
        for which in 0..3 {
            let plain = Log::default();
            plain_body(plain.clone(), which);
            let machine = Log::default();
            for item in machine_body(machine.clone(), which) {
                machine.borrow_mut().push(format!("item {item}"));
            }
            assert_eq!(
                *machine.borrow(),
                *plain.borrow(),
                "case {case}, which = {which}"
            );
        }
    }
}

thread_local! {
    /// What `Turn`s and the loop below did, in order: a log no binding borrows, so
    /// the value holding a destructor across the `yield_!` keeps the compact machine.
    static TURNS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Says when it is dropped, into `TURNS`.
struct Turn(u32);

impl Drop for Turn {
    fn drop(&mut self) {
        TURNS.with_borrow_mut(|turns| turns.push(format!("drop turn {}", self.0)));
    }
}

/// A generator and the same body as a plain function, both logging into `TURNS`.
macro_rules! turn_twins {
    ($machine:ident, $plain:ident, $body:block) => {
        #[coro::coroutine]
        fn $machine() -> impl Iterator<Item = u32> $body

        fn $plain() {
            macro_rules! yield_ {
                ($value:expr) => {
                    TURNS.with_borrow_mut(|turns| turns.push(format!("item {}", $value)))
                };
            }
            $body
        }
    };
}

turn_twins!(
    restarts_holding_a_destructor,
    plain_restarts_holding_a_destructor,
    {
        let mut round = 0;
        loop {
            let mut n = 0;
            while n < 2 {
                n += 1;
                yield_!(n);
            }
            let _turn = Turn(round);
            round += 1;
            if round == 3 {
                break;
            }
            yield_!(100 + round);
        }
    }
);

// The turn's value is dropped after the item is seen, as in plain Rust: the turn
// cannot be ended before the `yield_!` at its end, so no state is shared.
#[test]
fn a_turn_holding_a_destructor_ends_after_its_last_yield() {
    for item in restarts_holding_a_destructor() {
        TURNS.with_borrow_mut(|turns| turns.push(format!("item {item}")));
    }
    let machine = TURNS.take();
    plain_restarts_holding_a_destructor();
    let plain = TURNS.take();
    assert_eq!(machine, plain);
    assert_eq!(plain[2..4], ["item 101", "drop turn 0"]);
}

/// Counts down from `from`, logging each step it takes.
#[coro::coroutine]
fn logged_countdown(from: u32, log: &Cell<u32>) -> impl Iterator<Item = u32> + '_ {
    for i in (0..from).rev() {
        log.set(log.get() + 1);
        yield_!(i);
    }
}

/// The same, with a signature that asks for `Debug`.
#[coro::coroutine]
fn described_countdown(from: u32) -> impl Iterator<Item = u32> + std::fmt::Debug {
    for i in (0..from).rev() {
        yield_!(i);
    }
}

#[test]
fn folding_a_generator_takes_what_next_would_from_wherever_it_stands() {
    // `fold` takes its first item apart from the rest, which must not change what
    // it sees: from the start, part way through, at the end, and with nothing.
    let log = Cell::new(0);
    let push = |mut seen: Vec<u32>, item| {
        seen.push(item);
        seen
    };
    assert_eq!(
        logged_countdown(4, &log).fold(Vec::new(), push),
        [3, 2, 1, 0]
    );
    assert_eq!(log.get(), 4);
    let mut partly = logged_countdown(4, &log);
    assert_eq!(partly.next(), Some(3));
    assert_eq!(partly.fold(Vec::new(), push), [2, 1, 0]);
    let mut finished = logged_countdown(1, &log);
    assert_eq!(finished.next(), Some(0));
    assert_eq!(finished.next(), None);
    assert_eq!(finished.fold(Vec::new(), push), []);
    assert_eq!(logged_countdown(0, &log).fold(Vec::new(), push), []);
    assert_eq!(log.get(), 9, "every step ran once");
    assert_eq!(described_countdown(3).fold(0, |sum, i| sum * 10 + i), 210);
    let mut described = described_countdown(3);
    described.next();
    assert_eq!(described.sum::<u32>(), 1);
}

/// Counts its items from `start`, by a range of its parameters: made at its loop.
#[coro::coroutine]
fn from_to(start: u32, end: u32) -> impl Iterator<Item = u32> + std::fmt::Debug {
    let step = 1;
    for i in start..end {
        yield_!(i * step);
    }
}

/// Holds its one parameter across the loop, which ranges over literals.
#[coro::coroutine]
fn holding(kept: Rc<()>) -> impl Iterator<Item = usize> {
    for _ in 0..2 {
        yield_!(Rc::strong_count(&kept));
    }
}

/// Calls out before its loop: that waits for the first `next`.
#[coro::coroutine]
fn logging_first(log: &Cell<u32>, n: u32) -> impl Iterator<Item = u32> + '_ {
    let n = n.min(log.replace(log.get() + 1) + n);
    for i in 0..n {
        yield_!(i);
    }
}

#[test]
fn a_generator_whose_first_code_runs_nothing_of_the_users_behaves_as_a_lazy_one() {
    // Started at its loop when made, it still yields from the start, says it has
    // not started, and drops what it holds once, also when never resumed.
    let counted = from_to(3, 6);
    assert!(
        format!("{counted:?}").contains("not started"),
        "{counted:?}"
    );
    let mut by_next = Vec::new();
    for i in counted {
        by_next.push(i);
    }
    assert_eq!(by_next, [3, 4, 5]);
    assert_eq!(from_to(5, 5).next(), None);
    let kept = Rc::new(());
    let unstarted = holding(kept.clone());
    assert_eq!(Rc::strong_count(&kept), 2);
    drop(unstarted);
    assert_eq!(Rc::strong_count(&kept), 1, "dropped once, never resumed");
    assert_eq!(holding(kept.clone()).collect::<Vec<_>>(), [2, 2]);
    assert_eq!(Rc::strong_count(&kept), 1);
    // A call before the loop runs at the first `next`, not when the generator is made.
    let log = Cell::new(0);
    let mut lazy = logging_first(&log, 2);
    assert_eq!(log.get(), 0, "nothing ran yet");
    assert_eq!(lazy.next(), Some(0));
    assert_eq!(log.get(), 1);
}
