//! An await-heavy suspend function: 1,000 awaits of a future that is pending every
//! second poll, as the compact machine, the pinned machine and rustc's own
//! `async fn`, each polled to completion with a no-op waker through
//! `dyn Future` (no executor in the measurement). Run pinned: `taskset -c 0 cargo bench --bench awaits`.

use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};

const AWAITS: u64 = 1_000;

/// Pending once, then ready with its value.
struct PendsOnce {
    value: u64,
    polled: bool,
}

impl Future for PendsOnce {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u64> {
        if self.polled {
            Poll::Ready(self.value)
        } else {
            self.polled = true;
            Poll::Pending
        }
    }
}

fn pends_once(value: u64) -> PendsOnce {
    PendsOnce {
        value,
        polled: false,
    }
}

#[coro::coroutine(compact)]
async fn compact_sum(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += pends_once(i).await;
    }
    total
}

#[coro::coroutine(pinned)]
async fn pinned_sum(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += pends_once(i).await;
    }
    total
}

async fn rustc_sum(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += pends_once(i).await;
    }
    total
}

/// Polls `future` to completion through `dyn Future`, as an executor does. A
/// direct call would let LLVM fuse this loop with the state machine and drop the
/// `Pending` round trip altogether, which no executor can do.
fn drive<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut future: Pin<&mut dyn Future<Output = F::Output>> = future.as_mut();
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = black_box(future.as_mut()).poll(&mut cx) {
            return value;
        }
    }
}

fn awaits(c: &mut Criterion) {
    let expected = (0..AWAITS).sum::<u64>();
    assert_eq!(drive(compact_sum(AWAITS)), expected);
    assert_eq!(drive(pinned_sum(AWAITS)), expected);
    assert_eq!(drive(rustc_sum(AWAITS)), expected);
    let mut group = c.benchmark_group("awaits_1k");
    group.bench_function("coro", |b| b.iter(|| drive(compact_sum(black_box(AWAITS)))));
    group.bench_function("coro (pinned)", |b| {
        b.iter(|| drive(pinned_sum(black_box(AWAITS))))
    });
    group.bench_function("rustc async fn", |b| {
        b.iter(|| drive(rustc_sum(black_box(AWAITS))))
    });
    group.finish();
}

criterion_group!(benches, awaits);
criterion_main!(benches);
