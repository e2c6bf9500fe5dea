//! Task-local context that children inherit, like the elements of a Kotlin
//! `CoroutineContext`: a request id for logs, a deadline, a tenant.
//!
//! The context is an immutable map from type to value, shared by `Rc`. A task
//! keeps the map current when it is spawned, installed around each of its polls
//! and around its destructors; [`with`] installs a map with one more value around
//! the polls of one future. Reading is a thread-local lookup; adding a value copies
//! the (small) map once.
//!
//! Children almost always share their scope's context, so the scope holds it once
//! for all of them, and only a child spawned under another one (inside a [`with`] in
//! the scope's body, say) has its map kept, beside the scope: a task costs no room
//! for a context it shares.
//!
//! ```
//! #[derive(Clone, Debug, PartialEq)]
//! struct RequestId(u32);
//!
//! async fn log_line(what: &str) -> String {
//!     let id = coro::context::get::<RequestId>().map(|id| id.0);
//!     format!("[request {id:?}] {what}")
//! }
//!
//! let lines = coro::run(coro::context::with(RequestId(7), coro::scope(async |s| {
//!     let child = s.spawn(log_line("from a child")); // children inherit the context
//!     vec![log_line("from the handler").await, child.await.unwrap()]
//! })));
//! assert_eq!(lines, ["[request Some(7)] from the handler", "[request Some(7)] from a child"]);
//! ```

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The values visible to a task, by type.
#[derive(Default)]
pub(crate) struct ContextMap {
    values: HashMap<TypeId, Rc<dyn Any>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<ContextMap>>> = const { RefCell::new(None) };
}

pub(crate) fn current() -> Option<Rc<ContextMap>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Is `map` the current context? Compares the maps' addresses, copies nothing.
#[inline]
pub(crate) fn is_current(map: &Option<Rc<ContextMap>>) -> bool {
    CURRENT.with(|c| match (&*c.borrow(), map) {
        (None, None) => true,
        (Some(current), Some(map)) => Rc::ptr_eq(current, map),
        _ => false,
    })
}

/// Runs `f` with `map` as the current context, restoring the previous one after,
/// even if `f` panics. Every poll of a child passes through here: the check is
/// kept inline, the switch out of line, so that the poll stays inlined around it.
#[inline(always)]
pub(crate) fn with_installed<R>(map: &Option<Rc<ContextMap>>, f: impl FnOnce() -> R) -> R {
    if is_current(map) {
        // The usual case: a child polled under the context it was spawned in.
        return f();
    }
    installed_for(map, f)
}

#[inline(never)]
fn installed_for<R>(map: &Option<Rc<ContextMap>>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Rc<ContextMap>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), map.clone()));
    let _restore = Restore(previous);
    f()
}

/// The value of type `T` in the current task's context, if one was set by [`with`]
/// here or in an ancestor task. Costs a thread-local read and a hash lookup.
///
/// ```
/// #[derive(Clone, Debug, PartialEq)]
/// struct RequestId(u32);
///
/// coro::run(coro::context::with(RequestId(7), async {
///     assert_eq!(coro::context::get::<RequestId>(), Some(RequestId(7)));
///     coro::scope(async |s| {
///         // Children inherit the context of the task that spawned them.
///         let child = s.spawn(async { coro::context::get::<RequestId>() });
///         assert_eq!(child.await.unwrap(), Some(RequestId(7)));
///     })
///     .await;
/// }));
/// assert_eq!(coro::context::get::<RequestId>(), None);
/// ```
pub fn get<T: Clone + 'static>() -> Option<T> {
    CURRENT.with(|c| {
        let map = c.borrow();
        map.as_ref()?
            .values
            .get(&TypeId::of::<T>())?
            .downcast_ref::<T>()
            .cloned()
    })
}

/// Runs `future` with `value` in its context (replacing a value of the same type);
/// tasks it spawns inherit it. Costs one copy of the context map, made once.
///
/// ```
/// coro::run(coro::context::with("tenant-a", async {
///     assert_eq!(coro::context::get::<&str>(), Some("tenant-a"));
/// }));
/// ```
pub fn with<T: 'static, F: Future>(value: T, future: F) -> WithContext<F> {
    let mut values = current().map(|map| map.values.clone()).unwrap_or_default();
    values.insert(TypeId::of::<T>(), Rc::new(value));
    WithContext {
        future,
        map: Some(Rc::new(ContextMap { values })),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`with`]: `future`, polled with one more context value.
    ///
    /// ```
    /// let scoped: coro::context::WithContext<_> = coro::context::with(1u8, async { coro::context::get::<u8>() });
    /// assert_eq!(coro::run(scoped), Some(1));
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct WithContext<F> {
        #[pin]
        future: F,
        map: Option<Rc<ContextMap>>,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        with_installed(this.map, || future.poll(cx))
    }
}
