//! Suspend functions (`Future`) and async generators (`Stream`): awaits anywhere a
//! `yield_!` may stand, pinned without `unsafe`, `Send` when their contents are.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::executor::block_on;
use futures::{Stream, StreamExt};

thread_local! {
    static TRACE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log(entry: impl Into<String>) {
    TRACE.with(|t| t.borrow_mut().push(entry.into()));
}

fn take_trace() -> Vec<String> {
    TRACE.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

pin_project_lite::pin_project! {
    /// Pending `times` times (waking itself), then ready with `value`. It is `!Unpin`
    /// and records where it was first polled: moving it after that is detected.
    struct Later<T> {
        value: Option<T>,
        times: u32,
        first_polled_at: Option<usize>,
        _log: DropLog,
        #[pin]
        _pinned: PhantomPinned,
    }
}

struct DropLog;

impl Drop for DropLog {
    fn drop(&mut self) {
        log("drop future");
    }
}

fn later<T>(value: T, times: u32) -> Later<T> {
    Later {
        value: Some(value),
        times,
        first_polled_at: None,
        _log: DropLog,
        _pinned: PhantomPinned,
    }
}

impl<T: std::fmt::Debug> Future for Later<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let address = &*self as *const Self as usize;
        let this = self.project();
        let first = *this.first_polled_at.get_or_insert(address);
        assert_eq!(
            first, address,
            "an awaited future moved after its first poll"
        );
        if *this.times > 0 {
            *this.times -= 1;
            log("pending");
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let value = this.value.take().expect("polled after completion");
        log(format!("ready {value:?}"));
        Poll::Ready(value)
    }
}

async fn plain_async(n: u32) -> u32 {
    later(n, 1).await + 1
}

#[coro::coroutine]
async fn suspend_fn(n: u32) -> u32 {
    let a = later(n, 2).await;
    let b = plain_async(a).await;
    let c = if b > 5 { later(b * 2, 0).await } else { b };
    let mut total = c;
    for i in 0..2 {
        total += later(i, 1).await;
    }
    total
}

#[test]
fn a_suspend_function_awaits_any_future() {
    // a = 3, b = plain_async(3) = 4, c = b (not > 5), total = 4 + 0 + 1.
    assert_eq!(block_on(suspend_fn(3)), 5);
    let trace = take_trace();
    assert_eq!(
        trace,
        [
            "pending",
            "pending",
            "ready 3",
            "drop future",
            "pending",
            "ready 3",
            "drop future",
            "pending",
            "ready 0",
            "drop future",
            "pending",
            "ready 1",
            "drop future",
        ]
    );
    // a = 5, b = 6, c = 12 (awaited), total = 12 + 0 + 1.
    assert_eq!(block_on(suspend_fn(5)), 13);
    take_trace();
}

#[coro::coroutine]
fn returns_impl_future(name: &'static str) -> impl Future<Output = String> {
    let greeting = later(format!("hello {name}"), 1).await;
    let nested = suspend_fn(1).await;
    format!("{greeting} {nested}")
}

#[test]
fn impl_future_return_type_and_nested_coroutine_futures() {
    assert_eq!(block_on(returns_impl_future("x")), "hello x 3");
    take_trace();
}

/// Every place a `yield_!` may stand, with an `.await` instead, against the same body
/// as a plain `async` block.
macro_rules! same_as_async_block {
    ($name:ident, $body:block) => {
        #[test]
        fn $name() {
            #[coro::coroutine]
            async fn transformed() -> String $body
            async fn plain() -> String $body
            let ours = block_on(transformed());
            let ours_trace = take_trace();
            let theirs = block_on(plain());
            let theirs_trace = take_trace();
            assert_eq!(ours, theirs);
            assert_eq!(ours_trace, theirs_trace);
        }
    };
}

same_as_async_block!(await_in_conditions_and_matches, {
    let mut out = Vec::new();
    if later(true, 1).await {
        out.push(1);
    }
    match later(Some(2), 0).await {
        Some(n) if n > 1 => out.push(later(n * 10, 1).await),
        _ => {}
    }
    while later(out.len() < 4, 0).await {
        out.push(out.len() as u32);
    }
    format!("{out:?}")
});

same_as_async_block!(await_in_operands_and_question_marks, {
    let parsed = async { "7".parse::<u32>() };
    let result: Result<u32, std::num::ParseIntError> = async {
        let n = parsed.await?;
        Ok(n)
    }
    .await;
    let pair = (later(1, 1).await, [later(2, 0).await, 3]);
    let sum = later(10, 1).await + later(20, 1).await;
    format!("{result:?} {pair:?} {sum}")
});

same_as_async_block!(await_in_loops_with_labels_and_values, {
    let mut n = 0;
    let found = 'outer: loop {
        for i in 0..10 {
            n += later(i, 1).await;
            if n > 5 {
                break 'outer n;
            }
        }
    };
    format!("{found}")
});

#[coro::coroutine]
fn ticks(n: u32) -> impl Stream<Item = u32> {
    for i in 0..n {
        let value = later(i, 1).await;
        yield_!(value * 10);
    }
}

#[coro::coroutine]
fn combined() -> impl Stream<Item = u32> {
    yield_!(1);
    yield_from!(ticks(2));
    yield_from!(futures::stream::iter([7, 8]));
    yield_!(later(99, 1).await);
}

#[test]
fn an_async_generator_awaits_and_yields() {
    let items: Vec<u32> = block_on(ticks(3).collect());
    assert_eq!(items, [0, 10, 20]);
    take_trace();
    let items: Vec<u32> = block_on(combined().collect());
    assert_eq!(items, [1, 0, 10, 7, 8, 99]);
    take_trace();
}

#[test]
fn a_stream_is_fused_after_its_end() {
    let mut stream = Box::pin(ticks(1));
    block_on(async {
        assert_eq!(stream.next().await, Some(0));
        assert_eq!(stream.next().await, None);
        assert_eq!(stream.next().await, None);
    });
    take_trace();
}

#[test]
fn a_future_polled_after_completion_panics_clearly() {
    let mut future = Box::pin(suspend_fn(1));
    block_on(future.as_mut());
    take_trace();
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let error = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        future.as_mut().poll(&mut cx)
    }))
    .unwrap_err();
    let message = error.downcast_ref::<&str>().copied().unwrap_or_default();
    // The compact machine's own message, or rustc's for the pinned one.
    assert!(
        message == "`async fn` future polled after it completed"
            || message == "`async fn` resumed after completion",
        "{message}"
    );
}

#[test]
fn dropping_a_suspended_future_drops_the_pinned_future_in_place() {
    let mut future = Box::pin(suspend_fn(1));
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert_eq!(take_trace(), ["pending"]);
    drop(future);
    assert_eq!(take_trace(), ["drop future"]);
}

#[test]
fn futures_without_awaits_are_unpin_and_others_follow_their_futures() {
    fn assert_unpin<T: Unpin>(_: &T) {}
    #[coro::coroutine]
    async fn immediate() -> u32 {
        4
    }
    let future = immediate();
    assert_unpin(&future);
    assert_eq!(block_on(future), 4);
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[coro::coroutine]
async fn sendable(n: u64) -> u64 {
    let text = format!("{n}");
    tokio::task::yield_now().await;
    let parsed: u64 = text.parse().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    parsed * 2
}

#[coro::coroutine]
fn sendable_stream() -> impl Stream<Item = u64> + Send {
    for i in 0..3 {
        tokio::task::yield_now().await;
        yield_!(i);
    }
}

#[test]
fn send_coroutines_run_on_tokio_multi_threaded_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let total = runtime.block_on(async {
        let handles: Vec<_> = (0..16)
            .map(|n| tokio::spawn(assert_send(sendable(n))))
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await.unwrap();
        }
        let streamed: Vec<u64> = tokio::spawn(sendable_stream().collect::<Vec<_>>())
            .await
            .unwrap();
        total + streamed.iter().sum::<u64>()
    });
    assert_eq!(total, (0..16).map(|n| n * 2).sum::<u64>() + 3);
}

#[test]
fn coroutine_futures_run_on_the_futures_executor() {
    let mut pool = futures::executor::LocalPool::new();
    let value =
        pool.run_until(async { suspend_fn(2).await + returns_impl_future("y").await.len() as u32 });
    // suspend_fn(2) = 3 + 0 + 1; the greeting is "hello y 3".
    assert_eq!(value, 4 + "hello y 3".len() as u32);
    take_trace();
}

#[coro::coroutine]
async fn parse_sum(a: &'static str, b: &'static str) -> Result<u32, std::num::ParseIntError> {
    let x: u32 = later(a, 1).await.parse()?;
    let y = later(b, 0).await.parse::<u32>()?;
    Ok(x + y)
}

#[test]
fn question_mark_in_a_suspend_function() {
    assert_eq!(block_on(parse_sum("2", "3")), Ok(5));
    assert!(block_on(parse_sum("2", "x")).is_err());
    assert!(block_on(parse_sum("x", "3")).is_err());
    take_trace();
}

/// This file forbids `unsafe`; every kind expands here without it.
#[coro::coroutine]
fn generator_here() -> impl Iterator<Item = u8> {
    yield_!(1);
}

#[coro::coroutine]
fn coroutine_here() -> impl coro::Coroutine<u8, Yield = u8, Return = u8> {
    yield_!(1) + 1
}

#[test]
fn every_kind_compiles_under_forbid_unsafe_code() {
    assert_eq!(generator_here().collect::<Vec<_>>(), [1]);
    let mut c = std::pin::pin!(coroutine_here());
    assert_eq!(
        coro::Coroutine::resume(c.as_mut(), 0),
        coro::CoroutineState::Yielded(1)
    );
    assert_eq!(
        coro::Coroutine::resume(c.as_mut(), 4),
        coro::CoroutineState::Complete(5)
    );
}

same_as_async_block!(await_on_some_turns_of_a_loop_with_guards, {
    let mut out = Vec::new();
    for i in 0..6u32 {
        let _turn = Guard(i);
        if i % 2 == 0 {
            out.push(later(i, 1).await);
        } else if i == 3 {
            continue;
        }
        log(format!("end of turn {i}"));
    }
    format!("{out:?}")
});

/// Logs its drop, to compare drop order with a plain `async` block.
struct Guard(u32);

impl Drop for Guard {
    fn drop(&mut self) {
        log(format!("drop guard {}", self.0));
    }
}
