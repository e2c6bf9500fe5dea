//! Dumps for other threads: a request queued under a mutex, a flag the executor's
//! loop looks at between tasks, and the answer sent back on a channel.

use std::fmt;
use std::time::Duration;

use super::{TaskTree, dump};

/// A way to ask a [`run`](crate::run) for its task tree from another thread (a
/// signal-handling thread, an admin endpoint): `Send`, `Sync` and cheap to clone.
/// See [`handle`].
#[derive(Clone)]
pub struct DumpHandle {
    requests: std::sync::Arc<DumpRequests>,
}

/// Requests for dumps, answered by the executor's loop between tasks.
#[derive(Default)]
pub(crate) struct DumpRequests {
    pending: std::sync::atomic::AtomicBool,
    state: std::sync::Mutex<RequestState>,
}

#[derive(Default)]
struct RequestState {
    waiting: Vec<std::sync::mpsc::Sender<TaskTree>>,
    /// The executor's waker, to interrupt its wait; `None` once its `run` ended.
    executor: Option<std::task::Waker>,
    ended: bool,
}

impl DumpRequests {
    fn lock(&self) -> std::sync::MutexGuard<'_, RequestState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The executor's loop: remembers its waker.
    pub(crate) fn set_executor(&self, waker: &std::task::Waker) {
        self.lock().executor = Some(waker.clone());
    }

    /// The executor's loop, between tasks: answers every request that came in.
    /// One atomic load when there is none.
    #[inline]
    pub(crate) fn answer(&self) {
        if self.pending.load(std::sync::atomic::Ordering::Acquire) {
            self.answer_waiting();
        }
    }

    #[cold]
    fn answer_waiting(&self) {
        use std::sync::atomic::Ordering;
        let waiting = {
            let mut state = self.lock();
            self.pending.store(false, Ordering::Relaxed);
            std::mem::take(&mut state.waiting)
        };
        let tree = dump();
        for answer in waiting {
            let _ = answer.send(tree.clone());
        }
    }

    /// The `run` ended: nobody will answer.
    pub(crate) fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.executor = None;
        state.waiting.clear();
    }
}

impl DumpHandle {
    /// The task tree of the handle's `run`, taken on its thread between two tasks;
    /// `None` if it did not come within `patience` (the thread is stuck inside a
    /// task that does not return, or too busy) or the `run` has ended. Blocks the
    /// calling thread meanwhile, so never call it on the executor's own thread:
    /// there, call [`dump`].
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// coro::run(coro::scope(async |s| {
    ///     let handle = coro::debug::handle();
    ///     let task = s.task().name("serving").spawn(std::future::pending::<()>());
    ///     let tree = coro::spawn_blocking(move || handle.dump(Duration::from_secs(5)))
    ///         .await
    ///         .expect("the executor answers between tasks");
    ///     assert!(tree.to_string().contains("`serving`"));
    ///     task.cancel();
    /// }));
    /// ```
    pub fn dump(&self, patience: Duration) -> Option<TaskTree> {
        let (answer, answered) = std::sync::mpsc::channel();
        let executor = {
            let mut state = self.requests.lock();
            if state.ended {
                return None;
            }
            state.waiting.push(answer);
            self.requests
                .pending
                .store(true, std::sync::atomic::Ordering::Release);
            state.executor.clone()
        };
        if let Some(executor) = executor {
            executor.wake();
        }
        answered.recv_timeout(patience).ok()
    }
}

impl fmt::Debug for DumpHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DumpHandle")
            .field("ended", &self.requests.lock().ended)
            .finish()
    }
}

/// A [`DumpHandle`] for this thread's [`run`](crate::run), for other threads to ask
/// for its task tree.
///
/// # Panics
/// Outside [`run`](crate::run).
///
/// ```
/// let handle = coro::run(async { coro::debug::handle() });
/// // That `run` is over: nobody answers.
/// assert!(handle.dump(std::time::Duration::from_millis(1)).is_none());
/// ```
pub fn handle() -> DumpHandle {
    crate::executor::with_executor("coro::debug::handle", |executor| DumpHandle {
        requests: executor.dump_requests.clone(),
    })
}
