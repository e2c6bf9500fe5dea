//! Where a coroutine stopped: the `&'static` sites the expansion builds, and the
//! thread-local they gather on while a task is polled, innermost first (when a
//! future returns `Pending`, and while a panic unwinds through an `.await`).

use std::cell::{Cell, RefCell};
use std::fmt;

/// A suspension point, built by the `#[coro::coroutine]` expansion: the function
/// and where in it (an `.await`).
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    /// The function's name.
    pub function: &'static str,
    /// Its file, line and column.
    pub file: &'static str,
    #[allow(missing_docs)]
    pub line: u32,
    #[allow(missing_docs)]
    pub column: u32,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` at {}:{}:{}",
            self.function, self.file, self.line, self.column
        )
    }
}

thread_local! {
    /// The sites the task being polled stopped at in this poll, innermost first.
    pub(super) static BACKTRACE: RefCell<Vec<&'static Site>> = const { RefCell::new(Vec::new()) };
    /// Whether a task is being polled here, and so whether sites are wanted.
    pub(super) static RECORDING: Cell<bool> = const { Cell::new(false) };
    /// `BACKTRACE`'s length, readable without a borrow.
    pub(super) static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Where the sites of the task being polled start in `BACKTRACE`.
    pub(super) static BASE: Cell<usize> = const { Cell::new(0) };
}

thread_local! {
    /// The payload of the last panic a note was written for (by address: a scope
    /// re-raises the same box, through every task above the one it began in).
    pub(super) static NOTED: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Is this the first time a task's poll ends with this panic (rather than a scope
/// below re-raising it)? Remembers it.
pub(crate) fn first_note_of(payload: &(dyn std::any::Any + Send)) -> bool {
    let address = payload as *const (dyn std::any::Any + Send) as *const ();
    NOTED
        .try_with(|noted| noted.replace(address) != address)
        .unwrap_or(false)
}

/// The sites the task being polled has pushed in this poll: after a panic, the
/// `.await`s it unwound through, innermost first.
pub(crate) fn unwound() -> Vec<&'static Site> {
    let base = BASE.get();
    BACKTRACE
        .try_with(|backtrace| backtrace.borrow().get(base..).unwrap_or_default().to_vec())
        .unwrap_or_default()
}

/// A coroutine's future returned `Pending` at `site`: the first thing the task's
/// async backtrace gets, if a task is being polled, then each frame around it.
#[doc(hidden)]
#[inline]
pub fn suspended_at(site: &'static Site) {
    if RECORDING.get() {
        BACKTRACE.with_borrow_mut(|backtrace| backtrace.push(site));
        DEPTH.set(DEPTH.get() + 1);
    }
}

pin_project_lite::pin_project! {
    /// An `.await`ed future in a pinned coroutine, which says where it was awaited
    /// when it returns `Pending`. `S` is a `fn` item that gives the site: no room taken.
    #[doc(hidden)]
    pub struct Sited<F, S> {
        #[pin]
        future: F,
        site: S,
    }
}

/// `future`, to be awaited at `site`.
#[doc(hidden)]
#[inline(always)]
pub fn sited<F: std::future::IntoFuture, S: Fn() -> &'static Site>(
    future: F,
    site: S,
) -> Sited<F::IntoFuture, S> {
    Sited {
        future: future.into_future(),
        site,
    }
}

impl<F: std::future::Future, S: Fn() -> &'static Site> std::future::Future for Sited<F, S> {
    type Output = F::Output;

    #[inline]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        poll_at(this.future, cx, this.site)
    }
}

/// Polls `future`, awaited at `site`: on `Pending`, and while a panic unwinds
/// through the poll (so that the task's `JoinError` says where it panicked), the
/// site joins the task's async backtrace. What the compact machine's awaits call.
#[doc(hidden)]
#[inline(always)]
pub fn poll_at<F: std::future::Future + ?Sized, S: Fn() -> &'static Site>(
    future: std::pin::Pin<&mut F>,
    cx: &mut std::task::Context<'_>,
    site: &S,
) -> std::task::Poll<F::Output> {
    at_site(site, || future.poll(cx))
}

/// [`poll_at`] for a stream an async generator forwards with `yield_from!`.
#[doc(hidden)]
#[inline(always)]
pub fn poll_next_at<St: futures_core::Stream + ?Sized, S: Fn() -> &'static Site>(
    stream: std::pin::Pin<&mut St>,
    cx: &mut std::task::Context<'_>,
    site: &S,
) -> std::task::Poll<Option<St::Item>> {
    at_site(site, || stream.poll_next(cx))
}

#[inline(always)]
fn at_site<T, S: Fn() -> &'static Site>(
    site: &S,
    poll: impl FnOnce() -> std::task::Poll<T>,
) -> std::task::Poll<T> {
    let unwinding = Unwinding(site);
    let polled = poll();
    std::mem::forget(unwinding);
    if polled.is_pending() {
        suspended_at(site());
    }
    polled
}

/// Records the site while a panic unwinds through an `.await`: dropped only then,
/// forgotten otherwise, so it costs nothing on the way that does not panic.
struct Unwinding<'a, S: Fn() -> &'static Site>(&'a S);

impl<S: Fn() -> &'static Site> Drop for Unwinding<'_, S> {
    fn drop(&mut self) {
        suspended_at((self.0)());
    }
}
