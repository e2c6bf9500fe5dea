//! Attacks on the runtime's one `unsafe` module (tasks in one allocation, wakers that
//! point into their scope's wake table, the channels' lock and hand-off slot). CI
//! runs this file under valgrind, so what these tests check beyond their
//! assertions is that nothing here reads freed memory, reads uninitialised memory
//! or leaks: wakers outliving their scope and woken from other threads, wakes
//! racing cancellation and completion, handles outliving the borrows of their
//! task, scope futures forgotten or leaked, values handed to waits that are
//! dropped, and destructors that panic.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Wakers handed out by tasks, for other threads to use and keep.
type Kept = Arc<Mutex<Vec<Waker>>>;

/// Pends until `done`, leaving a clone of its waker in `kept` at each poll.
async fn pend_keeping_wakers(kept: Kept, done: Arc<AtomicBool>) {
    poll_fn(|cx| {
        if done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        kept.lock().unwrap().push(cx.waker().clone());
        Poll::Pending
    })
    .await
}

/// Wakes every kept waker, from `threads` threads, `rounds` times each.
fn wake_storm(kept: &Kept, threads: usize, rounds: usize) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|_| {
            let kept = kept.clone();
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    let wakers: Vec<Waker> = kept.lock().unwrap().clone();
                    for waker in wakers {
                        waker.wake_by_ref();
                    }
                    std::thread::yield_now();
                }
            })
        })
        .collect()
}

#[test]
fn wakers_woken_from_other_threads_while_their_tasks_finish_and_after_the_scope_is_gone() {
    let kept: Kept = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let storm = wake_storm(&kept, 3, 200);
    let finished = coro::run(coro::scope(async |s| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let (kept, done) = (kept.clone(), done.clone());
                s.spawn(async move {
                    pend_keeping_wakers(kept, done).await;
                    i
                })
            })
            .collect();
        coro::sleep(Duration::from_millis(5)).await;
        done.store(true, Ordering::Release);
        // The storm's wakes get every task polled again, which finishes it.
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    }));
    assert_eq!(finished, (0..40).sum::<i32>());
    // The scope and its table are gone as far as the executor knows; the kept
    // wakers hold the table alive and keep waking it from three threads.
    for thread in storm {
        thread.join().unwrap();
    }
    let wakers = std::mem::take(&mut *kept.lock().unwrap());
    assert!(wakers.len() >= 40);
    // The last of them go on another thread: the table is freed there.
    std::thread::spawn(move || {
        for waker in wakers {
            waker.wake();
        }
    })
    .join()
    .unwrap();
}

#[test]
fn wakes_racing_cancellation_reach_no_dropped_task() {
    let kept: Kept = Arc::default();
    let never = Arc::new(AtomicBool::new(false));
    let storm = wake_storm(&kept, 2, 300);
    let cancelled = coro::run(coro::scope(async |s| {
        let mut cancelled = 0;
        for round in 0..20 {
            let handles: Vec<_> = (0..10)
                .map(|_| s.spawn(pend_keeping_wakers(kept.clone(), never.clone())))
                .collect();
            coro::yield_now().await;
            // Half are cancelled through their handles, the rest with a nested
            // scope that is dropped: both while wakes arrive from other threads.
            for handle in handles.iter().skip(round % 2) {
                handle.cancel();
            }
            for handle in handles.iter().take(round % 2) {
                handle.cancel();
            }
            for handle in handles {
                cancelled += usize::from(handle.await.unwrap_err().is_cancelled());
            }
            let nested = coro::timeout(
                Duration::from_micros(200),
                coro::scope(async |inner| {
                    for _ in 0..5 {
                        inner.spawn(pend_keeping_wakers(kept.clone(), never.clone()));
                    }
                    std::future::pending::<()>().await
                }),
            );
            assert!(nested.await.is_err());
        }
        cancelled
    }));
    assert_eq!(cancelled, 200);
    for thread in storm {
        thread.join().unwrap();
    }
}

#[test]
fn a_task_that_cancels_itself_and_awaits_its_own_handle() {
    coro::run(coro::scope(async |s| {
        let own: Arc<Mutex<Option<coro::JoinHandle<()>>>> = Arc::default();
        // Not `Send`, but the handle only travels on this thread.
        let slot = own.clone();
        let handle = s.spawn(async move {
            coro::yield_now().await;
            let me = slot.lock().unwrap().take().unwrap();
            assert!(!me.is_finished(), "a task is running while it runs");
            me.cancel();
            // Awaiting its own handle: pending, then cancelled before it finishes.
            me.await.ok();
            unreachable!("a task cannot see its own outcome");
        });
        // The handle the task gets is another handle to the same task.
        *own.lock().unwrap() = Some(handle);
        coro::yield_now().await;
        coro::yield_now().await;
        coro::yield_now().await;
    }));
}

/// A task's stage is borrowed through a flag in its header while it is polled: a
/// task that looks at its own handle while it runs sees it running, and a panic in
/// the middle of that poll leaves the stage free again for the handle to read.
#[test]
fn a_panic_in_the_middle_of_a_poll_leaves_the_outcome_readable() {
    coro::run(coro::supervisor_scope(async |s| {
        let own: Arc<Mutex<Option<coro::JoinHandle<u32>>>> = Arc::default();
        let slot = own.clone();
        let handle = s.spawn(async move {
            coro::yield_now().await;
            let me = slot.lock().unwrap().take().unwrap();
            assert!(!me.is_finished(), "a task is running while it runs");
            *slot.lock().unwrap() = Some(me);
            panic!("in the middle of a poll");
        });
        *own.lock().unwrap() = Some(handle);
        for _ in 0..3 {
            coro::yield_now().await;
        }
        let handle = own.lock().unwrap().take().unwrap();
        assert!(handle.is_finished());
        let error = handle.await.unwrap_err();
        assert!(error.is_panic());
        assert_eq!(
            *error.into_panic().downcast::<&str>().unwrap(),
            "in the middle of a poll"
        );
    }));
}

#[test]
fn a_handle_outlives_its_scope_and_the_locals_its_task_borrowed() {
    let handles = {
        let borrowed = String::from("borrowed");
        let escaped = coro::run(coro::scope(async |s| {
            let local = &borrowed;
            let finished = s.spawn(async move { local.len() });
            let cancelled = s.spawn(async move {
                let _keep = local;
                std::future::pending::<usize>().await
            });
            coro::yield_now().await;
            cancelled.cancel();
            (finished, cancelled)
        }));
        drop(borrowed);
        escaped
    };
    // The futures (and what they borrowed) are gone; the outcomes are not.
    let (finished, cancelled) = handles;
    assert!(finished.is_finished() && cancelled.is_finished());
    let (value, error) = coro::run(async { (finished.await, cancelled.await) });
    assert_eq!(value.unwrap(), 8);
    assert!(error.unwrap_err().is_cancelled());
}

#[test]
fn an_unread_output_is_dropped_with_the_last_reference() {
    let drops = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let kept_handle = coro::run(coro::scope(async |s| {
        let dropped_early = s.spawn({
            let drops = drops.clone();
            async move { Counted(drops) }
        });
        let kept = s.spawn({
            let drops = drops.clone();
            async move { Counted(drops) }
        });
        drop(dropped_early);
        (kept,)
    }));
    assert_eq!(
        drops.load(Ordering::Relaxed),
        1,
        "the unread output went with the scope"
    );
    drop(kept_handle.0);
    assert_eq!(drops.load(Ordering::Relaxed), 2);
}

/// A scope future polled, then forgotten: its children are never polled or dropped
/// again, and what they borrowed may go; handles and wakers that escaped stay
/// usable.
#[test]
fn a_forgotten_scope_future_leaves_its_handles_and_wakers_usable() {
    let kept: Kept = Arc::default();
    let never = Arc::new(AtomicBool::new(false));
    let escaped: Rc<Cell<Option<coro::JoinHandle<()>>>> = Rc::default();
    {
        let borrowed = vec![1, 2, 3];
        let scope = coro::scope(async |s| {
            let local = &borrowed;
            let (kept, never) = (kept.clone(), never.clone());
            escaped.set(Some(s.spawn(async move {
                let _keep = local;
                pend_keeping_wakers(kept, never).await
            })));
            std::future::pending::<()>().await
        });
        let mut scope = Box::pin(scope);
        coro::run(poll_fn(|cx| {
            // Two polls: the body spawns, then the child runs and keeps a waker.
            let _ = scope.as_mut().poll(cx);
            let _ = scope.as_mut().poll(cx);
            Poll::Ready(())
        }));
        // Forgotten, as by `mem::forget`, but with its address kept where valgrind's
        // leak check finds it: what it should report is leaks nobody meant.
        LEAKED.store(
            Box::leak(Box::new(scope)) as *mut _ as usize,
            Ordering::Relaxed,
        );
        drop(borrowed);
    }
    let handle = escaped.take().unwrap();
    assert!(!handle.is_finished(), "a leaked task never finishes");
    for waker in kept.lock().unwrap().drain(..) {
        waker.wake();
    }
    let outcome = coro::run(coro::timeout(Duration::from_millis(5), handle));
    assert!(outcome.is_err(), "awaiting a leaked task's handle pends");
    // A dump still sees the leaked scope and its task, and reads only their
    // headers, not the futures whose borrows are gone.
    let tree = coro::debug::dump();
    assert_eq!(tree.tasks().count(), 1, "{tree}");
    assert_eq!(
        tree.tasks().next().unwrap().state(),
        coro::debug::TaskState::Ready,
        "woken above, never polled again:\n{tree}"
    );
}

use std::rc::Rc;

static LEAKED: AtomicUsize = AtomicUsize::new(0);

struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// A future that finishes, then panics when dropped: the value still reaches the
/// handle under a supervisor, and nothing is dropped twice.
struct FinishThenPanicOnDrop(Option<u32>);

impl Future for FinishThenPanicOnDrop {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(self.0.take().unwrap())
    }
}

impl Drop for FinishThenPanicOnDrop {
    fn drop(&mut self) {
        panic!("dropped after finishing");
    }
}

#[test]
fn destructors_that_panic_are_reported_once_and_drop_nothing_twice() {
    let (cancelled, finished) = coro::run(coro::supervisor_scope(async |s| {
        let cancelled = s.spawn(async {
            let _p = PanicOnDrop("cancelled drop");
            std::future::pending::<()>().await
        });
        let finished = s.spawn(FinishThenPanicOnDrop(Some(3)));
        coro::yield_now().await;
        cancelled.cancel();
        (cancelled.await, finished.await)
    }));
    assert!(cancelled.unwrap_err().is_panic());
    // The future finished, then its destructor panicked: the panic is the task's.
    let finished = finished.unwrap_err();
    assert!(finished.is_panic(), "{finished}");
}

#[test]
fn a_panicking_destructor_in_a_plain_scope_surfaces_once() {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        coro::run(coro::scope(async |s| {
            s.spawn(async {
                let _p = PanicOnDrop("drop boom");
                std::future::pending::<()>().await
            });
            s.spawn(async { panic!("child boom") });
            std::future::pending::<()>().await
        }))
    }));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"child boom"));
}

/// A waker finds its scope's table and its child's index from the address of the
/// entry it points at: the entry's 64-byte chunk, which holds 52 (the first, in
/// the table itself, the body's and children 0 to 50). Wakers of children on both
/// sides of chunk boundaries, and the body's, woken from another thread, each get
/// their own task polled again, and no other.
#[test]
fn a_wake_from_another_thread_polls_exactly_its_own_task_in_any_chunk() {
    const TASKS: usize = 200;
    const CHOSEN: [usize; 9] = [0, 49, 50, 51, 52, 102, 103, 104, 199];
    let polls: Arc<Vec<AtomicUsize>> = Arc::new((0..TASKS).map(|_| AtomicUsize::new(0)).collect());
    let wakers: Arc<Mutex<Vec<Option<Waker>>>> = Arc::new(Mutex::new(vec![None; TASKS]));
    let count = |i: usize| polls[i].load(Ordering::Acquire);
    coro::run(coro::scope(async |s| {
        for i in 0..TASKS {
            let (polls, wakers) = (polls.clone(), wakers.clone());
            s.spawn(poll_fn(move |cx| {
                wakers.lock().unwrap()[i] = Some(cx.waker().clone());
                if polls[i].fetch_add(1, Ordering::AcqRel) == 0 {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            }));
        }
        coro::yield_now().await;
        assert!((0..TASKS).all(|i| count(i) == 1), "every child ran once");
        let chosen: Vec<Waker> = CHOSEN
            .iter()
            .map(|&i| wakers.lock().unwrap()[i].clone().unwrap())
            .collect();
        std::thread::spawn(move || chosen.into_iter().for_each(Waker::wake))
            .join()
            .unwrap();
        // The body's own waker, from another thread: the body pends until it lands.
        let landed = Arc::new(AtomicBool::new(false));
        let woken = coro::timeout(
            Duration::from_secs(10),
            poll_fn(|cx| {
                if landed.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                let (waker, landed) = (cx.waker().clone(), landed.clone());
                std::thread::spawn(move || {
                    landed.store(true, Ordering::Release);
                    waker.wake();
                });
                Poll::Pending
            }),
        )
        .await;
        assert!(
            woken.is_ok(),
            "the body's wake from another thread was lost"
        );
        for _ in 0..10 {
            coro::yield_now().await;
        }
        for i in 0..TASKS {
            let expected = if CHOSEN.contains(&i) { 2 } else { 1 };
            assert_eq!(count(i), expected, "polls of child {i}");
        }
        let rest: Vec<Waker> = (0..TASKS)
            .filter(|i| !CHOSEN.contains(i))
            .map(|i| wakers.lock().unwrap()[i].clone().unwrap())
            .collect();
        rest.into_iter().for_each(Waker::wake);
    }));
    assert!((0..TASKS).all(|i| count(i) == 2), "every child finished");
}

#[test]
fn wakes_from_many_threads_at_once_all_arrive() {
    // Every thread wakes its own task exactly when the barrier opens; each task
    // must be polled again for the scope to finish.
    const TASKS: usize = 8;
    let barrier = Arc::new(Barrier::new(TASKS));
    let wakers: Arc<Mutex<Vec<Option<Waker>>>> = Arc::new(Mutex::new(vec![None; TASKS]));
    let flags: Arc<Vec<AtomicBool>> =
        Arc::new((0..TASKS).map(|_| AtomicBool::new(false)).collect());
    let threads: Vec<_> = (0..TASKS)
        .map(|i| {
            let (barrier, wakers, flags) = (barrier.clone(), wakers.clone(), flags.clone());
            std::thread::spawn(move || {
                let waker = loop {
                    if let Some(waker) = wakers.lock().unwrap()[i].clone() {
                        break waker;
                    }
                    std::thread::yield_now();
                };
                barrier.wait();
                flags[i].store(true, Ordering::Release);
                waker.wake();
            })
        })
        .collect();
    coro::run(coro::scope(async |s| {
        for i in 0..TASKS {
            let (wakers, flags) = (wakers.clone(), flags.clone());
            s.spawn(poll_fn(move |cx| {
                if flags[i].load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                wakers.lock().unwrap()[i] = Some(cx.waker().clone());
                Poll::Pending
            }));
        }
    }));
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn a_receiver_keeps_receiving_after_moving_to_another_thread_and_another_run() {
    // A channel keeps the waker of a receiver woken in place (a pointer into its
    // scope's wake table) after the run is over; the waits on the other thread must
    // not be woken through it, and it must be freed, not leaked.
    let (tx, mut rx) = coro::channel::unbounded::<u32>();
    let feeder = std::thread::spawn(move || {
        for value in 0..200 {
            tx.send_blocking(value).unwrap();
            if value % 50 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    let mut got = coro::run(async {
        let mut got = Vec::new();
        for _ in 0..100 {
            got.push(rx.recv().await.unwrap());
        }
        (got, rx)
    });
    let rest = std::thread::spawn(move || {
        coro::run(async move {
            let mut rest = Vec::new();
            while let Ok(value) = got.1.recv().await {
                rest.push(value);
            }
            rest
        })
    });
    got.0.extend(rest.join().unwrap());
    feeder.join().unwrap();
    assert_eq!(got.0, (0..200).collect::<Vec<_>>());
}

/// Four threads send 2,000 boxed numbers through a `bounded(2)` channel, which a
/// blocking thread and two tasks of an executor, each running `worker` on its
/// own receiver, take out; every number must arrive exactly once.
fn every_value_sent_from_threads_arrives_once<W, F>(worker: W)
where
    W: Fn(coro::channel::Receiver<Box<u64>>) -> F,
    F: Future<Output = Vec<u64>>,
{
    const PRODUCERS: u64 = 4;
    const PER_PRODUCER: u64 = 500;
    let (tx, rx) = coro::channel::bounded::<Box<u64>>(2);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    tx.send_blocking(Box::new(p * PER_PRODUCER + i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut blocking_rx = rx.clone();
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(value) = blocking_rx.recv_blocking() {
            got.push(*value);
        }
        got
    });
    let mut got = coro::run(coro::scope(async |s| {
        let workers: Vec<_> = (0..2).map(|_| s.spawn(worker(rx.clone()))).collect();
        drop(rx);
        let mut got = Vec::new();
        for worker in workers {
            got.extend(worker.await.unwrap());
        }
        got
    }));
    for producer in producers {
        producer.join().unwrap();
    }
    got.extend(consumer.join().unwrap());
    got.sort_unstable();
    assert_eq!(got, (0..PRODUCERS * PER_PRODUCER).collect::<Vec<_>>());
}

#[test]
fn a_channel_shared_by_many_threads_delivers_every_value_once() {
    // The channel's lock taken by five threads and an executor at once, a full
    // bounded channel making every side wait in turn.
    every_value_sent_from_threads_arrives_once(async |mut rx| {
        let mut got = Vec::new();
        while let Ok(value) = rx.recv().await {
            got.push(*value);
        }
        got
    });
}

/// Values sent from other threads go straight into the hands of receivers that
/// wait, and those waits are dropped again and again (a `select!` that a yield
/// wins) while values land in them: each value is taken out of a hand once, never
/// before it is written, and what a dropped wait held goes back to the channel.
#[test]
fn values_handed_across_threads_to_waits_that_are_dropped_arrive_once() {
    every_value_sent_from_threads_arrives_once(async |mut rx| {
        let mut got = Vec::new();
        loop {
            let next = coro::select! {
                value = rx.recv() => Some(value),
                _ = coro::yield_now() => None,
            };
            match next {
                Some(Ok(value)) => got.push(*value),
                Some(Err(_)) => return got,
                None => {}
            }
        }
    });
}

#[test]
fn a_panic_while_the_channel_is_locked_leaves_it_usable() {
    // Polling a finished send panics with the channel's lock held; the unwind must
    // give the lock back.
    let (tx, mut rx) = coro::channel::bounded::<u32>(1);
    let mut sending = Box::pin(tx.send(1));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(sending.as_mut().poll(&mut cx).is_ready());
    let panicked = catch_unwind(AssertUnwindSafe(|| sending.as_mut().poll(&mut cx)));
    assert!(panicked.is_err());
    drop(sending);
    assert_eq!(rx.try_recv(), Ok(1));
    let other = std::thread::spawn(move || tx.send_blocking(2));
    assert_eq!(rx.recv_blocking(), Ok(2));
    other.join().unwrap().unwrap();
}

/// A task holding its own handle gives it up in every way a task can: during a
/// poll, with its future when it finishes, and with its future when it is
/// cancelled. Each time the count of references to the task changes while its
/// stage is borrowed, and the task is freed once, when the last one goes.
#[test]
fn a_task_that_holds_its_own_handle_is_freed_once_however_the_handle_goes() {
    type Own = Rc<Cell<Option<coro::JoinHandle<()>>>>;
    coro::run(coro::scope(async |s| {
        let in_a_poll: Own = Rc::default();
        let slot = in_a_poll.clone();
        let dropped_while_polled = s.spawn(async move {
            coro::yield_now().await;
            drop(slot.take());
            coro::yield_now().await;
        });
        in_a_poll.set(Some(dropped_while_polled));

        let with_the_future: Own = Rc::default();
        let slot = with_the_future.clone();
        let finishes_holding_it = s.spawn(async move {
            coro::yield_now().await;
            let _me = slot.take();
        });
        with_the_future.set(Some(finishes_holding_it));

        let when_cancelled: Own = Rc::default();
        let slot = when_cancelled.clone();
        let cancelled_holding_it = s.spawn(async move {
            coro::yield_now().await;
            let me = slot.take().unwrap();
            me.cancel();
            let _holding = me;
            std::future::pending::<()>().await;
        });
        when_cancelled.set(Some(cancelled_holding_it));

        for _ in 0..4 {
            coro::yield_now().await;
        }
        for own in [&in_a_poll, &with_the_future, &when_cancelled] {
            let left = own.take();
            assert!(left.is_none(), "each task took its own handle");
        }
    }));
}

/// An output nobody reads whose destructor panics: the panic comes out of the
/// drop of the last reference (the handle), and the task is freed all the same.
#[test]
fn an_output_whose_destructor_panics_is_freed_with_its_handle() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("output dropped");
        }
    }
    let handle = coro::run(coro::scope(async |s| s.spawn(async { PanicsOnDrop })));
    assert!(handle.is_finished());
    let dropped = catch_unwind(AssertUnwindSafe(|| drop(handle)));
    assert!(dropped.is_err(), "the destructor's panic is the dropper's");
}

/// Counts its wakes; a `std::task::Wake`, so its wakers are foreign to coro.
struct CountedWake(AtomicUsize);

impl std::task::Wake for CountedWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A handle keeps whoever awaits it in one word: coro's own wakers as their entry,
/// others boxed. A handle awaited by a foreign waker, then by coro's own, then by
/// the foreign one again, gives each clone back when it is replaced, and the
/// joiner left when the task ends is the one woken.
#[test]
fn a_handle_awaited_by_wakers_of_both_kinds_in_turn_keeps_and_gives_back_each() {
    let counted = Arc::new(CountedWake(AtomicUsize::new(0)));
    let foreign = Waker::from(counted.clone());
    let value = coro::run(coro::scope(async |s| {
        let (tx, rx) = coro::channel::oneshot::<u32>();
        let mut task = std::pin::pin!(s.spawn(async move { rx.await.unwrap() }));
        let mut foreign_cx = Context::from_waker(&foreign);
        assert!(task.as_mut().poll(&mut foreign_cx).is_pending());
        assert_eq!(
            Arc::strong_count(&counted),
            3,
            "boxed once: the handle's clone"
        );
        poll_fn(|cx| {
            assert!(task.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(
            Arc::strong_count(&counted),
            2,
            "the box went with the new waker"
        );
        assert!(task.as_mut().poll(&mut foreign_cx).is_pending());
        tx.send(7).unwrap();
        coro::yield_now().await; // the task runs and wakes its joiner
        assert_eq!(
            counted.0.load(Ordering::Relaxed),
            1,
            "the foreign joiner was woken"
        );
        task.await.unwrap()
    }));
    assert_eq!(value, 7);
    assert_eq!(Arc::strong_count(&counted), 2);
}

/// The main future's waker is foreign to the wake tables, so a handle it awaits
/// boxes it: freed when the task ends, when it is cancelled, and when the run
/// tears a detached task down with the joiner still waiting.
#[test]
fn handles_awaited_from_the_main_future_free_its_boxed_waker_however_the_task_ends() {
    let value = coro::run(async {
        let finishes = coro::spawn_detached(async {
            coro::yield_now().await;
            7
        });
        let mut cancelled = std::pin::pin!(coro::spawn_detached(std::future::pending::<()>()));
        assert!(
            coro::timeout(Duration::from_millis(1), cancelled.as_mut())
                .await
                .is_err()
        );
        cancelled.cancel();
        assert!(cancelled.await.unwrap_err().is_cancelled());
        let mut torn_down = Box::pin(coro::spawn_detached(std::future::pending::<()>()));
        poll_fn(|cx| {
            assert!(torn_down.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        // Left waiting: the run's end cancels the task and wakes (then drops) the
        // main future's boxed waker, after the main future has returned.
        std::mem::drop(torn_down);
        finishes.await.unwrap()
    });
    assert_eq!(value, 7);
}
