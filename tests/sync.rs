//! `coro::sync` under `coro::run`: guards held across awaits, a semaphore capping
//! concurrency, readers beside readers, a barrier, and `Notify`'s permit.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use coro::sync::{Barrier, Mutex, Notify, RwLock, Semaphore};

#[test]
fn a_mutex_guard_held_across_awaits_keeps_others_out() {
    let log = coro::run(coro::scope(async |s| {
        let shared = Rc::new(Mutex::new(Vec::new()));
        for task in 0..3 {
            let shared = shared.clone();
            s.spawn(async move {
                let mut log = shared.lock().await;
                log.push((task, "in"));
                coro::sleep(Duration::from_millis(1)).await;
                coro::yield_now().await;
                log.push((task, "out"));
            });
        }
        coro::sleep(Duration::from_millis(20)).await;
        shared.lock().await.clone()
    }));
    assert_eq!(log.len(), 6);
    for pair in log.chunks(2) {
        assert_eq!(pair[0].0, pair[1].0, "{log:?}");
        assert_eq!((pair[0].1, pair[1].1), ("in", "out"));
    }
}

#[test]
fn a_semaphore_with_owned_permits_caps_concurrency_at_four() {
    let (running, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    coro::run(coro::scope(async |s| {
        let limit = Arc::new(Semaphore::new(4));
        for _ in 0..20 {
            let permit = limit.acquire_arc().await;
            let (running, most) = (running.clone(), most.clone());
            s.spawn(async move {
                let _permit = permit;
                running.set(running.get() + 1);
                most.set(most.get().max(running.get()));
                coro::sleep(Duration::from_millis(1)).await;
                running.set(running.get() - 1);
            });
        }
    }));
    assert_eq!(most.get(), 4);
    assert_eq!(running.get(), 0);
}

#[test]
fn readers_share_and_a_writer_waits_for_them() {
    let order = coro::run(coro::scope(async |s| {
        let lock = Rc::new(RwLock::new(0));
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let first = lock.read().await;
        let second = lock.read().await; // two readers at once
        let (writer_lock, writer_order) = (lock.clone(), order.clone());
        let writer = s.spawn(async move {
            *writer_lock.write().await += 1;
            writer_order.borrow_mut().push("write");
        });
        coro::yield_now().await;
        order.borrow_mut().push("readers done");
        drop((first, second));
        writer.await.unwrap();
        assert_eq!(*lock.read().await, 1);
        order.take()
    }));
    assert_eq!(order, ["readers done", "write"]);
}

#[test]
fn a_barrier_releases_all_three_together() {
    let leaders = coro::run(coro::scope(async |s| {
        let barrier = Rc::new(Barrier::new(3));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let barrier = barrier.clone();
                s.spawn(async move { barrier.wait().await.is_leader() })
            })
            .collect();
        let mut leaders = 0;
        for handle in handles {
            leaders += handle.await.unwrap() as u32;
        }
        leaders
    }));
    assert_eq!(leaders, 1);
}

#[test]
fn notify_one_leaves_one_permit_and_notify_waiters_leaves_none() {
    coro::run(async {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one();
        notify.notified().await; // the one permit
        let waited = coro::select! {
            _ = notify.notified() => true,
            else => false,
        };
        assert!(
            !waited,
            "two notifications with nobody waiting left two permits"
        );
        notify.notify_waiters();
        let waited = coro::select! {
            _ = notify.notified() => true,
            else => false,
        };
        assert!(!waited, "notify_waiters left a permit");
    });
}

#[test]
fn notify_from_another_thread_wakes_the_waiter() {
    coro::run(coro::scope(async |s| {
        let notify = Arc::new(Notify::new());
        for _ in 0..50 {
            let waiter = {
                let notify = notify.clone();
                s.spawn(async move { notify.notified().await })
            };
            let notifier = notify.clone();
            coro::spawn_blocking(move || notifier.notify_one()).await;
            waiter.await.unwrap();
        }
    }));
}

/// The locks, their futures and the owned permit cross threads: two executors on
/// two threads share one mutex, one read-write lock and one semaphore, and a
/// permit taken on one thread is given back on another.
#[test]
fn locks_and_permits_are_shared_between_executors_on_two_threads() {
    fn send_and_sync<T: Send + Sync>(_: &T) {}
    let mutex = Arc::new(Mutex::new(0u64));
    let rwlock = Arc::new(RwLock::new(0u64));
    let semaphore = Arc::new(Semaphore::new(1));
    send_and_sync(&mutex.lock());
    send_and_sync(&rwlock.read());
    send_and_sync(&semaphore.acquire_arc());
    let permit = semaphore.try_acquire_arc().expect("the one permit");
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (mutex, rwlock, semaphore) = (mutex.clone(), rwlock.clone(), semaphore.clone());
            std::thread::spawn(move || {
                coro::run(async {
                    // Waits until the main thread gives its permit back.
                    let _permit = semaphore.acquire_arc().await;
                    for _ in 0..1_000 {
                        *mutex.lock().await += 1;
                        *rwlock.write().await += 1;
                    }
                })
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        *mutex.try_lock().unwrap(),
        0,
        "no worker got past the semaphore"
    );
    std::thread::spawn(move || drop(permit)).join().unwrap();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(*mutex.try_lock().unwrap(), 2_000);
    assert_eq!(*rwlock.try_read().unwrap(), 2_000);
    assert_eq!(semaphore.available_permits(), 1);
}
