//! Where a coroutine stopped: the frames of a task's async backtrace, and the
//! thread-local they gather on while a task is polled, innermost first (when a
//! future returns `Pending`, and while a panic unwinds through an `.await`).
//!
//! A `select!` and a `yield_!` name a `&'static Site` the expansion builds. An
//! `.await` carries nothing: in a pinned body the wrapper around each awaited
//! future, in a compact one the call that polls it, takes its place from
//! `#[track_caller]`, and the name is found when the frame is shown, from the
//! functions whose bodies have started (`functions`). A site in the wrapper's type (a `fn`
//! item per `.await`) would cost rustc a copy of the wrapper per `.await`, a
//! third of what an `async fn` of one `.await` takes to build; a site stored in
//! the wrapper would make every awaited future a word larger than rustc's.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::Location;

/// A suspension point, built by the `#[coro::coroutine]` expansion: the function
/// and where in it (an `.await`, a `yield_!`, a `select!`).
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

/// One frame of a task's async backtrace: where a coroutine stopped.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Frame {
    /// A suspension point the expansion named.
    Site(&'static Site),
    /// An `.await` (or a `yield_from!` of a stream), by its place alone.
    Await(&'static Location<'static>),
}

impl Frame {
    /// The file it is in.
    pub(crate) fn file(&self) -> &'static str {
        match self {
            Frame::Site(site) => site.file,
            Frame::Await(at) => at.file(),
        }
    }

    /// The line it is on.
    pub(crate) fn line(&self) -> u32 {
        match self {
            Frame::Site(site) => site.line,
            Frame::Await(at) => at.line(),
        }
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Frame::Site(site) => site.fmt(f),
            Frame::Await(at) => match super::functions::named_at(at) {
                Some(name) => write!(f, "`{name}` at {at}"),
                None => write!(f, "an `.await` at {at}"),
            },
        }
    }
}

/// Frames a poll's stack holds in place; a deeper chain of `.await`s spills the
/// rest into a vector.
const INLINE_FRAMES: usize = 16;

/// The frames the task being polled has stopped at in this poll, innermost
/// first, above those of the tasks polling it, and what says whether anyone
/// wants them. Nothing in it needs dropping, so a thread reaches it at an offset
/// from its thread pointer, with no check that it was set up or is being torn
/// down. A `RefCell<Vec<Frame>>` here paid two such checks and a borrow on every
/// `Pending` of a coroutine in a task: this stack took 27 instructions off each
/// (callgrind, 10^6 pending awaits in a task: 660 against 633 per await).
pub(super) struct Stopped {
    /// Whether a task is being polled here, and so whether frames are wanted.
    pub(super) recording: Cell<bool>,
    /// How many frames the stack holds.
    pub(super) depth: Cell<usize>,
    /// Where the frames of the task being polled start.
    pub(super) base: Cell<usize>,
    frames: [Cell<Option<Frame>>; INLINE_FRAMES],
}

thread_local! {
    pub(super) static STOPPED: Stopped = const {
        Stopped {
            recording: Cell::new(false),
            depth: Cell::new(0),
            base: Cell::new(0),
            frames: [const { Cell::new(None) }; INLINE_FRAMES],
        }
    };
    /// The frames above the first `INLINE_FRAMES`.
    static SPILLED: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

impl Stopped {
    #[inline]
    fn push(&self, frame: Frame) {
        let depth = self.depth.get();
        match self.frames.get(depth) {
            Some(slot) => {
                slot.set(Some(frame));
                self.depth.set(depth + 1);
            }
            // Nothing of the caller's is needed after the call, so the poll
            // around it need not keep registers for it.
            None => self.spill(frame),
        }
    }

    #[cold]
    #[inline(never)]
    fn spill(&self, frame: Frame) {
        let depth = self.depth.get();
        let _ = SPILLED.try_with(|spilled| {
            let mut spilled = spilled.borrow_mut();
            spilled.truncate(depth - INLINE_FRAMES);
            spilled.push(frame);
        });
        self.depth.set(depth + 1);
    }

    /// Appends the frames from `from` up to the top to `into`, innermost first.
    #[inline]
    pub(super) fn copy_into(&self, from: usize, into: &mut Vec<Frame>) {
        let depth = self.depth.get();
        if depth > INLINE_FRAMES {
            return self.copy_spilled_into(from, into);
        }
        for slot in self.frames.get(from..depth).unwrap_or_default() {
            if let Some(frame) = slot.get() {
                into.push(frame);
            }
        }
    }

    #[cold]
    fn copy_spilled_into(&self, from: usize, into: &mut Vec<Frame>) {
        let inline = self.frames.get(from..).unwrap_or_default();
        into.extend(inline.iter().filter_map(Cell::get));
        let _ = SPILLED.try_with(|spilled| {
            let spilled = spilled.borrow();
            let depth = self.depth.get() - INLINE_FRAMES;
            let from = from.saturating_sub(INLINE_FRAMES);
            into.extend_from_slice(spilled.get(from..depth).unwrap_or_default());
        });
    }

    /// Takes the frames from `to` up off the stack (a spilled frame stays until
    /// a push overwrites it).
    pub(super) fn truncate(&self, to: usize) {
        self.depth.set(to.min(self.depth.get()));
    }
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
pub(crate) fn unwound() -> Vec<Frame> {
    let mut frames = Vec::new();
    STOPPED.with(|stopped| stopped.copy_into(stopped.base.get(), &mut frames));
    frames
}

/// A coroutine's future returned `Pending` at `site`: the first thing the task's
/// async backtrace gets, if a task is being polled, then each frame around it.
#[doc(hidden)]
#[inline]
pub fn suspended_at(site: &'static Site) {
    stopped_at(Frame::Site(site));
}

#[inline]
fn stopped_at(frame: Frame) {
    STOPPED.with(|stopped| {
        if stopped.recording.get() {
            stopped.push(frame);
        }
    });
}

/// An `.await`ed value in a pinned coroutine, as the expansion writes it:
/// `(Sited { future }).await`. A struct literal, not a call: a call is a
/// terminator and an unwind edge in the body's MIR, which rustc borrow-checks and
/// lays out per `.await` (on 500 one-await bodies, a tenth of a million
/// instructions each). The bound is on the struct so that the first error for
/// awaiting what is not a future is rustc's own "is not a future", at the
/// user's expression (without it the only error names this type).
#[doc(hidden)]
pub struct Sited<F: std::future::IntoFuture> {
    /// What is awaited.
    pub future: F,
}

impl<F: std::future::IntoFuture> std::future::IntoFuture for Sited<F> {
    type Output = F::Output;
    type IntoFuture = SitedFuture<F::IntoFuture>;

    #[inline(always)]
    fn into_future(self) -> SitedFuture<F::IntoFuture> {
        SitedFuture {
            future: self.future.into_future(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future a [`Sited`] is awaited as, which says where it was awaited
    /// when it returns `Pending`: its poll is `#[track_caller]`, and the `.await`
    /// is what calls it. No room taken, and one type per awaited future's type.
    #[doc(hidden)]
    pub struct SitedFuture<F> {
        #[pin]
        future: F,
    }
}

impl<F: std::future::Future> std::future::Future for SitedFuture<F> {
    type Output = F::Output;

    #[inline]
    #[track_caller]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let at = Frame::Await(Location::caller());
        let future = self.project().future;
        at_frame(at, || future.poll(cx))
    }
}

/// Polls `future`, awaited where this is called (`#[track_caller]`: the
/// expansion spans the call at the `.await`): on `Pending`, and while a panic
/// unwinds through the poll (so that the task's `JoinError` says where it
/// panicked), that place joins the task's async backtrace. What the compact
/// machine's awaits call.
#[doc(hidden)]
#[inline(always)]
#[track_caller]
pub fn poll_at<F: std::future::Future + ?Sized>(
    future: std::pin::Pin<&mut F>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<F::Output> {
    at_frame(Frame::Await(Location::caller()), || future.poll(cx))
}

/// [`poll_at`] for a stream an async generator forwards with `yield_from!`.
#[doc(hidden)]
#[inline(always)]
#[track_caller]
pub fn poll_next_at<St: futures_core::Stream + ?Sized>(
    stream: std::pin::Pin<&mut St>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<Option<St::Item>> {
    at_frame(Frame::Await(Location::caller()), || stream.poll_next(cx))
}

#[inline(always)]
fn at_frame<T>(frame: Frame, poll: impl FnOnce() -> std::task::Poll<T>) -> std::task::Poll<T> {
    let unwinding = Unwinding(frame);
    let polled = poll();
    std::mem::forget(unwinding);
    if polled.is_pending() {
        stopped_at(frame);
        // A constant, not `polled`: nothing need be kept across the call above.
        return std::task::Poll::Pending;
    }
    polled
}

/// Records the frame while a panic unwinds through an `.await`: dropped only
/// then, forgotten otherwise, so it costs nothing on the way that does not panic.
struct Unwinding(Frame);

impl Drop for Unwinding {
    fn drop(&mut self) {
        stopped_at(self.0);
    }
}
