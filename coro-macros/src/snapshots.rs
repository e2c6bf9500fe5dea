//! Expansion snapshots: every construct the transform supports, pretty-printed, so a
//! change to the generated code is reviewed, not stumbled upon.

use quote::quote;

fn expand_pretty(item: proc_macro2::TokenStream) -> String {
    expand_pretty_with(proc_macro2::TokenStream::new(), item)
}

fn expand_pretty_with(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
    let tokens = crate::expand(attr, item);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => tokens.to_string(),
    }
}

macro_rules! snapshot {
    ($name:ident, #[coroutine($($attr:tt)*)] $($item:tt)*) => {
        #[test]
        fn $name() {
            let expanded = expand_pretty_with(quote!($($attr)*), quote!($($item)*));
            insta::with_settings!({ snapshot_path => "../../tests/snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(stringify!($name), expanded);
            });
        }
    };
    ($name:ident, $($item:tt)*) => {
        #[test]
        fn $name() {
            let expanded = expand_pretty(quote!($($item)*));
            insta::with_settings!({ snapshot_path => "../../tests/snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(stringify!($name), expanded);
            });
        }
    };
}

snapshot!(
    generator_fib,
    fn fib() -> impl Iterator<Item = u64> {
        let (mut a, mut b) = (0, 1);
        loop {
            yield_!(a);
            (a, b) = (b, a + b);
        }
    }
);

snapshot!(
    coroutine_resume_arguments,
    fn summer() -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let mut total = 0;
        while total < 100 {
            total += yield_!(total);
        }
        total
    }
);

snapshot!(
    if_condition_and_branches,
    fn branches() -> impl Coroutine<i32, Yield = &'static str, Return = i32> {
        let mut seen = 0;
        if yield_!("ask") > 0 {
            seen += yield_!("positive");
        } else {
            seen -= 1;
        }
        seen
    }
);

snapshot!(
    if_as_value_and_if_let,
    fn values(item: Option<u32>) -> impl Iterator<Item = u32> {
        let n = if let Some(n) = item {
            yield_!(n);
            n * 2
        } else {
            0
        };
        if let Some(m) = item
            && m > n
        {
            yield_!(m);
        }
    }
);

snapshot!(
    match_arms_and_guards,
    fn arms() -> impl Coroutine<Option<u32>, Yield = u32, Return = u32> {
        match yield_!(0) {
            Some(n) if n > 100 => n,
            Some(n) => yield_!(n).unwrap_or(n),
            None => 0,
        }
    }
);

snapshot!(
    while_let_and_for_loops,
    fn loops(limit: u32) -> impl Iterator<Item = u32> {
        let mut stack = vec![1, 2, 3];
        while let Some(top) = stack.pop() {
            yield_!(top);
        }
        for i in 0..limit {
            yield_!(i);
        }
    }
);

snapshot!(
    labeled_break_continue_and_loop_values,
    fn labels() -> impl Iterator<Item = u32> {
        let found = 'outer: loop {
            for i in 0.. {
                if i == 3 {
                    break 'outer i;
                }
                if i == 1 {
                    continue 'outer;
                }
                yield_!(i);
            }
        };
        yield_!(found);
    }
);

snapshot!(
    return_and_question_mark,
    fn parse_two()
    -> impl Coroutine<&'static str, Yield = (), Return = Result<u32, std::num::ParseIntError>> {
        let a: u32 = yield_!(()).parse()?;
        if a == 0 {
            return Ok(0);
        }
        let b: u32 = yield_!(()).parse()?;
        Ok(a + b)
    }
);

snapshot!(
    operands_spilled_in_evaluation_order,
    fn operands() -> impl Coroutine<u32, Yield = u32, Return = Vec<u32>> {
        let mut out = combine(first(), yield_!(2), third());
        out.push(make().value + yield_!(3));
        let p = Point {
            x: first(),
            y: yield_!(4),
        };
        let pair = (f(&String::new()), yield_!(5));
        out
    }
);

snapshot!(
    short_circuit_operators,
    fn logic() -> impl Coroutine<bool, Yield = u8, Return = bool> {
        let both = check() && yield_!(1);
        let either = check() || yield_!(2);
        both || either
    }
);

snapshot!(
    shadowing_in_same_and_inner_scopes,
    fn shadows() -> impl Iterator<Item = u32> {
        let x = 1;
        yield_!(x);
        let x = x + 1;
        for i in 1..3 {
            let x = x * i;
            yield_!(x);
        }
        yield_!(x);
    }
);

snapshot!(
    guards_live_to_the_end_of_their_scope,
    fn guards() -> impl Iterator<Item = u32> {
        let _outer = lock();
        {
            let _inner = lock();
            yield_!(1);
        }
        let moved = lock();
        drop(moved);
        yield_!(2);
    }
);

snapshot!(
    items_macros_and_closures,
    fn misc() -> impl Iterator<Item = String> {
        fn helper(n: u32) -> u32 {
            n * 3
        }
        let base = 2;
        let add = move |n: u32| n + base;
        let list = vec![base, helper(base)];
        yield_!(format!("{list:?}"));
        assert_eq!(add(1), 3);
        yield_!(format!("{}", list.len()));
    }
);

snapshot!(
    let_else_and_block_values,
    fn blocks() -> impl Iterator<Item = u32> {
        let mut words = vec!["7", "x"].into_iter();
        loop {
            let Some(word) = words.next() else { break };
            let doubled = {
                let n: u32 = word.parse().unwrap_or(0);
                yield_!(n);
                n * 2
            };
            yield_!(doubled);
        }
    }
);

snapshot!(
    yield_from_iterator,
    fn chained() -> impl Iterator<Item = u32> {
        yield_from!(0..2);
        yield_from!(vec![5]);
    }
);

snapshot!(
    yield_from_coroutine,
    fn delegating() -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let inner = yield_from!(echo());
        inner + 1
    }
);

snapshot!(
    methods_and_self,
    fn accumulate(&mut self) -> impl Coroutine<u32, Yield = u32, Return = u32> + '_ {
        loop {
            let add = yield_!(self.total);
            if add == 0 {
                return self.total;
            }
            self.total += add;
        }
    }
);

snapshot!(
    generics_lifetimes_and_pattern_parameters,
    fn words<'a, T>((text, sep): (&'a str, char), extra: T) -> impl Iterator<Item = &'a str> + 'a
    where
        T: AsRef<str> + 'a,
    {
        for word in text.split(sep) {
            yield_!(word);
        }
        yield_!(extra.as_ref().len().to_string().leak());
    }
);

snapshot!(
    deferred_initialisation,
    fn deferred() -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let result;
        if yield_!(1) > 5 {
            result = yield_!(2);
        } else {
            result = 7;
        }
        result
    }
);

snapshot!(
    custom_crate_path,
    #[coroutine(crate = ::my_reexport::coro)]
    fn numbers() -> impl Iterator<Item = u32> {
        yield_!(1);
    }
);

snapshot!(
    suspend_function_awaits,
    #[coroutine(compact)]
    async fn fetch(id: u32) -> String {
        let name = lookup(id).await;
        if name.is_empty() {
            return String::new();
        }
        let suffix = match cache.get(&name) {
            Some(hit) => hit.clone(),
            None => load(&name).await?,
        };
        format!("{name}{suffix}")
    }
);

snapshot!(
    impl_future_without_awaits,
    fn immediate() -> impl Future<Output = u32> {
        4
    }
);

snapshot!(
    async_generator_awaits_and_yields,
    #[coroutine(compact)]
    fn ticks(n: u32) -> impl Stream<Item = u32> {
        for i in 0..n {
            sleep(i).await;
            yield_!(i);
        }
        yield_from!(other_stream());
    }
);

snapshot!(
    loop_head_written_as_a_rust_loop,
    fn multiples(n: u64) -> impl Iterator<Item = u64> {
        for i in 0..n {
            let _scoped = guard();
            if i % 3 == 0 || i % 5 == 0 {
                yield_!(i);
            }
        }
    }
);

// Code before the loop that runs nothing of the user's (its parameters, a literal,
// a range of them) runs when the generator is made, which then starts at the loop's
// head: no `Start` state for every `next` of a `for` loop to dispatch on.
snapshot!(
    generator_made_at_its_loop_head,
    fn evens(from: u64, to: u64) -> impl Iterator<Item = u64> {
        let step = 2;
        for i in from..to {
            if i % step == 0 {
                yield_!(i);
            }
        }
    }
);

// A call before the loop may do anything: it waits for the first `next`, in `Start`.
snapshot!(
    generator_whose_first_code_waits_for_next,
    fn capped(n: u64) -> impl Iterator<Item = u64> {
        let cap = n.min(10);
        for i in 0..cap {
            yield_!(i);
        }
    }
);

// An `if` in a loop whose branches meet again: the join is written after the `if`
// and the loop goes round as Rust code. The counters start from literals, so they
// are `Copy`: handing `start` to a yield on one path is no move.
snapshot!(
    join_in_a_loop_written_after_its_if,
    fn words(text: &'static [u8]) -> impl Iterator<Item = (usize, usize)> {
        let mut start = 0;
        let mut i = 0;
        while i < text.len() {
            if text[i] == b' ' {
                if i > start {
                    yield_!((start, i));
                }
                start = i + 1;
            }
            i += 1;
        }
        if i > start {
            yield_!((start, i));
        }
    }
);

// The pinned lowering: chosen for suspend functions and async generators that
// borrow their locals, on request for the other kinds.

snapshot!(
    pinned_suspend_function_borrows_its_buffer,
    async fn echo(mut stream: TcpStream) -> std::io::Result<usize> {
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await?;
        stream.write_all(&buf[..n]).await?;
        Ok(n)
    }
);

snapshot!(
    pinned_async_generator_awaits_its_input,
    fn words<S: Stream<Item = String>>(input: S) -> impl Stream<Item = String> {
        let mut input = pin!(input);
        while let Some(line) = input.next().await {
            for word in line.split_whitespace() {
                yield_!(word.to_owned());
            }
        }
        yield_from!(tail());
    }
);

snapshot!(
    generator_that_says_where_it_stands,
    fn countdown(from: u32) -> impl Iterator<Item = u32> + Debug {
        let mut n = from;
        while n > 0 {
            yield_!(n);
            n -= 1;
        }
    }
);

snapshot!(
    coroutine_that_says_where_it_stands,
    fn running_sum() -> impl Coroutine<u32, Yield = u32, Return = ()> + Debug {
        let mut total = 0;
        loop {
            total += yield_!(total);
        }
    }
);

snapshot!(
    pinned_generator_that_says_where_it_stands,
    #[coroutine(pinned)]
    fn letters(words: Vec<String>) -> impl Iterator<Item = char> + Debug {
        for word in &words {
            for letter in word.chars() {
                yield_!(letter);
            }
        }
    }
);

snapshot!(
    suspend_function_capturing_its_borrows,
    async fn longer<'a>(a: &'a str, b: &str, rest: std::slice::Iter<'_, u8>) -> &'a str {
        ready(()).await;
        if a.len() >= b.len() + rest.len() {
            a
        } else {
            ""
        }
    }
);

snapshot!(
    pinned_awaits_inside_another_macro,
    async fn report(id: u32) {
        println!("{id}: {}", fetch(id).await);
        assert_eq!(check(id).await, Ok(()), "{id}");
    }
);

snapshot!(
    resume_points_that_restart_a_turn_share_a_state,
    fn line_lengths() -> impl Coroutine<u8, Yield = Option<usize>, Return = ()> {
        let mut byte = yield_!(None);
        loop {
            let mut length = 0;
            while byte != b'\n' {
                length += 1;
                byte = yield_!(None);
            }
            byte = yield_!(Some(length));
        }
    }
);

snapshot!(
    pinned_generator_on_request,
    #[coroutine(pinned)]
    fn letters(words: Vec<String>) -> impl Iterator<Item = char> {
        for word in &words {
            yield_from!(word.chars());
        }
    }
);

snapshot!(
    pinned_coroutine_on_request,
    #[coroutine(pinned)]
    fn max_so_far() -> impl Coroutine<u32, Yield = u32, Return = u32> {
        let mut seen = vec![yield_!(0)];
        let best = seen.iter().max();
        let next = yield_!(*best.unwrap());
        seen.push(next);
        yield_from!(inner())
    }
);

snapshot!(
    pinned_methods_and_pattern_parameters,
    async fn ping_twice(&mut self, (a, _): (u32, Guard), mut n: u32) -> u32 {
        n += self.ping(a).await;
        n + self.ping(a).await
    }
);

/// `select!`'s expansion, wrapped in a function so it prints as an item.
fn select_pretty(input: proc_macro2::TokenStream) -> String {
    let expr = crate::select::expand(input);
    let file = quote!(async fn selecting() { #expr });
    match syn::parse2::<syn::File>(file.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => file.to_string(),
    }
}

#[test]
fn select_with_guard_pattern_and_else() {
    let expanded = select_pretty(quote! {
        Ok(v) = rx.recv() if open => v,
        _ = coro::sleep(wait) => { 0 }
        else => 1,
    });
    insta::with_settings!({ snapshot_path => "../../tests/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("select_with_guard_pattern_and_else", expanded);
    });
}

#[test]
fn select_biased_without_else() {
    let expanded = select_pretty(quote! {
        biased;
        (mut a, b) = pair => a + b,
    });
    insta::with_settings!({ snapshot_path => "../../tests/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("select_biased_without_else", expanded);
    });
}

/// Prints the expansion of the function in the file named by `CORO_EXPAND`:
/// `CORO_EXPAND=body.rs cargo test -p coro-macros print_expansion -- --ignored --nocapture`
#[test]
#[ignore = "a tool for developers, run on demand"]
fn print_expansion() {
    let path = std::env::var("CORO_EXPAND").expect("CORO_EXPAND names a file with one function");
    let source = std::fs::read_to_string(path).expect("a readable file");
    let item: proc_macro2::TokenStream = source.parse().expect("Rust tokens");
    println!("{}", expand_pretty(item));
}

#[test]
#[ignore = "a timing probe for developers"]
fn time_expansion() {
    use std::time::{Duration, Instant};
    let item: proc_macro2::TokenStream = "pub fn g(n: u64) -> impl Iterator<Item = u64> { let mut acc = 1; for k in 0..n { if k % 3 == 1 { acc += k; yield_!(acc); } } }".parse().unwrap();
    let mut phases = [Duration::ZERO; 5];
    for _ in 0..500 {
        let t = Instant::now();
        let func = crate::parse::parse(proc_macro2::TokenStream::new(), item.clone()).unwrap();
        phases[0] += t.elapsed();
        let t = Instant::now();
        let mut errors = crate::diag::Errors::default();
        crate::scan::validate(
            &func.body,
            &func.kind,
            crate::parse::Lowering::Compact,
            &mut errors,
        );
        let body = func.renamed_body();
        let mut cfg = crate::lower::lower(&func, &body, &mut errors);
        phases[1] += t.elapsed();
        let t = Instant::now();
        let mut live = crate::liveness::analyze(&cfg, &mut errors);
        crate::simplify_resumes(&mut cfg, &mut live, true, &mut errors);
        phases[2] += t.elapsed();
        let t = Instant::now();
        let tokens = crate::emit::compact::emit(&func, &cfg, &live);
        phases[3] += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(tokens.to_string());
        phases[4] += t.elapsed();
    }
    println!(
        "500 expansions: parse {:?}, lower {:?}, liveness and shortcut {:?}, emit {:?}, to_string {:?}",
        phases[0], phases[1], phases[2], phases[3], phases[4]
    );
}
