//! Phase 3: which bindings cross each block boundary.
//!
//! A binding crosses a boundary (is carried in the state) when it is in scope there
//! and either is read again later or is surely still initialised. The second half is
//! what keeps an unused guard (`let _guard = lock();`) alive to the end of its scope,
//! as in plain Rust; a binding that may have been moved and is never read again is
//! left behind (it cannot be carried: it may be gone).
//!
//! Three classic data-flow problems over the block graph, on bit sets of bindings:
//! maybe-uninitialised (forward), read-later and mentioned-later (backward).

use std::collections::HashSet;

use crate::diag::{self, Errors};
use crate::lower::{BlockId, BorrowKind, Cfg, ENTRY, ScopeId, Stmt, Terminator};
use crate::scan::{BindingId, Event};

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BitSet(Vec<u64>);

impl BitSet {
    pub fn new(len: usize) -> Self {
        BitSet(vec![0; len.div_ceil(64)])
    }

    pub fn full(len: usize) -> Self {
        let mut set = BitSet::new(len);
        (0..len).for_each(|i| set.insert(i));
        set
    }

    pub fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }

    pub fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    /// Adds `other`'s members; says whether anything was added.
    fn union_with(&mut self, other: &BitSet) -> bool {
        let mut changed = false;
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            let merged = *a | *b;
            changed |= merged != *a;
            *a = merged;
        }
        changed
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.0.len() * 64).filter(|&i| self.contains(i))
    }
}

/// What stands at a point of a block, for the code that closes scopes there.
pub struct Standing {
    /// Live: read later, or holding a value to drop at its scope's end.
    pub live: BitSet,
    /// Surely holding a value to drop.
    pub init: BitSet,
    /// Holding a value to drop on some paths here and not on others (Rust keeps a
    /// drop flag for it).
    pub unsure: BitSet,
}

pub struct Liveness {
    /// Carried into each block: in scope and (read later or surely initialised).
    pub live_in: Vec<BitSet>,
    /// In scope, not carried, but assigned later: declared again, uninitialised.
    pub redeclare_in: Vec<BitSet>,
    pub preds: Vec<Vec<BlockId>>,
    /// Blocks in reverse post-order from the entry: every block after the blocks
    /// that lead to it (back edges aside), which is the order type inference needs.
    pub order: Vec<BlockId>,
    uninit_in: Vec<BitSet>,
    maybe_init_in: Vec<BitSet>,
    reads_out: Vec<BitSet>,
    in_scope: Vec<BitSet>,
    /// Per state boundary, the bindings initialised on some paths into it and not
    /// on others (moved or assigned in only one branch). Rust tracks those with a
    /// drop flag the compact machine does not have.
    pub ambiguous: Vec<(BlockId, BindingId)>,
    /// Bindings with no destructor (`Copy` values, references): dropping them early
    /// is not observable, so they are carried only while they are read.
    no_drop: BitSet,
    /// What each block does to bindings, moves of copy-like ones made reads.
    events: Vec<Vec<Event>>,
    /// Per block, where each statement's events end in `events`.
    stmt_ends: Vec<Vec<usize>>,
    /// Bindings carried across a suspension point that may borrow a local there.
    pub may_borrow: Vec<MayBorrow>,
}

impl Liveness {
    /// How many bindings the states carry, added up over the blocks: what the
    /// compact machine's size, and its compile time, grow with (the square of the
    /// live bindings in a long straight body).
    pub fn carried_total(&self) -> usize {
        self.live_in.iter().map(|live| live.iter().count()).sum()
    }
}

impl Liveness {
    /// Is `block` entered from a block that comes after it (a loop's way back)?
    pub fn has_back_edge(&self, block: BlockId) -> bool {
        let position = |b: BlockId| self.order.iter().position(|&o| o == b);
        let here = position(block);
        self.preds[block].iter().any(|&pred| position(pred) >= here)
    }

    /// Per block, the bindings named by the code that follows it along the edges
    /// `follows` allows: what the code written from that block on, up to the next
    /// state, can mention.
    pub fn mentioned_before_leaving(&self, cfg: &Cfg, follows: &[bool]) -> Vec<BitSet> {
        let succs: Vec<Vec<BlockId>> = cfg
            .blocks
            .iter()
            .map(|b| {
                let mut next = b.term.successors();
                next.retain(|&s| follows[s]);
                next
            })
            .collect();
        backward_fixpoint(
            cfg.bindings.len(),
            &self.order,
            &succs,
            &self.events,
            backward_mentions,
        )
        .0
    }
}

/// What a statement does to bindings. Entering a scope starts its bindings afresh
/// (uninitialised), so nothing from a previous turn of a loop is taken to still be
/// there on a path that does not declare them again.
fn stmt_events(cfg: &Cfg, stmt: &Stmt, out: &mut Vec<Event>) {
    match stmt {
        Stmt::Enter(scope) => out.extend(
            cfg.bindings
                .iter()
                .enumerate()
                .filter(|(_, b)| b.scope == *scope)
                .map(|(binding, _)| Event::Declare {
                    binding,
                    init: false,
                }),
        ),
        Stmt::Let { events, .. } | Stmt::Code { events, .. } => out.extend_from_slice(events),
        Stmt::Bind { binding, .. }
        | Stmt::Resume {
            into: Some(binding),
        } => out.push(Event::Declare {
            binding: *binding,
            init: true,
        }),
        Stmt::Resume { into: None } | Stmt::Exit(_) => {}
    }
}

/// What each block does to bindings, in order: its statements', then its
/// terminator's; and where each statement's events end. Every pass reads these,
/// so they are gathered once.
fn raw_events(cfg: &Cfg) -> (Vec<Vec<Event>>, Vec<Vec<usize>>) {
    cfg.blocks
        .iter()
        .map(|block| {
            let mut events = Vec::new();
            let mut ends = Vec::with_capacity(block.stmts.len());
            for stmt in &block.stmts {
                stmt_events(cfg, stmt, &mut events);
                ends.push(events.len());
            }
            events.extend_from_slice(&block.term_events);
            (events, ends)
        })
        .unzip()
}

/// A binding used again after it was "moved" (with no assignment between) is one
/// whose moves were copies: a body that compiles as plain Rust cannot use a value
/// it really moved. Its moves are reads.
fn normalize(event: Event, copy_like: &BitSet) -> Event {
    match event {
        Event::Move(b) | Event::MaybeMove(b) if copy_like.contains(b) => Event::Read(b),
        other => other,
    }
}

/// [`raw_events`] with the moves of copy-like bindings made reads.
fn normalized(raw: &[Vec<Event>], copy_like: &BitSet) -> Vec<Vec<Event>> {
    raw.iter()
        .map(|events| events.iter().map(|&e| normalize(e, copy_like)).collect())
        .collect()
}

fn forward_uninit(set: &mut BitSet, event: Event) {
    match event {
        Event::Declare {
            binding,
            init: true,
        }
        | Event::Assign(binding) => set.remove(binding),
        Event::Declare {
            binding,
            init: false,
        }
        | Event::Move(binding)
        | Event::MaybeMove(binding) => set.insert(binding),
        Event::Read(_) | Event::MaybeAssign(_) => {}
    }
}

fn forward_maybe_init(set: &mut BitSet, event: Event) {
    match event {
        Event::Declare {
            binding,
            init: true,
        }
        | Event::Assign(binding)
        | Event::MaybeAssign(binding) => set.insert(binding),
        Event::Declare {
            binding,
            init: false,
        }
        | Event::Move(binding) => set.remove(binding),
        Event::Read(_) | Event::MaybeMove(_) => {}
    }
}

fn backward_reads(set: &mut BitSet, event: Event) {
    match event {
        Event::Read(binding) | Event::Move(binding) | Event::MaybeMove(binding) => {
            set.insert(binding)
        }
        Event::Assign(binding) | Event::Declare { binding, .. } => set.remove(binding),
        Event::MaybeAssign(_) => {}
    }
}

fn backward_mentions(set: &mut BitSet, event: Event) {
    match event {
        Event::Read(binding)
        | Event::Move(binding)
        | Event::Assign(binding)
        | Event::MaybeAssign(binding)
        | Event::MaybeMove(binding) => set.insert(binding),
        Event::Declare { binding, .. } => set.remove(binding),
    }
}

pub fn analyze(cfg: &Cfg, errors: &mut Errors) -> Liveness {
    let n_blocks = cfg.blocks.len();
    let n_bindings = cfg.bindings.len();
    let succs: Vec<Vec<BlockId>> = cfg.blocks.iter().map(|b| b.term.successors()).collect();
    let order = reverse_post_order(&succs);
    let mut preds = vec![Vec::new(); n_blocks];
    for &block in &order {
        for &succ in &succs[block] {
            preds[succ].push(block);
        }
    }

    let (raw, stmt_ends) = raw_events(cfg);
    let mut copy_like = copy_like(n_bindings, &order, &succs, &raw);
    cfg.primitive.iter().for_each(|&b| copy_like.insert(b));
    let events = normalized(&raw, &copy_like);
    let mut no_drop = copy_like.clone();
    cfg.no_drop.iter().for_each(|&b| no_drop.insert(b));

    // Forward, unions at joins: may a binding be uninitialised (never set, or
    // moved out)? May it be initialised?
    let forward = |entry: BitSet, transfer: fn(&mut BitSet, Event)| {
        let mut ins = vec![BitSet::new(n_bindings); n_blocks];
        let mut outs = vec![BitSet::new(n_bindings); n_blocks];
        ins[ENTRY] = entry;
        let mut set = BitSet::new(n_bindings);
        let mut changed = true;
        while changed {
            changed = false;
            for &block in &order {
                for &pred in &preds[block] {
                    ins[block].union_with(&outs[pred]);
                }
                set.clone_from(&ins[block]);
                events[block].iter().for_each(|&e| transfer(&mut set, e));
                changed |= outs[block].union_with(&set);
            }
        }
        ins
    };
    let uninit_in = forward(BitSet::full(n_bindings), forward_uninit);
    let maybe_init_in = forward(BitSet::new(n_bindings), forward_maybe_init);

    let backward = |transfer| backward_fixpoint(n_bindings, &order, &succs, &events, transfer);
    let (reads_in, reads_out) = backward(backward_reads);
    let (mentions_in, _) = backward(backward_mentions);

    let in_scope: Vec<BitSet> = (0..cfg.scopes.len())
        .map(|scope| {
            let chain = cfg.scope_chain(scope);
            let mut set = BitSet::new(n_bindings);
            for (id, binding) in cfg.bindings.iter().enumerate() {
                if chain.contains(&binding.scope) {
                    set.insert(id);
                }
            }
            set
        })
        .collect();

    let mut live_in = vec![BitSet::new(n_bindings); n_blocks];
    let mut redeclare_in = vec![BitSet::new(n_bindings); n_blocks];
    for &block in &order {
        let scope = cfg.blocks[block].scope;
        for binding in in_scope[scope].iter() {
            // A `Copy` value has no destructor: it need not live to its scope's end.
            let kept = !uninit_in[block].contains(binding) && !no_drop.contains(binding);
            if reads_in[block].contains(binding) || kept {
                live_in[block].insert(binding);
            } else if mentions_in[block].contains(binding) {
                redeclare_in[block].insert(binding);
            }
        }
    }

    // Where the machine stores its bindings (a resume point, a join, a loop head),
    // a binding initialised on one path in and not on another has no one answer.
    let mut ambiguous = Vec::new();
    for &block in &order {
        let data = &cfg.blocks[block];
        if !(data.resumed || preds[block].len() > 1) {
            continue;
        }
        for binding in in_scope[data.scope].iter() {
            if uninit_in[block].contains(binding) && maybe_init_in[block].contains(binding) {
                ambiguous.push((block, binding));
            }
        }
    }

    let liveness = Liveness {
        live_in,
        redeclare_in,
        preds,
        order,
        uninit_in,
        maybe_init_in,
        reads_out,
        in_scope,
        ambiguous,
        no_drop,
        events,
        stmt_ends,
        may_borrow: Vec::new(),
    };
    let mut liveness = liveness;
    liveness.may_borrow = report_borrows(cfg, &liveness, errors);
    liveness
}

/// A backward data-flow pass to its fixed point, unions at splits: the sets on
/// entry to and exit from each block, of `n_bindings` bindings.
fn backward_fixpoint(
    n_bindings: usize,
    order: &[BlockId],
    succs: &[Vec<BlockId>],
    events: &[Vec<Event>],
    transfer: fn(&mut BitSet, Event),
) -> (Vec<BitSet>, Vec<BitSet>) {
    let n_blocks = succs.len();
    let mut ins = vec![BitSet::new(n_bindings); n_blocks];
    let mut outs = vec![BitSet::new(n_bindings); n_blocks];
    let mut set = BitSet::new(n_bindings);
    let mut changed = true;
    while changed {
        changed = false;
        for &block in order.iter().rev() {
            for &succ in &succs[block] {
                outs[block].union_with(&ins[succ]);
            }
            set.clone_from(&outs[block]);
            events[block]
                .iter()
                .rev()
                .for_each(|&e| transfer(&mut set, e));
            changed |= ins[block].union_with(&set);
        }
    }
    (ins, outs)
}

/// The bindings read again after a move on some path, with no assignment between.
fn copy_like(
    n_bindings: usize,
    order: &[BlockId],
    succs: &[Vec<BlockId>],
    raw: &[Vec<Event>],
) -> BitSet {
    let (_, outs) = backward_fixpoint(n_bindings, order, succs, raw, backward_reads);
    let mut copy_like = BitSet::new(n_bindings);
    for &block in order {
        let mut reads = outs[block].clone();
        for &event in raw[block].iter().rev() {
            if let Event::Move(b) | Event::MaybeMove(b) = event
                && reads.contains(b)
            {
                copy_like.insert(b);
            }
            backward_reads(&mut reads, event);
        }
    }
    copy_like
}

fn reverse_post_order(succs: &[Vec<BlockId>]) -> Vec<BlockId> {
    let mut seen = vec![false; succs.len()];
    let mut post = Vec::new();
    // Iterative DFS: (block, next successor index).
    let mut stack = vec![(ENTRY, 0)];
    seen[ENTRY] = true;
    while let Some((block, next)) = stack.pop() {
        if let Some(&succ) = succs[block].get(next) {
            stack.push((block, next + 1));
            if !seen[succ] {
                seen[succ] = true;
                stack.push((succ, 0));
            }
        } else {
            post.push(block);
        }
    }
    post.reverse();
    post
}

impl Liveness {
    /// The bindings live right after statement `index` of `block`.
    pub fn live_after(&self, cfg: &Cfg, block: BlockId, index: usize) -> BitSet {
        self.after(cfg, block, index).live
    }

    /// What stands right after statement `index` of `block`.
    pub fn after(&self, cfg: &Cfg, block: BlockId, index: usize) -> Standing {
        self.through(cfg, block, index + 1)
    }

    /// What stands after all of `block`'s statements, where its terminator runs.
    pub fn at_end(&self, cfg: &Cfg, block: BlockId) -> Standing {
        self.through(cfg, block, cfg.blocks[block].stmts.len())
    }

    /// What stands after the first `count` statements of `block`.
    fn through(&self, cfg: &Cfg, block: BlockId, count: usize) -> Standing {
        let data = &cfg.blocks[block];
        let mut uninit = self.uninit_in[block].clone();
        let mut maybe_init = self.maybe_init_in[block].clone();
        let mut scope: ScopeId = data.scope;
        // The block's events split where its first `count` statements' end.
        let split = count
            .checked_sub(1)
            .map_or(0, |last| self.stmt_ends[block][last]);
        let (before, after) = self.events[block].split_at(split);
        for &event in before {
            forward_uninit(&mut uninit, event);
            forward_maybe_init(&mut maybe_init, event);
        }
        for stmt in &data.stmts[..count] {
            match stmt {
                Stmt::Enter(inner) => scope = *inner,
                Stmt::Exit(inner) => {
                    scope = cfg.scopes[*inner]
                        .parent
                        .expect("an exited scope has a parent")
                }
                _ => {}
            }
        }
        let mut reads = self.reads_out[block].clone();
        after
            .iter()
            .rev()
            .for_each(|&e| backward_reads(&mut reads, e));
        let mut live = BitSet::new(cfg.bindings.len());
        for binding in self.in_scope[scope].iter() {
            let kept = !uninit.contains(binding) && !self.no_drop.contains(binding);
            if reads.contains(binding) || kept {
                live.insert(binding);
            }
        }
        let mut init = BitSet::new(cfg.bindings.len());
        let mut unsure = BitSet::new(cfg.bindings.len());
        // A `Copy` value needs no drop where its scope is closed by hand.
        for b in (0..cfg.bindings.len()).filter(|&b| !self.no_drop.contains(b)) {
            match (uninit.contains(b), maybe_init.contains(b)) {
                (false, _) => init.insert(b),
                (true, true) => unsure.insert(b),
                (true, false) => {}
            }
        }
        Standing { live, init, unsure }
    }
}

/// A binding that borrows a local of the coroutine cannot cross a suspension point:
/// the state would point into itself. Say so with both names, at the suspension point.
/// A binding that only may borrow one (a method's result) is returned instead: the
/// compact machine cannot tell, the pinned one need not.
fn report_borrows(cfg: &Cfg, liveness: &Liveness, errors: &mut Errors) -> Vec<MayBorrow> {
    let mut may_borrow = Vec::new();
    let mut reported: HashSet<(BindingId, BindingId)> = HashSet::new();
    for &block in &liveness.order {
        let (next, origin, point) = match &cfg.blocks[block].term {
            Terminator::Yield { next, origin, .. } => {
                let forwards = origin
                    .clone()
                    .into_iter()
                    .next()
                    .is_some_and(|t| t.to_string() == "yield_from");
                let point = if forwards {
                    "suspension point (`yield_from!`)"
                } else {
                    "suspension point (`yield_!`)"
                };
                (next, origin, point)
            }
            Terminator::Await { next, origin, .. } => (next, origin, "suspension point (`.await`)"),
            _ => continue,
        };
        let scope = cfg.blocks[*next].scope;
        for holder in liveness.live_in[*next].iter() {
            let binding = &cfg.bindings[holder];
            for &local in &binding.borrows {
                if !liveness.in_scope[scope].contains(local) || !reported.insert((holder, local)) {
                    continue;
                }
                if binding.borrow_kind == BorrowKind::MayBorrow {
                    may_borrow.push(MayBorrow {
                        origin: origin.clone(),
                        holder,
                        local,
                    });
                    continue;
                }
                let local_name = user_name(&cfg.bindings[local].name);
                if is_hidden(&cfg.bindings[local].name) {
                    let message = diag::borrow_of_temporary(&user_name(&binding.name), point);
                    errors.spanned(origin, message);
                    continue;
                }
                let message = match binding.borrow_kind {
                    BorrowKind::ForIterator => diag::for_over_borrow(&local_name, point),
                    BorrowKind::Closure => diag::closure_borrow_across_suspend(
                        &user_name(&binding.name),
                        &local_name,
                        point,
                    ),
                    BorrowKind::Reference | BorrowKind::MayBorrow => {
                        diag::borrow_across_suspend(&user_name(&binding.name), &local_name, point)
                    }
                };
                errors.spanned(origin, message);
            }
        }
    }
    may_borrow
}

/// A binding carried across a suspension point that may hold a borrow of a local
/// in scope there.
pub struct MayBorrow {
    pub origin: proc_macro2::TokenStream,
    pub holder: BindingId,
    pub local: BindingId,
}

/// `#[coroutine(compact)]` on a body where a binding may borrow a local across a
/// suspension point.
pub fn report_may_borrow(cfg: &Cfg, liveness: &Liveness, errors: &mut Errors) {
    for found in &liveness.may_borrow {
        let holder = user_name(&cfg.bindings[found.holder].name);
        let local = user_name(&cfg.bindings[found.local].name);
        errors.spanned(
            &found.origin,
            diag::may_borrow_across_suspend(&holder, &local),
        );
    }
}

/// A name the transform made up (a temporary, a resume value), not the user's.
fn is_hidden(name: &syn::Ident) -> bool {
    let name = name.to_string();
    name.starts_with("__coro_") && name != crate::parse::SELF_NAME
}

/// The name the user wrote for a binding (`self`, not its stored name).
fn user_name(name: &syn::Ident) -> String {
    match name.to_string() {
        stored if stored == crate::parse::SELF_NAME => "self".to_owned(),
        other => other,
    }
}

/// `#[coroutine(compact)]` on a body with a binding that is initialised on some
/// paths into a suspension point and not on others: say which, where.
pub fn report_ambiguous(cfg: &Cfg, liveness: &Liveness, errors: &mut Errors) {
    let mut reported = HashSet::new();
    for &(block, binding) in &liveness.ambiguous {
        if !reported.insert(binding) {
            continue;
        }
        let origin = liveness.preds[block]
            .iter()
            .find_map(|&pred| match &cfg.blocks[pred].term {
                Terminator::Yield { next, origin, .. } | Terminator::Await { next, origin, .. }
                    if *next == block =>
                {
                    Some(origin.clone())
                }
                _ => None,
            });
        let name = &cfg.bindings[binding].name;
        let message = diag::ambiguous_across_suspend(&user_name(name));
        match origin {
            Some(origin) => errors.spanned(origin, message),
            None => errors.spanned(name, message),
        }
    }
}
