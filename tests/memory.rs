//! Heap per idle task, counted by a global allocator (exact, unlike resident memory).
//! `cargo test --test memory -- --nocapture` prints the figures quoted in the README.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's allocations: the test harness allocates on its own threads.
    static THREAD_ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged,
// so `System`'s guarantees are this allocator's; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        let _ = THREAD_ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded as received (see above).
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as received (see above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TASKS: usize = 100_000;

/// The counters are process-wide: one measurement at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Cancelled timers are freed, not kept until their deadline: with a half-hour
/// heartbeat pending, a hundred thousand timeouts that finish early and a hundred
/// thousand dropped sleeps leave the heap where it was.
#[test]
fn cancelled_timers_do_not_pile_up_behind_a_long_one() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use std::time::Duration;
    coro::run(async {
        let heartbeat = coro::sleep(Duration::from_secs(1800));
        let mut heartbeat = std::pin::pin!(heartbeat);
        let _ = coro::timeout(Duration::ZERO, heartbeat.as_mut()).await;
        // Warm up whatever the executor keeps (the heap's and map's capacity).
        for _ in 0..1_000 {
            let _ = coro::timeout(Duration::from_secs(3600), coro::yield_now()).await;
        }
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        for _ in 0..100_000 {
            let _ = coro::timeout(Duration::from_secs(3600), coro::yield_now()).await;
            let mut sleep = std::pin::pin!(coro::sleep(Duration::from_secs(3600)));
            let _ = coro::timeout(Duration::ZERO, sleep.as_mut()).await;
        }
        let grown = LIVE_BYTES.load(Ordering::Relaxed) - before;
        assert!(
            grown < 64 * 1024,
            "200,000 cancelled timers left {grown} bytes behind"
        );
    });
}

/// A send dropped while the channel is full leaves nothing queued behind it.
#[test]
fn abandoned_sends_leave_no_wakers_behind() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    coro::run(async {
        let (tx, _rx) = coro::channel::bounded::<u32>(1);
        tx.try_send(0).unwrap();
        for i in 0..1_000 {
            let _ = coro::timeout(std::time::Duration::ZERO, tx.send(i)).await;
        }
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        for i in 0..100_000 {
            let _ = coro::timeout(std::time::Duration::ZERO, tx.send(i)).await;
        }
        let grown = LIVE_BYTES.load(Ordering::Relaxed) - before;
        assert!(
            grown < 64 * 1024,
            "100,000 abandoned sends left {grown} bytes behind"
        );
    });
}

#[test]
fn an_idle_task_costs_one_allocation() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    coro::run(coro::scope(async |s| {
        let mut handles = Vec::with_capacity(TASKS);
        let before_bytes = LIVE_BYTES.load(Ordering::Relaxed);
        let before_allocations = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..TASKS {
            // A future of size zero: what is counted is the task's own cost.
            handles.push(s.spawn(std::future::pending::<()>()));
        }
        coro::yield_now().await; // every task has run once and parked
        let bytes = (LIVE_BYTES.load(Ordering::Relaxed) - before_bytes) as f64 / TASKS as f64;
        let allocations =
            (ALLOCATIONS.load(Ordering::Relaxed) - before_allocations) as f64 / TASKS as f64;
        println!("per idle task: {bytes:.1} heap bytes in {allocations:.2} allocations");
        // One allocation per task (the slab, the wake table and the queues grow
        // by doubling, a few more in all).
        assert!(allocations <= 1.05, "{allocations} allocations per task");
        assert!(bytes <= 64.0, "{bytes} heap bytes per idle task");
        for handle in &handles {
            handle.cancel();
        }
        for handle in handles {
            assert!(handle.await.unwrap_err().is_cancelled());
        }
    }));
}

#[test]
fn a_spawned_and_joined_task_costs_one_allocation() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    coro::run(coro::scope(async |s| {
        // Warm up: the slab, the wake table and the queues reach their size.
        for i in 0..100u64 {
            assert_eq!(s.spawn(async move { i }).await.unwrap(), i);
        }
        let before = THREAD_ALLOCATIONS.with(Cell::get);
        for i in 0..1_000u64 {
            assert_eq!(s.spawn(async move { i }).await.unwrap(), i);
        }
        let allocations = THREAD_ALLOCATIONS.with(Cell::get) - before;
        assert_eq!(allocations, 1_000, "one allocation per spawn, no more");
    }));
}

/// A named task's name goes with the task: a hundred thousand named tasks, spawned
/// and joined, leave the heap where it was.
#[test]
fn named_tasks_leave_no_names_behind() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    coro::run(coro::scope(async |s| {
        let name: std::sync::Arc<str> = "worker".into();
        for _ in 0..1_000 {
            s.task().name(&*name).spawn(async {}).await.unwrap();
        }
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        for _ in 0..100_000 {
            s.task().name(&*name).spawn(async {}).await.unwrap();
        }
        let grown = LIVE_BYTES.load(Ordering::Relaxed) - before;
        assert!(
            grown < 64 * 1024,
            "100,000 named tasks left {grown} bytes behind"
        );
    }));
}

/// A task spawned under another context than its scope's keeps that context beside
/// the scope, until it goes: a hundred thousand of them, spawned and joined, leave
/// the heap where it was.
#[test]
// The `with` yields the handle on purpose: the task runs after the `with` is over.
#[allow(clippy::async_yields_async)]
fn tasks_with_a_context_of_their_own_leave_nothing_behind() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    coro::run(coro::scope(async |s| {
        let spawn_under_another_context = || {
            coro::context::with(7u32, async {
                s.spawn(async { coro::context::get::<u32>() })
            })
        };
        for _ in 0..1_000 {
            let task = spawn_under_another_context().await;
            assert_eq!(task.await.unwrap(), Some(7));
        }
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        for _ in 0..100_000 {
            let task = spawn_under_another_context().await;
            assert_eq!(task.await.unwrap(), Some(7));
        }
        let grown = LIVE_BYTES.load(Ordering::Relaxed) - before;
        assert!(
            grown < 64 * 1024,
            "100,000 tasks with a context of their own left {grown} bytes behind"
        );
    }));
}
