//! Between liveness and emit: a `yield_!` whose resume point does nothing before it
//! goes on to another state resumes at that state instead.
//!
//! The typical case is a `yield_!` at the end of a loop's body: its resume point only
//! closes the body's scopes and goes round to the loop head. As a state of its own it
//! would get an arm holding a second copy of the loop, which is code for rustc to
//! check and optimise and buys nothing: the resume would do what the loop head's own
//! arm does. So the `yield_!` stores the loop head's state directly.
//!
//! Only a loop head is resumed at this way. The skipped code must be a no-op: only scopes entered and closed, and, in a
//! generator, the unit resume value dropped. What it closes must drop nothing, which
//! holds when the state it reaches carries exactly what the resume point carries:
//! every binding that would be dropped on the way is carried into the resume point
//! (liveness keeps a binding with a destructor to the end of its scope) and so would
//! be missing from the state reached.

use crate::liveness::Liveness;
use crate::lower::{BlockId, Cfg, Stmt, Terminator};

/// Points each `yield_!` whose resume point is a no-op on the way to another state
/// at that state; says whether any moved (liveness must then be computed again).
pub fn resume_where_going(cfg: &mut Cfg, live: &Liveness, resume_is_unit: bool) -> bool {
    let mut moved = false;
    for block in live.order.clone() {
        let Terminator::Yield { next, .. } = cfg.blocks[block].term else {
            continue;
        };
        let target = farthest_no_op(cfg, live, next, resume_is_unit);
        if target != next {
            if let Terminator::Yield { next, .. } = &mut cfg.blocks[block].term {
                *next = target;
            }
            cfg.blocks[target].resumed = true;
            moved = true;
        }
    }
    moved
}

/// The farthest loop head reached from `from` through blocks that do nothing but go
/// on, carrying what `from` carries; `from` itself if there is none. Only a loop
/// head: it is a state anyway, while making a join a state would send the branches
/// that reach it without suspending through the dispatch.
fn farthest_no_op(cfg: &Cfg, live: &Liveness, from: BlockId, resume_is_unit: bool) -> BlockId {
    let mut reached = from;
    let mut at = from;
    let mut visited = vec![at];
    while does_nothing(cfg, at, resume_is_unit) {
        let Terminator::Goto(next) = cfg.blocks[at].term else {
            break;
        };
        if visited.contains(&next) || cfg.blocks[next].polls.is_some() {
            break;
        }
        visited.push(next);
        at = next;
        if live.has_back_edge(next) && live.live_in[next] == live.live_in[from] {
            reached = next;
        }
    }
    reached
}

/// Are `block`'s statements no-ops once nothing they close is carried? (The walk
/// never enters a block that polls.)
fn does_nothing(cfg: &Cfg, block: BlockId, resume_is_unit: bool) -> bool {
    cfg.blocks[block].stmts.iter().all(|stmt| match stmt {
        Stmt::Enter(_) | Stmt::Exit(_) => true,
        Stmt::Resume { into: None } => resume_is_unit,
        _ => false,
    })
}
