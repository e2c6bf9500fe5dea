//! What a generator or coroutine says of itself in `Debug`, when its signature asks
//! for it (`-> impl Iterator<Item = u64> + Debug`): its function, and where its
//! body stands: `generator `fib` suspended at src/lib.rs:12:9`.
//!
//! Only a signature with `+ Debug` pays for it (a store of the `yield_!`'s place
//! per yield); an opaque return type hides `Debug` from everyone else, so no other
//! body builds the machinery.

use std::fmt;

use crate::debug::Site;

/// Where a body stands between two resumes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stage {
    NotStarted,
    /// At this `yield_!` (unknown for an item forwarded by `yield_from!`).
    Suspended(Option<&'static Site>),
    /// Left running: the body panicked, and resuming it panics again.
    Poisoned,
    Finished,
}

/// Writes `generator `fib` suspended at src/lib.rs:12:9`, for a body `named`
/// ``generator `fib` ``.
pub(crate) fn describe(f: &mut fmt::Formatter<'_>, named: &str, stage: Stage) -> fmt::Result {
    f.write_str(named)?;
    match stage {
        Stage::NotStarted => f.write_str(" not started"),
        Stage::Suspended(Some(site)) => {
            write!(
                f,
                " suspended at {}:{}:{}",
                site.file, site.line, site.column
            )
        }
        Stage::Suspended(None) => f.write_str(" suspended in a `yield_from!`"),
        Stage::Poisoned => f.write_str(" poisoned (it panicked)"),
        Stage::Finished => f.write_str(" finished"),
    }
}
