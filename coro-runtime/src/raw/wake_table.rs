//! The wake side of a scope: which of its children are ready, and how to wake the
//! scope's owner. A child's waker is a pointer to the child's entry in its scope's
//! table, which counts as one reference to the table, so a waker costs no
//! allocation of its own.
//!
//! A wake on the owner's thread queues the child in a plain `Vec` (no lock, no
//! read-modify-write, no allocation); a wake from another thread goes through a
//! mutex, and the owner drains that queue only when a flag says it holds something.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// How many entries a chunk of the table holds; chunks never move, so a waker may
/// point into one.
const CHUNK: usize = 32;

/// A run of entries and the table they belong to. An entry finds its table
/// through the chunk it sits in ([`table_of`]) rather than holding a pointer of its
/// own: that keeps an entry at one word, eight bytes less per child.
struct Chunk {
    table: *const WakeTable,
    entries: [WakeEntry; CHUNK],
}

/// The wake side of a scope (or of the executor's detached tasks): which children
/// are ready, and how to wake the owner. Shared, in an `Arc`, with every waker.
pub(crate) struct WakeTable {
    owner_thread: u64,
    /// Touched only on the owner's thread (by [`OwnerSide`], and by wakes that
    /// checked `owner_thread`).
    local: RefCell<QueueAndOwner>,
    /// Touched only on the owner's thread, by [`OwnerSide`]; other threads reach
    /// entries through their wakers' pointers, never through this list. Boxed so
    /// that entries stay put when the list grows.
    #[allow(clippy::vec_box)]
    chunks: RefCell<Vec<Box<Chunk>>>,
    /// Wakes from other threads.
    remote: Mutex<QueueAndOwner>,
    remote_pending: AtomicBool,
    body: WakeEntry,
}

#[derive(Default)]
struct QueueAndOwner {
    /// Entries' `index` fields: four bytes per queued task, where the queue may
    /// hold every child at once.
    queue: Vec<u32>,
    owner: Option<Waker>,
    /// The owner is in its turn and looks at the queue before it returns
    /// (`OwnerSide::turning`): a wake from its thread need not wake it.
    turning: bool,
}

/// One child's (or the body's) place in the table.
struct WakeEntry {
    /// Which child: `u32::MAX` for the body. `u32` keeps an entry at one word;
    /// [`OwnerSide::entry`] checks the bound.
    index: u32,
    /// Queued and not yet polled: a second wake does nothing.
    queued: AtomicBool,
}

/// The table the entry at `entry` belongs to: the table that holds it (the body's
/// entry), or the one its chunk names.
///
/// # Safety
///
/// `entry` points to a live entry and carries the provenance of all of the table
/// or chunk it sits in, as [`OwnerSide::entry`] makes them (a pointer derived from
/// a reference to the entry alone may not reach outside it).
unsafe fn table_of(entry: *const WakeEntry) -> *const WakeTable {
    // SAFETY: `entry` is live (the caller's promise), so its `index` may be read.
    // The body's entry is the `body` field of its table, so stepping back by that
    // field's offset stays inside the table and lands on its start. Any other entry
    // with index `i` is element `i % CHUNK` of its chunk's `entries`, so stepping
    // back by that many elements and then by the offset of `entries` stays inside
    // the chunk and lands on its start, whose `table` was set when it was made and
    // never changes. The caller's provenance covers both walks.
    unsafe {
        let index = (*entry).index;
        if index == u32::MAX {
            entry
                .byte_sub(std::mem::offset_of!(WakeTable, body))
                .cast::<WakeTable>()
        } else {
            let chunk = entry
                .sub(index as usize % CHUNK)
                .byte_sub(std::mem::offset_of!(Chunk, entries))
                .cast::<Chunk>();
            (*chunk).table
        }
    }
}

// SAFETY: `WakeTable` is `!Sync` only for its `RefCell`s (`local`, `chunks`) and the
// raw pointers in its chunks. The `RefCell`s are touched on the owner's thread only:
// by `OwnerSide`, which is neither `Send` nor `Sync` and so stays on the thread
// that made it (`owner_thread`, an id never reused), and by `wake_entry`, which
// checks `owner_thread` first. Dropping the table needs `&mut` and so excludes every
// other access. The chunks' `table` pointers are only read (each points at the
// table that owns the chunk, alive while any waker holds a count of it); `queued`
// is atomic.
unsafe impl Sync for WakeTable {}
// SAFETY: everything in the table is `Send` (`Vec<u32>`, `Waker`, atomics) but
// the chunks' pointers, which point at the table itself, wherever it is used from.
unsafe impl Send for WakeTable {}

/// Adds chunks to `chunks`, of the table at `table`, until one holds `index`.
#[cold]
#[inline(never)]
#[allow(clippy::vec_box)] // boxed so that entries stay put when the list grows
fn grow_to(chunks: &mut Vec<Box<Chunk>>, index: usize, table: *const WakeTable) {
    assert!(
        index < u32::MAX as usize - CHUNK,
        "a scope holds at most 4 billion children at once"
    );
    while chunks.len() <= index / CHUNK {
        let first = chunks.len() * CHUNK;
        chunks.push(Box::new(Chunk {
            table,
            entries: std::array::from_fn(|i| WakeEntry {
                index: (first + i) as u32,
                queued: AtomicBool::new(false),
            }),
        }));
    }
}

/// A per-thread id, never reused (unlike a thread-local's address), never 0.
/// Every wake asks for it: a constant-initialised cell, so a read is one load
/// and a branch, with no lazy-initialisation state (and no destructor, so it can
/// be read while the thread exits).
pub(crate) fn current_thread() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static ID: Cell<u64> = const { Cell::new(0) };
    }
    ID.with(|id| match id.get() {
        0 => {
            let new = NEXT.fetch_add(1, Ordering::Relaxed);
            id.set(new);
            new
        }
        known => known,
    })
}

/// Left on the stack before a wake climbs to the owner; below it, a new segment is
/// allocated (a wake climbs the tree of scopes, as deep as it is).
const STACK_RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// The child (or [`crate::children::BODY`]) an entry's `index` field stands for.
pub(crate) fn unpack_index(index: u32) -> usize {
    match index {
        u32::MAX => crate::children::BODY,
        index => index as usize,
    }
}

/// Queues the entry at `entry` and wakes its owner if that is needed.
///
/// # Safety
///
/// As for [`table_of`].
unsafe fn wake_entry(entry: *const WakeEntry) {
    // SAFETY: the caller's promise; an entry lives inside its table (the body's in
    // it, the others in chunks it owns), so the table is alive while the entry is.
    let (table, entry) = unsafe { (&*table_of(entry), &*entry) };
    entry.wake(table);
}

impl WakeEntry {
    fn index(&self) -> usize {
        unpack_index(self.index)
    }

    /// What [`wake_entry`] does, given the entry's table.
    fn wake(&self, table: &WakeTable) {
        if current_thread() == table.owner_thread {
            self.wake_on_owner_thread(table);
        } else if !self.queued.swap(true, Ordering::AcqRel) {
            let owner = {
                let mut remote = table.remote.lock().unwrap_or_else(|e| e.into_inner());
                remote.queue.push(self.index);
                table.remote_pending.store(true, Ordering::Release);
                remote.owner.clone()
            };
            if crate::trace::on() {
                self.traced(table);
            }
            if let Some(owner) = owner {
                owner.wake();
            }
        }
    }

    /// [`wake`](Self::wake) on the thread that owns `table`.
    #[inline]
    fn wake_on_owner_thread(&self, table: &WakeTable) {
        // The owner clears `queued` on this thread too, so a load and a store
        // suffice. A remote wake racing this one may queue the child twice, which
        // costs a spurious poll, never a lost one.
        if self.queued.load(Ordering::Relaxed) {
            return;
        }
        self.queued.store(true, Ordering::Relaxed);
        let owner = {
            let mut local = table.local.borrow_mut();
            local.queue.push(self.index);
            if local.turning {
                None
            } else {
                local.owner.take()
            }
        };
        if crate::trace::on() {
            self.traced(table);
        }
        if let Some(owner) = owner {
            stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || owner.wake_by_ref());
            table.local.borrow_mut().owner.get_or_insert(owner);
        }
    }

    /// Tells the trace that this entry's task was queued (the body's wakes are its
    /// owner's, which the trace sees as the owner's own wake).
    #[cold]
    #[inline(never)]
    fn traced(&self, table: &WakeTable) {
        if self.index != u32::MAX {
            let table_key = std::ptr::from_ref(table) as usize;
            crate::trace::woken(table.owner_thread, (table_key, self.index()));
        }
    }
}

/// Wakes `waker` if that only queues a task of this thread's executor (it is one of
/// coro's wakers, for a table this thread owns), and says whether it did. Such a
/// wake takes no lock and runs none of its caller's code, so a channel may do it
/// while holding its own lock, and keep the waker for the task's next wait; any
/// other waker is left for the caller to wake once it has let go.
pub(crate) fn wake_in_place(waker: &Waker) -> bool {
    if !std::ptr::eq(waker.vtable(), &VTABLE) {
        return false;
    }
    let entry = waker.data().cast::<WakeEntry>();
    // SAFETY: a waker with this vtable was made by `OwnerSide::waker`, `polling` or
    // `clone_waker`, so its data is a live `WakeEntry` (see the vtable functions);
    // the waker, borrowed for this call, keeps the entry's table alive.
    let (table, entry) = unsafe { (&*table_of(entry), &*entry) };
    if current_thread() != table.owner_thread {
        return false;
    }
    entry.wake_on_owner_thread(table);
    true
}

pub(super) static VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake, wake_by_ref, drop_waker);

// The four functions below are only ever called with a `data` pointer made by
// `OwnerSide::waker` or `OwnerSide::polling` from `OwnerSide::entry`: a
// `*const WakeEntry` with the provenance `table_of` needs, whose table is kept alive
// by one strong count the waker owns (or, for `polling`, by the `OwnerSide` for the
// duration of the call).

unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live entry (see above); the clone takes a count of its own.
    unsafe {
        Arc::increment_strong_count(table_of(data.cast::<WakeEntry>()));
    }
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: the waker's own count keeps the entry alive through the wake, and is
    // given up after it, as `wake` consumes the waker.
    unsafe {
        wake_by_ref(data);
        drop_waker(data);
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: `data` is a live entry (see above).
    unsafe { wake_entry(data.cast::<WakeEntry>()) }
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker owns one count of the entry's table; the table pointer is
    // read before the count is given up, which may free the table and the entry.
    unsafe {
        let table = table_of(data.cast::<WakeEntry>());
        Arc::decrement_strong_count(table);
    }
}

/// An owner's turn (see [`OwnerSide::turning`]); ends when dropped, also while
/// unwinding.
pub(crate) struct Turning<'a> {
    side: &'a OwnerSide,
    was: bool,
}

impl Drop for Turning<'_> {
    fn drop(&mut self) {
        self.side.table.local.borrow_mut().turning = self.was;
    }
}

/// The owner's end of a [`WakeTable`]: makes wakers and drains the queues. Neither
/// `Send` nor `Sync`: it stays on the thread that made it, which is what lets it
/// touch the table's thread-local half.
pub(crate) struct OwnerSide {
    table: Arc<WakeTable>,
    _on_this_thread: PhantomData<*const ()>,
}

impl OwnerSide {
    /// A table with the body queued, owned by this thread.
    pub(crate) fn new() -> Self {
        let owner_thread = current_thread();
        let table = Arc::new(WakeTable {
            owner_thread,
            local: RefCell::new(QueueAndOwner {
                queue: vec![u32::MAX],
                owner: None,
                turning: false,
            }),
            chunks: RefCell::new(Vec::new()),
            remote: Mutex::new(QueueAndOwner::default()),
            remote_pending: AtomicBool::new(false),
            body: WakeEntry {
                index: u32::MAX,
                queued: AtomicBool::new(true),
            },
        });
        OwnerSide {
            table,
            _on_this_thread: PhantomData,
        }
    }

    /// The entry for `index` (or the body's), made if it is new. The pointer is
    /// derived from the whole table or chunk, not from the entry alone, so that
    /// [`table_of`] may step back from it to the table.
    fn entry(&self, index: usize) -> *const WakeEntry {
        let table = Arc::as_ptr(&self.table);
        if index == crate::children::BODY {
            // SAFETY: `table` points to the live table `self` holds; this only
            // computes a field's address.
            return unsafe { &raw const (*table).body };
        }
        let mut chunks = self.table.chunks.borrow_mut();
        if chunks.len() <= index / CHUNK {
            grow_to(&mut chunks, index, table);
        }
        let chunk: *const Chunk = &*chunks[index / CHUNK];
        // SAFETY: `chunk` points to a live chunk (boxed, so it stays put while the
        // list grows; the table owns it until the table is dropped), and
        // `index % CHUNK` is within its `entries`.
        unsafe {
            (&raw const (*chunk).entries)
                .cast::<WakeEntry>()
                .add(index % CHUNK)
        }
    }

    /// A waker for the child at `index` (or the body): one count of the table, no
    /// allocation.
    pub(crate) fn waker(&self, index: usize) -> Waker {
        let entry = self.entry(index);
        std::mem::forget(self.table.clone());
        // SAFETY: `entry` is in the table (`entry` made it), and the count just taken
        // is the waker's own, which `drop_waker` gives back: the vtable's contract
        // holds.
        unsafe { Waker::from_raw(RawWaker::new(entry.cast(), &VTABLE)) }
    }

    /// The trace's name for the task at `index`.
    pub(crate) fn key(&self, index: usize) -> crate::trace::TaskKey {
        (Arc::as_ptr(&self.table) as usize, index)
    }

    /// Queues a newly spawned child at `index` without waking the owner (a child is
    /// only spawned while its owner runs, which looks at the queue before it
    /// returns).
    pub(crate) fn queue_new(&self, index: usize) {
        let entry = self.entry(index);
        // SAFETY: `entry` points into the table `self` keeps alive.
        // SAFETY: as above.
        let entry = unsafe { &*entry };
        entry.queued.store(true, Ordering::Release);
        self.table.local.borrow_mut().queue.push(entry.index);
    }

    /// Wakes the child at `index` as its waker would, from this (the owner's)
    /// thread: what a cancel request through a handle does, with no waker kept.
    pub(crate) fn wake(&self, index: usize) {
        // SAFETY: `entry` made the pointer, into the table `self` keeps alive.
        unsafe { wake_entry(self.entry(index)) };
    }

    /// Marks `index` as polled from now on (a wake queues it again), then runs `f`
    /// with a waker for it that takes no count: the `OwnerSide` keeps the table
    /// alive meanwhile, and clones `f` makes take their own.
    #[inline]
    pub(crate) fn polling<R>(&self, index: usize, f: impl FnOnce(&Waker) -> R) -> R {
        let entry = self.entry(index);
        // SAFETY: `entry` points into the table `self` keeps alive.
        unsafe { &*entry }.queued.store(false, Ordering::Release);
        // SAFETY: as in `waker`, but with no count to give back: `ManuallyDrop`
        // keeps `drop_waker` from running for this one, and `self.table` outlives
        // the call.
        let waker =
            ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(entry.cast(), &VTABLE)) });
        f(&waker)
    }

    /// Has `index` (or the body) been woken and not polled since?
    pub(crate) fn is_queued(&self, index: usize) -> bool {
        // SAFETY: `entry` points into the table `self` keeps alive.
        unsafe { &*self.entry(index) }
            .queued
            .load(Ordering::Acquire)
    }

    /// Marks the body as polled from now on, for its owner to poll it with its own
    /// waker; `false` if it was not woken since (a queued index that a
    /// [`take_woken_body`](Self::take_woken_body) already answered).
    pub(crate) fn unqueue_body(&self) -> bool {
        let queued = &self.table.body.queued;
        // A load and a store, as on the owner's thread in `WakeEntry::wake`: a
        // remote wake in between finds the flag set and queues nothing, and its
        // progress is seen by the poll that follows.
        if !queued.load(Ordering::Acquire) {
            return false;
        }
        queued.store(false, Ordering::Release);
        true
    }

    /// Whether the body was woken since it was last polled; if so it is marked as
    /// polled, and its index taken off the end of the queue when it is there (a
    /// wake elsewhere in the queue, or in the remote one, stays and is skipped
    /// later by [`unqueue_body`](Self::unqueue_body)). For the owner to poll the
    /// body in the same round as the children that woke it.
    pub(crate) fn take_woken_body(&self) -> bool {
        if !self.unqueue_body() {
            return false;
        }
        let mut local = self.table.local.borrow_mut();
        if local.queue.last() == Some(&u32::MAX) {
            local.queue.pop();
        }
        true
    }

    pub(crate) fn has_ready(&self) -> bool {
        !self.table.local.borrow().queue.is_empty()
            || self.table.remote_pending.load(Ordering::Acquire)
    }

    /// Moves the queued indices into `batch` (emptied first), packed: see
    /// [`unpack_index`].
    pub(crate) fn take_ready(&self, batch: &mut Vec<u32>) {
        batch.clear();
        std::mem::swap(batch, &mut self.table.local.borrow_mut().queue);
        if self.table.remote_pending.load(Ordering::Acquire) {
            let mut remote = self.table.remote.lock().unwrap_or_else(|e| e.into_inner());
            self.table.remote_pending.store(false, Ordering::Relaxed);
            batch.append(&mut remote.queue);
        }
    }

    /// Marks the owner as in its turn until the guard is dropped: the owner looks at
    /// the queue before its turn ends (and wakes itself if it leaves work there), so
    /// a wake from this thread meanwhile only queues, without waking the owner's
    /// owner.
    pub(crate) fn turning(&self) -> Turning<'_> {
        let was = std::mem::replace(&mut self.table.local.borrow_mut().turning, true);
        Turning { side: self, was }
    }

    /// Is the owner in its turn (see [`turning`](Self::turning))?
    #[cfg(test)]
    pub(crate) fn is_turning(&self) -> bool {
        self.table.local.borrow().turning
    }

    /// Remembers the owner's waker, for children woken from now on.
    pub(crate) fn set_owner(&self, waker: &Waker) {
        let mut local = self.table.local.borrow_mut();
        if local
            .owner
            .as_ref()
            .is_some_and(|owner| owner.will_wake(waker))
        {
            return;
        }
        local.owner = Some(waker.clone());
        drop(local);
        self.table
            .remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .owner = Some(waker.clone());
    }
}
