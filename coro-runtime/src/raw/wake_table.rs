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
use std::sync::{Arc, Mutex, Weak};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// A chunk's size and alignment. An entry's chunk is its address rounded down to
/// this, which is how a waker finds its table and index from the entry alone.
pub(super) const CHUNK_BYTES: usize = 64;
/// How many entries a chunk holds: what its header (a pointer and a `u32`) leaves.
const CHUNK: usize = CHUNK_BYTES - 12;

/// A run of entries, and what an entry needs to know of where it is. Chunks never
/// move, so a waker may point into one; and an entry is one byte, which keeps the
/// table at little more than a byte per child.
#[repr(C, align(64))]
struct Chunk {
    /// The table that holds this chunk (the first chunk is inside it).
    table: *const WakeTable,
    /// The position of `entries[0]`: the body is at position 0, child `i` at
    /// position `i + 1`.
    first: u32,
    entries: [WakeEntry; CHUNK],
}

const _: () = assert!(std::mem::size_of::<Chunk>() == CHUNK_BYTES);
const _: () = assert!(std::mem::align_of::<Chunk>() == CHUNK_BYTES);

impl Chunk {
    fn new(table: *const WakeTable, first: usize) -> Self {
        Chunk {
            table,
            first: u32::try_from(first).expect("a chunk's position fits a u32 (see `grow_to`)"),
            entries: std::array::from_fn(|_| WakeEntry {
                queued: AtomicBool::new(false),
            }),
        }
    }
}

/// The wake side of a scope (or of the executor's detached tasks): which children
/// are ready, and how to wake the owner. Shared, in an `Arc`, with every waker.
pub(crate) struct WakeTable {
    /// The body's entry and the first children's, in the table itself, so that a
    /// scope of a few dozen children allocates no chunk.
    inline: Chunk,
    owner_thread: u64,
    /// Touched only on the owner's thread (by [`OwnerSide`], and by wakes that
    /// checked `owner_thread`).
    local: RefCell<QueueAndOwner>,
    /// The chunks after `inline`. Touched only on the owner's thread, by
    /// [`OwnerSide`]; other threads reach entries through their wakers' pointers,
    /// never through this list. Boxed so that entries stay put when the list grows.
    #[allow(clippy::vec_box)]
    chunks: RefCell<Vec<Box<Chunk>>>,
    /// Wakes from other threads.
    remote: Mutex<QueueAndOwner>,
    remote_pending: AtomicBool,
}

#[derive(Default)]
struct QueueAndOwner {
    /// Packed indices (see [`unpack_index`]): four bytes per queued task, where the
    /// queue may hold every child at once.
    queue: Vec<u32>,
    owner: Option<Waker>,
    /// The owner is in its turn and looks at the queue before it returns
    /// (`OwnerSide::turning`): a wake from its thread need not wake it.
    turning: bool,
}

/// One child's (or the body's) place in the table: one byte. Which child it is
/// follows from its address (see [`locate`]).
struct WakeEntry {
    /// Queued and not yet polled: a second wake does nothing.
    queued: AtomicBool,
}

/// An entry, with its table and its packed index, as its address tells them.
struct Located<'a> {
    table: &'a WakeTable,
    entry: &'a WakeEntry,
    packed: u32,
}

/// The chunk the entry at `entry` sits in. Every entry lies inside its chunk,
/// which is `CHUNK_BYTES` long and aligned to `CHUNK_BYTES`: rounding the address
/// down lands on the chunk's start, within the provenance of a pointer made as
/// [`OwnerSide::entry`] makes them (from the whole chunk, not the entry alone).
fn chunk_of(entry: *const WakeEntry) -> *const Chunk {
    entry
        .map_addr(|addr| addr & !(CHUNK_BYTES - 1))
        .cast::<Chunk>()
}

/// The table the entry at `entry` belongs to.
///
/// # Safety
///
/// `entry` points to a live entry and carries the provenance of all of the chunk
/// it sits in, as [`OwnerSide::entry`] makes it.
unsafe fn table_of(entry: *const WakeEntry) -> *const WakeTable {
    // SAFETY: `chunk_of` gives the entry's live chunk (the caller's promise), whose
    // `table` was set when the chunk was made and never changes.
    unsafe { (*chunk_of(entry)).table }
}

/// The entry at `entry`, its table and its packed index.
///
/// # Safety
///
/// As for [`table_of`]; and the entry stays live for `'a`.
unsafe fn locate<'a>(entry: *const WakeEntry) -> Located<'a> {
    // SAFETY: the chunk is live (the caller's promise); its `first` and `table` never
    // change once it is made. The entry's offset from `entries[0]` is its place in
    // the chunk, so `first` plus that offset is its position. A live entry keeps its
    // table alive: the body's and the first children's are inside the table, the
    // others in chunks it owns.
    unsafe {
        let chunk = chunk_of(entry);
        let offset = entry.addr() - (&raw const (*chunk).entries).addr();
        let position = (*chunk).first + offset as u32;
        Located {
            table: &*(*chunk).table,
            entry: &*entry,
            packed: position.wrapping_sub(1),
        }
    }
}

// SAFETY: `WakeTable` is `!Sync` only for its `RefCell`s (`local`, `chunks`) and the
// raw pointers in its chunks. The `RefCell`s are touched on the owner's thread only:
// by `OwnerSide`, which is neither `Send` nor `Sync` and so stays on the thread
// that made it (`owner_thread`, an id never reused), and by wakes, which check
// `owner_thread` first. Dropping the table needs `&mut` and so excludes every
// other access. The chunks' `table` pointers are only read (each points at the
// table that holds the chunk, alive while any waker holds a count of it); `queued`
// is atomic.
unsafe impl Sync for WakeTable {}
// SAFETY: everything in the table is `Send` (`Vec<u32>`, `Waker`, atomics) but
// the chunks' pointers, which point at the table itself, wherever it is used from.
unsafe impl Send for WakeTable {}

/// The highest child index a table holds, with room for a chunk past it: positions
/// (index + 1) stay below `u32::MAX`, which packs the body.
const MAX_INDEX: usize = u32::MAX as usize - 2 * CHUNK;

/// Adds chunks to `chunks`, of the table at `table`, until it holds `count` of them.
#[cold]
#[inline(never)]
#[allow(clippy::vec_box)] // boxed so that entries stay put when the list grows
fn grow_to(chunks: &mut Vec<Box<Chunk>>, count: usize, table: *const WakeTable) {
    while chunks.len() < count {
        // The chunks after the table's own: the first of them holds position CHUNK.
        let first = (chunks.len() + 1) * CHUNK;
        chunks.push(Box::new(Chunk::new(table, first)));
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

/// The child (or [`crate::children::BODY`]) a packed index stands for.
pub(crate) fn unpack_index(packed: u32) -> usize {
    match packed {
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
    // SAFETY: the caller's promise; the entry is used only for this call.
    unsafe { locate(entry) }.wake();
}

impl Located<'_> {
    /// What [`wake_entry`] does.
    fn wake(&self) {
        let table = self.table;
        if current_thread() == table.owner_thread {
            self.wake_on_owner_thread();
        } else if !self.entry.queued.swap(true, Ordering::AcqRel) {
            let owner = {
                let mut remote = table.remote.lock().unwrap_or_else(|e| e.into_inner());
                remote.queue.push(self.packed);
                table.remote_pending.store(true, Ordering::Release);
                remote.owner.clone()
            };
            if crate::trace::on() {
                self.traced();
            }
            if let Some(owner) = owner {
                owner.wake();
            }
        }
    }

    /// [`wake`](Self::wake) on the thread that owns the table.
    #[inline]
    fn wake_on_owner_thread(&self) {
        // The owner clears `queued` on this thread too, so a load and a store
        // suffice. A remote wake racing this one may queue the child twice, which
        // costs a spurious poll, never a lost one.
        let queued = &self.entry.queued;
        if queued.load(Ordering::Relaxed) {
            return;
        }
        queued.store(true, Ordering::Relaxed);
        let table = self.table;
        let owner = {
            let mut local = table.local.borrow_mut();
            local.queue.push(self.packed);
            if local.turning {
                None
            } else {
                local.owner.take()
            }
        };
        if crate::trace::on() {
            self.traced();
        }
        if let Some(owner) = owner {
            Self::wake_owner(table, owner);
        }
    }

    /// Wakes the table's owner, out of its turn. Out of line, so that a wake
    /// during the owner's turn (two tasks passing messages), which only queues,
    /// stays a few instructions.
    #[inline(never)]
    fn wake_owner(table: &WakeTable, owner: Waker) {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || owner.wake_by_ref());
        table.local.borrow_mut().owner.get_or_insert(owner);
    }

    /// Tells the trace that this entry's task was queued (the body's wakes are its
    /// owner's, which the trace sees as the owner's own wake).
    #[cold]
    #[inline(never)]
    fn traced(&self) {
        if self.packed != u32::MAX {
            let table_key = std::ptr::from_ref(self.table) as usize;
            crate::trace::woken(
                self.table.owner_thread,
                (table_key, unpack_index(self.packed)),
            );
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
    // SAFETY: a waker with this vtable was made by `OwnerSide::waker`, `polling` or
    // `clone_waker`, so its data is a live `WakeEntry` (see the vtable functions);
    // the waker, borrowed for this call, keeps the entry's table alive.
    let located = unsafe { locate(waker.data().cast::<WakeEntry>()) };
    if current_thread() != located.table.owner_thread {
        return false;
    }
    located.wake_on_owner_thread();
    true
}

/// The vtable of every waker of coro's own. Its data pointer is an entry, which is
/// never at a multiple of [`CHUNK_BYTES`] (a chunk starts with its header).
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
        let table = Arc::new_cyclic(|table: &Weak<WakeTable>| {
            // The pointer is the one `Arc::as_ptr` gives once the table is made.
            let mut inline = Chunk::new(table.as_ptr(), 0);
            inline.entries[0].queued = AtomicBool::new(true);
            WakeTable {
                inline,
                owner_thread,
                local: RefCell::new(QueueAndOwner {
                    queue: vec![u32::MAX],
                    owner: None,
                    turning: false,
                }),
                chunks: RefCell::new(Vec::new()),
                remote: Mutex::new(QueueAndOwner::default()),
                remote_pending: AtomicBool::new(false),
            }
        });
        OwnerSide {
            table,
            _on_this_thread: PhantomData,
        }
    }

    /// The entry for `index` (or the body's), made if it is new. The pointer is
    /// derived from the whole table or chunk, not from the entry alone, so that
    /// [`table_of`] may step back from it to its chunk.
    fn entry(&self, index: usize) -> *const WakeEntry {
        // The body's index, `usize::MAX`, wraps to position 0.
        let position = index.wrapping_add(1);
        if position < CHUNK {
            // SAFETY: the table `self` holds is live; this only computes addresses,
            // from the `Arc`'s pointer to all of the table, within its first
            // chunk's `entries`.
            return unsafe {
                (&raw const (*Arc::as_ptr(&self.table)).inline.entries)
                    .cast::<WakeEntry>()
                    .add(position)
            };
        }
        self.chunked_entry(position)
    }

    /// [`entry`](Self::entry) past the table's own chunk.
    #[inline(never)]
    fn chunked_entry(&self, position: usize) -> *const WakeEntry {
        assert!(
            position <= MAX_INDEX + 1,
            "a scope holds at most 4 billion children at once"
        );
        let count = position / CHUNK;
        let mut chunks = self.table.chunks.borrow_mut();
        if chunks.len() < count {
            grow_to(&mut chunks, count, Arc::as_ptr(&self.table));
        }
        let chunk: *const Chunk = &*chunks[count - 1];
        // SAFETY: `chunk` points to a live boxed chunk, which stays put while the
        // list grows and lives as long as the table, and `position - count * CHUNK`
        // is within its `entries`.
        unsafe {
            (&raw const (*chunk).entries)
                .cast::<WakeEntry>()
                .add(position - count * CHUNK)
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
        // SAFETY: `entry` points into the table `self` keeps alive.
        let entry = unsafe { &*self.entry(index) };
        entry.queued.store(true, Ordering::Release);
        // In bounds: `entry` checked it.
        self.table.local.borrow_mut().queue.push(index as u32);
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
        let queued = &self.table.inline.entries[0].queued;
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

#[cfg(test)]
mod tests {
    //! Run under valgrind in CI (`cargo test -p coro-runtime --lib`): a waker that
    //! found the wrong chunk or table reads outside it there.

    use super::*;
    use crate::children::BODY;

    /// Indices on each side of the first chunk boundaries, and far ones.
    fn indices() -> Vec<usize> {
        let mut indices = vec![BODY, 0, 1, 7_000];
        for boundary in [CHUNK - 1, 2 * CHUNK - 1, 3 * CHUNK - 1] {
            indices.extend([boundary - 1, boundary, boundary + 1]);
        }
        indices
    }

    fn assert_no_waker_left(side: &OwnerSide) {
        let counts = Arc::strong_count(&side.table);
        assert_eq!(counts, 1, "every waker gave its count back");
    }

    fn drained(side: &OwnerSide) -> Vec<usize> {
        let mut batch = Vec::new();
        side.take_ready(&mut batch);
        batch.into_iter().map(unpack_index).collect()
    }

    #[test]
    fn each_waker_queues_its_own_index_on_either_side_of_a_chunk() {
        let side = OwnerSide::new();
        assert_eq!(drained(&side), [BODY], "a new table has its body queued");
        side.unqueue_body();
        for index in indices() {
            let waker = side.waker(index);
            assert_ne!(
                waker.data().addr() % CHUNK_BYTES,
                0,
                "an entry is never at a chunk's start"
            );
            assert!(!side.is_queued(index));
            // A clone, woken and so dropped, then the waker itself by reference.
            let clone = waker.clone();
            clone.wake();
            waker.wake_by_ref();
            assert!(side.is_queued(index));
            assert_eq!(drained(&side), [index], "queued once, as itself");
            side.polling(index, |_| ());
            assert!(!side.is_queued(index));
        }
        assert_no_waker_left(&side);
    }

    #[test]
    fn wakes_from_another_thread_find_each_index() {
        let side = OwnerSide::new();
        side.unqueue_body();
        drained(&side);
        let indices = indices();
        let wakers: Vec<Waker> = indices.iter().map(|&index| side.waker(index)).collect();
        std::thread::spawn(move || {
            for waker in wakers {
                waker.wake();
            }
        })
        .join()
        .unwrap();
        let mut woken = drained(&side);
        woken.sort_unstable();
        let mut expected = indices.clone();
        expected.sort_unstable();
        assert_eq!(woken, expected);
        assert_no_waker_left(&side);
    }

    #[test]
    fn a_waker_outliving_its_owner_keeps_the_chunks_alive() {
        let side = OwnerSide::new();
        let far = side.waker(3 * CHUNK);
        let near = side.waker(2);
        drop(side);
        far.wake_by_ref();
        drop(far);
        near.wake();
    }
}
