//! Stackless coroutines for stable Rust: generators, coroutines with resume
//! arguments, suspend functions and async generators, written as straight-line code.
//!
//! `#[coro::coroutine]` rewrites a function into a resumable state machine, the way
//! rustc lowers an `async fn`. The return type says what the caller gets:
//!
//! | signature | the caller gets |
//! |---|---|
//! | `-> impl Iterator<Item = Y>` | a generator |
//! | `-> impl Coroutine<R, Yield = Y, Return = T>` | a coroutine that takes `R` on each resume |
//! | `async fn f() -> T` or `-> impl Future<Output = T>` | a suspend function |
//! | `-> impl Stream<Item = Y>` | an async generator |
//!
//! ```
//! use coro::{Coroutine, CoroutineState};
//! use std::pin::pin;
//!
//! #[coro::coroutine]
//! fn fib() -> impl Iterator<Item = u64> {
//!     let (mut a, mut b) = (0, 1);
//!     loop {
//!         yield_!(a);
//!         (a, b) = (b, a + b);
//!     }
//! }
//! assert_eq!(fib().take(6).collect::<Vec<_>>(), [0, 1, 1, 2, 3, 5]);
//!
//! #[coro::coroutine]
//! fn summer() -> impl Coroutine<u32, Yield = u32, Return = u32> {
//!     let mut total = 0;
//!     while total < 100 {
//!         total += yield_!(total);
//!     }
//!     total
//! }
//! let mut c = pin!(summer());
//! assert_eq!(c.as_mut().resume(0), CoroutineState::Yielded(0));
//! assert_eq!(c.as_mut().resume(60), CoroutineState::Yielded(60));
//! assert_eq!(c.as_mut().resume(60), CoroutineState::Complete(120));
//! ```
//!
//! Write the attribute with its path, `#[coro::coroutine]`: rustc reserves the bare
//! name `#[coroutine]` for its unstable built-in attribute, and an import cannot
//! shadow a built-in attribute.
//!
//! # The runtime
//!
//! Suspend functions are plain `Future`s and run on any executor. coro brings a
//! small single-threaded one with structured concurrency:
//!
//! - **Running:** [`run`] blocks the thread on a future (Kotlin's `runBlocking`);
//!   [`Runtime::builder`] sets the blocking pool and the cooperative budget.
//! - **Scopes:** [`scope`], [`try_scope`] and [`supervisor_scope`] own the tasks
//!   they spawn, which may borrow from the caller; a scope returns when every task
//!   in it is done, and a failure cancels the rest. `s.task().name("..")` names a
//!   task. [`spawn_detached`] is the escape hatch.
//! - **Cancellation:** dropping a future cancels it and everything below it. A
//!   scope is also cancelled by hand ([`Scope::cancel`], a `Send` [`CancelHandle`]);
//!   CPU-bound code checks [`is_cancelled`] or awaits [`ensure_active`];
//!   [`on_cancel`] runs async cleanup when a task is cancelled.
//! - **Time:** [`sleep`], [`interval`], [`timeout`], [`timeout_at`], and
//!   [`deadline`] for the work under a timeout.
//! - **Channels:** [`channel`] has many-consumer `bounded` (and rendezvous
//!   `bounded(0)`) and `unbounded` channels, `oneshot`, `broadcast` and `watch`.
//! - **Waiting on several things:** [`select!`] (fair, or `biased;`).
//! - **Sync:** [`sync`] has a `Mutex` whose guard may be held across `.await`,
//!   `RwLock`, `Semaphore`, `Barrier` and `Notify`.
//! - **Blocking work and callbacks:** [`spawn_blocking`] runs blocking code on a
//!   pool; [`suspend_with`] turns a callback API into a suspension.
//! - **I/O:** while nothing is ready, [`run`] waits in async-io's reactor, so
//!   async-net and async-io sockets (TCP, UDP, Unix, `Async<T>`) wake their tasks on
//!   the executor's own thread. For tokio-based libraries, enter a tokio runtime
//!   beside `run` (`let _guard = tokio_runtime.enter();`), or run coro futures inside
//!   tokio's `block_on`: both work.
//! - **Fairness:** each task turn has a budget of operations; coro's own futures
//!   (channels, timers, handles, the locks of [`sync`]) spend it, so a loop whose awaits are always ready still lets timers and its
//!   siblings run. [`io::cooperative`] makes a socket's reads and writes spend it,
//!   and [`consume_budget`] lets other loops take part.
//! - **Context:** [`context`] carries task-local values to children, like a Kotlin
//!   `CoroutineContext`.
//!
//! ```
//! use std::time::Duration;
//!
//! #[coro::coroutine]
//! async fn fetch(id: u32) -> String {
//!     coro::sleep(Duration::from_millis(5)).await; // a network call, say
//!     format!("item {id}")
//! }
//!
//! let items = coro::run(coro::scope(async |s| {
//!     let (tx, mut rx) = coro::channel::bounded(4);
//!     for id in 0..3 {
//!         let tx = tx.clone();
//!         s.task().name("fetch").spawn(async move { tx.send(fetch(id).await).await.unwrap() });
//!     }
//!     drop(tx);
//!     let mut items = Vec::new();
//!     loop {
//!         coro::select! {
//!             Ok(item) = rx.recv() => items.push(item),
//!             _ = coro::sleep(Duration::from_secs(5)) => break, // too slow: give up
//!         }
//!         if items.len() == 3 {
//!             break;
//!         }
//!     }
//!     items.sort();
//!     items
//! }));
//! assert_eq!(items, ["item 0", "item 1", "item 2"]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Turns a function into a stackless coroutine.
///
/// The expansion has no `unsafe`, and is one of two machines:
///
/// - **compact**: the body is split at its suspension points (`yield_!`,
///   `yield_from!`, `.await`) into the states of a local enum; each state holds
///   exactly the bindings that live across it, with types left to inference. It is
///   movable (`Unpin`) and never larger than rustc's `async fn`, but cannot hold a
///   borrow of one of its own locals across a suspension point: such a body gets an
///   error naming the binding and the suspension point.
/// - **pinned**: the body, as written, inside an `async move` block that rustc lays
///   out, so every body an `async` block accepts compiles; it is `!Unpin`, like an
///   `async fn`.
///
/// Suspend functions and async generators that suspend are pinned: they build in
/// about the time of the same `async fn`, where the compact machine's per-function
/// pinned enum takes rustc several times longer. One that never suspends is
/// compact. Generators and coroutines are compact unless the attribute says
/// `#[coro::coroutine(pinned)]`; `#[coro::coroutine(compact)]` forces the compact
/// machine for any kind.
///
/// - **Where a suspension point may stand:** anywhere an expression may, in `let`,
///   `if`/`match`, loops, labelled `break`/`continue`, `return`, `?`, blocks, call
///   arguments and literals; operands evaluated before it are kept in Rust's order.
///   Not inside closures, async blocks or nested items. The compact machine also
///   rejects them inside other macros' arguments, match guards, `unsafe` blocks and
///   `let` chains, each with a compile error that says so; the pinned one takes them.
/// - **Lifetimes:** a binding lives to the end of its scope, as in plain Rust, unless
///   it was moved. Borrows of parameters (`&self`, `&'a str`) may cross any
///   suspension point.
/// - **Resume arguments:** the first `resume` starts the body and its argument is
///   dropped; each later one is what the pending `yield_!` evaluates to.
/// - **Drop and panics:** dropping a suspended coroutine drops its live bindings once,
///   in reverse order of declaration. A panic inside leaves it poisoned: resuming it
///   again panics with a message saying so; so does resuming a completed coroutine
///   (a generator's iterator returns `None` instead, and a stream `Ready(None)`).
/// - **Cost:** no allocation (a pinned generator boxes itself once); a resume is a
///   jump on the state's discriminant.
////// - **`Debug`:** a generator or coroutine whose signature asks for it says where
///   its body stands; only such a signature pays for it, a store per yield:
///
/// ```
/// use std::fmt::Debug;
///
/// #[coro::coroutine]
/// fn fib() -> impl Iterator<Item = u64> + Debug {
///     let (mut a, mut b) = (0, 1);
///     loop {
///         yield_!(a);
///         (a, b) = (b, a + b);
///     }
/// }
///
/// let mut numbers = fib();
/// assert_eq!(format!("{numbers:?}"), "generator `fib` not started");
/// numbers.next();
/// assert!(format!("{numbers:?}").starts_with("generator `fib` suspended at "));
/// ```
///
/// - **Recursion:** a coroutine holds the state of what it awaits or forwards, so a
///   coroutine that calls itself boxes the call as a trait object (the macro says
///   so if it does not):
///
/// ```
/// struct Node { value: u32, children: Vec<Node> }
///
/// #[coro::coroutine]
/// fn walk(node: &Node) -> impl Iterator<Item = u32> + '_ {
///     yield_!(node.value);
///     for child in &node.children {
///         yield_from!(Box::new(walk(child)) as Box<dyn Iterator<Item = u32> + '_>);
///     }
/// }
///
/// let tree = Node { value: 1, children: vec![Node { value: 2, children: vec![] }] };
/// assert_eq!(walk(&tree).collect::<Vec<_>>(), [1, 2]);
/// ```
///
/// `#[coro::coroutine(crate = path::to::coro)]` names the `coro` crate when it is
/// re-exported under another path.
///
/// ```
/// use coro::Stream;
///
/// #[coro::coroutine]
/// async fn double(n: u32) -> u32 {
///     std::future::ready(n).await * 2
/// }
///
/// #[coro::coroutine]
/// fn doubles(n: u32) -> impl Stream<Item = u32> {
///     for i in 0..n {
///         yield_!(double(i).await);
///     }
/// }
///
/// let waker = std::task::Waker::noop();
/// let mut cx = std::task::Context::from_waker(waker);
/// let mut stream = std::pin::pin!(doubles(3));
/// let mut items = Vec::new();
/// while let std::task::Poll::Ready(Some(item)) = stream.as_mut().poll_next(&mut cx) {
///     items.push(item);
/// }
/// assert_eq!(items, [0, 2, 4]);
/// ```
pub use coro_macros::coroutine;

/// Waits on several futures at once and runs the handler of the first one that
/// completes (Go's `select`, Kotlin's `select {}`); the others are dropped, which
/// cancels them, before that handler runs.
///
/// ```text
/// coro::select! {
///     biased;                                  // optional: poll in order, not from a random arm
///     pattern = future => handler,             // any IntoFuture
///     pattern = future if condition => handler,
///     else => handler,                         // optional: nothing is ready right now
/// }
/// ```
///
/// - Every guard is evaluated first, then every future expression, in order. An arm
///   whose guard is `false` is not polled.
/// - Each turn starts polling at a random arm, so an arm that is always ready cannot
///   starve the others; `biased;` polls in the written order instead.
/// - An arm whose value does not match its pattern is disabled for the rest of this
///   `select!`: a closed channel (`Ok(v) = rx.recv()`) does not win again and again.
/// - With `else`, `select!` polls each arm once and runs `else` if none is ready, as
///   Go's `default` does. Without it, it waits; if every arm is disabled it panics.
/// - The value is the handler's; all handlers have one type. Costs one poll of each
///   enabled arm per wake, and nothing on the heap.
///
/// ```
/// use std::time::Duration;
///
/// coro::run(coro::scope(async |s| {
///     let (tx, mut rx) = coro::channel::bounded(1);
///     s.spawn(async move {
///         for i in 0..3 {
///             tx.send(i).await.unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     loop {
///         coro::select! {
///             Ok(v) = rx.recv() => got.push(v),
///             _ = coro::sleep(Duration::from_millis(50)) => break, // quiet for 50 ms
///         }
///     }
///     assert_eq!(got, [0, 1, 2]);
/// }));
/// ```
///
/// `else` answers at once when nothing is ready:
///
/// ```
/// coro::run(async {
///     let (_tx, mut rx) = coro::channel::unbounded::<u32>();
///     let polled = coro::select! {
///         Ok(v) = rx.recv() => Some(v),
///         else => None,
///     };
///     assert_eq!(polled, None);
/// });
/// ```
pub use coro_macros::select;
pub use coro_runtime::{
    Blocking, BuildError, Builder, CancelHandle, Cancelled, ConsumeBudget, Continuation, Coroutine,
    CoroutineState, Elapsed, EnsureActive, Interval, JoinError, JoinHandle, OnCancel, Runtime,
    Scope, Sleep, Stream, SupervisorScope, SuspendWith, TaskBuilder, Timeout, TryScope, YieldNow,
    consume_budget, deadline, ensure_active, interval, is_cancelled, on_cancel, run, scope, sleep,
    sleep_until, spawn_blocking, spawn_detached, supervisor_scope, suspend_with, timeout,
    timeout_at, try_scope, yield_now,
};
pub use coro_runtime::{channel, context, debug, io, question_mark, sync};

#[doc(hidden)]
pub use coro_runtime::private as __private;

/// Suspends a `#[coroutine]` body, handing `value` to the caller; evaluates to the
/// argument of the `resume` that continues it (`()` for generators).
///
/// The `#[coroutine]` transform recognises `yield_!` by name inside the body, so it
/// needs no import there. Anywhere else, this macro is a compile error.
///
/// ```
/// use coro::{Coroutine, CoroutineState};
///
/// // A generator's yields evaluate to `()`; a coroutine's, to the next resume argument.
/// #[coro::coroutine]
/// fn echo_doubled() -> impl Coroutine<i32, Yield = i32, Return = ()> {
///     let mut heard = yield_!(0);
///     while heard != 0 {
///         heard = yield_!(heard * 2);
///     }
/// }
///
/// let mut c = std::pin::pin!(echo_doubled());
/// assert_eq!(c.as_mut().resume(99), CoroutineState::Yielded(0)); // 99 only starts it
/// assert_eq!(c.as_mut().resume(5), CoroutineState::Yielded(10));
/// assert_eq!(c.as_mut().resume(0), CoroutineState::Complete(()));
/// ```
///
/// Outside a `#[coroutine]` body it does not compile:
///
/// ```compile_fail
/// fn not_a_coroutine() {
///     coro::yield_!(1);
/// }
/// ```
#[macro_export]
macro_rules! yield_ {
    ($($value:tt)*) => {
        ::core::compile_error!(
            "`yield_!` can only be used directly in the body of a `#[coroutine]` function \
             (not in a closure, async block or nested function inside it)"
        )
    };
}

/// Forwards every value a coroutine or iterator yields, then evaluates to its return
/// value. Like [`yield_!`], it only works directly inside a `#[coroutine]` body.
///
/// ```
/// use coro::Coroutine;
///
/// #[coro::coroutine]
/// fn countdown(from: u32) -> impl Coroutine<Yield = u32, Return = &'static str> {
///     for i in (1..=from).rev() {
///         yield_!(i);
///     }
///     "liftoff"
/// }
///
/// #[coro::coroutine]
/// fn launch() -> impl Iterator<Item = u32> {
///     yield_from!(0..2); // an iterator
///     let said = yield_from!(countdown(3)); // a coroutine: its return value comes back
///     assert_eq!(said, "liftoff");
/// }
///
/// assert_eq!(launch().collect::<Vec<_>>(), [0, 1, 3, 2, 1]);
/// ```
///
/// Outside a `#[coroutine]` body it does not compile:
///
/// ```compile_fail
/// fn not_a_coroutine() {
///     coro::yield_from!(0..3);
/// }
/// ```
#[macro_export]
macro_rules! yield_from {
    ($($source:tt)*) => {
        ::core::compile_error!(
            "`yield_from!` can only be used directly in the body of a `#[coroutine]` function \
             (not in a closure, async block or nested function inside it)"
        )
    };
}

/// The README's examples, compiled and run as doctests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
