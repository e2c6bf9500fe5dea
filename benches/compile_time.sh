#!/usr/bin/env bash
# Compile time: a generated crate of N (default 500) coroutines, built in release,
# against the same bodies hand-written as `Iterator` state machines and as std
# `async fn`s. Only the generated crate is timed (its dependencies are built first).
#
#   bash benches/compile_time.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-500}
out="$root/target/compile-time"
mkdir -p "$out"

generate() {
    local kind=$1 dir="$out/$1"
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "bench-$kind"
version = "0.0.0"
edition = "2024"

[dependencies]
coro = { path = "$root" }

[workspace]

# Macros run as compiled: optimise them (cargo's default for release builds is
# opt-level 0 for proc macros and build scripts).
[profile.release.build-override]
opt-level = 3
TOML
    {
        for ((i = 0; i < n; i++)); do
            local r=$((i % 3))
            case $kind in
            coro) cat <<RS
#[coro::coroutine]
pub fn g$i(n: u64) -> impl Iterator<Item = u64> {
    let mut acc = $i;
    for k in 0..n {
        if k % 3 == $r {
            acc += k;
            yield_!(acc);
        }
    }
}
RS
            ;;
            hand) cat <<RS
pub struct G$i { k: u64, n: u64, acc: u64 }
impl Iterator for G$i {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        while self.k < self.n {
            let k = self.k;
            self.k += 1;
            if k % 3 == $r {
                self.acc += k;
                return Some(self.acc);
            }
        }
        None
    }
}
pub fn g$i(n: u64) -> impl Iterator<Item = u64> { G$i { k: 0, n, acc: $i } }
RS
            ;;
            async) cat <<RS
pub async fn g$i(n: u64) -> u64 {
    let mut acc = $i;
    for k in 0..n {
        if k % 3 == $r {
            acc += k;
            std::future::ready(()).await;
        }
    }
    acc
}
RS
            ;;
            esac
        done
    } > "$dir/src/lib.rs"
}

declare -A seconds
for kind in hand coro async; do
    generate $kind
    (cd "$out/$kind" && CARGO_TARGET_DIR="$out/target" cargo build --release --quiet)
    touch "$out/$kind/src/lib.rs"
    start=$(date +%s.%N)
    (cd "$out/$kind" && CARGO_TARGET_DIR="$out/target" cargo build --release --quiet)
    end=$(date +%s.%N)
    seconds[$kind]=$(awk "BEGIN { print $end - $start }")
done
printf '| %d bodies | release build (s) | / hand-written |\n|---|---:|---:|\n' "$n"
for kind in hand coro async; do
    printf '| %s | %.2f | %.2f |\n' "$kind" "${seconds[$kind]}" "$(awk "BEGIN { print ${seconds[$kind]} / ${seconds[hand]} }")"
done
