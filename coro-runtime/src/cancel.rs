//! Cancellation as a value: a scope cancelled by hand, from its body, a child, or
//! another thread (Kotlin's `Job.cancel()`, Go's `context.CancelFunc`), and the
//! checks that CPU-bound code makes to notice it.
//!
//! Cancelling a scope drops every child it has, and every child it spawns after, at
//! its next turn: each is cancelled the way a dropped future is, its handle reports
//! [`JoinError::is_cancelled`](crate::JoinError::is_cancelled), and the tasks below
//! it are cancelled first. A [`try_scope`](crate::try_scope) whose error type takes
//! [`Cancelled`] then ends at once with that error. The body of a [`scope`] or
//! [`supervisor_scope`] must still produce the scope's value, so it keeps running,
//! and learns of the cancellation from [`is_cancelled`] and [`ensure_active`].
//!
//! A scope has no cancellation state until one is asked for, so a scope nobody
//! cancels pays one pointer. The flag sits in an `Arc` so a [`CancelHandle`] can
//! cross threads; the scope looks at it each time it runs.
//!
//! [`scope`]: crate::scope()
//! [`supervisor_scope`]: crate::supervisor_scope()

use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::children::Children;
use crate::debug::ScopeRecord;
use crate::task::remember_waker;

/// What a cancel handle shares with its scope.
#[derive(Default)]
struct Flag {
    cancelled: AtomicBool,
    /// The waker of the scope's future, to make it run and act on the flag.
    scope: Mutex<Option<Waker>>,
    /// Where the first `cancel()` was called: the cause a trace gives.
    cancelled_at: OnceLock<&'static Location<'static>>,
}

/// One scope's place in the tree of cancellation: its flag, once asked for, and its
/// parent's.
pub(crate) struct ScopeCancel {
    flag: OnceCell<Arc<Flag>>,
    parent: Option<Rc<ScopeCancel>>,
    /// Cleanups handed to this scope by cancelled tasks (see [`crate::cleanup`]).
    cleanups: OnceCell<Children<'static>>,
    /// The scope's children's record, where `coro::debug` finds what it polls.
    record: OnceCell<Weak<ScopeRecord>>,
}

thread_local! {
    /// The scope whose body or child is being polled right now.
    static CURRENT: RefCell<Option<Rc<ScopeCancel>>> = const { RefCell::new(None) };
}

impl ScopeCancel {
    /// The cancellation of a scope opened here, under the one being polled.
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(ScopeCancel {
            flag: OnceCell::new(),
            parent: CURRENT.with(|current| current.borrow().clone()),
            cleanups: OnceCell::new(),
            record: OnceCell::new(),
        })
    }

    /// Tells `coro::debug` which children this scope polls.
    pub(crate) fn set_record(&self, record: &Rc<ScopeRecord>) {
        let _ = self.record.set(Rc::downgrade(record));
    }

    pub(crate) fn record(&self) -> Option<Rc<ScopeRecord>> {
        self.record.get()?.upgrade()
    }

    fn flag(&self) -> &Arc<Flag> {
        self.flag.get_or_init(Arc::default)
    }

    /// Cancels the scope, by a `cancel()` called `at`.
    pub(crate) fn cancel(&self, at: &'static Location<'static>) {
        let flag = self.flag();
        let _ = flag.cancelled_at.set(at);
        flag.cancelled.store(true, Ordering::Release);
    }

    /// Why this scope's children are cancelled, in words (only asked for when the
    /// run is traced).
    pub(crate) fn cause(&self, scope: &ScopeRecord) -> String {
        match self.flag.get().and_then(|flag| flag.cancelled_at.get()) {
            Some(at) => format!("{} was cancelled by cancel() at {at}", scope.name()),
            None => format!("{} was cancelled", scope.name()),
        }
    }

    pub(crate) fn handle(&self) -> CancelHandle {
        CancelHandle {
            flag: self.flag().clone(),
        }
    }

    /// Was this scope cancelled by hand? Its own flag only: a cancelled parent drops
    /// this scope's future instead.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.flag
            .get()
            .is_some_and(|flag| flag.cancelled.load(Ordering::Acquire))
    }

    /// Remembers the scope's waker for handles, if any handle exists.
    pub(crate) fn register(&self, waker: &Waker) {
        if let Some(flag) = self.flag.get() {
            remember_waker(
                &mut flag.scope.lock().unwrap_or_else(|e| e.into_inner()),
                waker,
            );
        }
    }

    /// The cleanups this scope runs, if any was handed to it.
    pub(crate) fn cleanups(&self) -> Option<&Children<'static>> {
        self.cleanups.get()
    }

    /// Takes `cleanup` on, to run before the scope completes.
    pub(crate) fn run_cleanup(
        &self,
        cleanup: Pin<Box<dyn Future<Output = ()>>>,
        armed_at: &'static Location<'static>,
    ) {
        let cleanups = self
            .cleanups
            .get_or_init(|| Children::new(crate::debug::ScopeKind::Cleanups, None));
        // Its failure is the scope's, like a child's; its handle is not needed.
        cleanups
            .spawn_value(cleanup, false)
            .slot_spawned_at(armed_at);
        if let Some(flag) = self.flag.get() {
            let waker = flag.scope.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// The scope being polled on this thread, if any.
    pub(crate) fn current() -> Option<Rc<ScopeCancel>> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// Polls with this scope as the current one, for [`is_cancelled`].
    pub(crate) fn enter<R>(self: &Rc<Self>, poll: impl FnOnce() -> R) -> R {
        struct Restore(Option<Rc<ScopeCancel>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let outer = self.0.take();
                CURRENT.with(|current| *current.borrow_mut() = outer);
            }
        }
        let outer = CURRENT.with(|current| current.borrow_mut().replace(self.clone()));
        let _restore = Restore(outer);
        poll()
    }
}

/// Cancels a scope from anywhere: its body, a child, a blocking job or another
/// thread. Clone it freely; it is `Send` and `Sync`, and outliving the scope is
/// harmless (cancelling then does nothing). Get one from a scope's `cancel_handle`.
///
/// ```
/// use std::time::Duration;
///
/// coro::run(coro::scope(async |s| {
///     let cancel = s.cancel_handle();
///     let worker = s.spawn(coro::sleep(Duration::from_secs(60)));
///     s.spawn(async move {
///         coro::sleep(Duration::from_millis(1)).await;
///         cancel.cancel(); // stop everything in this scope
///     });
///     assert!(worker.await.unwrap_err().is_cancelled());
/// }));
/// ```
#[derive(Clone)]
pub struct CancelHandle {
    flag: Arc<Flag>,
}

impl CancelHandle {
    /// Cancels the scope, as its `cancel` method does, and wakes it to act on it.
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let handle = s.cancel_handle();
    ///     std::thread::spawn(move || handle.cancel()).join().unwrap();
    ///     assert!(coro::is_cancelled());
    /// }));
    /// ```
    #[track_caller]
    pub fn cancel(&self) {
        let _ = self.flag.cancelled_at.set(Location::caller());
        self.flag.cancelled.store(true, Ordering::Release);
        let waker = self
            .flag
            .scope
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Has the scope been cancelled?
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let handle = s.cancel_handle();
    ///     assert!(!handle.is_cancelled());
    ///     s.cancel();
    ///     assert!(handle.is_cancelled());
    /// }));
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.flag.cancelled.load(Ordering::Acquire)
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Has the scope this code runs in, or any scope around it, been cancelled by hand?
/// For CPU-bound loops that own no suspension point where cancellation could act.
/// `false` outside any scope. Costs a walk up the enclosing scopes.
///
/// ```
/// coro::run(coro::scope(async |s| {
///     assert!(!coro::is_cancelled());
///     s.cancel();
///     assert!(coro::is_cancelled());
/// }));
/// ```
pub fn is_cancelled() -> bool {
    CURRENT.with(|current| {
        let mut scope = current.borrow().clone();
        while let Some(at) = scope {
            if at.is_cancelled() {
                return true;
            }
            scope = at.parent.clone();
        }
        false
    })
}

/// The error of work that stopped because its scope was cancelled: what
/// [`ensure_active`] returns, and what a cancelled [`try_scope`](crate::try_scope)
/// returns when its error type converts from it.
///
/// ```
/// let error = coro::Cancelled;
/// assert_eq!(error.to_string(), "the scope was cancelled");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the scope was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// `Err(Cancelled)` if [`is_cancelled`], and otherwise `Ok` after spending one unit of
/// the cooperative budget, so a CPU-bound loop that awaits it both stops when asked
/// and lets other tasks run (Kotlin's `ensureActive()` and `yield()` in one).
///
/// ```
/// fn crunch(i: u64) -> u64 { i * i }
///
/// let done = coro::run(coro::scope(async |s| {
///     let cancel = s.cancel_handle();
///     let mut done = 0;
///     for i in 0.. {
///         if coro::ensure_active().await.is_err() {
///             break;
///         }
///         crunch(i);
///         done += 1;
///         if done == 1_000 {
///             cancel.cancel();
///         }
///     }
///     done
/// }));
/// assert_eq!(done, 1_000);
/// ```
pub fn ensure_active() -> EnsureActive {
    EnsureActive { _private: () }
}

/// The future returned by [`ensure_active`].
///
/// ```
/// let check: coro::EnsureActive = coro::ensure_active();
/// assert_eq!(coro::run(check), Ok(()));
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct EnsureActive {
    _private: (),
}

impl Future for EnsureActive {
    type Output = Result<(), Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if is_cancelled() {
            return Poll::Ready(Err(Cancelled));
        }
        crate::coop::budgeted(cx, |_| Poll::Ready(Ok(())))
    }
}
