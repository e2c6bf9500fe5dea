//! Structured concurrency: a scope returns only when its body and every child it
//! spawned are done, and a failure anywhere in it cancels the rest (Kotlin's
//! `coroutineScope`, `supervisorScope`).
//!
//! The scope's children are owned by the scope's own future and polled by it, never
//! handed to the executor ([`crate::children`] says why that makes borrowing sound).
//! So children may borrow from the function that opened the scope, need not be
//! `Send` or `'static`, and dropping the scope's future cancels them all. A child
//! that wants children of its own opens its own scope: structure all the way down.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::builder::TaskBuilder;
use crate::cancel::{CancelHandle, Cancelled, ScopeCancel};
use crate::children::Children;
use crate::debug::ScopeKind;
use crate::task::{Failure, JoinHandle, deliver_success};

/// The handle a [`scope`] body spawns children with.
///
/// ```
/// let names = vec!["a", "b"];
/// let lengths = coro::run(coro::scope(async |s| {
///     // Children may borrow from outside the scope, like `std::thread::scope`.
///     let handles: Vec<_> = names.iter().map(|n| s.spawn(async move { n.len() })).collect();
///     let mut total = 0;
///     for handle in handles {
///         total += handle.await.unwrap();
///     }
///     total
/// }));
/// assert_eq!(lengths, 2);
/// ```
pub struct Scope<'env> {
    children: Children<'env>,
    cancel: Rc<ScopeCancel>,
}

impl<'env> Scope<'env> {
    /// Spawns `future` as a child of this scope and returns its handle. The child
    /// starts the next time the scope runs (when the body next suspends). Costs one
    /// allocation, for the future, its output and its handle's state together.
    ///
    /// If the child panics, its siblings and the body are cancelled and the panic
    /// resurfaces from [`scope`].
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let a = s.spawn(async { 1 });
    ///     let b = s.spawn(async { 2 });
    ///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
    /// }));
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'env,
        F::Output: 'env,
    {
        self.children.spawn_value(future, false)
    }

    /// A [`TaskBuilder`] for a child with settings (a name).
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let child = s.task().name("child").spawn(async { 1 });
    ///     assert_eq!(child.name().as_deref(), Some("child"));
    /// }));
    /// ```
    pub fn task(&self) -> TaskBuilder<'_, Self> {
        TaskBuilder::new(self)
    }

    /// Cancels the scope: every child now, and every child spawned after, is
    /// dropped at the scope's next turn, its handle reporting
    /// [`JoinError::is_cancelled`](crate::JoinError::is_cancelled). The body goes on,
    /// since it makes the scope's value; it sees [`coro::is_cancelled`] and
    /// [`coro::ensure_active`] report the cancellation.
    ///
    /// [`coro::is_cancelled`]: crate::is_cancelled
    /// [`coro::ensure_active`]: crate::ensure_active
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let forever = s.spawn(std::future::pending::<()>());
    ///     s.cancel();
    ///     assert!(forever.await.unwrap_err().is_cancelled());
    ///     assert!(coro::ensure_active().await.is_err());
    /// }));
    /// ```
    #[track_caller]
    pub fn cancel(&self) {
        self.cancel.cancel(std::panic::Location::caller());
    }

    /// A handle that cancels this scope from anywhere: a child, a blocking job,
    /// another thread. See [`CancelHandle`].
    ///
    /// ```
    /// coro::run(coro::scope(async |s| {
    ///     let handle = s.cancel_handle();
    ///     s.spawn(async move { handle.cancel() }).await.unwrap();
    ///     assert!(coro::is_cancelled());
    /// }));
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.handle()
    }
}

/// The outcome of a scope whose children return no errors: its value, or its panic
/// resurfacing.
fn value_or_panic<T>(outcome: Result<T, Failure>) -> T {
    match outcome {
        Ok(value) => value,
        Err(Failure::Panic(payload)) => resume_unwind(payload),
        Err(Failure::Error) => unreachable!("only a try_scope's children return errors"),
    }
}

/// The handle a [`try_scope`] body spawns fallible children with.
///
/// ```
/// let result: Result<u32, String> = coro::run(coro::try_scope(async |s| {
///     let ok = s.spawn(async { Ok::<_, String>(1) });
///     Ok(ok.await.unwrap() + 1)
/// }));
/// assert_eq!(result, Ok(2));
/// ```
pub struct TryScope<'env, E> {
    children: Children<'env>,
    error: Rc<RefCell<Option<E>>>,
    cancel: Rc<ScopeCancel>,
    /// Set once the scope can be cancelled: the error it then ends with.
    cancelled_error: Cell<Option<fn() -> E>>,
}

impl<'env, E: 'env> TryScope<'env, E> {
    /// Spawns a child returning `Result<T, E>`. Its `Ok` value goes to the handle; its
    /// `Err`, if it is the scope's first failure, cancels the body and every sibling
    /// and is what [`try_scope`] returns.
    ///
    /// ```
    /// let result: Result<(), &str> = coro::run(coro::try_scope(async |s| {
    ///     s.spawn(async { Err::<(), _>("failed") });
    ///     std::future::pending::<()>().await; // cancelled by the child's error
    ///     Ok(())
    /// }));
    /// assert_eq!(result, Err("failed"));
    /// ```
    #[track_caller]
    pub fn spawn<T, F>(&self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = Result<T, E>> + 'env,
        T: 'env,
    {
        let error = self.error.clone();
        let future = async move {
            match future.await {
                Ok(value) => Some(value),
                Err(failure) => {
                    error.borrow_mut().get_or_insert(failure);
                    None
                }
            }
        };
        self.children.spawn_with(
            future,
            false,
            deliver_success,
            std::panic::Location::caller(),
        )
    }

    /// A [`TaskBuilder`] for a child with settings (a name).
    ///
    /// ```
    /// let _: Result<(), String> = coro::run(coro::try_scope(async |s| {
    ///     let child = s.task().name("child").spawn(async { Ok(1) });
    ///     assert_eq!(child.name().as_deref(), Some("child"));
    ///     Ok(())
    /// }));
    /// ```
    pub fn task(&self) -> TaskBuilder<'_, Self> {
        TaskBuilder::new(self)
    }
}

impl<E: From<Cancelled>> TryScope<'_, E> {
    /// Cancels the scope: the body and every child are dropped at its next turn, and
    /// [`try_scope`] returns `Err(Cancelled.into())`. Available when the scope's
    /// error type converts from [`Cancelled`].
    ///
    /// ```
    /// #[derive(Debug, PartialEq)]
    /// enum Failed { Cancelled }
    /// impl From<coro::Cancelled> for Failed {
    ///     fn from(_: coro::Cancelled) -> Self { Failed::Cancelled }
    /// }
    ///
    /// let result: Result<(), Failed> = coro::run(coro::try_scope(async |s| {
    ///     s.spawn(async { Ok(std::future::pending::<()>().await) });
    ///     s.cancel();
    ///     std::future::pending::<()>().await; // dropped
    ///     Ok(())
    /// }));
    /// assert_eq!(result, Err(Failed::Cancelled));
    /// ```
    #[track_caller]
    pub fn cancel(&self) {
        self.cancelled_error.set(Some(|| Cancelled.into()));
        self.cancel.cancel(std::panic::Location::caller());
    }

    /// A handle that cancels this scope from anywhere, as [`cancel`](Self::cancel)
    /// does. See [`CancelHandle`].
    ///
    /// ```
    /// let result: Result<(), coro::Cancelled> = coro::run(coro::try_scope(async |s| {
    ///     let handle = s.cancel_handle();
    ///     std::thread::spawn(move || handle.cancel());
    ///     coro::sleep(std::time::Duration::from_secs(60)).await;
    ///     Ok(())
    /// }));
    /// assert_eq!(result, Err(coro::Cancelled));
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancelled_error.set(Some(|| Cancelled.into()));
        self.cancel.handle()
    }
}

/// The handle a [`supervisor_scope`] body spawns independent children with.
///
/// ```
/// coro::run(coro::supervisor_scope(async |s| {
///     let failed = s.spawn(async { panic!("alone") });
///     let fine = s.spawn(async { 5 });
///     assert!(failed.await.unwrap_err().is_panic());
///     assert_eq!(fine.await.unwrap(), 5);
/// }));
/// ```
pub struct SupervisorScope<'env> {
    children: Children<'env>,
    cancel: Rc<ScopeCancel>,
}

impl<'env> SupervisorScope<'env> {
    /// Spawns a child whose panic is reported on its handle
    /// ([`crate::JoinError::is_panic`]) and affects no other task.
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     assert_eq!(s.spawn(async { "ok" }).await.unwrap(), "ok");
    /// }));
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'env,
        F::Output: 'env,
    {
        self.children.spawn_value(future, true)
    }

    /// A [`TaskBuilder`] for a child with settings (a name).
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let child = s.task().name("child").spawn(async { 1 });
    ///     assert_eq!(child.name().as_deref(), Some("child"));
    /// }));
    /// ```
    pub fn task(&self) -> TaskBuilder<'_, Self> {
        TaskBuilder::new(self)
    }

    /// Cancels the scope: every child now, and every child spawned after, is
    /// dropped at the scope's next turn, its handle reporting
    /// [`JoinError::is_cancelled`](crate::JoinError::is_cancelled). The body goes on,
    /// since it makes the scope's value; it sees [`coro::is_cancelled`] and
    /// [`coro::ensure_active`] report the cancellation.
    ///
    /// [`coro::is_cancelled`]: crate::is_cancelled
    /// [`coro::ensure_active`]: crate::ensure_active
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let forever = s.spawn(std::future::pending::<()>());
    ///     s.cancel();
    ///     assert!(forever.await.unwrap_err().is_cancelled());
    ///     assert!(coro::ensure_active().await.is_err());
    /// }));
    /// ```
    #[track_caller]
    pub fn cancel(&self) {
        self.cancel.cancel(std::panic::Location::caller());
    }

    /// A handle that cancels this scope from anywhere: a child, a blocking job,
    /// another thread. See [`CancelHandle`].
    ///
    /// ```
    /// coro::run(coro::supervisor_scope(async |s| {
    ///     let handle = s.cancel_handle();
    ///     s.spawn(async move { handle.cancel() }).await.unwrap();
    ///     assert!(coro::is_cancelled());
    /// }));
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.handle()
    }
}

/// Runs `body` with a [`Scope`] to spawn children on, and returns the body's value
/// once the body and every child have finished.
///
/// A child's panic (or the body's) cancels the body and every other child, depth
/// first, then resurfaces from here. Dropping the returned future cancels the body
/// and all children the same way. The scope itself costs one allocation-free future;
/// each child costs what [`Scope::spawn`] says.
///
/// ```
/// let total = coro::run(coro::scope(async |s| {
///     let a = s.spawn(async {
///         coro::sleep(std::time::Duration::from_millis(5)).await;
///         1
///     });
///     let b = s.spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// }));
/// assert_eq!(total, 3);
/// ```
#[track_caller]
pub fn scope<'env, T>(body: impl AsyncFnOnce(&Scope<'env>) -> T) -> impl Future<Output = T> {
    let opened_at = std::panic::Location::caller();
    async move {
        let scope = Scope {
            children: Children::new(ScopeKind::Scope, Some(opened_at)),
            cancel: ScopeCancel::new(),
        };
        until_done(&scope.children, &scope.cancel, body(&scope)).await
    }
}

/// Like [`scope`], for fallible work: the body and the children return
/// `Result<_, E>`, and the first `Err` cancels everything else in the scope and is
/// returned. Panics behave as in [`scope`].
///
/// ```
/// let result = coro::run(coro::try_scope(async |s| {
///     let parsed = s.spawn(async { "12".parse::<u32>() });
///     let value = parsed.await.unwrap();
///     let bad = s.spawn(async { "x".parse::<u32>() });
///     let _ = bad.await;
///     Ok(value)
/// }));
/// assert!(result.is_err());
/// ```
#[track_caller]
pub fn try_scope<'env, T, E: 'env>(
    body: impl AsyncFnOnce(&TryScope<'env, E>) -> Result<T, E>,
) -> impl Future<Output = Result<T, E>> {
    let opened_at = std::panic::Location::caller();
    async move { try_scope_at(body, opened_at).await }
}

async fn try_scope_at<'env, T, E: 'env>(
    body: impl AsyncFnOnce(&TryScope<'env, E>) -> Result<T, E>,
    opened_at: &'static std::panic::Location<'static>,
) -> Result<T, E> {
    let scope = TryScope {
        children: Children::new(ScopeKind::TryScope, Some(opened_at)),
        error: Rc::new(RefCell::new(None)),
        cancel: ScopeCancel::new(),
        cancelled_error: Cell::new(None),
    };
    // Cancelled: the scope's error, unless a child failed first.
    let ends_on_cancel = || match scope.cancelled_error.get() {
        Some(error) => {
            scope.error.borrow_mut().get_or_insert_with(error);
            true
        }
        None => false,
    };
    match drive(
        &scope.children,
        &scope.cancel,
        &ends_on_cancel,
        body(&scope),
        Result::is_err,
    )
    .await
    {
        Ok(result) => result,
        Err(Failure::Panic(payload)) => resume_unwind(payload),
        Err(Failure::Error) => Err(scope
            .error
            .borrow_mut()
            .take()
            .expect("a failed child left its error")),
    }
}

/// Like [`scope`], but a child's failure affects no one else: it is reported on the
/// child's handle. A panic of the body itself still cancels the children and
/// resurfaces.
///
/// ```
/// let survivors = coro::run(coro::supervisor_scope(async |s| {
///     let handles: Vec<_> = (0..4)
///         .map(|i| s.spawn(async move { if i == 2 { panic!("task {i}") } i }))
///         .collect();
///     let mut ok = 0;
///     for handle in handles {
///         ok += handle.await.is_ok() as u32;
///     }
///     ok
/// }));
/// assert_eq!(survivors, 3);
/// ```
#[track_caller]
pub fn supervisor_scope<'env, T>(
    body: impl AsyncFnOnce(&SupervisorScope<'env>) -> T,
) -> impl Future<Output = T> {
    let opened_at = std::panic::Location::caller();
    async move {
        let scope = SupervisorScope {
            children: Children::new(ScopeKind::SupervisorScope, Some(opened_at)),
            cancel: ScopeCancel::new(),
        };
        until_done(&scope.children, &scope.cancel, body(&scope)).await
    }
}

/// Drives a scope whose body's value is the scope's, whatever happens to it, and
/// whose only failures are panics (`scope`, `supervisor_scope`).
async fn until_done<T>(
    children: &Children<'_>,
    cancel: &Rc<ScopeCancel>,
    body: impl Future<Output = T>,
) -> T {
    value_or_panic(drive(children, cancel, &|| false, body, |_| false).await)
}

/// Polls the body and the children until the body is done and no child is left, or
/// something fails. A body output for which `fails` holds ends the scope at once.
///
/// Once the scope is cancelled by hand its children are cancelled on every poll
/// (so are any spawned since), and if `ends_on_cancel` says so the body is dropped
/// and the scope ends with its error. Either way, the cleanups that cancelled tasks
/// handed to the scope run to the end before it completes.
async fn drive<T>(
    children: &Children<'_>,
    cancel: &Rc<ScopeCancel>,
    ends_on_cancel: &dyn Fn() -> bool,
    body: impl Future<Output = T>,
    fails: fn(&T) -> bool,
) -> Result<T, Failure> {
    cancel.set_record(&children.record);
    let mut driving = Driving {
        children,
        cancel,
        ends_on_cancel,
        body: pin!(Some(body)),
        output: None,
        exit: None,
        body_waker: children.body_waker(),
        fails,
    };
    poll_fn(|cx| {
        children.set_owner(cx.waker());
        let cancelled_before = cancel.is_cancelled();
        let polled = cancel.enter(|| driving.turn(cx));
        // After the turn: the body may have made the first handle during it.
        if polled.is_pending() {
            cancel.register(cx.waker());
            // Cleanups may have been handed over during the turn.
            if let Some(cleanups) = cancel.cleanups() {
                cleanups.set_owner(cx.waker());
                if cleanups.has_ready() {
                    cx.waker().wake_by_ref();
                }
            }
            // A cancel between the turn's look at the flag and the registration
            // found no waker to wake: look again.
            if cancel.is_cancelled() && !cancelled_before {
                cx.waker().wake_by_ref();
            }
        }
        polled
    })
    .await
}

/// What [`drive`] keeps between polls.
struct Driving<'a, 'env, T, B> {
    children: &'a Children<'env>,
    cancel: &'a ScopeCancel,
    ends_on_cancel: &'a dyn Fn() -> bool,
    body: Pin<&'a mut Option<B>>,
    /// The body's value, while children still run.
    output: Option<T>,
    /// How the scope ends, while cleanups still run.
    exit: Option<Result<T, Failure>>,
    body_waker: Waker,
    fails: fn(&T) -> bool,
}

impl<T, B: Future<Output = T>> Driving<'_, '_, T, B> {
    /// Ends the scope with `exit`: the body and the children are cancelled, and the
    /// cleanups they leave run before the scope completes.
    fn end(&mut self, exit: Result<T, Failure>, cause: impl FnOnce() -> String) {
        crate::trace::because(cause, || {
            crate::cleanup::cancelling(|| self.body.set(None));
            self.children.cancel_all();
        });
        self.exit = Some(exit);
    }

    /// One poll of [`drive`].
    fn turn(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, Failure>> {
        // What a round wakes (a child finishing wakes the body that awaits it; the
        // body spawning queues a child) runs in a further round of the same poll,
        // so a chain of scopes settles in one pass from the top instead of one
        // pass per level, and two tasks passing messages do not go through the
        // executor for each one. Each further round spends a unit of the budget
        // this turn runs under, so a child that always wakes itself still lets
        // the owner's siblings, timers and sockets run. Every round ends by
        // looking at the queue, so wakes from this thread during the turn need
        // not wake the owner's owner.
        let children = self.children;
        let _turning = children.turning();
        for round in 0..crate::coop::DEFAULT_BUDGET {
            if round > 0 && !crate::coop::spend_on_a_round() {
                break;
            }
            if self.exit.is_none() {
                self.run_body_and_children();
            }
            let cleanups = self.cancel.cleanups();
            if let Some(cleanups) = cleanups {
                cleanups.poll_ready();
                if let Some(failure) = cleanups.take_failure() {
                    match &self.exit {
                        // The first failure is the one reported.
                        Some(Err(_)) => {}
                        _ => self.end(Err(failure), || "a cleanup panicked".to_owned()),
                    }
                }
            }
            let cleaning = cleanups.is_some_and(|cleanups| !cleanups.is_empty());
            if self.exit.is_some() && !cleaning {
                return Poll::Ready(self.exit.take().expect("checked"));
            }
            let more = self.exit.is_none() && self.children.has_ready()
                || cleanups.is_some_and(Children::has_ready);
            if !more {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Polls what is ready of the body and the children; sets `exit` when the scope
    /// is done.
    fn run_body_and_children(&mut self) {
        if self.cancel.is_cancelled() {
            let cause = || self.cancel.cause(&self.children.record);
            crate::trace::because(cause, || self.children.cancel_all());
            if self.body.is_some() && (self.ends_on_cancel)() {
                self.end(Err(Failure::Error), cause);
                return;
            }
        }
        let body_woken = self.children.poll_ready();
        if body_woken && let Some(running) = self.body.as_mut().as_pin_mut() {
            let body_waker = &self.body_waker;
            match catch_unwind(AssertUnwindSafe(|| {
                crate::executor::polling_with(body_waker, || {
                    running.poll(&mut Context::from_waker(body_waker))
                })
            })) {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(value)) => {
                    self.body.set(None);
                    if (self.fails)(&value) {
                        let scope = &self.children.record;
                        self.end(Ok(value), || {
                            format!("the body of {} returned Err", scope.name())
                        });
                        return;
                    }
                    self.output = Some(value);
                }
                Err(payload) => {
                    self.body.set(None);
                    if crate::trace::on() {
                        self.children.record_failure_cause(format!(
                            "the body of {} panicked: {}",
                            self.children.record.name(),
                            crate::task::panic_message(payload.as_ref())
                        ));
                    }
                    self.children.record_failure(Failure::Panic(payload));
                }
            }
        }
        if let Some(failure) = self.children.take_failure() {
            let cause = self.children.take_failure_cause();
            self.end(Err(failure), || {
                cause.unwrap_or_else(|| "a failure".to_owned())
            });
            return;
        }
        if self.output.is_some() && self.children.is_empty() {
            self.exit = self.output.take().map(Ok);
        }
    }
}
