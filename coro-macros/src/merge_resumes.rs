//! Between liveness and emit, after `shortcut`: a `yield_!` whose resume point,
//! on its way round a loop, only starts the loop body's bindings afresh with
//! literals does that before it suspends, and resumes where another `yield_!` that
//! goes round the same loop resumes. The two then share one state.
//!
//! The typical case is a parser fed one byte per resume:
//!
//! ```text
//! loop {
//!     let mut length = 0;
//!     while byte != b'\n' {
//!         length += 1;
//!         byte = yield_!(None);
//!     }
//!     byte = yield_!(Some(length));
//! }
//! ```
//!
//! Both `yield_!`s resume by storing the resume argument in `byte` and going to the
//! `while` head; the second also ends the body's turn and starts the next turn's
//! `length` at 0 on its way. As two states, every resume first tells them apart. As
//! one, with the second `yield_!` storing `length` as 0, the machine is the one a
//! person would write, which LLVM keeps in registers: that parser takes less than
//! half the instructions per byte it took with two states.
//!
//! What moves before the suspension must not be seen to move: only `let`s of
//! literals (nothing runs, nothing is read), and the scope the resume point leaves
//! and enters again must hold nothing with a destructor then, so ending it later
//! drops nothing. The yielded value is computed before them, into a temporary, as
//! it was.

use crate::liveness::Liveness;
use crate::lower::{Binding, BlockId, BorrowKind, Cfg, ScopeId, Stmt, Terminator};
use crate::scan::{BindingId, Event};
use proc_macro2::Span;
use quote::format_ident;

/// What a resume point does with the resume argument.
#[derive(PartialEq, Clone, Copy)]
enum Takes {
    /// Drops it (a generator's `()`, or a `yield_!` used as a statement).
    Nothing,
    /// Assigns it to this binding: `byte = yield_!(..)`.
    Into(BindingId),
}

/// The way from a resume point to the loop head it goes round to.
#[derive(Clone)]
struct Path {
    takes: Takes,
    head: BlockId,
    /// Scopes left on the way, in order.
    left: Vec<ScopeId>,
    /// Scopes entered on the way, in order.
    entered: Vec<ScopeId>,
    /// The `let`s of literals on the way, in order.
    fresh: Vec<Stmt>,
}

/// What [`merge_one`] changed, to put back if the graph it leaves does not hold up
/// (liveness finds an error there that it did not find before): the merge is only
/// ever an improvement.
pub struct Merged {
    block: BlockId,
    stmts: usize,
    value: syn::Expr,
    next: BlockId,
    term_events: Vec<Event>,
    bindings: usize,
    shared: BlockId,
    shared_was_resumed: bool,
}

impl Merged {
    /// Puts `cfg` back as it was before the merge.
    pub fn undo(self, cfg: &mut Cfg) {
        cfg.bindings.truncate(self.bindings);
        cfg.blocks[self.shared].resumed = self.shared_was_resumed;
        let data = &mut cfg.blocks[self.block];
        data.stmts.truncate(self.stmts);
        data.term_events = self.term_events;
        if let Terminator::Yield { value, next, .. } = &mut data.term {
            *value = self.value;
            *next = self.next;
        }
    }
}

/// Points one `yield_!` whose resume point only starts bindings afresh on its way
/// round a loop at the resume point of another that goes round the same loop, if
/// there is one (liveness must then be computed again, and the pass run again).
pub fn merge_one(cfg: &mut Cfg, live: &Liveness, resume_is_unit: bool) -> Option<Merged> {
    let yields: Vec<(BlockId, BlockId)> = live
        .order
        .iter()
        .filter_map(|&block| match cfg.blocks[block].term {
            Terminator::Yield { next, .. } => Some((block, next)),
            _ => None,
        })
        .collect();
    for &(block, next) in &yields {
        for path in paths(cfg, live, next, resume_is_unit) {
            if path.fresh.is_empty() || !restarts_harmlessly(cfg, live, block, next, &path) {
                continue;
            }
            let fresh_binds: Vec<BindingId> = path
                .fresh
                .iter()
                .flat_map(|stmt| match stmt {
                    Stmt::Let { binds, .. } => binds.clone(),
                    _ => Vec::new(),
                })
                .collect();
            let shared = yields.iter().map(|&(_, other)| other).find(|&other| {
                other != next
                    && (goes_plainly(cfg, live, other, &path, resume_is_unit)
                        || resumes_at_head(other, &path, resume_is_unit))
                    && live.live_in[other]
                        .iter()
                        .all(|b| live.live_in[next].contains(b) || fresh_binds.contains(&b))
            });
            if let Some(shared) = shared {
                return Some(hoist(cfg, block, path.fresh, shared));
            }
        }
    }
    None
}

/// The ways from resume point `from` to each loop head it reaches (through loop
/// heads, a nested loop's), for as long as it does nothing but take the resume
/// argument, leave and enter scopes and declare bindings with literals. A resume
/// point with no resume statement is a loop head `shortcut` pointed a `yield_!` at,
/// skipping the `()` it drops.
fn paths(cfg: &Cfg, live: &Liveness, from: BlockId, resume_is_unit: bool) -> Vec<Path> {
    let mut paths = Vec::new();
    let stmts = &cfg.blocks[from].stmts;
    let (takes, mut rest) = match stmts.first() {
        Some(Stmt::Resume { into: None }) => (Takes::Nothing, 1),
        _ if resume_is_unit && cfg.blocks[from].resumed => (Takes::Nothing, 0),
        Some(Stmt::Resume { into: Some(temp) }) => {
            match stmts.get(1).and_then(|stmt| assigned_from(stmt, *temp)) {
                Some(assigned) => (Takes::Into(assigned), 2),
                None => return paths,
            }
        }
        _ => return paths,
    };
    let mut path = Path {
        takes,
        head: from,
        left: Vec::new(),
        entered: Vec::new(),
        fresh: Vec::new(),
    };
    let mut at = from;
    let mut visited = vec![at];
    loop {
        for stmt in &cfg.blocks[at].stmts[rest..] {
            match stmt {
                Stmt::Exit(scope) => path.left.push(*scope),
                Stmt::Enter(scope) => path.entered.push(*scope),
                Stmt::Let {
                    local,
                    binds,
                    events,
                } if local
                    .init
                    .as_ref()
                    .is_some_and(|init| init.diverge.is_none())
                    && binds.iter().all(|b| cfg.primitive.contains(b))
                    && events.iter().all(|e| matches!(e, Event::Declare { .. })) =>
                {
                    path.fresh.push(stmt.clone());
                }
                _ => return paths,
            }
        }
        let Terminator::Goto(next) = cfg.blocks[at].term else {
            return paths;
        };
        if visited.contains(&next) || cfg.blocks[next].polls.is_some() {
            return paths;
        }
        if live.has_back_edge(next) {
            paths.push(Path {
                head: next,
                ..path.clone()
            });
        }
        visited.push(next);
        at = next;
        rest = 0;
    }
}

/// Does resume point `from` take the resume argument as `like` does, then only
/// leave scopes on its way to `like`'s loop head, the first it reaches, carrying
/// exactly what that head needs?
fn goes_plainly(cfg: &Cfg, live: &Liveness, from: BlockId, like: &Path, unit: bool) -> bool {
    paths(cfg, live, from, unit).first().is_some_and(|path| {
        path.takes == like.takes
            && path.head == like.head
            && path.fresh.is_empty()
            && path.entered.is_empty()
            && live.live_in[from] == live.live_in[like.head]
    })
}

/// Does the `yield_!` resuming at `other` resume at `like`'s loop head itself, as
/// the one that moves would once its resume argument is dropped? Only when that is
/// `()`: dropping anything else is a step of its own (see `shortcut`, which points
/// such a `yield_!` at the head).
fn resumes_at_head(other: BlockId, like: &Path, resume_is_unit: bool) -> bool {
    other == like.head && like.takes == Takes::Nothing && resume_is_unit
}

/// `x = temp;`: the binding `temp` is assigned to.
fn assigned_from(stmt: &Stmt, temp: BindingId) -> Option<BindingId> {
    let Stmt::Code { events, .. } = stmt else {
        return None;
    };
    let mut assigned = None;
    for event in events {
        match *event {
            Event::Assign(binding) if assigned.is_none() && binding != temp => {
                assigned = Some(binding)
            }
            Event::Read(binding) | Event::Move(binding) if binding == temp => {}
            _ => return None,
        }
    }
    assigned
}

/// May the scope `path` (from resume point `resumed`) leaves and enters again be
/// restarted before the `yield_!` ending `block` suspends instead of after? Only if
/// it is the one scope the yield stands in, the fresh bindings are its own, and
/// nothing in it then has a value whose drop could be seen. A resume point outside
/// that scope (see `paths`) has left it already.
fn restarts_harmlessly(
    cfg: &Cfg,
    live: &Liveness,
    block: BlockId,
    resumed: BlockId,
    path: &Path,
) -> bool {
    let scope = cfg.scope_at_end(block);
    let mut left = Vec::new();
    let mut at = scope;
    while at != cfg.blocks[resumed].scope {
        left.push(at);
        match cfg.scopes[at].parent {
            Some(parent) => at = parent,
            None => return false,
        }
    }
    left.extend(path.left.iter().copied());
    if left != [scope] || path.entered != [scope] {
        return false;
    }
    let own = path.fresh.iter().all(|stmt| match stmt {
        Stmt::Let { binds, .. } => binds.iter().all(|&b| cfg.bindings[b].scope == scope),
        _ => false,
    });
    let standing = live.at_end(cfg, block);
    let holds_nothing_to_drop = (0..cfg.bindings.len()).all(|b| {
        cfg.bindings[b].scope != scope
            || cfg.primitive.contains(&b)
            || !(standing.init.contains(b) || standing.unsure.contains(b))
    });
    own && holds_nothing_to_drop
}

/// Rewrites the `yield_!` ending `block`: its value into a temporary, then the
/// `fresh` statements, then the suspension, resuming at `shared`.
fn hoist(cfg: &mut Cfg, block: BlockId, fresh: Vec<Stmt>, shared: BlockId) -> Merged {
    let scope = cfg.scope_at_end(block);
    let bindings = cfg.bindings.len();
    let shared_was_resumed = cfg.blocks[shared].resumed;
    let name = format_ident!(
        "__coro_yielded_before{}",
        cfg.bindings.len(),
        span = Span::mixed_site()
    );
    cfg.bindings.push(Binding {
        name: name.clone(),
        mutable: false,
        scope,
        borrows: Vec::new(),
        borrow_kind: BorrowKind::Reference,
    });
    let temp = cfg.bindings.len() - 1;
    let data = &mut cfg.blocks[block];
    let Terminator::Yield { value, next, .. } = &mut data.term else {
        unreachable!("only yields are hoisted into");
    };
    let computed = std::mem::replace(value, syn::parse_quote!(#name));
    let old_next = std::mem::replace(next, shared);
    let stmts = data.stmts.len();
    let mut events = std::mem::replace(&mut data.term_events, vec![Event::Move(temp)]);
    let term_events = events.clone();
    events.push(Event::Declare {
        binding: temp,
        init: true,
    });
    let syn::Stmt::Local(local) = syn::parse_quote!(let #name = #computed;) else {
        unreachable!("a `let` statement");
    };
    data.stmts.push(Stmt::Let {
        local: local.clone(),
        binds: vec![temp],
        events,
    });
    data.stmts.extend(fresh);
    cfg.blocks[shared].resumed = true;
    let value = local.init.expect("built with an initialiser").expr;
    Merged {
        block,
        stmts,
        value: *value,
        next: old_next,
        term_events,
        bindings,
        shared,
        shared_was_resumed,
    }
}
