//! Generator iteration: the sum of a filtered sequence of 10^6 items, written as a
//! `#[coro::coroutine]` generator, a hand-written `Iterator`, `std::iter::from_fn`,
//! and genawaiter; summed by `Iterator::sum`, and by a `for` loop. Run pinned:
//! `taskset -c 0 cargo bench --bench generators`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const N: u64 = 1_000_000;

#[coro::coroutine]
fn coro_multiples(n: u64) -> impl Iterator<Item = u64> {
    for i in 0..n {
        if i.is_multiple_of(3) || i.is_multiple_of(5) {
            yield_!(i);
        }
    }
}

/// The same body in the pinned machine, which pins itself on the heap once and
/// hands each item through its yield slot.
#[coro::coroutine(pinned)]
fn pinned_multiples(n: u64) -> impl Iterator<Item = u64> {
    for i in 0..n {
        if i.is_multiple_of(3) || i.is_multiple_of(5) {
            yield_!(i);
        }
    }
}

struct Multiples {
    next: u64,
    end: u64,
}

impl Iterator for Multiples {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        while self.next < self.end {
            let i = self.next;
            self.next += 1;
            if i.is_multiple_of(3) || i.is_multiple_of(5) {
                return Some(i);
            }
        }
        None
    }
}

fn from_fn_multiples(n: u64) -> impl Iterator<Item = u64> {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < n {
            let current = i;
            i += 1;
            if current.is_multiple_of(3) || current.is_multiple_of(5) {
                return Some(current);
            }
        }
        None
    })
}

fn genawaiter_multiples(n: u64) -> impl Iterator<Item = u64> {
    genawaiter::rc::Gen::new(move |co| async move {
        for i in 0..n {
            if i.is_multiple_of(3) || i.is_multiple_of(5) {
                co.yield_(i).await;
            }
        }
    })
    .into_iter()
}

fn expected() -> u64 {
    (0..N)
        .filter(|i| i.is_multiple_of(3) || i.is_multiple_of(5))
        .sum()
}

fn generators(c: &mut Criterion) {
    let expected = expected();
    assert_eq!(coro_multiples(N).sum::<u64>(), expected);
    assert_eq!(pinned_multiples(N).sum::<u64>(), expected);
    assert_eq!(Multiples { next: 0, end: N }.sum::<u64>(), expected);
    assert_eq!(from_fn_multiples(N).sum::<u64>(), expected);
    assert_eq!(genawaiter_multiples(N).sum::<u64>(), expected);
    assert_eq!(sum_by_next(coro_multiples(N)), expected);
    let mut group = c.benchmark_group("generator");
    group.bench_function("coro", |b| {
        b.iter(|| coro_multiples(black_box(N)).sum::<u64>())
    });
    group.bench_function("coro (pinned)", |b| {
        b.iter(|| pinned_multiples(black_box(N)).sum::<u64>())
    });
    group.bench_function("hand-written", |b| {
        b.iter(|| {
            Multiples {
                next: 0,
                end: black_box(N),
            }
            .sum::<u64>()
        })
    });
    group.bench_function("iter::from_fn", |b| {
        b.iter(|| from_fn_multiples(black_box(N)).sum::<u64>())
    });
    group.bench_function("genawaiter", |b| {
        b.iter(|| genawaiter_multiples(black_box(N)).sum::<u64>())
    });
    group.finish();
    // `sum` goes through `fold`; a `for` loop calls `next` once per item, and each
    // call dispatches on the machine's state afresh.
    let mut group = c.benchmark_group("generator_for_loop");
    group.bench_function("coro", |b| {
        b.iter(|| sum_by_next(coro_multiples(black_box(N))))
    });
    group.bench_function("hand-written", |b| {
        b.iter(|| {
            sum_by_next(Multiples {
                next: 0,
                end: black_box(N),
            })
        })
    });
    group.finish();
}

/// Sums with a `for` loop, which calls `next` once per item.
fn sum_by_next(items: impl Iterator<Item = u64>) -> u64 {
    let mut sum = 0;
    for item in items {
        sum += item;
    }
    sum
}

criterion_group!(benches, generators);
criterion_main!(benches);
