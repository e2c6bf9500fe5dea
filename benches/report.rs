//! Prints one table of ratios (coro / peer; lower is better) from the latest
//! criterion results, and the future-size table. Run the benchmarks first:
//!
//! ```text
//! taskset -c 0 cargo bench --bench generators --bench awaits --bench parser --bench spawn --bench pingpong --bench timers
//! cargo bench --bench report
//! ```

use std::fs;
use std::path::{Path, PathBuf};

#[path = "../tests/future_size.rs"]
#[allow(dead_code)]
mod future_size;

/// Each group, what one unit of work is, and how many units one iteration does.
const GROUPS: &[(&str, &str, f64)] = &[
    ("generator", "item", 1_000_000.0),
    ("generator_for_loop", "item", 1_000_000.0),
    ("awaits_1k", "await", 1_000.0),
    ("parser", "byte", 1_020_000.0),
    ("spawn_join_100k", "task", 100_000.0),
    ("yield_now_100k", "yield", 100_000.0),
    ("pingpong_1m_messages", "round trip", 500_000.0),
    ("workers_100k_jobs", "job", 100_000.0),
    ("timers_100k", "timer", 100_000.0),
];

fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// The number after `"key":` following the first `"after"` in `json`.
fn number_after(json: &str, after: &str, key: &str) -> Option<f64> {
    let rest = &json[json.find(after)?..];
    let rest = &rest[rest.find(key)? + key.len()..];
    let rest = rest.trim_start_matches([':', ' ', '"']);
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

fn string_after(json: &str, key: &str) -> Option<String> {
    let rest = &json[json.find(key)? + key.len()..];
    let rest = rest.trim_start_matches([':', ' ']).strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// (benchmark name, median nanoseconds per iteration) for each benchmark of a group.
fn medians(group: &Path) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(group).into_iter().flatten().flatten() {
        let new = entry.path().join("new");
        let (Ok(estimates), Ok(benchmark)) = (
            fs::read_to_string(new.join("estimates.json")),
            fs::read_to_string(new.join("benchmark.json")),
        ) else {
            continue;
        };
        let name = string_after(&benchmark, "\"function_id\"")
            .unwrap_or_else(|| entry.file_name().to_string_lossy().into());
        if let Some(median) = number_after(&estimates, "\"median\"", "\"point_estimate\"") {
            found.push((name, median));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn main() {
    let dir = criterion_dir();
    println!("| benchmark | peer | peer ns/unit | coro ns/unit | coro / peer |");
    println!("|---|---|---:|---:|---:|");
    let mut any = false;
    for &(group, unit, units) in GROUPS {
        let results = medians(&dir.join(group));
        let Some(&(_, coro)) = results.iter().find(|(name, _)| name == "coro") else {
            continue;
        };
        any = true;
        for (peer, time) in results.iter().filter(|(name, _)| name != "coro") {
            println!(
                "| {group} (per {unit}) | {peer} | {:.2} | {:.2} | {:.2} |",
                time / units,
                coro / units,
                coro / time
            );
        }
    }
    if !any {
        println!(
            "(no criterion results under {}: run the benchmarks first)",
            dir.display()
        );
    }
    println!();
    println!(
        "| future body | compact (bytes) | pinned (bytes) | rustc async fn (bytes) | compact / rustc | pinned / rustc |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for row in future_size::table() {
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} |",
            row.body,
            row.compact,
            row.pinned,
            row.rustc,
            row.compact as f64 / row.rustc as f64,
            row.pinned as f64 / row.rustc as f64
        );
    }
}
