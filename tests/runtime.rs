//! The executor and structured concurrency: what must hold, asserted.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use coro::channel;

/// A shared log of what happened, in order.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.borrow_mut().push(entry.into());
    }

    fn entries(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    fn guard(&self, name: &str) -> Guard {
        Guard(self.clone(), name.to_string())
    }
}

/// Logs `drop <name>` when dropped.
struct Guard(Log, String);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.push(format!("drop {}", self.1));
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn run_returns_the_value_and_resurfaces_panics() {
    assert_eq!(coro::run(async { 1 + 1 }), 2);
    let panicked = catch_unwind(|| coro::run(async { panic!("in the main future") }));
    assert_eq!(panic_message(panicked.unwrap_err()), "in the main future");
    let panicked = catch_unwind(|| {
        coro::run(coro::scope(async |s| {
            s.spawn(async { panic!("in a child") });
            coro::sleep(Duration::from_secs(60)).await;
        }))
    });
    assert_eq!(panic_message(panicked.unwrap_err()), "in a child");
    // The executor is usable again after a panic.
    assert_eq!(coro::run(async { 3 }), 3);
}

#[test]
fn a_scope_waits_for_every_child_and_children_borrow_from_outside() {
    let log = Log::default();
    let words = ["alpha".to_string(), "beta".to_string()];
    let total = coro::run(coro::scope(async |s| {
        for (i, word) in words.iter().enumerate() {
            let log = log.clone();
            // Not joined: the scope still waits for it.
            s.spawn(async move {
                coro::sleep(Duration::from_millis(5 * (i as u64 + 1))).await;
                log.push(format!("finished {word}"));
            });
        }
        let counted = s.spawn(async { words.iter().map(String::len).sum::<usize>() });
        counted.await.unwrap()
    }));
    assert_eq!(total, 9);
    assert_eq!(log.entries(), ["finished alpha", "finished beta"]);
}

#[test]
fn a_child_panic_cancels_siblings_and_body_before_resurfacing() {
    let log = Log::default();
    let result = catch_unwind(AssertUnwindSafe(|| {
        coro::run(coro::scope(async |s| {
            let _body_guard = log.guard("body");
            let sibling_log = log.clone();
            s.spawn(async move {
                let _guard = sibling_log.guard("sibling");
                std::future::pending::<()>().await;
            });
            s.spawn(async {
                coro::yield_now().await;
                panic!("child failed");
            });
            std::future::pending::<()>().await
        }))
    }));
    assert_eq!(panic_message(result.unwrap_err()), "child failed");
    let mut dropped = log.entries();
    dropped.sort();
    assert_eq!(dropped, ["drop body", "drop sibling"]);
}

#[test]
fn try_scope_returns_the_first_error_and_cancels_the_rest() {
    let log = Log::default();
    let result: Result<u32, String> = coro::run(coro::try_scope(async |s| {
        let slow_log = log.clone();
        let slow = s.spawn(async move {
            let _guard = slow_log.guard("slow");
            coro::sleep(Duration::from_secs(60)).await;
            Ok(1)
        });
        s.spawn(async {
            coro::sleep(Duration::from_millis(2)).await;
            Err::<(), _>("first".to_string())
        });
        s.spawn(async {
            coro::sleep(Duration::from_millis(20)).await;
            Err::<(), _>("second".to_string())
        });
        Ok(slow.await.unwrap_or(0))
    }));
    assert_eq!(result, Err("first".to_string()));
    assert_eq!(log.entries(), ["drop slow"]);
    let ok: Result<u32, String> = coro::run(coro::try_scope(async |s| {
        let a = s.spawn(async { Ok(2) });
        Ok(a.await.unwrap() * 2)
    }));
    assert_eq!(ok, Ok(4));
    let body_error: Result<(), &str> = coro::run(coro::try_scope(async |s| {
        let never = s.spawn(std::future::pending::<Result<(), &str>>());
        let _ = &never;
        Err("body")
    }));
    assert_eq!(body_error, Err("body"));
}

#[test]
fn a_supervisor_scope_keeps_the_others_running() {
    let finished = Rc::new(RefCell::new(0));
    coro::run(coro::supervisor_scope(async |s| {
        let mut handles = Vec::new();
        for i in 0..10 {
            let finished = finished.clone();
            handles.push(s.spawn(async move {
                coro::sleep(Duration::from_millis(i)).await;
                if i % 3 == 0 {
                    panic!("task {i} failed");
                }
                *finished.borrow_mut() += 1;
                i
            }));
        }
        let mut panics = 0;
        for handle in handles {
            match handle.await {
                Ok(_) => {}
                Err(error) => {
                    assert!(error.is_panic());
                    assert!(panic_message(error.into_panic()).starts_with("task "));
                    panics += 1;
                }
            }
        }
        assert_eq!(panics, 4);
    }));
    assert_eq!(*finished.borrow(), 6);
}

#[test]
fn dropping_a_handle_does_not_cancel_the_task() {
    let log = Log::default();
    coro::run(coro::scope(async |s| {
        let log = log.clone();
        drop(s.spawn(async move {
            coro::sleep(Duration::from_millis(2)).await;
            log.push("still ran");
        }));
    }));
    assert_eq!(log.entries(), ["still ran"]);
}

#[test]
fn cancelling_a_task_cancels_its_subtree_depth_first_before_the_await_returns() {
    let log = Log::default();
    coro::run(coro::scope(async |s| {
        // The great-grandchild says when it is running, so the cancel comes after.
        let (started, all_running) = channel::oneshot::<()>();
        let child_log = log.clone();
        let child = s.spawn(async move {
            let _child = child_log.guard("child");
            coro::scope(async |s| {
                let grandchild_log = child_log.clone();
                s.spawn(async move {
                    let _grandchild = grandchild_log.guard("grandchild");
                    coro::scope(async |s| {
                        let leaf_log = grandchild_log.clone();
                        s.spawn(async move {
                            let _leaf = leaf_log.guard("great-grandchild");
                            started.send(()).unwrap();
                            std::future::pending::<()>().await;
                        });
                        std::future::pending::<()>().await
                    })
                    .await
                });
                std::future::pending::<()>().await
            })
            .await
        });
        all_running.await.unwrap();
        assert!(log.entries().is_empty(), "everything is still running");
        child.cancel();
        let error = child.await.unwrap_err();
        assert!(error.is_cancelled());
        log.push("await returned");
    }));
    assert_eq!(
        log.entries(),
        [
            "drop great-grandchild",
            "drop grandchild",
            "drop child",
            "await returned"
        ]
    );
}

#[test]
fn wakes_from_other_threads_reach_the_executor() {
    let value = coro::run(async {
        let (tx, rx) = channel::oneshot();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(11).unwrap();
        });
        let from_callback = coro::suspend_with(|cont| {
            std::thread::spawn(move || cont.resume(31));
        })
        .await;
        rx.await.unwrap() + from_callback
    });
    assert_eq!(value, 42);
}

#[test]
fn a_hundred_thousand_tasks_run_and_join_in_one_scope() {
    let total = coro::run(coro::scope(async |s| {
        let handles: Vec<_> = (0..100_000u64)
            .map(|i| {
                s.spawn(async move {
                    coro::yield_now().await;
                    i
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await.unwrap();
        }
        total
    }));
    assert_eq!(total, (0..100_000u64).sum());
}

#[test]
fn a_panicking_detached_task_never_takes_the_executor_down() {
    let ran = coro::run(async {
        let failing = coro::spawn_detached(async { panic!("detached failure") });
        let fine = coro::spawn_detached(async {
            coro::sleep(Duration::from_millis(1)).await;
            "fine"
        });
        assert!(failing.await.unwrap_err().is_panic());
        fine.await.unwrap()
    });
    assert_eq!(ran, "fine");
}

#[test]
fn run_drops_detached_tasks_still_running_when_it_returns() {
    let log = Log::default();
    let task_log = log.clone();
    coro::run(async move {
        coro::spawn_detached(async move {
            let _guard = task_log.guard("detached");
            std::future::pending::<()>().await;
        });
        coro::yield_now().await;
    });
    assert_eq!(log.entries(), ["drop detached"]);
}

/// CPU time this thread has used, from Linux's scheduler statistics.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

#[test]
fn an_idle_executor_sleeps_instead_of_spinning() {
    let Some(before) = thread_cpu_time() else {
        eprintln!("no /proc/thread-self/schedstat: skipping the CPU-time check");
        return;
    };
    let start = Instant::now();
    coro::run(coro::sleep(Duration::from_millis(200)));
    let elapsed = start.elapsed();
    let cpu = thread_cpu_time().unwrap() - before;
    assert!(elapsed >= Duration::from_millis(200));
    assert!(
        cpu < Duration::from_millis(40),
        "the executor used {cpu:?} of CPU while sleeping {elapsed:?}"
    );
}

#[test]
fn timeout_cancels_the_inner_work_and_interval_ticks() {
    let log = Log::default();
    coro::run(async {
        let inner_log = log.clone();
        let result = coro::timeout(Duration::from_millis(5), async move {
            let _guard = inner_log.guard("inner work");
            coro::sleep(Duration::from_secs(60)).await;
        })
        .await;
        assert!(result.is_err());
        log.push("timed out");
        let mut ticks = coro::interval(Duration::from_millis(3));
        let first = ticks.tick().await;
        let second = ticks.tick().await;
        let third = ticks.tick().await;
        assert!(second - first >= Duration::from_millis(3));
        assert!(third - second >= Duration::from_millis(3));
    });
    assert_eq!(log.entries(), ["drop inner work", "timed out"]);
}

#[test]
fn blocking_work_never_stalls_timers_or_other_tasks() {
    let ticks = Rc::new(RefCell::new(0));
    coro::run(coro::scope(async |s| {
        let ticks = ticks.clone();
        s.spawn(async move {
            for _ in 0..5 {
                coro::sleep(Duration::from_millis(5)).await;
                *ticks.borrow_mut() += 1;
            }
        });
        let blocked = coro::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(150));
            "blocking done"
        });
        assert_eq!(blocked.await, "blocking done");
    }));
    assert_eq!(
        *ticks.borrow(),
        5,
        "the ticker ran to completion while the blocking call slept"
    );
    let panicked = catch_unwind(|| coro::run(coro::spawn_blocking(|| panic!("blocking failure"))));
    assert_eq!(panic_message(panicked.unwrap_err()), "blocking failure");
}

#[test]
fn a_dropped_continuation_is_reported_not_hung() {
    let panicked = catch_unwind(|| {
        coro::run(coro::suspend_with(|cont: coro::Continuation<u8>| {
            drop(cont)
        }))
    });
    assert!(panic_message(panicked.unwrap_err()).contains("dropped without `resume`"));
}

#[test]
fn channels_apply_backpressure_and_report_the_other_side_gone() {
    let sent = Arc::new(AtomicUsize::new(0));
    coro::run(coro::scope(async |s| {
        let (tx, mut rx) = channel::bounded::<u32>(2);
        let counter = sent.clone();
        s.spawn(async move {
            for i in 0..10 {
                tx.send(i).await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        coro::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            sent.load(Ordering::SeqCst),
            2,
            "the sender waits while the channel is full"
        );
        let mut received = Vec::new();
        while let Ok(value) = rx.recv().await {
            received.push(value);
        }
        assert_eq!(received, (0..10).collect::<Vec<_>>());

        let (tx, rx) = channel::unbounded::<u32>();
        drop(rx);
        assert_eq!(tx.send(1).await, Err(channel::SendError(1)));

        let (tx, rx) = channel::oneshot::<u32>();
        drop(tx);
        assert_eq!(rx.await, Err(channel::RecvError));
    }));
}

#[test]
fn a_channel_pipeline_across_a_blocking_thread() {
    let total = coro::run(async {
        let (tx, mut rx) = channel::unbounded();
        let producer = coro::spawn_blocking(move || {
            for i in 1..=100u64 {
                tx.try_send(i).unwrap();
            }
        });
        let mut total = 0;
        while let Ok(value) = rx.recv().await {
            total += value;
        }
        producer.await;
        total
    });
    assert_eq!(total, 5050);
}

#[derive(Clone, Debug, PartialEq)]
struct RequestId(&'static str);

#[test]
fn children_inherit_the_task_context() {
    let seen = coro::run(coro::context::with(RequestId("req-1"), async {
        coro::scope(async |s| {
            let child = s.spawn(async {
                coro::scope(async |s| {
                    s.spawn(async { coro::context::get::<RequestId>() })
                        .await
                        .unwrap()
                })
                .await
            });
            let detached = coro::spawn_detached(async { coro::context::get::<RequestId>() });
            let overridden = s.spawn(coro::context::with(RequestId("req-2"), async {
                coro::context::get::<RequestId>()
            }));
            (
                child.await.unwrap(),
                detached.await.unwrap(),
                overridden.await.unwrap(),
            )
        })
        .await
    }));
    assert_eq!(
        seen,
        (
            Some(RequestId("req-1")),
            Some(RequestId("req-1")),
            Some(RequestId("req-2"))
        )
    );
}

/// A child takes the context current where it is spawned, even when that is not
/// its scope's: spawned inside a `context::with` in the body, or detached by a
/// task that runs under another value. It keeps that context for every poll and for its
/// destructors when it is cancelled, after the `with` has returned.
#[test]
fn a_child_spawned_under_another_context_than_its_scopes_keeps_it() {
    struct Report(Rc<Cell<Option<RequestId>>>);
    impl Drop for Report {
        fn drop(&mut self) {
            self.0.set(coro::context::get::<RequestId>());
        }
    }
    let dropped_with = Rc::new(Cell::new(None));
    let seen = coro::run(coro::context::with(RequestId("scope"), async {
        coro::scope(async |s| {
            let (go, gone) = channel::oneshot::<()>();
            let (inner, parked) = coro::context::with(RequestId("inner"), async {
                let inner = s.spawn(async {
                    let before = coro::context::get::<RequestId>();
                    gone.await.unwrap();
                    (before, coro::context::get::<RequestId>())
                });
                let report = Report(dropped_with.clone());
                let parked = s.spawn(async move {
                    let _report = report;
                    std::future::pending::<()>().await
                });
                (inner, parked)
            })
            .await;
            let by_sibling = s.spawn(coro::context::with(RequestId("sibling"), async {
                coro::spawn_detached(async { coro::context::get::<RequestId>() })
                    .await
                    .unwrap()
            }));
            let plain = s.spawn(async { coro::context::get::<RequestId>() });
            coro::yield_now().await;
            go.send(()).unwrap();
            let inner = inner.await.unwrap();
            parked.cancel();
            let _ = parked.await;
            let by_sibling = by_sibling.await.unwrap();
            (inner, by_sibling, plain.await.unwrap())
        })
        .await
    }));
    let id = |name| Some(RequestId(name));
    assert_eq!(
        seen,
        ((id("inner"), id("inner")), id("sibling"), id("scope"))
    );
    assert_eq!(dropped_with.take(), id("inner"));
}

#[test]
fn is_finished_reports_completion() {
    coro::run(coro::scope(async |s| {
        let (release, released) = channel::oneshot::<()>();
        let quick = s.spawn(async {});
        let slow = s.spawn(released);
        coro::yield_now().await;
        assert!(quick.is_finished());
        assert!(!slow.is_finished());
        release.send(()).unwrap();
        slow.await.unwrap().unwrap();
    }));
}

#[test]
fn coroutine_futures_and_streams_run_on_the_executor() {
    #[coro::coroutine]
    async fn slow_double(n: u32) -> u32 {
        coro::sleep(Duration::from_millis(1)).await;
        n * 2
    }

    #[coro::coroutine]
    fn ticks(n: u32) -> impl coro::Stream<Item = u32> {
        for i in 0..n {
            coro::sleep(Duration::from_millis(1)).await;
            yield_!(slow_double(i).await);
        }
    }

    let collected = coro::run(async {
        use futures::StreamExt;
        ticks(4).collect::<Vec<_>>().await
    });
    assert_eq!(collected, [0, 2, 4, 6]);
}

#[test]
fn coro_time_works_on_other_executors() {
    let start = Instant::now();
    futures::executor::block_on(coro::sleep(Duration::from_millis(20)));
    assert!(start.elapsed() >= Duration::from_millis(20));
    let timed_out = futures::executor::block_on(coro::timeout(
        Duration::from_millis(5),
        std::future::pending::<()>(),
    ));
    assert!(timed_out.is_err());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let ticks = runtime.block_on(async {
        let handles: Vec<_> = (0..20u64)
            .map(|i| {
                tokio::spawn(async move {
                    coro::sleep(Duration::from_millis(20 - i)).await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        let mut every = coro::interval(Duration::from_millis(2));
        let first = every.tick().await;
        let second = every.tick().await;
        assert!(second - first >= Duration::from_millis(2));
        sum
    });
    assert_eq!(ticks, (0..20).sum());
}

/// A finished child's waker serves the next child at its index when no one else
/// holds it; one still held elsewhere is not handed on, and waking it late at most
/// polls the next child spuriously.
#[test]
fn a_finished_childs_waker_is_reused_only_when_no_one_holds_it() {
    let stale: Rc<RefCell<Option<std::task::Waker>>> = Rc::default();
    let total = coro::run(coro::scope(async |s| {
        // In a steady stream, each child is woken (by `yield_now`) through a waker
        // the previous child at its index left behind.
        let mut total = 0;
        for i in 0..1000u64 {
            total += s
                .spawn(async move {
                    coro::yield_now().await;
                    i
                })
                .await
                .unwrap();
        }
        // A child that keeps a clone of its waker past its end.
        let keeper = stale.clone();
        s.spawn(std::future::poll_fn(move |cx| {
            *keeper.borrow_mut() = Some(cx.waker().clone());
            std::task::Poll::Ready(())
        }))
        .await
        .unwrap();
        // The next child takes the same index, and waits on a channel.
        let (tx, rx) = channel::oneshot::<u64>();
        let waiting = s.spawn(async move { rx.await.unwrap() });
        coro::yield_now().await;
        stale.borrow_mut().take().unwrap().wake();
        coro::yield_now().await;
        assert!(!waiting.is_finished(), "a stale wake only polls it");
        tx.send(7).unwrap();
        total + waiting.await.unwrap()
    }));
    assert_eq!(total, (0..1000).sum::<u64>() + 7);
}

/// Counts the wakes of the waker a scope is polled with.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn wakes_inside_a_scopes_turn_do_not_wake_its_owner() {
    // The body and a child pass 1,000 messages back and forth: every message wakes
    // the other side, inside the scope's own poll. Under another executor there is no
    // budget, so a poll runs at most 128 rounds and, with work left, wakes its owner
    // once; the wakes of the messages themselves need not reach it. A round is one
    // round trip: the child that answers has the body polled in the same round.
    // Nothing is lost either: the scope finishes.
    let counter = Arc::new(CountingWaker(Default::default()));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut scope = pin!(coro::scope(async |s| {
        let (ping, mut ping_in) = coro::channel::bounded::<u32>(1);
        let (pong, mut pong_in) = coro::channel::bounded::<u32>(1);
        s.spawn(async move {
            while let Ok(value) = ping_in.recv().await {
                pong.send(value + 1).await.unwrap();
            }
        });
        let mut value = 0;
        for _ in 0..1000 {
            ping.send(value).await.unwrap();
            value = pong_in.recv().await.unwrap();
        }
        value
    }));
    let mut pending_polls = 0;
    let value = loop {
        let woken_before = counter.0.load(Ordering::Relaxed);
        match scope.as_mut().poll(&mut cx) {
            Poll::Ready(value) => break value,
            Poll::Pending => pending_polls += 1,
        }
        let woken = counter.0.load(Ordering::Relaxed) - woken_before;
        assert_eq!(woken, 1, "a pending poll woke its owner {woken} times");
        assert!(pending_polls < 10_000, "the scope does not finish");
    };
    assert_eq!(value, 1000);
    assert!(
        (1000 / 128..=1000 / 128 + 1).contains(&pending_polls),
        "{pending_polls} pending polls for 1,000 round trips"
    );
}

#[test]
fn a_body_woken_by_a_child_and_by_another_thread_loses_no_wake() {
    // A child that wakes the body has it polled in its own round, which may leave
    // the body's queued index behind; wakes from another thread meanwhile go to the
    // remote queue. Every message, from either side, must still reach the body.
    let received = coro::run(coro::timeout(
        Duration::from_secs(20),
        coro::scope(async |s| {
            let (tx, mut rx) = coro::channel::unbounded::<u64>();
            let remote = tx.clone();
            let thread = std::thread::spawn(move || {
                for i in 0..10_000 {
                    remote.try_send(i).unwrap();
                    if i % 64 == 0 {
                        std::thread::yield_now();
                    }
                }
            });
            s.spawn(async move {
                for i in 0..10_000 {
                    tx.send(i).await.unwrap();
                    if i % 3 == 0 {
                        coro::yield_now().await;
                    }
                }
            });
            let mut sum = 0;
            for _ in 0..20_000 {
                sum += rx.recv().await.unwrap();
            }
            thread.join().unwrap();
            sum
        }),
    ));
    assert_eq!(received, Ok(2 * (0..10_000u64).sum::<u64>()));
}
