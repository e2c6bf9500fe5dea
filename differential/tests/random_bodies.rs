//! Every generated body (see `build.rs`) behaves under `#[coro::coroutine]` as it
//! does as plain Rust: the same values, yields, drops and result, and the same
//! drops when it is stopped at any of its suspension points. A failure names the
//! seed that generated the body: `CORO_DIFF_SEED=<seed> cargo test -p
//! coro-differential` builds the same bodies again.

#![allow(warnings, clippy::all, clippy::pedantic)]

use coro::{Coroutine, Stream};
use coro_differential::*;

include!(concat!(env!("OUT_DIR"), "/bodies.rs"));

#[test]
fn random_bodies_behave_as_plain_rust() {
    assert!(!CASES.is_empty());
    let mut failures = Vec::new();
    let mut suspensions = 0;
    let trace = std::env::var_os("CORO_DIFF_TRACE").is_some();
    for case in CASES {
        if trace {
            eprintln!("{}", case.name);
        }
        match (case.check)() {
            Ok(stops) => suspensions += stops,
            Err(difference) => {
                failures.push(format!("{}:\n{}\n  {difference}", case.name, case.source))
            }
        }
    }
    // Each body was stopped at each of its suspension points: there were many.
    assert!(
        suspensions > CASES.len(),
        "only {suspensions} suspension points in {} bodies",
        CASES.len()
    );
    assert!(
        failures.is_empty(),
        "seed {SEED}: {} of {} bodies differ from plain Rust\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}
