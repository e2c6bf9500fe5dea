//! What the generated bodies call, and the drivers that run each body twice: as
//! plain Rust and under `#[coro::coroutine]`. Both runs write to one trace (values
//! evaluated, yields, drops, the result); the traces must be equal.
//!
//! The plain twin of a generator or coroutine is the same body as an ordinary
//! function in which `yield_!` records its value and returns the next scripted
//! resume argument; when the script runs out it unwinds, dropping what is live in
//! reverse order, exactly as dropping the suspended coroutine must. The plain twin
//! of a suspend function is rustc's own `async fn`: both are polled the same number
//! of times, then dropped.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use coro::{Coroutine, CoroutineState, Stream};

thread_local! {
    static TRACE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static SCRIPT: RefCell<VecDeque<i64>> = const { RefCell::new(VecDeque::new()) };
}

/// Records an event of a run.
pub fn log(entry: impl Into<String>) {
    TRACE.with(|t| t.borrow_mut().push(entry.into()));
}

fn take_trace() -> Vec<String> {
    TRACE.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

/// Logs a value and passes it on: makes evaluation order visible.
pub fn step(value: i64) -> i64 {
    log(format!("eval {value}"));
    value
}

pub fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

pub fn mul3(a: i64) -> i64 {
    a.wrapping_mul(3) % 1_000_003
}

/// The remainder of `value` by `n`, never negative.
pub fn rem(value: i64, n: i64) -> i64 {
    value.rem_euclid(n)
}

/// Reads back a number a body formatted (a suspension inside `format!`).
pub fn num(text: String) -> i64 {
    text.parse().unwrap_or(-1)
}

/// `Err` for some values: the generated `?` takes both paths.
pub fn check(value: i64) -> Result<i64, String> {
    if value.rem_euclid(7) == 6 {
        Err(format!("bad {value}"))
    } else {
        Ok(value)
    }
}

/// Logs its creation and its drop.
pub struct Noisy(pub String);

impl Noisy {
    pub fn new(name: &str) -> Noisy {
        log(format!("make {name}"));
        Noisy(name.to_owned())
    }
}

impl Drop for Noisy {
    fn drop(&mut self) {
        log(format!("drop {}", self.0));
    }
}

/// Pending `times` times (waking itself), then ready with `value`.
pub struct Pend {
    times: u32,
    value: i64,
}

pub fn pend(times: u32, value: i64) -> Pend {
    Pend { times, value }
}

impl Future for Pend {
    type Output = i64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<i64> {
        if self.times == 0 {
            return Poll::Ready(self.value);
        }
        self.times -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Unwinds out of the plain run when the script has no more resume arguments.
struct ScriptEnd;

/// `yield_!` in the plain twin of a coroutine.
pub fn plain_yield(value: impl std::fmt::Debug) -> i64 {
    log(format!("yield {value:?}"));
    match SCRIPT.with(|s| s.borrow_mut().pop_front()) {
        Some(arg) => arg,
        None => {
            log("stop");
            panic::resume_unwind(Box::new(ScriptEnd))
        }
    }
}

/// The resume arguments of a run: `resumes` of them, then the run stops.
fn script(resumes: usize) -> Vec<i64> {
    (0..resumes as i64).map(|i| (i * 7 + 3) % 11 - 4).collect()
}

/// Runs a plain twin with `resumes` resume arguments.
pub fn run_plain<T: std::fmt::Debug>(resumes: usize, body: impl FnOnce() -> T) -> Vec<String> {
    take_trace();
    SCRIPT.with(|s| *s.borrow_mut() = script(resumes).into());
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => log(format!("return {value:?}")),
        Err(payload) if payload.is::<ScriptEnd>() => {}
        Err(payload) => panic::resume_unwind(payload),
    }
    take_trace()
}

/// Resumes a coroutine with the same script, then drops it.
pub fn run_coroutine<C>(resumes: usize, coroutine: C) -> Vec<String>
where
    C: Coroutine<i64>,
    C::Yield: std::fmt::Debug,
    C::Return: std::fmt::Debug,
{
    take_trace();
    let mut coroutine = Box::pin(coroutine);
    let mut script = VecDeque::from(script(resumes));
    let mut arg = 0;
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

/// Takes `items` items of a generator (its `resumes`), then drops it.
pub fn run_generator<I: Iterator>(items: usize, iter: I) -> Vec<String>
where
    I::Item: std::fmt::Debug,
{
    take_trace();
    let mut iter = iter;
    let mut taken = 0;
    loop {
        match iter.next() {
            Some(item) => {
                log(format!("yield {item:?}"));
                if taken == items {
                    log("stop");
                    break;
                }
                taken += 1;
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

/// Polls a future at most `polls` times, then drops it; says whether it finished.
pub fn run_future<F>(polls: usize, future: F) -> (Vec<String>, bool)
where
    F: Future,
    F::Output: std::fmt::Debug,
{
    take_trace();
    let mut finished = false;
    {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..polls {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                log(format!("return {value:?}"));
                finished = true;
                break;
            }
        }
    }
    (take_trace(), finished)
}

/// Runs an async generator to its end, logging each item as it arrives.
pub fn run_stream<S>(stream: S) -> Vec<String>
where
    S: Stream,
    S::Item: std::fmt::Debug,
{
    take_trace();
    {
        let mut stream = pin!(stream);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            match stream.as_mut().poll_next(&mut cx) {
                Poll::Ready(Some(item)) => log(format!("yield {item:?}")),
                Poll::Ready(None) => {
                    log("return ()");
                    break;
                }
                Poll::Pending => {}
            }
        }
    }
    take_trace()
}

/// Runs the plain twin of an async generator: its `yield_!` only logs.
pub fn run_plain_stream<F: Future<Output = ()>>(body: F) -> Vec<String> {
    take_trace();
    {
        let mut body = pin!(body);
        let mut cx = Context::from_waker(Waker::noop());
        while body.as_mut().poll(&mut cx).is_pending() {}
        log("return ()");
    }
    take_trace()
}

/// How one body is checked: the coroutine and its plain twin, run against each
/// other, stopped after every number of suspensions up to the end.
pub struct Case {
    pub name: &'static str,
    pub source: &'static str,
    pub check: fn() -> Result<usize, String>,
}

/// Compares the two runs of a generator or coroutine, stopped after 0, 1, ..
/// resumes, until the body finishes on its own.
pub fn compare_resumable(
    plain: impl Fn(usize) -> Vec<String>,
    transformed: impl Fn(usize) -> Vec<String>,
) -> Result<usize, String> {
    for resumes in 0..200 {
        let (expected, got) = (plain(resumes), transformed(resumes));
        if expected != got {
            return Err(format!(
                "stopped after {resumes} resumes:\n  plain:       {expected:?}\n  coroutine:   {got:?}"
            ));
        }
        if got.last().is_some_and(|last| last.starts_with("return")) {
            return Ok(resumes);
        }
    }
    Err("no end after 200 resumes".to_owned())
}

/// Compares two futures polled 1, 2, .. times, until both finish.
pub fn compare_futures(
    plain: impl Fn(usize) -> (Vec<String>, bool),
    transformed: impl Fn(usize) -> (Vec<String>, bool),
) -> Result<usize, String> {
    for polls in 1..400 {
        let ((expected, done), (got, _)) = (plain(polls), transformed(polls));
        if expected != got {
            return Err(format!(
                "dropped after {polls} polls:\n  async fn:    {expected:?}\n  coroutine:   {got:?}"
            ));
        }
        if done {
            return Ok(polls);
        }
    }
    Err("not done after 400 polls".to_owned())
}
