//! Each example runs (with small sizes) and prints what it claims.

use std::path::PathBuf;
use std::process::Command;

/// `cargo test` builds the examples next to the test binaries' directory.
fn binary(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().expect("the test binary's path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples").join(name)
}

fn example(name: &str, args: &[&str]) -> String {
    let binary = binary(name);
    let output = Command::new(&binary)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {binary:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn tour_shows_each_kind_and_a_cancelled_child() {
    let out = example("tour", &[]);
    assert!(
        out.contains("fibonacci: [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]"),
        "{out}"
    );
    assert!(out.contains("after 10: mean 6.00"), "{out}");
    assert!(
        out.contains("running_average finished after 3 samples"),
        "{out}"
    );
    assert!(out.contains("countdown: 3... 2... 1... liftoff"), "{out}");
    assert!(
        out.contains("scope: got \"record 1\"; slow child cancelled: true"),
        "{out}"
    );
    assert!(
        out.contains("timeout after 30 ms: Err(Elapsed(()))"),
        "{out}"
    );
}

#[test]
fn network_calls_overlap_when_they_suspend() {
    let out = example("network_calls", &["--scale", "50"]);
    let sums: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split("sum ").nth(1)?.split(',').next())
        .collect();
    assert_eq!(sums, ["1900", "1900", "1900"], "{out}");
    let speedup: f64 = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("speed-up over blocking: async sockets ")?
                .split('x')
                .next()?
                .parse()
                .ok()
        })
        .expect("a speed-up line");
    assert!(
        speedup > 3.0,
        "twenty overlapping calls should beat twenty sequential ones: {out}"
    );
}

#[test]
fn callback_bridge_resumes_from_the_callback_thread() {
    let out = example("callback_bridge", &[]);
    assert!(
        out.contains("contents of /index.html\nerror: 404 for /missing\ncontents of /about.html"),
        "{out}"
    );
    assert!(
        out.contains("2 of 3 concurrent requests succeeded"),
        "{out}"
    );
}

#[test]
fn pipeline_stops_every_stage_when_cancelled() {
    let out = example("pipeline", &[]);
    assert!(out.contains("sum of squares past 1000: 1015"), "{out}");
    let cancelled = out.split("sum of squares past 1000: 1015").nth(1).unwrap();
    for stage in ["generate", "square", "sum"] {
        assert!(
            cancelled.contains(&format!("stage {stage} stopped")),
            "{stage} was not torn down: {out}"
        );
    }
    assert!(
        out.contains("endless pipeline: cancelled by the timeout"),
        "{out}"
    );
}

#[test]
fn threads_vs_coroutines_agree_on_the_results() {
    let out = example("threads_vs_coroutines", &["200"]);
    assert!(
        out.contains("200 jobs, each waiting 100ms; results agree"),
        "{out}"
    );
    assert!(
        out.contains("thread per job:") && out.contains("coroutine per job:"),
        "{out}"
    );
}

#[test]
fn million_reports_memory_for_both() {
    let out = example("million", &["20000"]);
    let row = |label: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} row: {out}"));
        line[label.len()..]
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("coro tasks (coro::sleep)")[0], "20000", "{out}");
    assert_eq!(row("OS threads (thread::sleep)")[0], "200", "{out}");
}

#[test]
fn echo_serves_a_thousand_clients_and_cancelling_its_scope_closes_every_socket() {
    let out = example("echo", &["--clients", "1000", "--rounds", "3"]);
    assert!(
        out.contains("1000 clients, 3 round trips each: 3000 echoes checked"),
        "{out}"
    );
    assert!(
        out.contains("server scope cancelled: 1000 of 1000 connections closed"),
        "{out}"
    );
}

#[test]
fn a_deadlocked_program_prints_its_task_tree() {
    let output = Command::new(binary("stalled"))
        .output()
        .expect("running the stalled example");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("the deadlock was cancelled by its timeout: true"),
        "{stdout}"
    );
    assert!(stderr.contains("no task has run for 200ms"), "{stderr}");
    // The tree: the scope under the main future, and both tasks waiting.
    let source = include_str!("../examples/stalled.rs");
    for name in ["ping", "pong"] {
        let spawn_line = source
            .lines()
            .position(|line| line.contains(&format!(".name(\"{name}\")")))
            .expect("the spawn is in the example")
            + 1;
        let expected = format!("`{name}` spawned at examples/stalled.rs:{spawn_line}:");
        let line = stderr
            .lines()
            .find(|line| line.contains(&expected))
            .unwrap_or_else(|| panic!("{expected} in\n{stderr}"));
        assert!(line.contains(": suspended for "), "{line}");
    }
    assert!(
        stderr.contains("    scope opened at examples/stalled.rs:"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("no task has run").count(),
        1,
        "once per stall:\n{stderr}"
    );
}

#[test]
fn trace_writes_a_timeline_whose_timeout_cancels_the_slow_replicas() {
    let dir = std::env::temp_dir().join(format!("coro-trace-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = example("trace", &[dir.to_str().unwrap()]);
    assert!(out.contains("the slow ones were cancelled"), "{out}");
    let json = std::fs::read_to_string(dir.join("coro-trace.json")).unwrap();
    let events: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let cancels: Vec<_> = events
        .iter()
        .filter(|event| event["name"] == "cancelled")
        .map(|event| event["args"]["cause"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(cancels.len(), 2, "{cancels:?}");
    assert!(
        cancels
            .iter()
            .all(|cause| cause.starts_with("the timeout set at examples/trace.rs:")),
        "{cancels:?}"
    );
    let svg = std::fs::read_to_string(dir.join("coro-trace.svg")).unwrap();
    assert_eq!(svg.matches("cancelled: the timeout set at").count(), 2);
    assert!(svg.contains("`replica 2` spawned at examples/trace.rs:"));
}

#[test]
fn coro_trace_in_the_environment_traces_a_program_from_its_first_run() {
    let path = std::env::temp_dir().join(format!("coro-env-trace-{}.json", std::process::id()));
    let output = Command::new(binary("pipeline"))
        .env("CORO_TRACE", &path)
        .output()
        .expect("the pipeline example runs");
    assert!(output.status.success());
    let json = std::fs::read_to_string(&path).unwrap();
    let events: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let tracks = events
        .iter()
        .filter(|event| {
            event["name"] == "thread_name"
                && event["args"]["name"]
                    .as_str()
                    .unwrap()
                    .contains("spawned at examples/pipeline.rs:")
        })
        .count();
    assert!(tracks >= 3, "{tracks} task tracks");
}
