//! A resume-argument coroutine fed one byte at a time — a line parser that reports
//! each line's length — against the same parser as a hand-written state machine.
//! Run pinned: `taskset -c 0 cargo bench --bench parser`.

use std::hint::black_box;
use std::pin::Pin;

use coro::{Coroutine, CoroutineState};
use criterion::{Criterion, criterion_group, criterion_main};

/// Yields `Some(length)` after each `\n`, `None` after any other byte.
#[coro::coroutine]
fn line_parser() -> impl Coroutine<u8, Yield = Option<usize>, Return = ()> {
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

struct LineParser {
    length: usize,
}

impl LineParser {
    fn feed(&mut self, byte: u8) -> Option<usize> {
        if byte == b'\n' {
            let length = self.length;
            self.length = 0;
            Some(length)
        } else {
            self.length += 1;
            None
        }
    }
}

fn input() -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..40_000 {
        text.extend(std::iter::repeat_n(b'x', i % 50));
        text.push(b'\n');
    }
    text
}

fn with_coroutine(bytes: &[u8]) -> usize {
    let mut parser = line_parser();
    let mut parser = Pin::new(&mut parser);
    parser.as_mut().resume(0); // start: runs to the first `yield_!`
    let mut total = 0;
    for &byte in bytes {
        if let CoroutineState::Yielded(Some(length)) = parser.as_mut().resume(byte) {
            total += length;
        }
    }
    total
}

fn with_state_machine(bytes: &[u8]) -> usize {
    let mut parser = LineParser { length: 0 };
    bytes.iter().filter_map(|&b| parser.feed(b)).sum()
}

fn parser(c: &mut Criterion) {
    let bytes = input();
    assert_eq!(with_coroutine(&bytes), with_state_machine(&bytes));
    let mut group = c.benchmark_group("parser");
    group.bench_function("coro", |b| b.iter(|| with_coroutine(black_box(&bytes))));
    group.bench_function("hand-written", |b| {
        b.iter(|| with_state_machine(black_box(&bytes)))
    });
    group.finish();
}

criterion_group!(benches, parser);
criterion_main!(benches);
