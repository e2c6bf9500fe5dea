//! `size_of` of our futures, in each lowering, against rustc's for the same body
//! written as a plain `async fn`. The table printed here
//! (`cargo test --test future_size -- --nocapture`) is the one in the README.

use std::future::ready;

macro_rules! size_cases {
    ($($name:ident ($($param:ident : $ty:ty),*) ($($arg:expr),*) -> $out:ty $body:block)*) => {
        mod compact {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[coro::coroutine(compact)]
                pub async fn $name($($param: $ty),*) -> $out $body
            )*
        }
        mod pinned {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[coro::coroutine(pinned)]
                pub async fn $name($($param: $ty),*) -> $out $body
            )*
        }
        mod theirs {
            #[allow(unused_imports)]
            use super::*;
            $(
                pub async fn $name($($param: $ty),*) -> $out $body
            )*
        }
        /// One row per body; each of the three also runs and must agree.
        pub fn table() -> Vec<Row> {
            vec![$({
                let (a, p, b) = (compact::$name($($arg),*), pinned::$name($($arg),*), theirs::$name($($arg),*));
                let row = Row {
                    body: stringify!($name),
                    compact: std::mem::size_of_val(&a),
                    pinned: std::mem::size_of_val(&p),
                    rustc: std::mem::size_of_val(&b),
                };
                let expected = futures::executor::block_on(b);
                assert_eq!(futures::executor::block_on(a), expected, stringify!($name));
                assert_eq!(futures::executor::block_on(p), expected, stringify!($name));
                row
            }),*]
        }
    };
}

pub struct Row {
    pub body: &'static str,
    pub compact: usize,
    pub pinned: usize,
    pub rustc: usize,
}

async fn inner(n: u64) -> u64 {
    let pad = [n; 4];
    ready(()).await;
    pad.iter().sum()
}

size_cases! {
    straight_line() () -> u64 {
        let a = ready(1u64).await;
        let b = ready(2u64).await;
        a + b
    }
    loop_with_awaits() () -> u64 {
        let mut total = 0;
        for i in 0..10u64 {
            total += ready(i).await;
        }
        total
    }
    large_locals_in_disjoint_phases() () -> u8 {
        let first = {
            let buffer = [1u8; 1024];
            ready(()).await;
            buffer[1023]
        };
        let second = {
            let buffer = [2u8; 1024];
            ready(()).await;
            buffer[0]
        };
        first + second
    }
    many_small_locals() () -> u64 {
        let (a, b, c, d, e, f, g, h) = (1u64, 2u64, 3u64, 4u64, 5u64, 6u64, 7u64, 8u64);
        ready(()).await;
        a + b + c + d + e + f + g + h
    }
    nested_awaits() () -> u64 {
        ready(ready(1u64).await + inner(2).await).await
    }
    awaits_another_async_fn() () -> u64 {
        let x = inner(3).await;
        let y = inner(x).await;
        x + y
    }
    string_across_await() () -> usize {
        let text = String::from("held across an await");
        ready(()).await;
        text.len()
    }
    await_in_condition_and_match() () -> u64 {
        let mut n = 0;
        if ready(true).await {
            n += 1;
        }
        match ready(Some(5u64)).await {
            Some(0) => n = 0,
            Some(v) => n += ready(v).await,
            None => {}
        }
        n
    }
    large_argument(data: [u8; 8192]) ([7u8; 8192]) -> u8 {
        ready(()).await;
        data[8191]
    }
    argument_used_before_and_after(n: u64, text: String) (4, String::from("abc")) -> u64 {
        let first = ready(n).await;
        let len = text.len() as u64;
        ready(()).await;
        first + len + n
    }
    vec_built_across_awaits() () -> usize {
        let mut items = Vec::new();
        for i in 0..4 {
            items.push(ready(i).await);
        }
        items.len()
    }
}

#[test]
fn our_futures_are_no_larger_than_rustcs() {
    let table = table();
    assert!(table.len() >= 10);
    println!("| body | compact (bytes) | pinned (bytes) | rustc `async fn` (bytes) |");
    println!("|---|---:|---:|---:|");
    for row in &table {
        println!(
            "| {} | {} | {} | {} |",
            row.body, row.compact, row.pinned, row.rustc
        );
    }
    for row in &table {
        assert!(
            row.compact <= row.rustc,
            "compact {} is larger than rustc's",
            row.body
        );
        assert!(
            row.pinned <= row.rustc,
            "pinned {} is larger than rustc's",
            row.body
        );
    }
    // rust-lang/rust#62958: rustc stores an argument held across an await twice.
    let large = table
        .iter()
        .find(|row| row.body == "large_argument")
        .unwrap();
    assert!(
        large.compact < 8192 + 64 && large.pinned < 8192 + 64,
        "an 8 KiB argument is stored once: compact {}, pinned {} bytes",
        large.compact,
        large.pinned
    );
    assert!(
        large.rustc >= 2 * 8192,
        "rustc still stores it twice ({} bytes); update the README",
        large.rustc
    );
}
