//! A task in one allocation: its header, then its future, which gives way to its
//! outcome, reached through thin pointers that count themselves.
//!
//! Built by hand rather than as an `Rc<dyn Trait>` for room. A trait object's
//! pointer is two words, and every slab slot holds one; `Rc` keeps two counts
//! where one suffices (nothing is weak); and an `enum` of the future, the value,
//! the error and "taken" needs a word of tag for a future that has no niche to
//! spare. Here the pointer is one word, the count and the stage's tag are bytes
//! in the header's spare room, and the stage is a `union`: per idle task that is
//! 26 bytes less than the `Rc<dyn Trait>` it replaces.
//!
//! Three kinds of reference reach a cell, and each holds one count:
//!
//! - [`OwnedTask`], the owner's (a scope's slab slot, or the executor's). Only it
//!   polls and cancels, and its `Drop` drops the future: no future outlives its
//!   owner, which is what lets a future borrow from its scope.
//! - [`Polling`], a second reference the owner polls through while its slab is not
//!   borrowed. If the owner's reference goes while the future runs, the future is
//!   dropped when the poll is over, still inside the owner.
//! - [`TaskView`], the handle's. It may outlive the borrows the future held: it
//!   reaches only the header and the stage's outcome, never the future.
//!
//! The last count to go frees the cell, with the drop code its vtable carries.

use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::task::{Failure, Header, JoinError};

// The stage's tag and the cell's flags, in the header's `state` byte.
const STAGE: u8 = 0b0011;
const RUNNING: u8 = 0;
const DONE: u8 = 1;
const FAILED: u8 = 2;
const TAKEN: u8 = 3;
/// The owner's reference is gone; whoever still polls drops the future after.
const UNOWNED: u8 = 0b0100;

/// What the cell keeps in its task's header: the stage's tag, its borrow flag,
/// and the count of references. Three bytes, in room the header's other fields
/// leave over.
pub(crate) struct CellState {
    /// The stage's tag, and `UNOWNED`.
    state: Cell<u8>,
    /// The stage is borrowed: being polled, replaced or read further up this
    /// stack. A byte of its own, as the poll sets and clears it each time.
    borrowed: Cell<bool>,
    /// Three at most: the owner's, a poll's, the handle's.
    refs: Cell<u8>,
}

impl CellState {
    pub(crate) fn new() -> Self {
        CellState {
            state: Cell::new(RUNNING),
            borrowed: Cell::new(false),
            refs: Cell::new(0),
        }
    }

    #[inline]
    fn has(&self, flag: u8) -> bool {
        self.state.get() & flag != 0
    }

    #[inline]
    fn set(&self, flag: u8) {
        self.state.set(self.state.get() | flag);
    }

    #[inline]
    fn stage(&self) -> u8 {
        self.state.get() & STAGE
    }

    #[inline]
    fn set_stage(&self, stage: u8) {
        self.state.set(self.state.get() & !STAGE | stage);
    }

    /// The future is still there, or may be (its stage is borrowed).
    #[inline]
    pub(crate) fn is_running(&self) -> bool {
        self.borrowed.get() || self.stage() == RUNNING
    }

    #[inline]
    fn acquire(&self) {
        let refs = self.refs.get().checked_add(1);
        self.refs
            .set(refs.expect("a task cell has three references at most, never 255"));
    }
}

/// What a poll of a task tells its owner: still running, or done (with a
/// failure the owner must act on).
type Polled = Poll<Result<(), Failure>>;

/// How the owner and the handle reach a cell's code without knowing its types.
struct TaskVTable {
    poll: unsafe fn(NonNull<Head>, &mut Context<'_>) -> Polled,
    cancel: unsafe fn(NonNull<Head>) -> Result<(), Failure>,
    /// Writes the outcome into the `MaybeUninit<Outcome<T>>` it is given, for the
    /// cell's `T`.
    take_outcome: unsafe fn(NonNull<Head>, NonNull<()>),
    free: unsafe fn(NonNull<Head>),
}

/// What every cell starts with, whatever its types: what thin pointers point at.
struct Head {
    vtable: &'static TaskVTable,
    header: Header,
}

/// The task's one allocation. `repr(C)` puts the head first, so a pointer to the
/// cell is a pointer to its head and back.
#[repr(C)]
struct TaskCell<F, T, D> {
    head: Head,
    deliver: D,
    /// Which field is live is the header's stage tag; the future is pinned here.
    stage: UnsafeCell<StageData<F, T>>,
}

/// The future and what it leaves never coexist, so they share the room.
union StageData<F, T> {
    future: ManuallyDrop<F>,
    value: ManuallyDrop<T>,
    error: ManuallyDrop<JoinError>,
}

/// How a task's output becomes its handle's value; `None` means the output is a
/// failure its owner must handle (a `try_scope` child's `Err`, already stored in its
/// scope). `Copy`, so it has no destructor for a handle that outlives the scope
/// to run: in practice a function item, which takes no room.
pub(crate) trait Deliver<O, T>: Fn(O) -> Option<T> + Copy {}

impl<O, T, D: Fn(O) -> Option<T> + Copy> Deliver<O, T> for D {}

/// The state of a task as its handle sees it.
pub(crate) enum Outcome<T> {
    Running,
    Ready(Result<T, JoinError>),
    /// Taken before.
    Gone,
}

/// Puts `future` in a task of its own: one allocation for the future, its outcome and
/// its header.
pub(crate) fn new_task<'env, F, T, D>(
    future: F,
    header: Header,
    deliver: D,
) -> (OwnedTask<'env>, TaskView<T>)
where
    F: Future + 'env,
    T: 'env,
    D: Deliver<F::Output, T> + 'env,
{
    let cell = Box::new(TaskCell {
        head: Head {
            vtable: &TaskVTable {
                poll: TaskCell::<F, T, D>::poll,
                cancel: TaskCell::<F, T, D>::cancel,
                take_outcome: TaskCell::<F, T, D>::take_outcome,
                free: TaskCell::<F, T, D>::free,
            },
            header,
        },
        deliver,
        stage: UnsafeCell::new(StageData::<F, T> {
            future: ManuallyDrop::new(future),
        }),
    });
    cell.head.header.cell.refs.set(2);
    let head = NonNull::from(Box::leak(cell)).cast::<Head>();
    (
        OwnedTask {
            head,
            _env: PhantomData,
        },
        TaskView {
            head,
            _output: PhantomData,
        },
    )
}

/// A borrow of a cell's stage, one at a time, as the `borrowed` flag keeps it.
struct StageMut<'a, F, T> {
    data: &'a UnsafeCell<StageData<F, T>>,
    state: &'a CellState,
}

impl<F, T> Drop for StageMut<'_, F, T> {
    fn drop(&mut self) {
        self.state.borrowed.set(false);
    }
}

impl<F, T> StageMut<'_, F, T> {
    /// The future, pinned, if it is still there.
    fn future(&mut self) -> Option<Pin<&mut F>> {
        if self.state.stage() != RUNNING {
            return None;
        }
        // SAFETY: the tag says the future is the live field. This borrow is the
        // only one of the stage (`TaskCell::stage` hands out one at a time), so the
        // `&mut` is unique for as long as `self` is borrowed. The future is pinned:
        // it sits in the cell's allocation, which never moves (it is only ever
        // reached through pointers and freed in place), and it leaves the stage only
        // by being dropped there (`drop_future`, `free`), never moved out.
        Some(unsafe { Pin::new_unchecked(&mut *(*self.data.get()).future) })
    }

    /// Drops the future in place if it is still there. The tag says `Taken` before
    /// the future's destructor runs, so a destructor that panics leaves a stage
    /// with no future (its fields were dropped all the same, as unwinding does).
    fn drop_future(&mut self) {
        if self.state.stage() != RUNNING {
            return;
        }
        self.state.set_stage(TAKEN);
        // SAFETY: the tag said the future was live, and nothing else borrows the
        // stage (see `future`); it is dropped in place, as pinning requires, and
        // the tag no longer names it, so it is never touched again.
        unsafe { ManuallyDrop::drop(&mut (*self.data.get()).future) };
    }

    /// Takes the outcome out, if there is one, leaving `Taken`.
    fn take(&mut self) -> Outcome<T> {
        let stage = self.state.stage();
        if stage == RUNNING {
            return Outcome::Running;
        }
        self.state.set_stage(TAKEN);
        // SAFETY: the tag named the live field, which is read out once: the tag
        // now says `Taken`, so it is neither read nor dropped again.
        unsafe {
            let data = &mut *self.data.get();
            match stage {
                DONE => Outcome::Ready(Ok(ManuallyDrop::take(&mut data.value))),
                FAILED => Outcome::Ready(Err(ManuallyDrop::take(&mut data.error))),
                _ => Outcome::Gone,
            }
        }
    }

    /// Stores the outcome, where the stage holds no future and no outcome.
    fn settle(&mut self, outcome: Result<T, JoinError>) {
        debug_assert_eq!(self.state.stage(), TAKEN);
        // SAFETY: the tag says no field is live, so writing one drops nothing
        // (`ManuallyDrop` fields are written without dropping what was there);
        // the tag then names it.
        unsafe {
            let data = &mut *self.data.get();
            match outcome {
                Ok(value) => {
                    data.value = ManuallyDrop::new(value);
                    self.state.set_stage(DONE);
                }
                Err(error) => {
                    data.error = ManuallyDrop::new(error);
                    self.state.set_stage(FAILED);
                }
            }
        }
    }
}

impl<F, T, D> TaskCell<F, T, D> {
    /// The cell `head` is the head of.
    ///
    /// # Safety
    ///
    /// `head` came from [`new_task`] for this `F`, `T` and `D` (the vtable that
    /// calls this was made there with them), and a count is held for as long as
    /// the reference is used.
    unsafe fn from_head<'a>(head: NonNull<Head>) -> &'a Self {
        // SAFETY: the head is the first field of a `repr(C)` cell, and `head` was
        // made from a pointer to the whole cell (`new_task`), so casting back
        // gives the cell, with provenance over all of it. A held count keeps it
        // alive; the cell is only ever shared (every field that changes is a
        // `Cell` or `UnsafeCell`), except in `free`, when no count is left.
        unsafe { head.cast::<Self>().as_ref() }
    }

    fn header(&self) -> &Header {
        &self.head.header
    }

    /// The stage, unless it is borrowed already (the task is being polled, or its
    /// stage replaced or read, further up this stack).
    fn stage(&self) -> Option<StageMut<'_, F, T>> {
        let state = &self.header().cell;
        if state.borrowed.replace(true) {
            return None;
        }
        Some(StageMut {
            data: &self.stage,
            state,
        })
    }

    /// Drops the future in place, if it is still there and not borrowed. A
    /// destructor that panics is reported.
    fn drop_future(&self) -> Result<(), Failure> {
        let Some(mut stage) = self.stage() else {
            // Being polled or dropped further up this stack, which will finish it.
            return Ok(());
        };
        if stage.future().is_none() {
            return Ok(());
        }
        catch_unwind(AssertUnwindSafe(|| stage.drop_future())).map_err(Failure::Panic)
    }

    /// Stores the outcome for the handle and wakes whoever awaits it.
    fn finish(&self, outcome: Result<T, JoinError>) {
        if let Some(mut stage) = self.stage() {
            stage.settle(outcome);
        }
        if let Some(joiner) = self.header().take_joiner() {
            joiner.wake();
        }
    }

    /// A panic of the task (`payload`) or of its destructor, by the task's policy.
    fn panicked(&self, payload: Box<dyn std::any::Any + Send>) -> Result<(), Failure> {
        let header = self.header();
        if header.supervised() {
            let error = JoinError::panic(payload).with_backtrace(crate::debug::unwound());
            self.finish(Err(header.failed(error)));
            Ok(())
        } else {
            self.finish(Err(header.failed(JoinError::cancelled())));
            Err(Failure::Panic(payload))
        }
    }
}

impl<F, T, D> TaskCell<F, T, D>
where
    F: Future,
    D: Deliver<F::Output, T>,
{
    /// # Safety
    ///
    /// As for [`from_head`](Self::from_head); only the owner calls it.
    unsafe fn poll(head: NonNull<Head>, cx: &mut Context<'_>) -> Polled {
        // SAFETY: the vtable's contract (see `from_head`).
        let this = unsafe { Self::from_head(head) };
        let polled = catch_unwind(AssertUnwindSafe(|| {
            let mut stage = this
                .stage()
                .expect("a task is never polled from inside its own poll");
            let Some(future) = stage.future() else {
                return Poll::Ready(None);
            };
            let output = std::task::ready!(future.poll(cx));
            // Finished: the future goes now, in place, as it would in an `async`
            // block.
            stage.drop_future();
            Poll::Ready(Some(output))
        }));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(None)) => Poll::Ready(Ok(())),
            Ok(Poll::Ready(Some(output))) => match (this.deliver)(output) {
                Some(value) => {
                    this.finish(Ok(value));
                    Poll::Ready(Ok(()))
                }
                None => {
                    this.finish(Err(this.header().failed(JoinError::cancelled())));
                    Poll::Ready(Err(Failure::Error))
                }
            },
            Err(payload) => {
                // A destructor's panic while the poisoned future goes is dropped:
                // the first panic is the one reported.
                let _ = this.drop_future();
                Poll::Ready(this.panicked(payload))
            }
        }
    }

    /// # Safety
    ///
    /// As for [`from_head`](Self::from_head); only the owner calls it.
    unsafe fn cancel(head: NonNull<Head>) -> Result<(), Failure> {
        // SAFETY: the vtable's contract (see `from_head`).
        let this = unsafe { Self::from_head(head) };
        let state = &this.header().cell;
        if state.borrowed.get() {
            // Being polled or dropped further up this stack, which will finish
            // it; whoever awaits it looks again then.
            if let Some(joiner) = this.header().take_joiner() {
                joiner.wake();
            }
            return Ok(());
        }
        if state.stage() != RUNNING {
            // Finished already: the outcome stays.
            return Ok(());
        }
        match this.drop_future() {
            Ok(()) => {
                this.finish(Err(this.header().failed(JoinError::cancelled())));
                Ok(())
            }
            Err(Failure::Panic(payload)) => this.panicked(payload),
            Err(Failure::Error) => Ok(()),
        }
    }

    /// # Safety
    ///
    /// As for [`from_head`](Self::from_head), and `out` points to a
    /// `MaybeUninit<Outcome<T>>` for this cell's `T`.
    unsafe fn take_outcome(head: NonNull<Head>, out: NonNull<()>) {
        // SAFETY: the vtable's contract (see `from_head`).
        let this = unsafe { Self::from_head(head) };
        let outcome = match this.stage() {
            Some(mut stage) => stage.take(),
            // The task is awaiting its own handle, or being dropped.
            None => Outcome::Running,
        };
        // SAFETY: the caller's promise: `out` is a `MaybeUninit<Outcome<T>>`.
        unsafe {
            out.cast::<MaybeUninit<Outcome<T>>>()
                .as_mut()
                .write(outcome)
        };
    }

    /// Drops the cell and frees it.
    ///
    /// # Safety
    ///
    /// As for [`from_head`](Self::from_head), and no count is left: nothing
    /// reaches the cell again.
    unsafe fn free(head: NonNull<Head>) {
        // SAFETY: `head` points to the cell `new_task` leaked from a `Box` of this
        // type (see `from_head`), and with no count left nothing else refers to it,
        // so the `Box` may take it back. It is dropped where it is: the stage's
        // live field first (below), then the rest by the `Box`.
        let mut cell = unsafe { Box::from_raw(head.cast::<Self>().as_ptr()) };
        let stage = cell.head.header.cell.stage();
        let data = cell.stage.get_mut();
        // SAFETY: the tag names the live field, dropped once; the rest of the
        // stage is `ManuallyDrop`, which the `Box`'s drop leaves alone. The
        // future is dropped in place. (It is never still there in fact: the
        // owner's reference drops it before giving up its count.)
        unsafe {
            match stage {
                RUNNING => ManuallyDrop::drop(&mut data.future),
                DONE => ManuallyDrop::drop(&mut data.value),
                FAILED => ManuallyDrop::drop(&mut data.error),
                _ => {}
            }
        }
    }
}

/// Gives up one count of the cell at `head`, freeing it with the last.
///
/// # Safety
///
/// The caller held that count, and does not use `head` after.
#[inline]
unsafe fn release(head: NonNull<Head>) {
    // SAFETY: the count the caller held keeps the head alive until it is given up.
    let (refs, free) = unsafe {
        let head = head.as_ref();
        (&head.header.cell.refs, head.vtable.free)
    };
    let left = refs.get() - 1;
    refs.set(left);
    if left == 0 {
        // SAFETY: that was the last count, and `free` is the vtable's own, for
        // the cell's types.
        unsafe { free(head) };
    }
}

/// The header of the cell at `head`, for as long as `'a` holds a count.
///
/// # Safety
///
/// A count is held for all of `'a`.
#[inline]
unsafe fn header<'a>(head: NonNull<Head>) -> &'a Header {
    // SAFETY: the caller's count keeps the head alive for `'a`; it is only shared.
    unsafe { &(*head.as_ptr()).header }
}

/// The owner's reference to a task. Dropping it drops the future (if it still ran)
/// before anything the future borrows can go away: `OwnedTask<'env>` cannot outlive
/// `'env`, and a leaked one keeps the allocation, future included, leaked with it.
pub(crate) struct OwnedTask<'env> {
    head: NonNull<Head>,
    /// The future borrows for `'env`; `NonNull` keeps this `!Send` and `!Sync`.
    _env: PhantomData<&'env ()>,
}

impl<'env> OwnedTask<'env> {
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: `self` holds a count while the header is borrowed from it.
        unsafe { header(self.head) }
    }

    /// Tells the handle, then drops the future (the owner installs the task's
    /// context around it, as around its polls). A panic while dropping is the
    /// handle's in a supervised task and the owner's failure otherwise, as a panic
    /// while running would be; it never unwinds into the owner.
    pub(crate) fn cancel(self) -> Result<(), Failure> {
        // SAFETY: `self` holds a count, and the vtable is the cell's own.
        unsafe { (self.head.as_ref().vtable.cancel)(self.head) }
    }

    /// A second reference to poll through while the owner's slab is not borrowed.
    #[inline]
    pub(crate) fn polling(&self) -> Polling<'env> {
        self.header().cell.acquire();
        Polling {
            head: self.head,
            _env: PhantomData,
        }
    }
}

impl Drop for OwnedTask<'_> {
    #[inline]
    fn drop(&mut self) {
        let head = self.head;
        let state = &self.header().cell;
        state.set(UNOWNED);
        let running = state.is_running();
        // SAFETY: `self` holds a count, which it gives up last; the vtable is the
        // cell's own. A future still there (its owner let go of it without
        // cancelling it) is cancelled now, within `'env`; if it is being polled,
        // the poll's `Polling` does that when the poll is over. A panic while
        // dropping it has no owner left to fail: the handle of a supervised task
        // reports it, and it is lost otherwise.
        unsafe {
            if running {
                let _ = (head.as_ref().vtable.cancel)(head);
            }
            release(head);
        }
    }
}

/// A second reference to a task, to poll it with while its owner's slab is not
/// borrowed. Dropping it drops nothing the owner still holds.
pub(crate) struct Polling<'env> {
    head: NonNull<Head>,
    _env: PhantomData<&'env ()>,
}

impl Polling<'_> {
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: `self` holds a count while the header is borrowed from it.
        unsafe { header(self.head) }
    }

    #[inline]
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Polled {
        // SAFETY: `self` holds a count, and the vtable is the cell's own.
        unsafe { (self.head.as_ref().vtable.poll)(self.head, cx) }
    }
}

impl Drop for Polling<'_> {
    #[inline]
    fn drop(&mut self) {
        let head = self.head;
        let state = &self.header().cell;
        let abandoned = state.has(UNOWNED) && state.is_running();
        // SAFETY: `self` holds a count, which it gives up last. If the owner's
        // reference went during the poll (and found the stage borrowed), the
        // future goes now, still within `'env`, as in `OwnedTask`'s drop.
        unsafe {
            if abandoned {
                let _ = (head.as_ref().vtable.cancel)(head);
            }
            release(head);
        }
    }
}

/// The handle's reference to a task: free to outlive `'env`, since all it reaches is
/// the header and the outcome (a `T`, whose own lifetime the handle's type carries,
/// or a `JoinError`). The one value of `'env` in the cell, the future, is gone by
/// the end of `'env`: the owner's [`OwnedTask`] drops it within `'env`, or it is
/// leaked, and its count keeps the cell, future and all, from ever being freed.
pub(crate) struct TaskView<T> {
    head: NonNull<Head>,
    /// Dropping the last reference may drop a `T`.
    _output: PhantomData<T>,
}

impl<T> TaskView<T> {
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: `self` holds a count while the header is borrowed from it.
        unsafe { header(self.head) }
    }

    /// The outcome, once there is one, taken out of the task.
    pub(crate) fn take_outcome(&self) -> Outcome<T> {
        let mut out = MaybeUninit::<Outcome<T>>::uninit();
        // SAFETY: `self` holds a count; the vtable is the cell's own, made by
        // `new_task` for the same `T` as this view's, so `out` has the type its
        // `take_outcome` writes, and it has written it when the call returns.
        unsafe {
            (self.head.as_ref().vtable.take_outcome)(self.head, NonNull::from(&mut out).cast());
            out.assume_init()
        }
    }

    #[inline]
    pub(crate) fn is_running(&self) -> bool {
        self.header().cell.is_running()
    }
}

impl<T> Drop for TaskView<T> {
    fn drop(&mut self) {
        // SAFETY: `self` holds a count, given up here and never used after.
        unsafe { release(self.head) }
    }
}

#[cfg(test)]
mod tests {
    //! The paths no scope takes today, and which keep the cell sound if one ever
    //! does: an owner that lets go of a task without cancelling it, before or
    //! during its poll.

    use super::*;
    use std::cell::RefCell;
    use std::panic::Location;
    use std::rc::Rc;
    use std::task::Waker;

    fn header() -> Header {
        Header::new(Location::caller(), false, 0)
    }

    /// Counts the drops of the future it is part of.
    struct Counted(Rc<Cell<u32>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    fn value(output: u32) -> Option<u32> {
        Some(output)
    }

    #[test]
    fn an_owner_that_lets_go_of_a_running_task_cancels_it() {
        let drops = Rc::new(Cell::new(0));
        let counted = Counted(drops.clone());
        let future = async move {
            let _counted = counted;
            std::future::pending::<u32>().await
        };
        let (owned, view) = new_task(future, header(), value);
        drop(owned);
        assert_eq!(drops.get(), 1, "the future went with its owner");
        assert!(!view.is_running());
        match view.take_outcome() {
            Outcome::Ready(Err(error)) => assert!(error.is_cancelled()),
            _ => panic!("the handle sees the task cancelled"),
        }
    }

    #[test]
    fn an_owner_that_lets_go_during_the_poll_has_the_future_dropped_after_it() {
        thread_local! {
            static OWNER: RefCell<Option<OwnedTask<'static>>> = const { RefCell::new(None) };
        }
        let drops = Rc::new(Cell::new(0));
        let counted = Counted(drops.clone());
        let seen = drops.clone();
        let future = std::future::poll_fn(move |_| {
            let _keep = &counted;
            // The owner's reference goes while this poll runs; the future stays
            // until the poll is over.
            OWNER.with(|owner| drop(owner.borrow_mut().take()));
            assert_eq!(seen.get(), 0, "a future is not dropped inside its own poll");
            Poll::<u32>::Pending
        });
        let (owned, view) = new_task(future, header(), value);
        let polling = owned.polling();
        OWNER.with(|owner| *owner.borrow_mut() = Some(owned));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(polling.poll(&mut cx).is_pending());
        assert_eq!(drops.get(), 0);
        drop(polling);
        assert_eq!(drops.get(), 1, "the future went when the poll was over");
        match view.take_outcome() {
            Outcome::Ready(Err(error)) => assert!(error.is_cancelled()),
            _ => panic!("the handle sees the task cancelled"),
        }
        drop(view);
    }

    #[test]
    fn the_cell_fits_in_what_the_header_leaves_over() {
        // A header of three words (the joiner's waker in one, the spawn site, and
        // a word of index, flags and the cell's state), the vtable, and a stage the
        // size of a boxed error for a future of size zero. The context is the
        // owner's.
        assert_eq!(std::mem::size_of::<Header>(), 24);
        assert_eq!(
            std::mem::size_of::<TaskCell<std::future::Pending<()>, (), fn(()) -> Option<()>>>(),
            // `fn` pointers take a word; the function items spawns use take none.
            48
        );
        assert_eq!(std::mem::size_of::<Option<OwnedTask<'static>>>(), 8);
    }
}
