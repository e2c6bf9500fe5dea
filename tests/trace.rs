//! The timeline `coro::debug::trace_to` writes: parsed back as JSON, every task has
//! a track, every cancelled task says why, and every arrow has both ends.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

/// A scratch path for this test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("coro-trace-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn events(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).expect("the trace is a JSON array of events")
}

fn track(event: &Value) -> (u64, u64) {
    (
        event["pid"].as_u64().unwrap(),
        event["tid"].as_u64().unwrap(),
    )
}

/// Track names by track.
fn track_names(events: &[Value]) -> HashMap<(u64, u64), String> {
    events
        .iter()
        .filter(|event| event["ph"] == "M" && event["name"] == "thread_name")
        .map(|event| {
            (
                track(event),
                event["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The cause of the cancel event on the track of the task named `name`.
fn cancel_cause<'a>(events: &'a [Value], name: &str) -> Option<&'a str> {
    let names = track_names(events);
    let (task, _) = names
        .iter()
        .find(|(_, track_name)| track_name.contains(&format!("`{name}`")))
        .unwrap_or_else(|| panic!("no track for `{name}`"));
    events
        .iter()
        .find(|event| event["ph"] == "i" && event["name"] == "cancelled" && track(event) == *task)
        .map(|event| event["args"]["cause"].as_str().unwrap())
}

#[test]
fn a_trace_has_a_track_per_task_the_cause_of_each_cancellation_and_whole_arrows() {
    let path = scratch("causes.json");
    let lines = coro::run(async {
        coro::debug::trace_to(&path).unwrap();
        let mut lines = HashMap::new();
        coro::scope(async |s| {
            // Cancelled through its handle.
            let handled = s
                .task()
                .name("by handle")
                .spawn(std::future::pending::<()>());
            coro::yield_now().await;
            lines.insert("handle", line!() + 1);
            handled.cancel();
            assert!(handled.await.unwrap_err().is_cancelled());

            // Cancelled with its scope, by `cancel()`.
            coro::scope(async |inner| {
                inner
                    .task()
                    .name("with scope")
                    .spawn(std::future::pending::<()>());
                coro::yield_now().await;
                lines.insert("scope", line!() + 1);
                inner.cancel();
            })
            .await;

            // Cancelled by a sibling's `Err`.
            let failed: Result<(), &str> = coro::try_scope(async |inner| {
                inner.task().name("errs").spawn(async {
                    coro::yield_now().await;
                    Err::<(), _>("no route")
                });
                inner
                    .task()
                    .name("sibling of errs")
                    .spawn(std::future::pending::<Result<(), &str>>());
                std::future::pending::<()>().await;
                Ok(())
            })
            .await;
            assert_eq!(failed, Err("no route"));

            // Cancelled by a sibling's panic, and a task below it with it.
            let panicked = coro::spawn_detached(coro::scope(async |inner| {
                inner.task().name("panics").spawn(async {
                    coro::yield_now().await;
                    panic!("boom");
                });
                inner
                    .task()
                    .name("sibling of panics")
                    .spawn(coro::scope(async |below| {
                        below
                            .task()
                            .name("below")
                            .spawn(std::future::pending::<()>());
                        std::future::pending::<()>().await;
                    }));
            }));
            assert!(panicked.await.unwrap_err().is_panic());

            // Cancelled by a timeout, after a blocking job woke it.
            lines.insert("timeout", line!() + 1);
            let timed = coro::timeout(
                Duration::from_millis(300),
                coro::scope(async |inner| {
                    inner.task().name("blocked").spawn(async {
                        coro::spawn_blocking(|| std::thread::sleep(Duration::from_millis(1))).await;
                        std::future::pending::<()>().await;
                    });
                }),
            )
            .await;
            assert!(timed.is_err());
        })
        .await;
        lines
    });
    let events = events(&path);
    let here = file!();

    // Every task has a named track with a poll or a cancellation on it.
    let names = track_names(&events);
    let tasks: Vec<_> = names
        .iter()
        .filter(|(_, name)| name.starts_with("task "))
        .collect();
    assert_eq!(tasks.len(), 9, "{names:#?}");
    for (task, name) in &tasks {
        assert!(
            events
                .iter()
                .any(|event| track(event) == **task && (event["ph"] == "X" || event["ph"] == "i")),
            "nothing happens on the track of {name}"
        );
        assert!(name.contains(&format!("spawned at {here}:")), "{name}");
    }

    // Every task's track ends once: completed, panicked, returned `Err`, or
    // cancelled with a cause.
    for (task, name) in &tasks {
        let ends: Vec<&Value> = events
            .iter()
            .filter(|event| event["ph"] == "i" && track(event) == **task)
            .collect();
        assert_eq!(ends.len(), 1, "{name}: {ends:?}");
        let end = ends[0]["name"].as_str().unwrap();
        assert!(
            ["completed", "panicked", "returned Err", "cancelled"].contains(&end),
            "{name}: {end}"
        );
        if end == "cancelled" {
            let cause = ends[0]["args"]["cause"].as_str().unwrap();
            assert!(!cause.is_empty(), "{name}");
        }
    }

    assert_eq!(
        cancel_cause(&events, "by handle"),
        Some(format!("cancel() on its handle at {here}:{}:21", lines["handle"]).as_str())
    );
    let scope_cause = cancel_cause(&events, "with scope").unwrap();
    assert!(
        scope_cause.starts_with("scope ")
            && scope_cause.ends_with(&format!(
                "was cancelled by cancel() at {here}:{}:23",
                lines["scope"]
            )),
        "{scope_cause}"
    );
    let err_cause = cancel_cause(&events, "sibling of errs").unwrap();
    assert!(err_cause.ends_with("`errs` returned Err"), "{err_cause}");
    for cancelled in ["sibling of panics", "below"] {
        let cause = cancel_cause(&events, cancelled).unwrap();
        assert!(
            cause.ends_with("`panics` panicked: boom"),
            "{cancelled}: {cause}"
        );
    }
    assert_eq!(
        cancel_cause(&events, "blocked"),
        Some(format!("the timeout set at {here}:{}:25 elapsed", lines["timeout"]).as_str())
    );
    for finished in ["errs", "panics"] {
        assert_eq!(
            cancel_cause(&events, finished),
            None,
            "{finished} was not cancelled"
        );
    }

    // Every arrow has both ends, one of each, and the blocking job's wake starts
    // on the blocking pool's track.
    let mut ends: HashMap<u64, (usize, usize)> = HashMap::new();
    for event in &events {
        let id = event["id"].as_u64();
        match event["ph"].as_str() {
            Some("s") => ends.entry(id.unwrap()).or_default().0 += 1,
            Some("f") => ends.entry(id.unwrap()).or_default().1 += 1,
            _ => {}
        }
    }
    assert!(ends.len() > 10);
    assert!(ends.values().all(|&count| count == (1, 1)), "{ends:?}");
    let blocking_track = names
        .iter()
        .find(|(_, name)| name.contains("coro-blocking"))
        .map(|(track, _)| *track)
        .expect("the blocking pool's thread has a track");
    assert!(
        events
            .iter()
            .any(|event| event["ph"] == "s" && track(event) == blocking_track),
        "an arrow starts on the blocking pool's track"
    );
    assert!(events.iter().any(|event| {
        event["ph"] == "X"
            && track(event) == blocking_track
            && event["name"]
                .as_str()
                .unwrap()
                .starts_with(&format!("spawn_blocking at {here}:"))
    }));
}

#[test]
fn a_poll_is_named_by_the_line_it_stopped_at() {
    #[coro::coroutine]
    async fn waits() {
        coro::sleep(Duration::from_millis(1)).await;
    }

    let path = scratch("sites.json");
    let line = line!() - 4;
    coro::run(coro::scope(async |s| {
        coro::debug::trace_to(&path).unwrap();
        s.spawn(waits());
    }));
    let events = events(&path);
    let polls: Vec<&Value> = events.iter().filter(|event| event["ph"] == "X").collect();
    let name = format!("tests/trace.rs:{line}");
    let stopped = polls
        .iter()
        .find(|event| event["name"] == name.as_str())
        .unwrap_or_else(|| panic!("no poll named {name}: {polls:#?}"));
    assert_eq!(
        stopped["args"]["suspended at"],
        format!("`waits` at tests/trace.rs:{line}:47").as_str()
    );
    assert!(
        events
            .iter()
            .any(|event| event["ph"] == "i" && event["name"] == "completed"),
        "the task's completion is marked"
    );
}

#[test]
fn a_picture_shows_the_tracks_and_the_causes() {
    let path = scratch("picture.svg");
    coro::run(coro::scope(async |s| {
        coro::debug::trace_to(&path).unwrap();
        let task = s.task().name("sleeper").spawn(std::future::pending::<()>());
        coro::yield_now().await;
        task.cancel();
    }));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("`sleeper` spawned at tests/trace.rs:"));
    assert!(svg.contains("cancelled: cancel() on its handle at tests/trace.rs:"));
    assert!(svg.trim_end().ends_with("</svg>"));
}

#[test]
fn a_run_that_is_not_traced_writes_nothing_and_a_trace_ends_with_its_run() {
    let path = scratch("ended.json");
    coro::run(async {
        coro::debug::trace_to(&path).unwrap();
    });
    let first = events(&path).len();
    coro::run(coro::scope(async |s| {
        s.spawn(coro::yield_now());
    }));
    assert_eq!(
        events(&path).len(),
        first,
        "a later run does not write there"
    );
}

#[test]
fn a_file_that_cannot_be_made_is_an_error() {
    let error = coro::run(async {
        coro::debug::trace_to("/nonexistent-dir/for/sure/trace.json").unwrap_err()
    });
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
}
