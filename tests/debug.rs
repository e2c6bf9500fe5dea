//! `coro::debug::dump`: the live tree of scopes and tasks, with spawn sites and
//! states.

use coro::debug::{Node, ScopeKind, TaskState};
use std::time::Duration;

/// A scope inside a child inside a scope: the inner scope has a suspended child, a
/// ready one and one being cancelled, and the child that dumps is running.
#[test]
fn a_three_level_tree_shows_where_each_task_was_spawned_and_what_it_does() {
    let (tree, lines) = coro::run(async {
        let outer_line = line!() + 1;
        coro::scope(async |s| {
            let outer_child_line = line!() + 1;
            let outer_child = s.spawn(async move {
                let inner_line = line!() + 1;
                coro::supervisor_scope(async |inner| {
                    let waits = inner.task().name("waits");
                    let suspended_line = line!() + 1;
                    waits.spawn(std::future::pending::<()>());
                    let cancelled_line = line!() + 1;
                    let cancelled = inner.spawn(std::future::pending::<()>());
                    let dumper_line = line!() + 1;
                    let dumper = inner.spawn(async move {
                        // The one that dumps is running.
                        cancelled.cancel();
                        coro::debug::dump()
                    });
                    coro::yield_now().await;
                    let tree = dumper.await.unwrap();
                    inner.cancel();
                    (
                        tree,
                        [suspended_line, cancelled_line, dumper_line, inner_line],
                    )
                })
                .await
            });
            let (tree, inner_lines) = outer_child.await.unwrap();
            (tree, (outer_line, outer_child_line, inner_lines))
        })
        .await
    });
    let (outer_line, outer_child_line, [suspended, cancelled, dumper, inner]) = lines;
    let text = tree.to_string();
    let file = file!();
    let ids: Vec<String> = tree.tasks().map(|task| task.id()).collect();
    let [outer_id, waits_id, cancelled_id, dumper_id] = &ids[..] else {
        panic!("four tasks:\n{text}");
    };
    // The inner scope's tasks are its places 0, 1 and 2.
    let inner_scope = waits_id.split('.').next().unwrap();
    assert_eq!(
        [waits_id, cancelled_id, dumper_id].map(String::as_str),
        [0, 1, 2]
            .map(|i| format!("{inner_scope}.{i}"))
            .each_ref()
            .map(String::as_str)
    );
    let expected = [
        "executor opened at ".to_string(),
        "  main future".to_string(),
        format!("    scope opened at {file}:{outer_line}:"),
        format!("      task {outer_id} spawned at {file}:{outer_child_line}:"),
        format!("        supervisor_scope opened at {file}:{inner}:"),
        format!("          task {waits_id} `waits` spawned at {file}:{suspended}:"),
        format!("          task {cancelled_id} spawned at {file}:{cancelled}:"),
        format!("          task {dumper_id} spawned at {file}:{dumper}:"),
    ];
    let found: Vec<&str> = text.lines().collect();
    assert_eq!(found.len(), expected.len(), "{text}");
    for (line, expected) in found.iter().zip(&expected) {
        assert!(
            line.starts_with(expected.as_str()),
            "{line:?} is not {expected:?}\n{text}"
        );
    }
    assert!(found[3].ends_with(": running"), "{text}");
    assert!(found[5].contains(": suspended for "), "{text}");
    assert!(found[6].contains(": cancelling, last ran "), "{text}");
    assert!(found[7].ends_with(": running"), "{text}");
    let states: Vec<TaskState> = tree.tasks().map(|task| task.state()).collect();
    assert_eq!(
        states,
        [
            TaskState::Running,
            TaskState::Suspended,
            TaskState::Cancelling,
            TaskState::Running
        ]
    );
    let kinds: Vec<ScopeKind> = tree
        .nodes()
        .iter()
        .filter_map(|node| match node {
            Node::Scope { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ScopeKind::Executor,
            ScopeKind::Scope,
            ScopeKind::SupervisorScope
        ]
    );
}

#[test]
fn a_woken_task_waiting_for_its_turn_is_ready() {
    coro::run(coro::scope(async |s| {
        let (tx, mut rx) = coro::channel::bounded::<()>(1);
        let receiver = s.spawn(async move { rx.recv().await.ok() });
        coro::yield_now().await;
        assert_eq!(
            coro::debug::dump().tasks().next().unwrap().state(),
            TaskState::Suspended
        );
        tx.send(()).await.unwrap();
        // Woken by the send, not polled yet: the body still runs.
        let tree = coro::debug::dump();
        assert_eq!(
            tree.tasks().next().unwrap().state(),
            TaskState::Ready,
            "{tree}"
        );
        assert_eq!(receiver.await.unwrap(), Some(()));
    }));
}

#[test]
fn finished_tasks_and_closed_scopes_leave_the_tree() {
    coro::run(async {
        coro::scope(async |s| {
            s.spawn(async {}).await.unwrap();
            coro::scope(async |inner| inner.spawn(async {}).await.unwrap()).await;
            let tree = coro::debug::dump();
            assert_eq!(tree.tasks().count(), 0, "{tree}");
            assert_eq!(
                tree.nodes().len(),
                3,
                "executor, main future, scope:\n{tree}"
            );
        })
        .await;
        let tree = coro::debug::dump();
        assert_eq!(tree.nodes().len(), 2, "{tree}");
    });
    assert!(
        coro::debug::dump().nodes().is_empty(),
        "nothing outlives `run`"
    );
}

#[test]
fn detached_tasks_are_the_executors_own() {
    coro::run(async {
        let line = line!() + 1;
        let detached = coro::spawn_detached(std::future::pending::<()>());
        coro::yield_now().await;
        let tree = coro::debug::dump();
        let task = tree.tasks().next().unwrap();
        assert_eq!(task.spawned_at().map(|at| at.line()), Some(line));
        assert_eq!(task.state(), TaskState::Suspended);
        assert!(
            matches!(tree.nodes()[2], Node::Task { depth: 1, .. }),
            "{tree}"
        );
        assert!(task.is_detached());
        assert!(tree.to_string().contains("\n  detached task "), "{tree}");
        detached.cancel();
    });
}

/// Two tasks that each wait for the other's channel: the watchdog's hook sees both
/// suspended, and cancels them to end the program.
#[test]
fn the_watchdog_reports_a_deadlock_once() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    let reports: Rc<RefCell<Vec<String>>> = Rc::default();
    let seen = reports.clone();
    let cancelled = coro::run(coro::supervisor_scope(async |s| {
        let stuck = s.cancel_handle();
        coro::debug::on_stall(Duration::from_millis(30), move |tree| {
            seen.borrow_mut().push(tree.to_string());
            assert!(
                tree.tasks()
                    .all(|task| task.state() == TaskState::Suspended),
                "{tree}"
            );
            stuck.cancel();
        });
        let (to_a, mut a_inbox) = coro::channel::bounded::<()>(1);
        let (to_b, mut b_inbox) = coro::channel::bounded::<()>(1);
        let a = s.spawn(async move {
            b_inbox.recv().await.unwrap();
            to_a.send(()).await.unwrap();
        });
        let b = s.spawn(async move {
            a_inbox.recv().await.unwrap();
            to_b.send(()).await.unwrap();
        });
        (a.await.is_err(), b.await.is_err())
    }));
    assert_eq!(cancelled, (true, true));
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0].matches(": suspended").count(),
        2,
        "{}",
        reports[0]
    );
}

/// Another thread asks while the executor waits in its reactor: the request wakes
/// it, and it answers between tasks.
#[test]
fn another_thread_gets_the_tree_through_a_handle() {
    use std::time::Duration;

    let handle = coro::run(coro::scope(async |s| {
        let handle = coro::debug::handle();
        let asker = {
            let handle = handle.clone();
            std::thread::spawn(move || handle.dump(Duration::from_secs(30)))
        };
        let sleeper_line = line!() + 1;
        let sleeper = s.spawn(coro::sleep(Duration::from_secs(60)));
        // The executor sleeps until the answer is out, then the sleeper is
        // cancelled.
        let tree = coro::spawn_blocking(move || asker.join().unwrap())
            .await
            .expect("answered");
        let task = tree.tasks().next().expect("the sleeper");
        assert_eq!(task.spawned_at().map(|at| at.line()), Some(sleeper_line));
        assert_eq!(task.state(), TaskState::Suspended);
        sleeper.cancel();
        handle
    }));
    assert!(
        handle.dump(Duration::from_secs(1)).is_none(),
        "an ended run answers nothing"
    );
}

mod backtrace {
    use std::time::Duration;

    pub const INNER_AWAIT: u32 = line!() + 6;
    /// Pinned: it borrows its own buffer across the await.
    #[coro::coroutine]
    pub async fn read_into_buffer() -> usize {
        let mut buffer = vec![0u8; 16];
        let view = &mut buffer;
        coro::sleep(Duration::from_secs(60)).await;
        view[0] = 1;
        buffer.len()
    }

    pub const OUTER_AWAIT: u32 = line!() + 4;
    /// Compact, on request: the backtrace goes through both machines.
    #[coro::coroutine(compact)]
    pub async fn handle_request() -> usize {
        let read = read_into_buffer().await;
        read + 1
    }

    /// `sites` is the backtrace of a wait in `handle_request`, innermost first.
    pub fn assert_waits_in_handle_request(sites: &[String], tree: &coro::debug::TaskTree) {
        let file = file!();
        assert_eq!(sites.len(), 2, "{tree}");
        assert!(
            sites[0].starts_with(&format!("`read_into_buffer` at {file}:{INNER_AWAIT}:")),
            "{tree}"
        );
        assert!(
            sites[1].starts_with(&format!("`handle_request` at {file}:{OUTER_AWAIT}:")),
            "{tree}"
        );
    }
}

/// A task awaiting a compact coroutine awaiting a pinned one: its async backtrace
/// names both functions with the lines of their `.await`s, innermost first.
#[test]
fn a_suspended_task_shows_where_it_waits_innermost_first() {
    coro::run(coro::scope(async |s| {
        let task = s.spawn(backtrace::handle_request());
        coro::yield_now().await;
        let tree = coro::debug::dump();
        let info = tree.tasks().next().unwrap();
        let sites = info.suspended_at();
        backtrace::assert_waits_in_handle_request(&sites, &tree);
        let text = tree.to_string();
        assert!(
            text.contains(&format!("\n          in {}", sites[0])),
            "{text}"
        );
        task.cancel();
    }));
}

/// The future `run` blocks on is not a task, but it stops at awaits too: the
/// tree shows where, as for a task, so a program stuck in its main future says
/// where it is stuck. While it runs (the dump is taken inside it) it says so.
#[test]
fn the_main_future_shows_where_it_waits() {
    let taken = std::rc::Rc::new(std::cell::RefCell::new(None));
    let from_task = taken.clone();
    let inside = coro::run(async move {
        let watcher = coro::spawn_detached(async move {
            coro::yield_now().await;
            *from_task.borrow_mut() = Some(coro::debug::dump());
        });
        let inside = coro::debug::dump();
        coro::timeout(Duration::from_millis(20), backtrace::handle_request())
            .await
            .unwrap_err();
        watcher.await.unwrap();
        inside
    });
    let main_future = |tree: &coro::debug::TaskTree| {
        tree.nodes()
            .iter()
            .find_map(|node| match node {
                Node::MainFuture {
                    running,
                    suspended_at,
                    since_ran,
                    ..
                } => Some((*running, suspended_at.clone(), since_ran.is_some())),
                _ => None,
            })
            .expect("a main future")
    };
    assert_eq!(main_future(&inside), (true, vec![], false), "{inside}");
    assert!(
        inside.to_string().contains("\n  main future: running\n"),
        "{inside}"
    );
    let tree = taken.borrow_mut().take().expect("the watcher took a dump");
    let (running, sites, since_ran) = main_future(&tree);
    assert!(!running && since_ran, "{tree}");
    backtrace::assert_waits_in_handle_request(&sites, &tree);
    let text = tree.to_string();
    assert!(
        text.contains(&format!(" ago\n      in {}\n", sites[0]))
            && text.contains("\n  main future: last ran "),
        "{text}"
    );
}

/// Sites are recorded only while a task is polled, so a coroutine future polled on
/// another executor leaves nothing behind; and a task's backtrace is its last
/// poll's, not an accumulation.
#[test]
fn each_poll_replaces_the_backtrace() {
    coro::run(coro::scope(async |s| {
        let task = s.spawn(async {
            for _ in 0..3 {
                coro::yield_now().await;
            }
            backtrace::handle_request().await
        });
        for _ in 0..5 {
            coro::yield_now().await;
        }
        let tree = coro::debug::dump();
        assert_eq!(
            tree.tasks().next().unwrap().suspended_at().len(),
            2,
            "{tree}"
        );
        task.cancel();
    }));
    // Outside any task: polled by hand, nothing recorded, nothing kept.
    let mut outside = std::pin::pin!(backtrace::handle_request());
    let waker = std::task::Waker::noop();
    assert!(
        outside
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_pending()
    );
}

/// A task waiting in `select!` shows the `select!`'s line.
#[test]
fn a_task_waiting_in_select_shows_where() {
    use std::time::Duration;

    coro::run(coro::scope(async |s| {
        let (_tx, mut rx) = coro::channel::bounded::<u32>(1);
        let line = line!() + 2;
        let task = s.spawn(async move {
            coro::select! {
                value = rx.recv() => value.ok(),
                _ = coro::sleep(Duration::from_secs(60)) => None,
            }
        });
        coro::yield_now().await;
        let tree = coro::debug::dump();
        let sites = tree.tasks().next().unwrap().suspended_at();
        assert_eq!(
            sites,
            [format!("`select!` at {}:{line}:13", file!())],
            "{tree}"
        );
        task.cancel();
    }));
}

mod nested {
    pub const CHILD_AWAIT: u32 = line!() + 3;
    #[coro::coroutine]
    pub async fn child_waits() {
        std::future::pending::<()>().await;
    }

    pub const PARENT_AWAIT: u32 = line!() + 3;
    #[coro::coroutine]
    pub async fn parent_opens_a_scope() {
        coro::scope(async |s| s.spawn(child_waits()).await.unwrap()).await;
    }
}

/// A task that opens a scope whose child suspends: each keeps its own sites, the
/// child's never leak into its parent's. The parent waits in the scope's body (for
/// the child's handle), inside its await of the scope: two sites on one line.
#[test]
fn nested_tasks_keep_their_own_backtraces() {
    coro::run(coro::scope(async |s| {
        let parent = s.spawn(nested::parent_opens_a_scope());
        for _ in 0..3 {
            coro::yield_now().await;
        }
        let tree = coro::debug::dump();
        let tasks: Vec<_> = tree.tasks().collect();
        assert_eq!(tasks.len(), 2, "{tree}");
        let file = file!();
        let parent_sites = tasks[0].suspended_at();
        assert_eq!(parent_sites.len(), 2, "{tree}");
        for site in &parent_sites {
            assert!(
                site.starts_with(&format!(
                    "`parent_opens_a_scope` at {file}:{}:",
                    nested::PARENT_AWAIT
                )),
                "{tree}"
            );
        }
        let column = |site: &str| site.rsplit(':').next().unwrap().parse::<u32>().unwrap();
        assert!(
            column(&parent_sites[0]) < column(&parent_sites[1]),
            "the handle's await, inside the scope's:\n{tree}"
        );
        let child_sites = tasks[1].suspended_at();
        assert_eq!(child_sites.len(), 1, "{tree}");
        assert!(
            child_sites[0]
                .starts_with(&format!("`child_waits` at {file}:{}:", nested::CHILD_AWAIT)),
            "{tree}"
        );
        parent.cancel();
    }));
}

#[test]
fn a_panicked_task_s_error_says_which_awaits_it_panicked_in() {
    #[coro::coroutine]
    async fn parse(input: &str) -> u32 {
        let mut total = 0;
        for part in input.split(',') {
            coro::yield_now().await;
            total += part.parse::<u32>().expect("a number");
        }
        total
    }

    #[coro::coroutine]
    async fn handle(request: &str) -> u32 {
        let mut sum = 0;
        for _ in 0..2 {
            sum += parse(request).await;
        }
        sum
    }

    let line = line!() - 5;
    let error = coro::run(coro::supervisor_scope(async |s| {
        s.task()
            .name("request")
            .spawn(handle("1,x"))
            .await
            .unwrap_err()
    }));
    assert_eq!(
        error.panicked_in(),
        vec![format!("`handle` at tests/debug.rs:{line}:35")]
    );
    let shown = error.to_string();
    assert!(
        shown.starts_with("task `request` (spawned at tests/debug.rs:")
            && shown.ends_with(&format!(
                "panicked: a number: ParseIntError {{ kind: InvalidDigit }}\n  in `handle` at tests/debug.rs:{line}:35"
            )),
        "{shown}"
    );
    // A straight-line body (the compact machine) lists its await too.
    #[coro::coroutine(compact)]
    async fn straight(request: &str) -> u32 {
        handle(request).await + 1
    }
    let straight_line = line!() - 2;
    let error = coro::run(coro::supervisor_scope(async |s| {
        s.spawn(straight("x")).await.unwrap_err()
    }));
    assert_eq!(
        error.panicked_in(),
        vec![
            format!("`handle` at tests/debug.rs:{line}:35"),
            format!("`straight` at tests/debug.rs:{straight_line}:25"),
        ]
    );
    // A cancelled task's error has none.
    let cancelled = coro::run(coro::scope(async |s| {
        let task = s.spawn(handle("1"));
        task.cancel();
        task.await.unwrap_err()
    }));
    assert!(cancelled.panicked_in().is_empty());
}

#[test]
fn a_dump_says_how_long_each_task_has_waited() {
    let (waited, shown) = coro::run(coro::scope(async |s| {
        let waiting = s.task().name("waiting").spawn(std::future::pending::<()>());
        coro::yield_now().await;
        coro::sleep(Duration::from_millis(100)).await;
        let tree = coro::debug::dump();
        waiting.cancel();
        let task = tree.tasks().next().unwrap();
        (task.since_ran().unwrap(), tree.to_string())
    }));
    // The executor read its clock after the task ran and before it slept: the
    // figure is at least the sleep.
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(60), "{waited:?}");
    let line = shown
        .lines()
        .find(|line| line.contains("`waiting`"))
        .unwrap();
    let shown_for = line.split(": suspended for ").nth(1).unwrap();
    let seconds: f64 = shown_for.trim_end_matches('s').parse().unwrap();
    assert!(seconds >= 0.1, "{line}");
}

#[test]
fn a_dump_shows_cleanups_running_and_jobs_on_the_blocking_pool() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let (release, wait) = std::sync::mpsc::channel::<()>();
    let started = Arc::new(AtomicBool::new(false));
    let (text, states, jobs) = coro::run(coro::scope(async |s| {
        // The cleanup waits until the dump is taken: nothing here depends on
        // timing, which valgrind stretches.
        let (dumped, mut dump_taken) = coro::channel::bounded::<()>(1);
        let session = s.task().name("session").spawn(async move {
            let _goodbye = coro::on_cancel(async move {
                let _ = dump_taken.recv().await;
            });
            std::future::pending::<()>().await;
        });
        let job_started = started.clone();
        let job = coro::spawn_blocking(move || {
            job_started.store(true, Ordering::Release);
            wait.recv().unwrap()
        });
        coro::yield_now().await;
        session.cancel();
        // Its handle reports the cancellation once the task is gone and has left
        // its cleanup to the scope.
        assert!(session.await.unwrap_err().is_cancelled());
        while !started.load(Ordering::Acquire) {
            coro::sleep(Duration::from_millis(1)).await;
        }
        let tree = coro::debug::dump();
        let states: Vec<TaskState> = tree.tasks().map(|task| task.state()).collect();
        let jobs: Vec<(bool, u32)> = tree
            .jobs()
            .map(|job| (job.is_running(), job.spawned_at().line()))
            .collect();
        drop(dumped);
        release.send(()).unwrap();
        job.await;
        (tree.to_string(), states, jobs)
    }));
    let (cleanup_line, job_line) = (line!() - 29, line!() - 23);
    assert_eq!(states, [TaskState::RunningCleanup], "{text}");
    assert!(
        text.contains(&format!(
            "cleanups\n        task 3.0 spawned at tests/debug.rs:{cleanup_line}:28: running cleanup, last ran "
        )),
        "{text}"
    );
    assert_eq!(jobs, [(true, job_line)], "{text}");
    assert!(
        text.contains(&format!(
            "blocking pool\n  job spawned at tests/debug.rs:{job_line}:19: running for "
        )),
        "{text}"
    );
}

/// Where `future`, spawned as the only task, waits after `turns` turns of its
/// scope's body; the task is cancelled after.
fn backtrace_after_turns(future: impl Future<Output = ()> + 'static, turns: usize) -> Vec<String> {
    coro::run(coro::scope(async |s| {
        let task = s.spawn(future);
        for _ in 0..turns {
            coro::yield_now().await;
        }
        let backtrace = coro::debug::dump().tasks().next().unwrap().suspended_at();
        task.cancel();
        backtrace
    }))
}

#[test]
fn an_await_inside_another_macro_s_operands_has_its_site() {
    #[coro::coroutine]
    async fn shows() {
        println!("{:?}", coro::sleep(Duration::from_secs(60)).await);
    }
    let line = line!() - 2;
    let backtrace = backtrace_after_turns(shows(), 1);
    assert_eq!(backtrace, [format!("`shows` at tests/debug.rs:{line}:63")]);
}

/// A pinned `.await` is named after the innermost function whose body holds it:
/// an `.await` after a nested coroutine's body is the outer function's, and one
/// inside it the nested function's.
#[test]
fn a_pinned_await_is_named_after_the_function_whose_body_holds_it() {
    #[coro::coroutine]
    async fn outer() {
        #[coro::coroutine]
        async fn nested() {
            let mut buffer = [0u8; 4];
            let view = &mut buffer;
            coro::sleep(Duration::from_secs(60)).await;
            view[0] = 1;
        }
        let mut counts = vec![0u32; 2];
        let view = &mut counts;
        coro::yield_now().await;
        nested().await;
        view[0] += 1;
    }
    let (nested_line, outer_line) = (line!() - 9, line!() - 3);
    let backtrace = backtrace_after_turns(outer(), 2);
    assert_eq!(
        backtrace,
        [
            format!("`nested` at tests/debug.rs:{nested_line}:50"),
            format!("`outer` at tests/debug.rs:{outer_line}:18"),
        ]
    );
}

/// A body that first started on another thread is named on this one too: the
/// functions seen start are the process's, each thread only remembering which it
/// has seen itself.
#[test]
fn a_pinned_await_is_named_on_every_thread_its_function_runs_on() {
    #[coro::coroutine]
    async fn waits_on_any_thread() {
        let mut buffer = [0u8; 4];
        let view = &mut buffer;
        coro::sleep(Duration::from_secs(60)).await;
        view[0] = 1;
    }
    let line = line!() - 3;
    let backtrace_on_a_new_thread = || {
        std::thread::spawn(|| backtrace_after_turns(waits_on_any_thread(), 1))
            .join()
            .unwrap()
    };
    let expected = [format!("`waits_on_any_thread` at tests/debug.rs:{line}:46")];
    assert_eq!(backtrace_on_a_new_thread(), expected);
    assert_eq!(backtrace_on_a_new_thread(), expected);
}

/// Run by `a_child_s_panic_re_raised_by_its_scope_is_noted_once`, in a process of
/// its own, to panic there.
#[test]
fn panics_in_a_child_when_asked() {
    #[coro::coroutine]
    async fn fails() -> u32 {
        coro::yield_now().await;
        "x".parse::<u32>().expect("a number")
    }

    #[coro::coroutine]
    async fn serve() -> u32 {
        let mut total = 0;
        for _ in 0..2 {
            total += fails().await;
        }
        total
    }

    if std::env::var_os("CORO_TEST_PANIC").is_none() {
        return;
    }
    coro::run(coro::scope(async |s| {
        s.spawn(coro::scope(async |inner| {
            inner.task().name("request").spawn(serve());
        }));
    }));
}

#[test]
fn a_child_s_panic_re_raised_by_its_scope_is_noted_once() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "panics_in_a_child_when_asked", "--nocapture"])
        .env("CORO_TEST_PANIC", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("coro: "))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(
        notes[0].starts_with("coro: task ")
            && notes[0].contains(" `request` (spawned at tests/debug.rs:")
            && notes[0].ends_with("panicked: a number: ParseIntError { kind: InvalidDigit }"),
        "{stderr}"
    );
    let after: Vec<&str> = stderr
        .lines()
        .skip_while(|line| !line.starts_with("coro: "))
        .skip(1)
        .take(2)
        .collect();
    assert!(
        after[0].starts_with("  in `serve` at tests/debug.rs:"),
        "{stderr}"
    );
    assert!(after[1].starts_with("  re-raised by scope "), "{stderr}");
}

/// Twenty `async fn`s deep, each awaiting the next: deeper than the frames a
/// thread keeps in place, so the rest spill. Every level shows in the task's
/// backtrace, innermost first, and in a panic's, and a shallow task polled
/// meanwhile keeps its own.
mod deep {
    macro_rules! calls {
        ($($outer:ident => $inner:ident,)*) => {$(
            #[coro::coroutine]
            pub async fn $outer(panic: bool) {
                $inner(panic).await;
            }
        )*};
    }

    #[coro::coroutine]
    pub async fn level0(panic: bool) {
        coro::yield_now().await;
        assert!(!panic, "at the bottom");
        std::future::pending::<()>().await;
    }

    calls! {
        level1 => level0, level2 => level1, level3 => level2, level4 => level3,
        level5 => level4, level6 => level5, level7 => level6, level8 => level7,
        level9 => level8, level10 => level9, level11 => level10, level12 => level11,
        level13 => level12, level14 => level13, level15 => level14, level16 => level15,
        level17 => level16, level18 => level17, level19 => level18, level20 => level19,
    }
}

#[test]
fn a_backtrace_deeper_than_the_frames_kept_in_place_is_whole() {
    coro::run(coro::supervisor_scope(async |s| {
        let deep = s.spawn(deep::level20(false));
        let shallow = s.spawn(deep::level1(false));
        coro::yield_now().await;
        coro::yield_now().await;
        let tree = coro::debug::dump();
        let depths: Vec<usize> = tree.tasks().map(|task| task.suspended_at().len()).collect();
        assert_eq!(depths, [21, 2], "{tree}");
        let innermost = &tree.tasks().next().unwrap().suspended_at()[0];
        assert!(innermost.contains("`level0`"), "{tree}");
        deep.cancel();
        shallow.cancel();
        let error = s.spawn(deep::level20(true)).await.unwrap_err();
        assert_eq!(error.panicked_in().len(), 20, "{error}");
    }));
}
