//! Channels: many consumers, rendezvous, threads, streams, broadcast and watch. No
//! value is lost or delivered twice, and either end learns when the other closes,
//! also while it waits.

use std::time::Duration;

use coro::channel::{self, SendError, TryRecvError, broadcast, watch};
use futures::StreamExt;

#[test]
fn every_message_reaches_exactly_one_of_many_workers() {
    let mut got = coro::run(coro::scope(async |s| {
        let (tx, rx) = channel::bounded::<u32>(3);
        for producer in 0..3 {
            let tx = tx.clone();
            s.spawn(async move {
                for i in 0..300 {
                    tx.send(producer * 1000 + i).await.unwrap();
                    if i % 7 == 0 {
                        coro::yield_now().await;
                    }
                }
            });
        }
        drop(tx);
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let mut rx = rx.clone();
                s.spawn(async move {
                    let mut mine = Vec::new();
                    while let Ok(v) = rx.recv().await {
                        mine.push(v);
                        coro::yield_now().await;
                    }
                    mine
                })
            })
            .collect();
        drop(rx);
        let mut all = Vec::new();
        for worker in workers {
            let mine = worker.await.unwrap();
            assert!(
                !mine.is_empty(),
                "a worker got nothing: the work was not shared"
            );
            all.extend(mine);
        }
        all
    }));
    got.sort();
    let expected: Vec<u32> = (0..3)
        .flat_map(|p| (0..300).map(move |i| p * 1000 + i))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn ends_are_send_and_sync_and_a_thread_can_feed_a_coroutine() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let (tx, mut rx) = channel::bounded::<u64>(2);
    send_sync(&tx);
    send_sync(&rx);
    let feeder = std::thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
    });
    let total = coro::run(async move {
        let mut total = 0;
        while let Ok(v) = rx.recv().await {
            total += v;
        }
        total
    });
    feeder.join().unwrap();
    assert_eq!(total, 4950);

    let (tx, mut rx) = channel::bounded::<u64>(0);
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv_blocking() {
            got.push(v);
        }
        got
    });
    coro::run(async move {
        for i in 0..10 {
            tx.send(i).await.unwrap();
        }
    });
    assert_eq!(consumer.join().unwrap(), (0..10).collect::<Vec<_>>());
}

#[test]
#[should_panic(expected = "would block the executor's thread")]
fn a_blocking_send_on_the_executors_thread_panics_with_a_clear_message() {
    coro::run(async {
        let (tx, _rx) = channel::bounded::<u8>(1);
        let _ = tx.send_blocking(1);
    });
}

#[test]
fn a_rendezvous_send_waits_for_the_receiver_and_a_dropped_one_withdraws_its_value() {
    coro::run(coro::scope(async |s| {
        let (tx, mut rx) = channel::bounded::<&str>(0);
        assert_eq!(
            tx.try_send("nobody waits"),
            Err(channel::TrySendError::Full("nobody waits"))
        );
        // A send that loses a select is withdrawn: the value is never received.
        let sent = coro::select! {
            _ = tx.send("withdrawn") => true,
            _ = coro::sleep(Duration::from_millis(1)) => false,
        };
        assert!(!sent);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let tx2 = tx.clone();
        let sender = s.spawn(async move { tx2.send("kept").await });
        coro::yield_now().await;
        coro::yield_now().await;
        assert!(
            !sender.is_finished(),
            "a rendezvous send finished with nobody receiving"
        );
        assert_eq!(rx.recv().await, Ok("kept"));
        assert_eq!(sender.await.unwrap(), Ok(()));
    }));
}

#[test]
fn closing_wakes_blocked_ends_with_an_error_and_the_value_back() {
    coro::run(coro::scope(async |s| {
        // A full bounded channel and an offered rendezvous value: both senders are
        // blocked when the last receiver goes.
        for capacity in [1, 0] {
            let (tx, rx) = channel::bounded::<u32>(capacity);
            if capacity == 1 {
                tx.try_send(0).unwrap();
            }
            let blocked = s.spawn(async move { tx.send(7).await });
            coro::yield_now().await;
            assert!(!blocked.is_finished());
            drop(rx);
            assert_eq!(blocked.await.unwrap(), Err(SendError(7)));
        }
        // Receivers blocked on an empty channel when the last sender goes.
        let (tx, rx) = channel::unbounded::<u32>();
        let waiting: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.clone();
                s.spawn(async move { rx.recv().await })
            })
            .collect();
        coro::yield_now().await;
        drop(tx);
        for receiver in waiting {
            assert_eq!(receiver.await.unwrap(), Err(channel::RecvError));
        }
        drop(rx);
    }));
}

#[test]
fn a_receiver_woken_then_cancelled_passes_the_value_on() {
    let got = coro::run(coro::scope(async |s| {
        let (tx, rx) = channel::unbounded::<u32>();
        let mut first = rx.clone();
        let mut second = rx.clone();
        let first = s.spawn(async move { first.recv().await });
        let second = s.spawn(async move { second.recv().await });
        coro::yield_now().await; // both wait now, the first in front
        tx.try_send(42).unwrap(); // wakes the first...
        first.cancel(); // ...which is cancelled before it runs
        drop(tx);
        second.await.unwrap()
    }));
    assert_eq!(got, Ok(42));
}

#[test]
fn a_receiver_is_a_fused_stream() {
    use futures::stream::FusedStream;
    coro::run(async {
        let (tx, mut rx) = channel::unbounded();
        for i in 0..5 {
            tx.try_send(i).unwrap();
        }
        drop(tx);
        let doubled: Vec<i32> = (&mut rx).map(|v| v * 2).collect().await;
        assert_eq!(doubled, [0, 2, 4, 6, 8]);
        assert!(rx.is_terminated());
        assert_eq!(rx.next().await, None);
    });
}

#[test]
fn broadcast_reaches_every_receiver_and_tells_a_slow_one_what_it_missed() {
    let (tx, mut slow) = broadcast::channel::<u32>(2);
    let mut fast = tx.subscribe();
    for i in 0..4 {
        assert_eq!(tx.send(i), Ok(2));
        assert_eq!(fast.try_recv(), Ok(i));
    }
    assert_eq!(slow.try_recv(), Err(broadcast::TryRecvError::Lagged(2)));
    assert_eq!(slow.try_recv(), Ok(2));
    assert_eq!(slow.try_recv(), Ok(3));
    assert_eq!(slow.try_recv(), Err(broadcast::TryRecvError::Empty));
    let seen = coro::run(coro::scope(async |s| {
        let waiting = s.spawn(async move {
            let mut seen = Vec::new();
            loop {
                match slow.recv().await {
                    Ok(v) => seen.push(v),
                    Err(broadcast::RecvError::Closed) => break seen,
                    Err(lagged) => panic!("{lagged}"),
                }
            }
        });
        coro::yield_now().await;
        tx.send(10).unwrap();
        drop(tx);
        waiting.await.unwrap()
    }));
    assert_eq!(seen, [10]);
    drop(fast);
}

#[test]
fn watch_observers_see_the_latest_value_and_learn_when_the_sender_goes() {
    let seen = coro::run(coro::scope(async |s| {
        let (tx, rx) = watch::channel(0);
        let observers: Vec<_> = (0..2)
            .map(|_| {
                let mut rx = rx.clone();
                s.spawn(async move {
                    let mut seen = Vec::new();
                    while rx.changed().await.is_ok() {
                        seen.push(*rx.borrow());
                    }
                    seen
                })
            })
            .collect();
        drop(rx);
        coro::yield_now().await;
        tx.send(1);
        tx.send(2); // before the observers run: they see only the latest
        coro::yield_now().await;
        tx.send_modify(|v| *v += 1);
        coro::yield_now().await;
        drop(tx);
        let mut all = Vec::new();
        for observer in observers {
            all.push(observer.await.unwrap());
        }
        all
    }));
    assert_eq!(seen, [vec![2, 3], vec![2, 3]]);
}

#[test]
fn a_receiver_waiting_again_after_a_select_took_another_arm_still_receives() {
    // A receiver woken in place keeps its waker in the channel; a `select!` that
    // takes another arm drops that wait, and the next wait must still be woken.
    let got = coro::run(coro::scope(async |s| {
        let (tx, mut rx) = channel::bounded::<u32>(1);
        let (go, mut gone) = channel::bounded::<()>(1);
        let receiver = s.spawn(async move {
            let mut got = Vec::new();
            got.push(rx.recv().await.unwrap()); // rests with its waker kept
            coro::select! {
                value = rx.recv() => got.push(value.unwrap() + 100),
                _ = gone.recv() => {}
            }
            while let Ok(value) = rx.recv().await {
                got.push(value);
            }
            got
        });
        coro::yield_now().await; // the receiver waits
        tx.send(1).await.unwrap(); // and is woken in place
        coro::yield_now().await; // it waits in the `select!` now, with its kept waker
        go.send(()).await.unwrap();
        coro::yield_now().await;
        for value in 2..5 {
            tx.send(value).await.unwrap();
            coro::yield_now().await;
        }
        drop(tx);
        receiver.await.unwrap()
    }));
    assert_eq!(got, [1, 2, 3, 4]);
}

/// Polls `future` once, outside any executor.
fn poll_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

#[test]
fn a_value_handed_to_a_wait_that_is_dropped_is_still_the_next_received() {
    let (tx, mut rx) = channel::bounded::<u32>(1);
    {
        let mut waiting = std::pin::pin!(rx.recv());
        assert!(poll_once(waiting.as_mut()).is_pending());
        tx.try_send(1).unwrap(); // straight into the waiting receiver's hands
        // It took no room in the queue, so the queue takes one more.
        tx.try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(channel::TrySendError::Full(3)));
    } // the wait is dropped holding 1
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_value_handed_to_a_receiver_that_goes_away_reaches_another() {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let (tx, mut rx) = channel::unbounded::<u32>();
    let mut stream = rx.clone();
    assert!(stream.poll_next_unpin(&mut cx).is_pending());
    tx.try_send(7).unwrap();
    drop(stream); // a stream polled once, handed a value, and never polled again
    assert_eq!(rx.try_recv(), Ok(7));
    // Handed to the first of two waiting receivers, which goes: the other gets it.
    let mut first = rx.clone();
    let mut first_wait = Box::pin(first.recv());
    assert!(poll_once(first_wait.as_mut()).is_pending());
    let mut second_wait = std::pin::pin!(rx.recv());
    assert!(poll_once(second_wait.as_mut()).is_pending());
    tx.try_send(8).unwrap();
    drop(first_wait);
    drop(first);
    assert_eq!(
        poll_once(second_wait.as_mut()),
        std::task::Poll::Ready(Ok(8))
    );
}

#[test]
fn values_handed_to_the_last_receiver_are_dropped_once_with_it() {
    use std::rc::Rc;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let value = Rc::new(());
    let (tx, mut rx) = channel::unbounded::<Rc<()>>();
    assert!(rx.poll_next_unpin(&mut cx).is_pending());
    tx.try_send(value.clone()).unwrap(); // in its hands
    tx.try_send(value.clone()).unwrap(); // queued
    assert_eq!(Rc::strong_count(&value), 3);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(
        Rc::strong_count(&value),
        1,
        "both values dropped, none twice"
    );
}
