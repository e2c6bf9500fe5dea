//! The transform, construct by construct. Every body runs twice through the
//! differential harness (as a coroutine and as plain code) and the trace is asserted.

#[macro_use]
mod support;

use support::{Noisy, log};

/// Logs that it ran and returns its argument: makes evaluation order visible.
pub fn step<T: std::fmt::Debug>(value: T) -> T {
    log(format!("eval {value:?}"));
    value
}

differential! {
    fn fibonacci() -> impl Iterator<Item = u64> {
        let (mut a, mut b) = (0, 1);
        loop {
            yield_!(a);
            (a, b) = (b, a + b);
        }
    }
    run() limit 6 expect ["yield 0", "yield 1", "yield 1", "yield 2", "yield 3", "yield 5", "yield 8", "stop"]
}

differential! {
    fn summer() -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let mut total = 0;
        while total < 100 {
            total += yield_!(total);
        }
        total
    }
    run() script [40, 50, 60] expect ["yield 0", "yield 40", "yield 90", "return 150"]
}

differential! {
    fn yield_value_in_let(start: u32) -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let first = yield_!(start);
        let second = yield_!(first + 1);
        first * 100 + second
    }
    run(7) script [3, 4] expect ["yield 7", "yield 4", "return 304"]
}

differential! {
    fn if_condition_and_branches() -> impl Coroutine<i32, Yield = &'static str, Return = i32> {
        let mut seen = 0;
        for _ in 0..3 {
            if yield_!("ask") > 0 {
                seen += yield_!("positive");
            } else {
                seen -= 1;
                yield_!("not positive");
            }
        }
        seen
    }
    run() script [1, 10, -1, 0, 2, 20] expect [
        "yield \"ask\"", "yield \"positive\"", "yield \"ask\"", "yield \"not positive\"",
        "yield \"ask\"", "yield \"positive\"", "return 29",
    ]
}

differential! {
    fn if_as_value() -> impl Coroutine<bool, Yield = u8, Return = String> {
        let word = if yield_!(1) { let w = yield_!(2); format!("yes {w}") } else { String::from("no") };
        let other = if yield_!(3) { "a" } else { "b" };
        format!("{word} {other}")
    }
    run() script [true, false, true] expect ["yield 1", "yield 2", "yield 3", "return \"yes false a\""]
}

differential! {
    fn match_scrutinee_arms_and_guards() -> impl Coroutine<Option<u32>, Yield = u32, Return = u32> {
        let mut sum = 0;
        loop {
            match yield_!(sum) {
                Some(n) if n > 100 => break sum + n,
                Some(n) if n % 2 == 0 => {
                    let doubled = yield_!(n * 2).unwrap_or(0);
                    sum += doubled;
                }
                Some(n) => sum += n,
                None => continue,
            }
        }
    }
    run() script [Some(2), Some(5), None, Some(3), Some(200)] expect [
        "yield 0", "yield 4", "yield 5", "yield 5", "yield 8", "return 208",
    ]
}

differential! {
    fn while_let_and_for(limit: u32) -> impl Iterator<Item = u32> {
        let mut stack = vec![1, 2, 3];
        while let Some(top) = stack.pop() {
            yield_!(top * 10);
        }
        for i in 0..limit {
            if i == 1 {
                continue;
            }
            yield_!(i);
        }
    }
    run(4) limit 10 expect ["yield 30", "yield 20", "yield 10", "yield 0", "yield 2", "yield 3", "return ()"]
}

differential! {
    fn labeled_loops_and_break_values() -> impl Iterator<Item = (u32, u32)> {
        let mut restarts = 0;
        let found = 'outer: loop {
            for i in 0.. {
                for j in 0..3 {
                    if i * j == 4 {
                        break 'outer (i, j);
                    }
                    if j > i && restarts < 1 {
                        restarts += 1;
                        continue 'outer;
                    }
                    yield_!((i, j));
                }
            }
        };
        yield_!(found);
    }
    run() limit 20 expect [
        "yield (0, 0)", "yield (0, 0)", "yield (0, 1)", "yield (0, 2)", "yield (1, 0)", "yield (1, 1)",
        "yield (1, 2)", "yield (2, 0)", "yield (2, 1)", "yield (2, 2)", "return ()",
    ]
}

differential! {
    fn nested_loops_with_labels() -> impl Iterator<Item = (u32, u32)> {
        'rows: for i in 0..4 {
            let mut j = 0;
            while j < 4 {
                if j > i {
                    continue 'rows;
                }
                if i == 3 {
                    break 'rows;
                }
                yield_!((i, j));
                j += 1;
            }
        }
    }
    run() limit 20 expect ["yield (0, 0)", "yield (1, 0)", "yield (1, 1)", "yield (2, 0)", "yield (2, 1)", "yield (2, 2)", "return ()"]
}

differential! {
    fn early_return() -> impl Coroutine<u32, Yield = u32, Return = &'static str> {
        loop {
            let n = yield_!(0);
            if n == 0 {
                return "zero";
            }
            if n > 10 {
                return if yield_!(n) > 0 { "big, confirmed" } else { "big" };
            }
        }
    }
    run() script [5, 11, 1] expect ["yield 0", "yield 0", "yield 11", "return \"big, confirmed\""]
}

differential! {
    fn question_mark_on_result() -> impl Coroutine<&'static str, Yield = u32, Return = Result<u32, std::num::ParseIntError>> {
        let a: u32 = yield_!(1).parse()?;
        let b: u32 = yield_!(2).parse()?;
        Ok(a + b)
    }
    run() script ["4", "x"] expect ["yield 1", "yield 2", "return Err(ParseIntError { kind: InvalidDigit })"]
}

differential! {
    fn question_mark_on_option() -> impl Coroutine<Option<u32>, Yield = u32, Return = Option<u32>> {
        let mut total = 0;
        for i in 0..3 {
            total += yield_!(i)?;
        }
        Some(total)
    }
    run() script [Some(1), Some(2), Some(3)] expect ["yield 0", "yield 1", "yield 2", "return Some(6)"]
}

differential! {
    fn question_mark_short_circuits() -> impl Coroutine<Option<u32>, Yield = u32, Return = Option<u32>> {
        let guard = Noisy::new("guard");
        let first = yield_!(1)?;
        let _keep = &guard;
        Some(first)
    }
    run() script [None] expect ["make guard", "yield 1", "drop guard", "return None"]
}

differential! {
    fn evaluation_order_of_operands() -> impl Coroutine<u32, Yield = u32, Return = Vec<u32>> {
        fn combine(a: u32, b: u32, c: u32) -> Vec<u32> {
            vec![a, b, c]
        }
        let v = combine(step(1), yield_!(step(2)), step(3));
        let tuple = (step(4), yield_!(5), step(6));
        let array = [step(7), yield_!(8)];
        let mut out = v;
        out.extend([tuple.0, tuple.1, tuple.2]);
        out.extend(array);
        out.push(step(100) + yield_!(9));
        out
    }
    run() script [20, 50, 80, 90] expect [
        "eval 1", "eval 2", "yield 2", "eval 3", "eval 4", "yield 5", "eval 6", "eval 7", "yield 8",
        "eval 100", "yield 9", "return [1, 20, 3, 4, 50, 6, 7, 80, 190]",
    ]
}

#[derive(Debug)]
pub struct Point {
    pub x: u32,
    pub y: u32,
}

differential! {
    fn struct_literals_and_method_args() -> impl Coroutine<u32, Yield = &'static str, Return = (u32, usize)> {
        let p = Point { x: step(1), y: yield_!("y") };
        let mut items = Vec::new();
        items.push(yield_!("push"));
        items.push(p.x + p.y);
        let q = Point { x: 0, ..p };
        (q.y, items.len() + yield_!("len") as usize)
    }
    run() script [2, 3, 4] expect ["eval 1", "yield \"y\"", "yield \"push\"", "yield \"len\"", "return (2, 6)"]
}

differential! {
    fn compound_assignment_and_short_circuit() -> impl Coroutine<bool, Yield = u8, Return = (u32, bool, bool)> {
        let mut n = 1;
        n += yield_!(1) as u32;
        n *= 10;
        let both = step(true) && yield_!(2);
        let either = step(false) || yield_!(3);
        let skipped = step(false) && yield_!(4);
        (n, both, either || skipped)
    }
    run() script [true, true, false] expect [
        "yield 1", "eval true", "yield 2", "eval false", "yield 3", "eval false", "return (20, true, false)",
    ]
}

differential! {
    fn shadowing_across_yields() -> impl Iterator<Item = String> {
        let x = 1;
        yield_!(format!("{x}"));
        let x = x + 1;
        yield_!(format!("{x}"));
        let x = format!("s{x}");
        yield_!(x.clone());
        {
            let x = 'c';
            yield_!(x.to_string());
        }
        yield_!(x);
    }
    run() limit 10 expect ["yield \"1\"", "yield \"2\"", "yield \"s2\"", "yield \"c\"", "yield \"s2\"", "return ()"]
}

differential! {
    fn inner_shadow_of_live_outer() -> impl Iterator<Item = u32> {
        let x = 5;
        for i in 1..3 {
            let x = x * i;
            yield_!(x);
        }
        yield_!(x);
    }
    run() limit 10 expect ["yield 5", "yield 10", "yield 5", "return ()"]
}

differential! {
    fn guards_live_to_scope_end() -> impl Iterator<Item = u32> {
        let _outer = Noisy::new("outer");
        {
            let _inner = Noisy::new("inner");
            yield_!(1);
            log("inner scope ends");
        }
        let moved = Noisy::new("moved");
        drop(moved);
        yield_!(2);
        let _second = Noisy::new("second");
        yield_!(3);
        log("body ends");
    }
    run() limit 10 expect [
        "make outer", "make inner", "yield 1", "inner scope ends", "drop inner", "make moved",
        "drop moved", "yield 2", "make second", "yield 3", "body ends", "drop second", "drop outer", "return ()",
    ]
}

differential! {
    fn dropped_while_suspended() -> impl Iterator<Item = u32> {
        let _a = Noisy::new("a");
        let _b = Noisy::new("b");
        {
            let _c = Noisy::new("c");
            yield_!(1);
        }
        yield_!(2);
    }
    run() limit 0 expect ["make a", "make b", "make c", "yield 1", "stop", "drop c", "drop b", "drop a"]
}

differential! {
    fn macros_closures_and_items() -> impl Iterator<Item = String> {
        const SCALE: u32 = 3;
        fn helper(n: u32) -> u32 {
            n * SCALE
        }
        let base = 2;
        let add = move |n: u32| n + base;
        let list = vec![base, helper(base)];
        yield_!(format!("{list:?}"));
        assert!(list.len() == 2, "length is {}", list.len());
        assert_eq!(add(1), 3);
        println!("list = {list:?}, base = {}", base);
        yield_!(format!("{}", list.iter().map(|n| add(*n)).sum::<u32>()));
        let total: u32 = list.into_iter().sum();
        yield_!(total.to_string());
    }
    run() limit 10 expect ["yield \"[2, 6]\"", "yield \"12\"", "yield \"8\"", "return ()"]
}

differential! {
    fn let_else_and_blocks() -> impl Iterator<Item = u32> {
        let mut words = vec!["7", "x", "3"].into_iter();
        loop {
            let Some(word) = words.next() else { break };
            let Ok(n) = word.parse::<u32>() else {
                yield_!(0);
                continue;
            };
            let doubled = {
                let twice = n * 2;
                yield_!(n);
                twice
            };
            yield_!(doubled);
        }
    }
    run() limit 10 expect ["yield 7", "yield 14", "yield 0", "yield 3", "yield 6", "return ()"]
}

differential! {
    fn if_let_and_let_chains() -> impl Iterator<Item = u32> {
        let items = [Some(1), None, Some(30)];
        for item in items {
            if let Some(n) = item {
                yield_!(n);
                if let Some(m) = item && m > 10 {
                    yield_!(m * 2);
                }
            } else {
                yield_!(0);
            }
        }
    }
    run() limit 10 expect ["yield 1", "yield 0", "yield 30", "yield 60", "return ()"]
}

#[coro::coroutine]
fn countdown(from: u32) -> impl Iterator<Item = u32> {
    let mut n = from;
    while n > 0 {
        yield_!(n);
        n -= 1;
    }
}

#[coro::coroutine]
fn echo_twice() -> impl coro::Coroutine<u32, Yield = u32, Return = u32> {
    let a = yield_!(0);
    let b = yield_!(a);
    a + b
}

differential! {
    fn yield_from_iterators() -> impl Iterator<Item = u32> {
        yield_from!(countdown(2));
        yield_from!(vec![10, 20]);
        yield_from!(countdown(1));
    }
    run() limit 10 expect ["yield 2", "yield 1", "yield 10", "yield 20", "yield 1", "return ()"]
}

differential! {
    fn yield_from_coroutines() -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let first = yield_from!(echo_twice());
        let second = yield_from!(echo_twice());
        first * 100 + second
    }
    run() script [1, 2, 3, 4] expect ["yield 0", "yield 1", "yield 0", "yield 3", "return 307"]
}

differential! {
    fn tuple_and_struct_patterns((a, b): (u32, u32), Point { x, y }: Point) -> impl Iterator<Item = u32> {
        yield_!(a + b);
        let [first, .., last] = [x, 1, 2, y];
        yield_!(first * last);
    }
    run((1, 2), Point { x: 3, y: 4 }) limit 10 expect ["yield 3", "yield 12", "return ()"]
}

differential! {
    fn mutable_parameter(mut n: u32, label: &'static str) -> impl Iterator<Item = String> {
        while n > 0 {
            yield_!(format!("{label}{n}"));
            n /= 2;
        }
    }
    run(5, "n=") limit 10 expect ["yield \"n=5\"", "yield \"n=2\"", "yield \"n=1\"", "return ()"]
}

differential! {
    fn deferred_initialisation() -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let result;
        let mut fallback = 1;
        if yield_!(1) > 5 {
            result = yield_!(2);
        } else {
            fallback = 9;
            result = fallback * 2;
        }
        result + fallback
    }
    run() script [3, 0] expect ["yield 1", "return 27"]
}

differential! {
    fn moved_value_is_not_carried() -> impl Iterator<Item = usize> {
        let data = vec![1, 2, 3];
        let taken = data;
        yield_!(taken.len());
        let text = String::from("abc");
        let consumed = text.into_bytes();
        yield_!(consumed.len());
    }
    run() limit 10 expect ["yield 3", "yield 3", "return ()"]
}

differential! {
    fn loop_value_and_nested_yield_in_arguments() -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let mut count = 0;
        let found = loop {
            count += 1;
            let n = yield_!(yield_!(count) + 1);
            if n > 10 {
                break n;
            }
        };
        found + count
    }
    run() script [1, 2, 20, 30] expect ["yield 1", "yield 2", "yield 2", "yield 21", "return 32"]
}

differential! {
    fn loop_without_suspension_on_some_turns() -> impl Iterator<Item = u32> {
        for i in 0..7 {
            let _turn = Noisy::new(if i % 3 == 0 { "kept" } else { "skipped" });
            if i % 3 == 0 {
                yield_!(i);
                log("after yield");
            } else if i == 4 {
                continue;
            }
            log("end of turn");
        }
    }
    run() limit 10 expect [
        "make kept", "yield 0", "after yield", "end of turn", "drop kept",
        "make skipped", "end of turn", "drop skipped",
        "make skipped", "end of turn", "drop skipped",
        "make kept", "yield 3", "after yield", "end of turn", "drop kept",
        "make skipped", "drop skipped",
        "make skipped", "end of turn", "drop skipped",
        "make kept", "yield 6", "after yield", "end of turn", "drop kept",
        "return ()",
    ]
}

differential! {
    fn nested_loops_with_guards_breaks_and_shadowing() -> impl Coroutine<u32, Yield = String, Return = u32> {
        let mut total = 0;
        let x = 100;
        'outer: for i in 0..4u32 {
            let _outer_guard = Noisy::new("outer turn");
            let x = x + i;
            let mut j = 0;
            while j < 3 {
                j += 1;
                let _inner_guard = Noisy::new("inner turn");
                match (i + j) % 3 {
                    0 => continue,
                    1 if i == 2 => break 'outer,
                    1 => {
                        let x = x * 2;
                        total += yield_!(format!("{i}/{j}: {x}"));
                    }
                    _ => {
                        if j == 2 {
                            break;
                        }
                        log(format!("skip {i}/{j}"));
                    }
                }
            }
            log(format!("x is {x}"));
        }
        total + x
    }
    run() script [1, 2, 3, 4, 5] expect [
        "make outer turn", "make inner turn", "yield \"0/1: 200\"", "drop inner turn",
        "make inner turn", "drop inner turn", "x is 100", "drop outer turn",
        "make outer turn", "make inner turn", "skip 1/1", "drop inner turn",
        "make inner turn", "drop inner turn",
        "make inner turn", "yield \"1/3: 202\"", "drop inner turn", "x is 101", "drop outer turn",
        "make outer turn", "make inner turn", "drop inner turn", "make inner turn", "drop inner turn",
        "drop outer turn", "return 103",
    ]
}

differential! {
    fn yields_in_every_arm_of_a_loop() -> impl Iterator<Item = String> {
        let words = vec!["a", "bb", "", "ccc"];
        let mut index = 0;
        loop {
            let word = match words.get(index) {
                Some(w) => *w,
                None => break,
            };
            index += 1;
            let label = match word.len() {
                0 => {
                    yield_!("empty".to_string());
                    continue;
                }
                1 => "one",
                n if n > 2 => {
                    yield_!(format!("long {n}"));
                    "many"
                }
                _ => "two",
            };
            yield_!(format!("{word}:{label}"));
        }
    }
    run() limit 10 expect ["yield \"a:one\"", "yield \"bb:two\"", "yield \"empty\"", "yield \"long 3\"", "yield \"ccc:many\"", "return ()"]
}
