//! Heap per idle task, counted by a global allocator (exact, unlike resident memory).
//! `cargo test --test memory -- --nocapture` prints the figures quoted in the README.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged,
// so `System`'s guarantees are this allocator's; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
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

#[test]
fn an_idle_task_costs_two_small_allocations_beyond_its_future() {
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
        assert!(allocations <= 3.1, "{allocations} allocations per task");
        assert!(bytes <= 256.0, "{bytes} heap bytes per idle task");
        for handle in &handles {
            handle.cancel();
        }
        for handle in handles {
            assert!(handle.await.unwrap_err().is_cancelled());
        }
    }));
}
