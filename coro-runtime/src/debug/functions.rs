//! The pinned functions whose bodies have started, known by the span of their
//! bodies. A pinned body's `.await` records only its place (the wrapper's poll is
//! `#[track_caller]`); when the frame is shown it is named after the innermost
//! function here whose body holds that place.
//!
//! A body registers itself each time it starts, so the common case is a body
//! this thread has seen lately: a small cache per thread, keyed by the address
//! of the place `#[track_caller]` gives for the body's `{`, answers that with a
//! shift, a load and a compare (no destructor, so no check that the thread's
//! storage is alive). Behind it a set per thread holds every body the thread
//! has seen, and only a body new to the thread takes the lock of the list the
//! whole process shares. (A `static` flag per function would answer with a
//! load alone, but a `static` is an item of its own for rustc to check, evaluate
//! and emit: in a crate of small `async fn`s it costs rustc most of what leaving
//! the site out of the wrapper's type saves.)

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::sync::{Mutex, PoisonError};

/// A function's name and the places of its body's `{` and last token.
struct Function {
    name: &'static str,
    file: &'static str,
    start: (u32, u32),
    end: (u32, u32),
}

impl Function {
    fn holds(&self, file: &str, place: (u32, u32)) -> bool {
        self.file == file && self.start <= place && place <= self.end
    }

    /// How far its body reaches, to find the innermost of two that hold a place.
    fn extent(&self) -> (u32, u32) {
        (
            self.end.0 - self.start.0,
            self.end.1.wrapping_sub(self.start.1),
        )
    }
}

/// Every function whose body has started, in the order they first did.
static FUNCTIONS: Mutex<Vec<Function>> = Mutex::new(Vec::new());

/// How many bodies a thread's cache holds (a power of two).
const CACHED: usize = 64;

thread_local! {
    /// Bodies this thread has seen start lately, by the address of their `{`'s
    /// place, each in the slot its address picks.
    static CACHE: [Cell<usize>; CACHED] = const { [const { Cell::new(0) }; CACHED] };
    /// Every body this thread has seen start.
    static SEEN: RefCell<SeenTable> = const { RefCell::new(SeenTable::new()) };
}

/// A pinned body that awaits starts; `name` is its function's, `end` the place
/// of its last token (from [`here`]), and the caller's place is its `{`.
#[doc(hidden)]
#[track_caller]
#[inline(always)]
pub fn body_starts(name: &'static str, end: &'static Location<'static>) {
    let start = Location::caller();
    let key = std::ptr::from_ref(start) as usize;
    let slot = cache_slot(key);
    if CACHE.with(|cache| cache[slot].get()) != key {
        not_cached(name, start, end);
    }
}

/// The cache slot of a place's address: places are 8-aligned, and the places of
/// one crate lie side by side.
#[inline(always)]
fn cache_slot(key: usize) -> usize {
    (key >> 3) % CACHED
}

#[cold]
#[inline(never)]
fn not_cached(
    name: &'static str,
    start: &'static Location<'static>,
    end: &'static Location<'static>,
) {
    let key = std::ptr::from_ref(start) as usize;
    CACHE.with(|cache| cache[cache_slot(key)].set(key));
    let new_here = SEEN
        .try_with(|seen| seen.borrow_mut().insert(key))
        .unwrap_or(false);
    if new_here {
        register(name, start, end);
    }
}

/// The caller's place: the last token of a body, for [`body_starts`].
#[doc(hidden)]
#[track_caller]
#[inline(always)]
pub fn here() -> &'static Location<'static> {
    Location::caller()
}

#[cold]
#[inline(never)]
fn register(name: &'static str, start: &Location<'static>, end: &Location<'static>) {
    let function = Function {
        name,
        file: start.file(),
        start: (start.line(), start.column()),
        end: (end.line(), end.column()),
    };
    let mut functions = FUNCTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    // Seen first on another thread, or its place has a second address (a
    // constant copied into two codegen units).
    let known = functions.iter().any(|known| {
        (known.name, known.file, known.start) == (function.name, function.file, function.start)
    });
    if !known {
        functions.push(function);
    }
}

/// The name of the innermost function whose body holds `at`. (Functions that
/// one macro invocation generates share their places: the first of them to have
/// started is named.)
pub(super) fn named_at(at: &Location<'_>) -> Option<&'static str> {
    named_in(at.file(), (at.line(), at.column()))
}

/// [`named_at`], by file, line and column.
fn named_in(file: &str, place: (u32, u32)) -> Option<&'static str> {
    let functions = FUNCTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    // The first of equal extents, as `min_by_key` keeps.
    functions
        .iter()
        .filter(|function| function.holds(file, place))
        .min_by_key(|function| function.extent())
        .map(|function| function.name)
}

/// A set of addresses, open addressing with linear probing; 0 is an empty slot.
/// Kept at most half full, so a probe ends soon.
struct SeenTable {
    slots: Vec<usize>,
    len: usize,
}

impl SeenTable {
    const fn new() -> Self {
        SeenTable {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// Adds `key`; whether it was not there yet.
    fn insert(&mut self, key: usize) -> bool {
        if self.slots.is_empty() {
            return self.insert_slow(key);
        }
        let mask = self.slots.len() - 1;
        let mut index = Self::hash(key) & mask;
        loop {
            match self.slots[index] {
                slot if slot == key => return false,
                0 => return self.insert_slow(key),
                _ => index = (index + 1) & mask,
            }
        }
    }

    fn hash(key: usize) -> usize {
        // Fibonacci hashing: the high bits of the product, where every bit of
        // the address has been mixed in.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize)).rotate_left(32)
    }

    #[cold]
    #[inline(never)]
    fn insert_slow(&mut self, key: usize) -> bool {
        if (self.len + 1) * 2 > self.slots.len() {
            let grown = vec![0; (self.slots.len() * 2).max(16)];
            let old = std::mem::replace(&mut self.slots, grown);
            self.len = 0;
            for key in old.into_iter().filter(|&key| key != 0) {
                self.place(key);
            }
        }
        self.place(key);
        true
    }

    fn place(&mut self, key: usize) {
        let mask = self.slots.len() - 1;
        let mut index = Self::hash(key) & mask;
        while self.slots[index] != 0 {
            index = (index + 1) & mask;
        }
        self.slots[index] = key;
        self.len += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seen_table_holds_each_address_once_through_its_growth() {
        let mut seen = SeenTable::new();
        let keys: Vec<usize> = (1..=1000).map(|i| i * 8).collect();
        for &key in &keys {
            assert!(seen.insert(key), "{key} is new");
        }
        for &key in &keys {
            assert!(!seen.insert(key), "{key} was seen");
        }
        assert_eq!(seen.len, keys.len());
        assert!(seen.len * 2 <= seen.slots.len());
    }

    #[test]
    fn a_place_is_named_after_the_innermost_body_that_holds_it() {
        let file = "tests/a_file_of_nested_functions.rs";
        let function = |name, start, end| Function {
            name,
            file,
            start,
            end,
        };
        FUNCTIONS.lock().unwrap().extend([
            function("outer", (10, 40), (30, 1)),
            function("inner", (12, 30), (14, 5)),
            function("one_line", (20, 20), (20, 60)),
        ]);
        assert_eq!(named_in(file, (13, 9)), Some("inner"));
        assert_eq!(named_in(file, (11, 9)), Some("outer"));
        assert_eq!(named_in(file, (15, 1)), Some("outer"));
        assert_eq!(named_in(file, (20, 30)), Some("one_line"));
        assert_eq!(named_in(file, (20, 10)), Some("outer"));
        assert_eq!(named_in(file, (31, 1)), None);
        assert_eq!(named_in("tests/another_file.rs", (13, 9)), None);
    }
}
