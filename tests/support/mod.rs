//! The differential harness: every coroutine body in the tests also runs as plain
//! straight-line code, in which `yield_!` records its value and returns the next
//! scripted resume argument. The transformed coroutine, driven with the same script,
//! must leave the same trace of yields, logged side effects and return value.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;

use coro::{Coroutine, CoroutineState};

thread_local! {
    static TRACE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static SCRIPT: RefCell<VecDeque<Box<dyn std::any::Any>>> = RefCell::new(VecDeque::new());
}

/// Records a side effect; bodies call it to make evaluation and drop order visible.
pub fn log(entry: impl Into<String>) {
    TRACE.with(|t| t.borrow_mut().push(entry.into()));
}

/// Logs its creation and its drop, to make drop order visible.
pub struct Noisy(pub &'static str);

impl Noisy {
    pub fn new(name: &'static str) -> Noisy {
        log(format!("make {name}"));
        Noisy(name)
    }
}

impl Drop for Noisy {
    fn drop(&mut self) {
        log(format!("drop {}", self.0));
    }
}

pub fn take_trace() -> Vec<String> {
    TRACE.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

/// Unwinds out of the plain run when the script has no more resume arguments.
struct ScriptEnd;

/// `yield_!` in the plain version of a body.
pub fn plain_yield<Y: Debug, R: 'static>(_: &PhantomData<R>, value: Y) -> R {
    log(format!("yield {value:?}"));
    let next = SCRIPT.with(|s| s.borrow_mut().pop_front());
    match next {
        Some(arg) => *arg
            .downcast::<R>()
            .expect("the script holds the resume type"),
        None => {
            // Logged before unwinding: the coroutine side logs it before its drop.
            log("stop");
            panic::resume_unwind(Box::new(ScriptEnd))
        }
    }
}

/// Runs the plain version with `script` as the resume arguments.
pub fn run_plain<R: 'static, T: Debug>(script: Vec<R>, body: impl FnOnce() -> T) -> Vec<String> {
    take_trace();
    SCRIPT.with(|s| {
        *s.borrow_mut() = script
            .into_iter()
            .map(|r| Box::new(r) as Box<dyn std::any::Any>)
            .collect()
    });
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => log(format!("return {value:?}")),
        Err(payload) if payload.is::<ScriptEnd>() => {}
        Err(payload) => panic::resume_unwind(payload),
    }
    take_trace()
}

/// Drives the coroutine: the first resume starts it (its argument is dropped), each
/// later one passes the next scripted argument.
pub fn run_coroutine<R: Default, C: Coroutine<R>>(script: Vec<R>, coroutine: C) -> Vec<String>
where
    C::Yield: Debug,
    C::Return: Debug,
{
    take_trace();
    let mut coroutine = Box::pin(coroutine);
    let mut script = VecDeque::from(script);
    let mut arg = R::default();
    loop {
        match coroutine.as_mut().resume(arg) {
            CoroutineState::Yielded(value) => {
                log(format!("yield {value:?}"));
                match script.pop_front() {
                    Some(next) => arg = next,
                    None => {
                        log("stop");
                        break;
                    }
                }
            }
            CoroutineState::Complete(value) => {
                log(format!("return {value:?}"));
                break;
            }
        }
    }
    drop(coroutine);
    take_trace()
}

/// Drives a generator for at most `limit` items.
pub fn run_generator<I: Iterator>(limit: usize, iter: I) -> Vec<String>
where
    I::Item: Debug,
{
    take_trace();
    let mut iter = iter;
    let mut taken = 0;
    loop {
        match iter.next() {
            Some(item) if taken < limit => {
                log(format!("yield {item:?}"));
                taken += 1;
            }
            Some(item) => {
                log(format!("yield {item:?}"));
                log("stop");
                break;
            }
            None => {
                log("return ()");
                break;
            }
        }
    }
    drop(iter);
    take_trace()
}

pub fn pin_new<C: Unpin>(c: &mut C) -> Pin<&mut C> {
    Pin::new(c)
}

/// Defines a `#[coro::coroutine]` function and its plain twin, and a test that runs
/// both with the same script and asserts the traces are equal, and equal to `expect`.
///
/// ```text
/// differential! {
///     fn name(n: u32) -> impl Iterator<Item = u32> { .. }
///     run(3) limit 10 expect ["yield 0", .., "return ()"]
/// }
/// differential! {
///     fn name() -> impl Coroutine<u32, Yield = u32, Return = u32> { .. }
///     run() script [1, 2] expect [..]
/// }
/// ```
#[macro_export]
macro_rules! differential {
    (
        fn $name:ident($($params:tt)*) -> impl Iterator<Item = $Y:ty> $body:block
        run($($val:expr),* $(,)?) limit $limit:literal expect [$($expect:expr),* $(,)?]
    ) => {
        $crate::differential!(@generator ($) $name ($($params)*) $Y $body ($($val),*) $limit [$($expect),*]);
    };
    (@generator ($d:tt) $name:ident ($($params:tt)*) $Y:ty $body:block ($($val:expr),*) $limit:literal [$($expect:expr),*]) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[coro::coroutine]
            pub fn transformed($($params)*) -> impl Iterator<Item = $Y> $body

            #[allow(unused_mut, unused_variables, unreachable_code, clippy::all)]
            pub fn plain($($params)*) {
                let marker = ::std::marker::PhantomData::<()>;
                #[allow(unused_macros)]
                macro_rules! yield_ {
                    () => { $crate::support::plain_yield::<(), ()>(&marker, ()) };
                    ($d value:expr) => { $crate::support::plain_yield::<_, ()>(&marker, $d value) };
                }
                #[allow(unused_macros)]
                macro_rules! yield_from {
                    ($d source:expr) => { for item in $d source { yield_!(item); } };
                }
                let _: () = $body;
            }

            #[test]
            fn matches_plain_run() {
                let script: Vec<()> = vec![(); $limit];
                let plain = $crate::support::run_plain(script, || plain($($val),*));
                let transformed = $crate::support::run_generator($limit, transformed($($val),*));
                assert_eq!(transformed, plain, "the coroutine's trace differs from the plain run");
                let expected: Vec<String> = vec![$($expect.to_string()),*];
                assert_eq!(transformed, expected);
            }
        }
    };
    (
        fn $name:ident($($params:tt)*) -> impl Coroutine<$R:ty, Yield = $Y:ty, Return = $T:ty> $body:block
        run($($val:expr),* $(,)?) script [$($script:expr),* $(,)?] expect [$($expect:expr),* $(,)?]
    ) => {
        $crate::differential!(@coroutine ($) $name ($($params)*) $R, $Y, $T $body ($($val),*) [$($script),*] [$($expect),*]);
    };
    (@coroutine ($d:tt) $name:ident ($($params:tt)*) $R:ty, $Y:ty, $T:ty $body:block ($($val:expr),*) [$($script:expr),*] [$($expect:expr),*]) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[coro::coroutine]
            pub fn transformed($($params)*) -> impl coro::Coroutine<$R, Yield = $Y, Return = $T> $body

            #[allow(unused_mut, unused_variables, unreachable_code, clippy::all)]
            pub fn plain($($params)*) -> $T {
                let marker = ::std::marker::PhantomData::<$R>;
                #[allow(unused_macros)]
                macro_rules! yield_ {
                    () => { $crate::support::plain_yield::<(), $R>(&marker, ()) };
                    ($d value:expr) => { $crate::support::plain_yield::<_, $R>(&marker, $d value) };
                }
                #[allow(unused_macros)]
                macro_rules! yield_from {
                    ($d source:expr) => {{
                        let mut source = $d source;
                        let mut arg = ::std::default::Default::default();
                        loop {
                            match coro::Coroutine::resume($crate::support::pin_new(&mut source), arg) {
                                coro::CoroutineState::Yielded(item) => arg = yield_!(item),
                                coro::CoroutineState::Complete(value) => break value,
                            }
                        }
                    }};
                }
                $body
            }

            #[test]
            fn matches_plain_run() {
                let script: Vec<$R> = vec![$($script),*];
                let plain = $crate::support::run_plain(script.clone(), || plain($($val),*));
                let transformed = $crate::support::run_coroutine(script, transformed($($val),*));
                assert_eq!(transformed, plain, "the coroutine's trace differs from the plain run");
                let expected: Vec<String> = vec![$($expect.to_string()),*];
                assert_eq!(transformed, expected);
            }
        }
    };
}
