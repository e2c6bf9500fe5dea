#!/usr/bin/env bash
# Compile time: a generated crate of N (default 500) coroutines, built in release,
# against the same bodies hand-written as `Iterator` state machines and as std
# `async fn`s; and those `async fn`s under `#[coro::coroutine]` (coro-async), and
# under two attributes that do nothing but what every attribute must (the floor
# of any macro). Only the generated crate is timed (its dependencies are built
# first), in CPU seconds, the least of five builds taken in turns.
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
            async | coro-async)
                if [ "$kind" = coro-async ]; then echo "#[coro::coroutine]"; fi
                cat <<RS
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

# The CPU time (user + system) of rebuilding the crate in `$1`.
build_seconds() {
    local dir=$1
    touch "$dir/src/lib.rs"
    { TIMEFORMAT="%U %S"; time (cd "$dir" && CARGO_TARGET_DIR="$out/target" cargo build --release --quiet 2>/dev/null) ; } 2>&1 | awk "{ print \$1 + \$2 }"
}

# Each crate's least CPU time over five rounds, the crates taking turns within a
# round: this VM's speed drifts by half over minutes, which turns lets every crate
# share, and the least of five leaves out the slow moments.
declare -A seconds
least_of_rounds() {
    local kind t
    for kind in "$@"; do seconds[$kind]=""; done
    for _ in 1 2 3 4 5; do
        for kind in "$@"; do
            t=$(build_seconds "$out/$kind")
            if [ -z "${seconds[$kind]}" ] || awk "BEGIN { exit !($t < ${seconds[$kind]}) }"; then
                seconds[$kind]=$t
            fi
        done
    done
}

for kind in hand coro async coro-async; do
    generate $kind
    (cd "$out/$kind" && CARGO_TARGET_DIR="$out/target" cargo build --release --quiet)
done
least_of_rounds hand coro async coro-async
printf '| %d bodies | release build, CPU (s) | / hand-written |\n|---|---:|---:|\n' "$n"
for kind in hand coro async coro-async; do
    printf '| %s | %.2f | %.2f |\n' "$kind" "${seconds[$kind]}" "$(awk "BEGIN { print ${seconds[$kind]} / ${seconds[hand]} }")"
done

# Straight-line awaits, three in a row: the compact machine (on request), the
# default (pinned) and std `async fn`s, on the same bodies.
straight() {
    local kind=$1 dir="$out/straight-$1"
    mkdir -p "$dir/src"
    sed "s/name = \"bench-coro\"/name = \"bench-straight-$kind\"/" "$out/coro/Cargo.toml" > "$dir/Cargo.toml"
    {
        for ((i = 0; i < n; i++)); do
            case $kind in
            compact) echo "#[coro::coroutine(compact)]" ;;
            pinned) echo "#[coro::coroutine]" ;;
            esac
            cat <<RS
pub async fn s$i(a: u64) -> u64 {
    let x = std::future::ready(a).await;
    let y = std::future::ready(x + $i).await;
    x + y + std::future::ready(1u64).await
}
RS
        done
    } > "$dir/src/lib.rs"
}
for kind in compact pinned async; do
    straight $kind
    (cd "$out/straight-$kind" && CARGO_TARGET_DIR="$out/target" cargo build --release --quiet)
done
least_of_rounds straight-compact straight-pinned straight-async
printf '\n| %d straight-line async fns, three awaits | release build, CPU (s) | / std async fn |\n|---|---:|---:|\n' "$n"
for kind in compact pinned async; do
    printf '| %s | %.2f | %.2f |\n' "$kind" "${seconds[straight-$kind]}" "$(awk "BEGIN { print ${seconds[straight-$kind]} / ${seconds[straight-async]} }")"
done

# One long straight body: 300 locals, each bound after a suspension point and all
# read at the end. The compact machine's size grows with the square of what it
# carries; past a limit the macro takes the pinned machine, which rustc lays out.
locals=300
many() {
    local kind=$1 dir="$out/many-$1"
    mkdir -p "$dir/src"
    sed "s/name = \"bench-coro\"/name = \"bench-many-$kind\"/" "$out/coro/Cargo.toml" > "$dir/Cargo.toml"
    {
        if [ "$kind" = coro ]; then
            echo "#[coro::coroutine]"
            echo "pub fn many() -> impl Iterator<Item = u64> {"
        else
            echo "pub async fn many() -> u64 {"
        fi
        for ((i = 0; i < locals; i++)); do
            if [ "$kind" = coro ]; then
                echo "    let v$i: u64 = { yield_!($i); $i };"
            else
                echo "    let v$i: u64 = { std::future::ready(()).await; $i };"
            fi
        done
        printf '    let total = 0'
        for ((i = 0; i < locals; i++)); do printf ' + v%d' "$i"; done
        echo ';'
        if [ "$kind" = coro ]; then echo "    yield_!(total);"; else echo "    total"; fi
        echo "}"
    } > "$dir/src/lib.rs"
}
for kind in coro async; do
    many $kind
    (cd "$out/many-$kind" && CARGO_TARGET_DIR="$out/target" cargo build --release --quiet)
done
least_of_rounds many-coro many-async
printf '\n| one body, %d live locals | release build, CPU (s) | / std async fn |\n|---|---:|---:|\n' "$locals"
for kind in coro async; do
    printf '| %s | %.2f | %.2f |\n' "$kind" "${seconds[many-$kind]}" "$(awk "BEGIN { print ${seconds[many-$kind]} / ${seconds[many-async]} }")"
done

# What any attribute costs: the `async fn`s above under an attribute that hands
# them back as they came, and under one that parses each with syn (as every
# attribute that reads a body must) and prints it back. coro's attribute does
# both and more, so the second is the least it could cost.
macro_dir="$out/identity-macro"
mkdir -p "$macro_dir/src"
cat > "$macro_dir/Cargo.toml" <<TOML
[package]
name = "identity-macro"
version = "0.0.0"
edition = "2024"

[lib]
proc-macro = true

[dependencies]
quote = "1"
syn = { version = "2", features = ["full"] }

[workspace]
TOML
cat > "$macro_dir/src/lib.rs" <<'RS'
use proc_macro::TokenStream;

#[proc_macro_attribute]
pub fn pass(_: TokenStream, item: TokenStream) -> TokenStream {
    item
}

#[proc_macro_attribute]
pub fn reparse(_: TokenStream, item: TokenStream) -> TokenStream {
    let function = syn::parse_macro_input!(item as syn::ItemFn);
    quote::quote!(#function).into()
}
RS
for attribute in pass reparse; do
    dir="$out/identity-$attribute"
    mkdir -p "$dir/src"
    sed -e "s/name = \"bench-coro\"/name = \"bench-identity-$attribute\"/" \
        -e "s#^coro = .*#&\nidentity-macro = { path = \"$macro_dir\" }#" "$out/coro/Cargo.toml" > "$dir/Cargo.toml"
    sed "s/^pub async fn/#[identity_macro::$attribute]\npub async fn/" "$out/async/src/lib.rs" > "$dir/src/lib.rs"
    (cd "$dir" && CARGO_TARGET_DIR="$out/target" cargo build --release --quiet)
done
least_of_rounds async identity-pass identity-reparse coro-async
printf '\n| %d async fns, under | release build, CPU (s) | / std async fn |\n|---|---:|---:|\n' "$n"
for kind in async identity-pass identity-reparse coro-async; do
    printf '| %s | %.2f | %.2f |\n' "$kind" "${seconds[$kind]}" "$(awk "BEGIN { print ${seconds[$kind]} / ${seconds[async]} }")"
done
