//! Phase 2: the body becomes a graph of blocks split at suspension points.
//!
//! Only what must be split is split. A statement with no suspension point (and no
//! jump out to a split loop) stays one verbatim statement; an expression that suspends
//! is evaluated operand by operand, spilling the operands before the suspension point
//! into hidden temporaries in Rust's evaluation order. `for`, `while`, `&&`/`||` and
//! `yield_from!` are first rewritten into `loop`/`match`/`if` with `yield_!`, so the
//! graph only has to know a handful of constructs.
//!
//! Every binding gets an id; every statement lists what it does to which binding
//! ([`Event`]), which is all the liveness phase needs.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block as SynBlock, Expr, Ident, Item, Local, Pat, Stmt as SynStmt};

use crate::desugar;
use crate::diag::{self, Errors};
use crate::parse::{CoroutineFn, Kind};
use crate::scan::{
    self, BindingId, Event, PatBinding, Scanner, SuspendMacro, block_needs_lowering,
    needs_lowering, pat_bindings, stmt_needs_lowering,
};

pub type BlockId = usize;
pub type ScopeId = usize;

pub struct Binding {
    pub name: Ident,
    pub mutable: bool,
    pub scope: ScopeId,
    /// Locals this binding was initialised with a borrow of (`&x`, `&mut x`, a
    /// closure that captures by reference).
    pub borrows: Vec<BindingId>,
    pub borrow_kind: BorrowKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BorrowKind {
    Reference,
    /// A method's result on a local (`v.iter()`, `m.lock()`, `opt.as_mut()`) or a
    /// pattern binding from one: it may borrow the local, or may not (`v.len()`);
    /// without types the compact machine cannot tell.
    MayBorrow,
    /// The hidden iterator of a `for` loop over `&x`.
    ForIterator,
    /// A closure without `move`.
    Closure,
}

pub struct Scope {
    pub parent: Option<ScopeId>,
}

#[derive(Clone)]
pub enum Stmt {
    /// A `let`, the user's or a hidden temporary's, with its initialiser lowered.
    Let {
        local: Local,
        binds: Vec<BindingId>,
        events: Vec<Event>,
    },
    /// A statement of straight code.
    Code {
        stmt: SynStmt,
        events: Vec<Event>,
    },
    /// A binding introduced by the pattern of the terminator that led here; `from`
    /// is the hidden name the pattern bound it to, if it was renamed.
    Bind {
        binding: BindingId,
        from: Option<Ident>,
    },
    /// The value a `yield_!` evaluates to: the resume argument.
    Resume {
        into: Option<BindingId>,
    },
    Enter(ScopeId),
    Exit(ScopeId),
}

pub struct Arm {
    pub pat: Pat,
    pub guard: Option<Expr>,
    pub target: BlockId,
}

pub enum Terminator {
    Goto(BlockId),
    If {
        cond: Expr,
        then_to: BlockId,
        else_to: BlockId,
    },
    Match {
        scrutinee: Expr,
        arms: Vec<Arm>,
    },
    /// Suspend with `value`; the next resume continues at `next`. `origin` is the
    /// user's `yield_!(..)`, for messages that point at it.
    Yield {
        value: Expr,
        next: BlockId,
        origin: TokenStream,
    },
    /// Pin `future` (a future, or a stream whose items are forwarded) in the state of
    /// `next`, which polls it and is entered again until it is ready.
    Await {
        future: Expr,
        next: BlockId,
        origin: TokenStream,
    },
    /// Finish with `value`.
    Return(Expr),
    /// No terminator: the block is unreachable (code after a `break`).
    Unreachable,
}

impl Terminator {
    pub fn successors(&self) -> Vec<BlockId> {
        match self {
            Terminator::Goto(to) => vec![*to],
            Terminator::If {
                then_to, else_to, ..
            } => vec![*then_to, *else_to],
            Terminator::Match { arms, .. } => arms.iter().map(|arm| arm.target).collect(),
            Terminator::Yield { next, .. } | Terminator::Await { next, .. } => vec![*next],
            Terminator::Return(_) | Terminator::Unreachable => Vec::new(),
        }
    }
}

pub struct Block {
    /// The scope at entry.
    pub scope: ScopeId,
    pub stmts: Vec<Stmt>,
    pub term: Terminator,
    pub term_events: Vec<Event>,
    /// Entered only by resuming after a suspension.
    pub resumed: bool,
    /// Entered by polling what is pinned in an await slot, until it is ready.
    pub polls: Option<Polled>,
}

/// What a block entered after an `.await` polls.
#[derive(Clone, Copy)]
pub struct Polled {
    pub slot: usize,
    /// Where the suspension is, for the site a `Pending` records.
    pub at: Span,
    /// A stream forwarded by `yield_from!`: each item is yielded, and the block is
    /// entered when the stream ends.
    pub stream: bool,
}

pub struct Cfg {
    pub blocks: Vec<Block>,
    pub bindings: Vec<Binding>,
    pub scopes: Vec<Scope>,
    /// Items declared in split blocks, emitted before the state machine so every
    /// state sees them.
    pub items: Vec<Item>,
    /// The hidden names the first state stores the parameters under.
    pub params: Vec<Ident>,
    /// How many await slots (awaited futures, forwarded streams) the body has.
    pub await_slots: usize,
    /// Bindings known to have no destructor (reference parameters): kept only while
    /// they are read.
    pub no_drop: Vec<BindingId>,
    /// For a block ending in an `if` or `match` whose branches were split, the block
    /// where they meet again.
    pub joins: std::collections::HashMap<BlockId, BlockId>,
    /// Bindings initialised with a literal: of a primitive type, so `Copy`, and a
    /// "move" of one is a copy.
    pub primitive: Vec<BindingId>,
    /// A suspension point stands where the compact machine cannot split the code
    /// (a match guard, a `let` chain, an `unsafe` block, an assignment's left side).
    pub unsupported: bool,
}

pub const ENTRY: BlockId = 0;
pub const ROOT_SCOPE: ScopeId = 0;

impl Cfg {
    /// The scopes enclosing `scope`, outermost first.
    pub fn scope_chain(&self, scope: ScopeId) -> Vec<ScopeId> {
        let mut chain = vec![scope];
        while let Some(parent) = self.scopes[*chain.last().unwrap()].parent {
            chain.push(parent);
        }
        chain.reverse();
        chain
    }

    /// The scope `block`'s statements leave its terminator in.
    pub fn scope_at_end(&self, block: BlockId) -> ScopeId {
        let mut scope = self.blocks[block].scope;
        for stmt in &self.blocks[block].stmts {
            match stmt {
                Stmt::Enter(inner) => scope = *inner,
                Stmt::Exit(inner) => scope = self.scopes[*inner].parent.unwrap_or(ROOT_SCOPE),
                _ => {}
            }
        }
        scope
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Value,
    Discard,
}

struct LoopFrame {
    label: Option<String>,
    is_loop: bool,
    break_to: BlockId,
    continue_to: BlockId,
    result: Option<BindingId>,
}

/// Lowers `body` (the function's body with `self` renamed) for the compact machine.
pub fn lower(func: &CoroutineFn, body: &SynBlock, errors: &mut Errors) -> Cfg {
    let mut builder = Builder {
        kind: &func.kind,
        krate: &func.krate,
        cfg: Cfg {
            blocks: Vec::new(),
            bindings: Vec::new(),
            scopes: vec![Scope { parent: None }],
            items: Vec::new(),
            params: Vec::new(),
            await_slots: 0,
            no_drop: Vec::new(),
            joins: std::collections::HashMap::new(),
            primitive: Vec::new(),
            unsupported: false,
        },
        current: ENTRY,
        scope_stack: vec![ROOT_SCOPE],
        names: vec![Vec::new()],
        loops: Vec::new(),
        errors,
        fresh: 0,
        forwarding: None,
        lending_params: Vec::new(),
        shared_refs: Vec::new(),
    };
    builder.new_block(ROOT_SCOPE);
    for (index, param) in func.params.iter().enumerate() {
        let field = format_ident!("__coro_start{}", index, span = Span::mixed_site());
        builder.cfg.params.push(field.clone());
        let local = make_local(param.bind.clone(), Some(syn::parse_quote!(#field)));
        let binds = builder.push_let(local);
        if param.is_reference() {
            builder.cfg.no_drop.extend(binds.iter().copied());
        }
        if param.lends() {
            builder.lending_params.extend(binds.iter().copied());
            builder.shared_refs.extend(binds.iter().copied());
        }
        for &binding in &binds {
            if param
                .shared_refs
                .contains(&builder.cfg.bindings[binding].name.to_string())
            {
                builder.shared_refs.push(binding);
            }
        }
    }
    builder.enter_scope();
    for stmt in body_stmts(body) {
        builder.lower_stmt(stmt);
    }
    let value = match body.stmts.last() {
        Some(last) if scan::diverges(last) => {
            // The body never falls off its end (`return x`, `panic!()`, an
            // endless loop): no value to type against `Return`, and no code after.
            if let SynStmt::Expr(tail, None) = last {
                let value = builder.lower_expr(tail, Want::Discard);
                builder.push_expr(value);
            }
            builder.start_dead_block();
            unit()
        }
        Some(SynStmt::Expr(tail, None)) => builder.lower_expr(tail, Want::Value),
        _ => syn::parse_quote!(()),
    };
    let events = builder.scan(&value);
    builder.terminate(Terminator::Return(value), events);
    builder.cfg
}

/// The statements of a block other than its tail expression.
fn body_stmts(block: &SynBlock) -> &[SynStmt] {
    match block.stmts.last() {
        Some(SynStmt::Expr(_, None)) => &block.stmts[..block.stmts.len() - 1],
        _ => &block.stmts,
    }
}

fn make_local(pat: Pat, init: Option<Expr>) -> Local {
    Local {
        attrs: Vec::new(),
        let_token: Default::default(),
        pat,
        init: init.map(|expr| syn::LocalInit {
            eq_token: Default::default(),
            expr: Box::new(expr),
            diverge: None,
        }),
        semi_token: Default::default(),
    }
}

fn unit() -> Expr {
    Expr::Tuple(syn::ExprTuple {
        attrs: Vec::new(),
        paren_token: Default::default(),
        elems: Default::default(),
    })
}

fn is_unit(expr: &Expr) -> bool {
    matches!(expr, Expr::Tuple(t) if t.elems.is_empty())
}

/// Evaluating this again later gives the same value: it need not be spilled.
/// The names an expression assigns (`x = ..`, `x += ..`) or borrows mutably.
fn assigned_names(expr: &Expr) -> Vec<String> {
    struct Assigned(Vec<String>);
    impl<'ast> syn::visit::Visit<'ast> for Assigned {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Assign(e) => self.0.extend(place_root(&e.left)),
                Expr::Binary(e) if is_compound_assign(&e.op) => self.0.extend(place_root(&e.left)),
                Expr::Reference(e) if e.mutability.is_some() => self.0.extend(place_root(&e.expr)),
                _ => {}
            }
            syn::visit::visit_expr(self, expr);
        }
        fn visit_item(&mut self, _: &'ast Item) {}
    }
    let mut assigned = Assigned(Vec::new());
    syn::visit::Visit::visit_expr(&mut assigned, expr);
    assigned.0
}

fn is_pure(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(_) | Expr::Path(_) | Expr::Closure(_) => true,
        Expr::Paren(e) => is_pure(&e.expr),
        Expr::Group(e) => is_pure(&e.expr),
        Expr::Field(e) => is_pure(&e.base),
        Expr::Reference(e) => is_place(&e.expr),
        Expr::Unary(e) if matches!(e.op, syn::UnOp::Deref(_)) => is_place(&e.expr),
        _ => false,
    }
}

fn is_place(expr: &Expr) -> bool {
    match expr {
        Expr::Path(_) => true,
        Expr::Paren(e) => is_place(&e.expr),
        Expr::Field(e) => is_place(&e.base),
        Expr::Index(e) => is_place(&e.expr) && is_pure(&e.index),
        Expr::Unary(e) if matches!(e.op, syn::UnOp::Deref(_)) => is_place(&e.expr),
        _ => false,
    }
}

/// The local a place expression starts from (`v` in `&v.items[0]`).
fn place_root(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Paren(e) => place_root(&e.expr),
        Expr::Field(e) => place_root(&e.base),
        Expr::Index(e) => place_root(&e.expr),
        _ => None,
    }
}

/// What a value may hold a borrow of; see `Builder::value_borrows`.
#[derive(Default)]
struct Borrowed {
    locals: Vec<BindingId>,
    /// Surely a borrow (`&x`, `ref x`), not just maybe (`f(&x)`, `v.iter()`).
    certain: bool,
    /// And a plain borrow with no destructor (not a lock guard).
    no_drop: bool,
}

/// Methods whose result, if it borrows the receiver, is a plain borrow with no
/// destructor: a binding made from one need not live to the end of its scope.
const BORROWING_RESULTS: &[&str] = &[
    "iter",
    "iter_mut",
    "as_ref",
    "as_mut",
    "as_deref",
    "as_deref_mut",
    "as_slice",
    "as_mut_slice",
    "as_str",
    "get",
    "get_mut",
    "first",
    "first_mut",
    "last",
    "last_mut",
    "chars",
    "char_indices",
    "bytes",
    "lines",
    "split",
    "split_whitespace",
    "keys",
    "values",
    "values_mut",
    "windows",
    "chunks",
    "peek",
];

/// `let x: T = ..` where `T` is written with no reference, lifetime or inferred
/// part (`u32`, `String`, `Vec<u8>`): the value owns what it holds.
fn owned_annotation(pat: &Pat) -> bool {
    let Pat::Type(typed) = pat else {
        return false;
    };
    let written = typed.ty.to_token_stream().to_string();
    !(written.contains('&')
        || written.contains('\'')
        || written.contains('_')
        || written.contains("impl")
        || written.contains("dyn"))
}

/// Methods whose result owns its value whatever the receiver: a binding made
/// from one borrows nothing.
const OWNED_RESULTS: &[&str] = &[
    "parse",
    "len",
    "is_empty",
    "clone",
    "to_string",
    "to_owned",
    "to_vec",
    "contains",
    "starts_with",
    "ends_with",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "count",
    "sum",
    "product",
    "capacity",
    "to_uppercase",
    "to_lowercase",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
];

/// Renames the bindings of a pattern to hidden names, so the surrounding code can
/// still reach bindings they shadow; returns the pairs (user name, hidden name).
fn rename_bindings(pat: &Pat, fresh: &mut usize) -> (Pat, Vec<(PatBinding, Ident)>) {
    struct Renamer<'a> {
        fresh: &'a mut usize,
        pairs: Vec<(PatBinding, Ident)>,
    }
    impl VisitMut for Renamer<'_> {
        fn visit_pat_ident_mut(&mut self, pat: &mut syn::PatIdent) {
            if let Some((_, sub)) = &mut pat.subpat {
                self.visit_pat_mut(sub);
            }
            if !scan::is_binding_ident(pat) {
                return;
            }
            // The alternatives of an or-pattern bind the same names: reuse the renaming.
            let hidden = match self.pairs.iter().find(|(b, _)| b.ident == pat.ident) {
                Some((_, hidden)) => hidden.clone(),
                None => {
                    *self.fresh += 1;
                    let hidden =
                        format_ident!("__coro_p{}", *self.fresh, span = Span::mixed_site());
                    let binding = PatBinding {
                        ident: pat.ident.clone(),
                        mutable: pat.mutability.is_some(),
                        by_ref: pat.by_ref.is_some(),
                    };
                    self.pairs.push((binding, hidden.clone()));
                    hidden
                }
            };
            pat.ident = hidden;
            // `mut x` becomes mutable where it is rebound; `ref mut x` stays a
            // mutable borrow.
            if pat.by_ref.is_none() {
                pat.mutability = None;
            }
        }
    }
    let mut pat = pat.clone();
    let mut renamer = Renamer {
        fresh,
        pairs: Vec::new(),
    };
    renamer.visit_pat_mut(&mut pat);
    (pat, renamer.pairs)
}

struct Builder<'a> {
    kind: &'a Kind,
    krate: &'a syn::Path,
    cfg: Cfg,
    current: BlockId,
    scope_stack: Vec<ScopeId>,
    /// The names visible in each scope of `scope_stack`, in declaration order.
    names: Vec<Vec<(String, BindingId)>>,
    loops: Vec<LoopFrame>,
    errors: &'a mut Errors,
    fresh: usize,
    /// The user's `yield_from!` whose desugaring is being lowered.
    forwarding: Option<TokenStream>,
    /// Parameters that are shared references (`&self`, `tree: &Node`): a borrow
    /// through one (`&tree.children`) borrows the caller's data, not the machine.
    lending_params: Vec<BindingId>,
    /// Bindings known to hold a shared reference (a `&T` parameter, `let r = &..`,
    /// `ref x`): a method called through one borrows what it points to, not it.
    shared_refs: Vec<BindingId>,
}

impl Builder<'_> {
    fn new_block(&mut self, scope: ScopeId) -> BlockId {
        self.cfg.blocks.push(Block {
            scope,
            stmts: Vec::new(),
            term: Terminator::Unreachable,
            term_events: Vec::new(),
            resumed: false,
            polls: None,
        });
        self.cfg.blocks.len() - 1
    }

    fn scope(&self) -> ScopeId {
        *self.scope_stack.last().unwrap()
    }

    fn push(&mut self, stmt: Stmt) {
        let current = self.current;
        self.cfg.blocks[current].stmts.push(stmt);
    }

    fn terminate(&mut self, term: Terminator, events: Vec<Event>) {
        let block = &mut self.cfg.blocks[self.current];
        block.term = term;
        block.term_events = events;
    }

    fn goto(&mut self, target: BlockId) {
        self.terminate(Terminator::Goto(target), Vec::new());
    }

    /// After a jump, code until the next join point is unreachable.
    fn start_dead_block(&mut self) {
        self.current = self.new_block(self.scope());
    }

    fn enter_scope(&mut self) -> ScopeId {
        self.cfg.scopes.push(Scope {
            parent: Some(self.scope()),
        });
        let scope = self.cfg.scopes.len() - 1;
        self.push(Stmt::Enter(scope));
        self.scope_stack.push(scope);
        self.names.push(Vec::new());
        scope
    }

    fn exit_scope(&mut self) {
        let scope = self.scope_stack.pop().unwrap();
        self.names.pop();
        self.push(Stmt::Exit(scope));
    }

    fn lookup(&self, name: &str) -> Option<BindingId> {
        self.names
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, b)| *b)
    }

    fn declare(&mut self, name: Ident, mutable: bool) -> BindingId {
        let scope = self.scope();
        self.cfg.bindings.push(Binding {
            name: name.clone(),
            mutable,
            scope,
            borrows: Vec::new(),
            borrow_kind: BorrowKind::Reference,
        });
        let id = self.cfg.bindings.len() - 1;
        self.names.last_mut().unwrap().push((name.to_string(), id));
        id
    }

    fn hidden(&mut self, what: &str) -> Ident {
        self.fresh += 1;
        format_ident!("__coro_{}{}", what, self.fresh, span = Span::mixed_site())
    }

    fn resolver(&self) -> impl Fn(&str) -> Option<BindingId> + '_ {
        move |name| self.lookup(name)
    }

    fn scan(&self, expr: &Expr) -> Vec<Event> {
        let resolve = self.resolver();
        let mut scanner = Scanner::new(&resolve);
        scanner.scan_expr(expr);
        scanner.events
    }

    /// Pushes a `let` whose initialiser is already lowered, and declares its bindings.
    fn push_let(&mut self, local: Local) -> Vec<BindingId> {
        let mut events = {
            let resolve = self.resolver();
            let mut scanner = Scanner::new(&resolve);
            scanner.scan_local(&local);
            scanner.events
        };
        let certain = self.borrowed_locals(&local);
        let ref_roots = self.ref_pattern_roots(&local.pat, local.init.as_ref().map(|i| &*i.expr));
        let init = local.init.is_some();
        let binds: Vec<BindingId> = pat_bindings(&local.pat)
            .into_iter()
            .map(|b| self.declare(b.ident, b.mutable))
            .collect();
        for &binding in &binds {
            events.push(Event::Declare { binding, init });
        }
        let (by_ref, by_value): (Vec<BindingId>, Vec<BindingId>) = binds
            .iter()
            .partition(|&&b| ref_roots.0.contains(&self.cfg.bindings[b].name.to_string()));
        let shared_init = local.init.as_ref().is_some_and(
            |init| matches!(&*init.expr, Expr::Reference(r) if r.mutability.is_none()),
        );
        if shared_init {
            self.shared_refs.extend(by_value.iter().copied());
        }
        // A literal's type is a primitive (`0` can only be an integer), and no
        // primitive has a destructor: where it is dropped cannot be seen.
        if local
            .init
            .as_ref()
            .is_some_and(|init| is_literal(&init.expr))
        {
            self.cfg.primitive.extend(binds.iter().copied());
        }
        for &binding in &by_ref {
            let shared = pat_bindings(&local.pat)
                .iter()
                .any(|b| b.by_ref && !b.mutable && b.ident == self.cfg.bindings[binding].name);
            if shared {
                self.shared_refs.push(binding);
            }
        }
        if !by_ref.is_empty() {
            let borrowed = Borrowed {
                locals: ref_roots.1.clone(),
                certain: true,
                no_drop: true,
            };
            self.record_borrows(&by_ref, borrowed, BorrowKind::Reference);
        }
        if !certain.0.is_empty() {
            let borrowed = Borrowed {
                locals: certain.0,
                certain: true,
                no_drop: certain.1 != BorrowKind::Closure,
            };
            self.record_borrows(&by_value, borrowed, certain.1);
        } else if let Some(init) = &local.init
            && !owned_annotation(&local.pat)
        {
            let value = match (&*init.expr, certain.1) {
                // A `for` loop's iterator: what `into_iter`'s argument borrows.
                (Expr::Call(call), BorrowKind::ForIterator) => self.value_borrows(&call.args[0]),
                (other, _) => self.value_borrows(other),
            };
            let kind = match certain.1 {
                BorrowKind::ForIterator => BorrowKind::ForIterator,
                _ => BorrowKind::Reference,
            };
            self.record_borrows(&by_value, value, kind);
        }
        self.push(Stmt::Let {
            local,
            binds: binds.clone(),
            events,
        });
        binds
    }

    /// Which locals the initialiser borrows directly: `&x`, `&mut x.f`,
    /// `IntoIterator::into_iter(&x)` (a `for` loop), or a closure without `move`.
    fn borrowed_locals(&self, local: &Local) -> (Vec<BindingId>, BorrowKind) {
        let Some(init) = &local.init else {
            return (Vec::new(), BorrowKind::Reference);
        };
        let (mut expr, kind) = match &*init.expr {
            // The iterator of a desugared `for`: `IntoIterator::into_iter(source)`.
            Expr::Call(call)
                if call.args.len() == 1
                    && matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "into_iter")) =>
            {
                (&call.args[0], BorrowKind::ForIterator)
            }
            other => (other, BorrowKind::Reference),
        };
        while let Expr::Paren(inner) = expr {
            expr = &inner.expr;
        }
        match expr {
            Expr::Reference(reference) => {
                let root = place_root(&reference.expr).and_then(|name| self.lookup(&name));
                let through_lent = root.is_some_and(|b| self.lending_params.contains(&b))
                    && !matches!(&*reference.expr, Expr::Path(_));
                if through_lent {
                    return (Vec::new(), kind);
                }
                (root.into_iter().collect(), kind)
            }
            Expr::Closure(closure) if closure.capture.is_none() => {
                let resolve = self.resolver();
                let mut scanner = Scanner::new(&resolve);
                scanner.scan_expr(expr);
                let mut captured: Vec<BindingId> = scanner
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Read(b)
                        | Event::Move(b)
                        | Event::Assign(b)
                        | Event::MaybeAssign(b)
                        | Event::MaybeMove(b) => Some(*b),
                        Event::Declare { .. } => None,
                    })
                    .collect();
                captured.dedup();
                (captured, BorrowKind::Closure)
            }
            _ => (Vec::new(), kind),
        }
    }

    /// What the value of `expr` may hold a borrow of, read from its shape: `&x`
    /// borrows `x`; a method call on a local may (`v.iter()` and `m.lock()` do,
    /// `v.len()` does not); so may anything built with `&x` inside it
    /// (`Wrapper(&x)`). Shared-reference parameters lend the caller's data, and the
    /// transform's own temporaries die with their statement in plain Rust: neither
    /// counts.
    fn value_borrows(&self, expr: &Expr) -> Borrowed {
        let mut borrowed = Borrowed::default();
        let mut top = expr;
        while let Expr::Paren(inner) = top {
            top = &inner.expr;
        }
        // `unwrap`, `expect` and `?` pass on what they unwrap.
        let mut inner = top;
        loop {
            match inner {
                Expr::Try(e) => inner = &e.expr,
                Expr::Paren(e) => inner = &e.expr,
                Expr::MethodCall(call)
                    if matches!(call.method.to_string().as_str(), "unwrap" | "expect") =>
                {
                    inner = &call.receiver
                }
                _ => break,
            }
        }
        match inner {
            Expr::Reference(reference) => {
                borrowed
                    .locals
                    .extend(self.borrowable_root(&reference.expr, true));
                borrowed.certain = true;
                borrowed.no_drop = true;
            }
            Expr::MethodCall(call) => {
                let method = call.method.to_string();
                let mut receiver = &*call.receiver;
                let mut owned = OWNED_RESULTS.contains(&method.as_str());
                while !owned && let Expr::MethodCall(next) = receiver {
                    owned = OWNED_RESULTS.contains(&next.method.to_string().as_str());
                    receiver = &next.receiver;
                }
                if !owned {
                    // Without the receiver's type, never certain: `v.iter()`
                    // borrows `v` when it is a `Vec`, not when it is a `&[T]`.
                    let locals = self
                        .borrowable_root(receiver, false)
                        .filter(|b| !self.shared_refs.contains(b));
                    borrowed.no_drop = BORROWING_RESULTS.contains(&method.as_str());
                    borrowed.locals.extend(locals);
                }
            }
            _ => {}
        }
        // Built with a borrow inside: it may keep it.
        struct References<'b, 'r>(&'b Builder<'r>, Vec<BindingId>);
        impl<'ast> syn::visit::Visit<'ast> for References<'_, '_> {
            fn visit_expr(&mut self, expr: &'ast Expr) {
                match expr {
                    Expr::Reference(r) => {
                        self.1.extend(self.0.borrowable_root(&r.expr, true));
                        syn::visit::visit_expr(self, expr);
                    }
                    Expr::Closure(_) | Expr::Async(_) | Expr::Block(_) => {}
                    _ => syn::visit::visit_expr(self, expr),
                }
            }
            fn visit_item(&mut self, _: &'ast Item) {}
        }
        let mut references = References(self, Vec::new());
        syn::visit::Visit::visit_expr(&mut references, top);
        for local in references.1 {
            if !borrowed.locals.contains(&local) {
                borrowed.locals.push(local);
                borrowed.certain = false;
            }
        }
        borrowed
    }

    /// The local a borrow of `place` borrows, if it is the machine's own.
    fn borrowable_root(&self, place: &Expr, by_reference: bool) -> Option<BindingId> {
        if !is_place(place) {
            return None;
        }
        let binding = place_root(place).and_then(|name| self.lookup(&name))?;
        let name = self.cfg.bindings[binding].name.to_string();
        // A `for` loop's hidden iterator too: an item never borrows its iterator.
        let temporary = [
            "__coro_t",
            "__coro_resumed",
            "__coro_awaited",
            "__coro_source",
            "__coro_iter",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        // `&tree.children` through a shared-reference parameter borrows the
        // caller's data; `&tree` itself borrows the parameter's own slot.
        let through_lent = self.lending_params.contains(&binding)
            && !(by_reference && matches!(place, Expr::Path(_)));
        (!temporary && !through_lent).then_some(binding)
    }

    /// The names a pattern binds by `ref`, and the local they borrow: the place
    /// the pattern matches (`let (a, ref b) = t;` borrows `t`).
    fn ref_pattern_roots(&self, pat: &Pat, place: Option<&Expr>) -> (Vec<String>, Vec<BindingId>) {
        let names: Vec<String> = pat_bindings(pat)
            .into_iter()
            .filter(|b| b.by_ref)
            .map(|b| b.ident.to_string())
            .collect();
        let root = place
            .filter(|e| is_place(e))
            .and_then(place_root)
            .and_then(|name| self.lookup(&name))
            .filter(|b| !self.lending_params.contains(b));
        (names, root.into_iter().collect())
    }

    /// Gives a binding of a pattern matched against `scrutinee` what it may
    /// borrow: a `ref` binding borrows the place matched, the others whatever the
    /// scrutinee's value borrows (`match opt.as_mut() { Some(v) => .. }`).
    fn pattern_borrows(&mut self, binding: BindingId, by_ref: bool, scrutinee: &Expr) {
        let borrowed = if by_ref {
            Borrowed {
                locals: self.borrowable_root(scrutinee, true).into_iter().collect(),
                certain: true,
                no_drop: true,
            }
        } else {
            self.value_borrows(scrutinee)
        };
        self.record_borrows(&[binding], borrowed, BorrowKind::Reference);
    }

    /// Stores what `binds` may borrow; a certain borrow is reported as `kind` if it
    /// crosses a suspension point, an uncertain one makes the machine pinned.
    fn record_borrows(&mut self, binds: &[BindingId], borrowed: Borrowed, kind: BorrowKind) {
        if borrowed.no_drop && !borrowed.locals.is_empty() {
            self.cfg.no_drop.extend(binds.iter().copied());
        }
        if borrowed.locals.is_empty() {
            return;
        }
        for &binding in binds {
            self.cfg.bindings[binding].borrows = borrowed.locals.clone();
            self.cfg.bindings[binding].borrow_kind = match borrowed.certain {
                true => kind,
                false => BorrowKind::MayBorrow,
            };
        }
    }

    /// Declares a hidden temporary holding `init` (or uninitialised) and returns the
    /// expression that reads it.
    fn temp(&mut self, init: Option<Expr>, mutable: bool) -> (BindingId, Expr) {
        let name = self.hidden("t");
        let pat: Pat = if mutable {
            syn::parse_quote!(mut #name)
        } else {
            syn::parse_quote!(#name)
        };
        let binds = self.push_let(make_local(pat, init));
        (binds[0], desugar::local(&name))
    }

    fn binding_expr(&self, binding: BindingId) -> Expr {
        desugar::local(&self.cfg.bindings[binding].name)
    }

    /// Evaluates `value` now and keeps it for later; a borrow of a temporary keeps the
    /// temporary and borrows it later, so no borrow is held across the suspension.
    fn spill(&mut self, value: Expr) -> Expr {
        if let Expr::Reference(reference) = &value
            && !is_place(&reference.expr)
        {
            let mutable = reference.mutability.is_some();
            let (_, path) = self.temp(Some((*reference.expr).clone()), mutable);
            let mutability = reference.mutability;
            return syn::parse_quote!(&#mutability #path);
        }
        self.temp(Some(value), true).1
    }

    fn push_code(&mut self, stmt: SynStmt) {
        let events = {
            let resolve = self.resolver();
            let mut scanner = Scanner::new(&resolve);
            scanner.scan_stmt(&stmt);
            scanner.events
        };
        self.push(Stmt::Code { stmt, events });
    }

    fn push_expr(&mut self, expr: Expr) {
        if !is_unit(&expr) {
            self.push_code(SynStmt::Expr(expr, Some(Default::default())));
        }
    }

    fn assign(&mut self, binding: BindingId, value: Expr) {
        let target = self.binding_expr(binding);
        self.push_code(desugar::assign(target, value));
    }

    fn lower_stmt(&mut self, stmt: &SynStmt) {
        match stmt {
            SynStmt::Item(item) => {
                // Each `yield_from!` brings the same `use`: keep one.
                let text = item.to_token_stream().to_string();
                if !self
                    .cfg
                    .items
                    .iter()
                    .any(|i| i.to_token_stream().to_string() == text)
                {
                    self.cfg.items.push(item.clone());
                }
            }
            _ if !stmt_needs_lowering(stmt) => match stmt {
                SynStmt::Local(local) => {
                    self.push_let(local.clone());
                }
                other => self.push_code(other.clone()),
            },
            SynStmt::Local(local) => self.lower_local(local),
            SynStmt::Expr(expr, _) => {
                let value = self.lower_expr(expr, Want::Discard);
                self.push_expr(value);
            }
            SynStmt::Macro(mac) => {
                let expr = Expr::Macro(syn::ExprMacro {
                    attrs: mac.attrs.clone(),
                    mac: mac.mac.clone(),
                });
                let value = self.lower_expr(&expr, Want::Discard);
                self.push_expr(value);
            }
        }
    }

    fn lower_local(&mut self, local: &Local) {
        let Some(init) = &local.init else {
            self.push_let(local.clone());
            return;
        };
        let value = self.lower_expr(&init.expr, Want::Value);
        match &init.diverge {
            Some((_, diverge)) if needs_lowering(diverge) => {
                // `let P = v else { .. }` whose `else` jumps out of a split loop:
                // a match whose second arm is the `else` block.
                let (pat, pairs) = rename_bindings(&local.pat, &mut self.fresh);
                let bound = self.new_block(self.scope());
                let otherwise = self.new_block(self.scope());
                let events = self.scan(&value);
                self.terminate(
                    Terminator::Match {
                        scrutinee: value,
                        arms: vec![
                            Arm {
                                pat,
                                guard: None,
                                target: bound,
                            },
                            Arm {
                                pat: syn::parse_quote!(_),
                                guard: None,
                                target: otherwise,
                            },
                        ],
                    },
                    events,
                );
                self.current = otherwise;
                let value = self.lower_expr(diverge, Want::Discard);
                self.push_expr(value);
                self.current = bound;
                for (binding, hidden) in pairs {
                    let id = self.declare(binding.ident, binding.mutable);
                    self.push(Stmt::Bind {
                        binding: id,
                        from: Some(hidden),
                    });
                }
            }
            _ => {
                let mut local = local.clone();
                *local.init.as_mut().unwrap().expr = value;
                self.push_let(local);
            }
        }
    }

    /// Lowers `expr` so that evaluating the returned expression at the end of the
    /// current block gives its value. Code before a suspension point lands in earlier
    /// blocks.
    fn lower_expr(&mut self, expr: &Expr, want: Want) -> Expr {
        if !needs_lowering(expr) {
            // `{ value }` on its own would draw `unused_braces` once it is assigned.
            return match expr {
                Expr::Block(block) if block.label.is_none() && block.attrs.is_empty() => {
                    self.lower_block(&block.block, want)
                }
                _ => expr.clone(),
            };
        }
        match expr {
            Expr::Macro(mac) => match SuspendMacro::of(&mac.mac) {
                Some(SuspendMacro::Yield) => self.lower_yield(&mac.mac, want),
                Some(SuspendMacro::YieldFrom) if matches!(self.kind, Kind::Stream { .. }) => {
                    let source = single_arg(&mac.mac);
                    let source = self.lower_expr(&source, Want::Value);
                    let at = mac.mac.path.span();
                    self.lower_await(source, true, mac.to_token_stream(), at, want)
                }
                Some(SuspendMacro::YieldFrom) => {
                    let desugared = self.desugar_yield_from(&mac.mac);
                    // The yields inside are the user's `yield_from!`, for messages.
                    let outer = self.forwarding.replace(mac.to_token_stream());
                    let value = self.lower_expr(&desugared, want);
                    self.forwarding = outer;
                    value
                }
                // A suspension inside another macro: reported by validation.
                None => expr.clone(),
            },
            Expr::Block(block) if block.label.is_some() => self.lower_labeled_block(block, want),
            Expr::Block(block) => self.lower_block(&block.block, want),
            Expr::If(e) => self.lower_if(e, want),
            Expr::Match(e) => self.lower_match(e, want),
            Expr::Loop(e) => self.lower_loop(e.label.as_ref(), &e.body, want),
            Expr::While(e) => {
                let desugared = desugar::while_loop(e);
                self.lower_unit_valued(&desugared)
            }
            Expr::ForLoop(e) => {
                let desugared = self.desugar_for(e);
                self.lower_unit_valued(&desugared)
            }
            Expr::Await(e) => {
                let future = self.lower_expr(&e.base, Want::Value);
                self.lower_await(future, false, e.to_token_stream(), e.await_token.span, want)
            }
            Expr::Break(e) => self.lower_break(e),
            Expr::Continue(e) => self.lower_continue(e),
            Expr::Return(e) => {
                let value = match &e.expr {
                    Some(value) => self.lower_expr(value, Want::Value),
                    None => unit(),
                };
                let events = self.scan(&value);
                self.terminate(Terminator::Return(value), events);
                self.start_dead_block();
                unit()
            }
            Expr::Try(e) => {
                let inner = self.lower_expr(&e.expr, Want::Value);
                let mut e = e.clone();
                e.expr = Box::new(inner);
                Expr::Try(e)
            }
            Expr::Paren(e) => self.lower_expr(&e.expr, want),
            Expr::Binary(e) if matches!(e.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) => {
                self.lower_expr(&desugar::short_circuit(e), want)
            }
            Expr::Assign(e) => {
                if needs_lowering(&e.left) {
                    self.unsupported(
                        &e.left,
                        "on the left of an assignment",
                        "compute the value first, then assign",
                    );
                }
                let right = self.lower_expr(&e.right, Want::Value);
                let mut e = e.clone();
                e.right = Box::new(right);
                Expr::Assign(e)
            }
            Expr::Binary(e) if is_compound_assign(&e.op) => {
                if needs_lowering(&e.left) {
                    self.unsupported(
                        &e.left,
                        "on the left of an assignment",
                        "compute the value first, then assign",
                    );
                }
                let right = self.lower_expr(&e.right, Want::Value);
                let mut e = e.clone();
                e.right = Box::new(right);
                Expr::Binary(e)
            }
            Expr::Let(e) => {
                self.unsupported(
                    e,
                    "in a `let` condition chain",
                    "bind the value with `let` before the `if`",
                );
                expr.clone()
            }
            _ => self.lower_operands(expr),
        }
    }

    /// A construct the compact machine cannot split; the pinned one can, so the
    /// error stands only when `compact` was asked for.
    fn unsupported(&mut self, tokens: impl quote::ToTokens, construct: &str, advice: &str) {
        self.cfg.unsupported = true;
        self.errors
            .spanned(tokens, diag::unsupported(construct, advice));
    }

    /// Calls, method calls, literals, operators: evaluates each operand in order, and
    /// spills the ones before the last suspension point.
    fn lower_operands(&mut self, expr: &Expr) -> Expr {
        let mut expr = expr.clone();
        let Some(mut operands) = operands_mut(&mut expr) else {
            self.unsupported(
                &expr,
                "in this kind of expression",
                "bind the suspending part with `let` first",
            );
            return expr;
        };
        let last = operands.iter().rposition(|op| needs_lowering(op));
        if let Some(last) = last {
            // A name read now and assigned by a later operand (`x <= { x += 1; x }`)
            // is read now in Rust: copy it, as rustc does.
            let assigned_later: Vec<Vec<String>> = (0..operands.len())
                .map(|index| {
                    operands[index + 1..]
                        .iter()
                        .flat_map(|op| assigned_names(op))
                        .collect()
                })
                .collect();
            for (index, operand) in operands.iter_mut().enumerate().take(last + 1) {
                let mut value = self.lower_expr(operand, Want::Value);
                let overwritten =
                    place_root(&value).is_some_and(|root| assigned_later[index].contains(&root));
                if index < last && (!is_pure(&value) || overwritten) {
                    value = self.spill(value);
                }
                **operand = value;
            }
        }
        expr
    }

    fn lower_yield(&mut self, mac: &syn::Macro, want: Want) -> Expr {
        let value = match scan::macro_args(mac) {
            Ok(args) if args.len() == 1 => self.lower_expr(&args[0], Want::Value),
            _ => unit(),
        };
        let next = self.new_block(self.scope());
        self.cfg.blocks[next].resumed = true;
        let events = self.scan(&value);
        self.terminate(
            Terminator::Yield {
                value,
                next,
                origin: self
                    .forwarding
                    .clone()
                    .unwrap_or_else(|| mac.to_token_stream()),
            },
            events,
        );
        self.current = next;
        match want {
            Want::Value => {
                let name = self.hidden("resumed");
                let binding = self.declare(name.clone(), false);
                self.push(Stmt::Resume {
                    into: Some(binding),
                });
                syn::parse_quote!(#name)
            }
            Want::Discard => {
                self.push(Stmt::Resume { into: None });
                unit()
            }
        }
    }

    /// `future.await`, or `yield_from!(stream)` in an async generator: the value is
    /// pinned in its own await slot and polled by the next block until ready.
    fn lower_await(
        &mut self,
        future: Expr,
        stream: bool,
        origin: TokenStream,
        at: Span,
        want: Want,
    ) -> Expr {
        let slot = self.cfg.await_slots;
        self.cfg.await_slots += 1;
        let next = self.new_block(self.scope());
        self.cfg.blocks[next].resumed = true;
        self.cfg.blocks[next].polls = Some(Polled { slot, at, stream });
        let events = self.scan(&future);
        self.terminate(
            Terminator::Await {
                future,
                next,
                origin,
            },
            events,
        );
        self.current = next;
        match want {
            Want::Value if !stream => {
                let name = self.hidden("awaited");
                let binding = self.declare(name.clone(), false);
                self.push(Stmt::Resume {
                    into: Some(binding),
                });
                syn::parse_quote!(#name)
            }
            _ => {
                self.push(Stmt::Resume { into: None });
                unit()
            }
        }
    }

    fn desugar_yield_from(&mut self, mac: &syn::Macro) -> Expr {
        let source = single_arg(mac);
        let krate = self.krate;
        let span = mac.span();
        let sub = self.hidden("sub");
        let item = self.hidden("item");
        let p = quote_spanned!(span=> #krate::__private);
        match self.kind {
            Kind::Coroutine { .. } => {
                let arg = self.hidden("arg");
                let ret = self.hidden("ret");
                syn::parse_quote_spanned! {span=> {
                    let mut #sub = #source;
                    let mut #arg = #p::Default::default();
                    loop {
                        match #p::Coroutine::resume(#p::Pin::new(&mut #sub), #arg) {
                            #p::CoroutineState::Yielded(#item) => { #arg = yield_!(#item); }
                            #p::CoroutineState::Complete(#ret) => break #ret,
                        }
                    }
                }}
            }
            // An iterable, or a coroutine resumed with `()` (whose return value
            // is the macro's): method resolution on the wrapped source picks.
            _ => {
                let wrapped = self.hidden("source");
                let ret = self.hidden("ret");
                syn::parse_quote_spanned! {span=> {
                    #[allow(unused_imports)]
                    use #p::{ViaCoroutine as _, ViaIterable as _};
                    let #wrapped = #p::YieldFrom(#source);
                    let mut #sub = (&#wrapped).yield_from_kind().forward(#wrapped.0);
                    loop {
                        match #p::Forward::step(&mut #sub) {
                            #p::CoroutineState::Yielded(#item) => { yield_!(#item); }
                            #p::CoroutineState::Complete(#ret) => break #ret,
                        }
                    }
                }}
            }
        }
    }

    /// A `for` or `while` loop, whose value is always `()`: lowered as a statement,
    /// so no temporary is declared to carry a value that is known. (An uninitialised
    /// temporary would also make the emitter check every state's code for unused
    /// declarations.)
    fn lower_unit_valued(&mut self, desugared: &Expr) -> Expr {
        let value = self.lower_expr(desugared, Want::Discard);
        self.push_expr(value);
        unit()
    }

    fn desugar_for(&mut self, e: &syn::ExprForLoop) -> Expr {
        let iter = self.hidden("iter");
        // Rust drops the iterator as the loop ends. When only running out ends it,
        // that is where it ends, so the iterator is dropped there, and the state
        // after the loop need not carry it (nor a suspended loop keep its final
        // value ready). A `break` would leave it alive on one path into that state
        // and gone on another, which the compact machine cannot store.
        let breaks_out = scan::breaks_out(&e.body, e.label.as_ref());
        // Built as syntax rather than parsed from tokens: parsing would go through
        // the loop's whole body again, the costliest step of lowering a small body.
        desugar::for_loop(self.krate, e, iter, !breaks_out)
    }

    /// A block whose value is needed after its scope ends goes through a temporary
    /// declared outside it.
    fn lower_block(&mut self, block: &SynBlock, want: Want) -> Expr {
        if !block_needs_lowering(block) {
            return match block.stmts.as_slice() {
                [SynStmt::Expr(tail, None)] => tail.clone(),
                _ => desugar::braced(block.clone()),
            };
        }
        let tail = match block.stmts.last() {
            Some(SynStmt::Expr(tail, None)) => Some(tail),
            _ => None,
        };
        let result = match (want, tail) {
            (Want::Value, Some(_)) => Some(self.temp(None, false)),
            _ => None,
        };
        self.enter_scope();
        for stmt in body_stmts(block) {
            self.lower_stmt(stmt);
        }
        if let Some(tail) = tail {
            let value = self.lower_expr(tail, want);
            match &result {
                Some((binding, _)) => self.assign(*binding, value),
                None => self.push_expr(value),
            }
        } else if block.stmts.last().is_some_and(scan::diverges) {
            // A block ending in `return;` or `panic!()` has type `!`: what the
            // caller does with its value is never reached.
            self.start_dead_block();
        }
        self.exit_scope();
        result.map_or_else(unit, |(_, path)| path)
    }

    fn lower_labeled_block(&mut self, block: &syn::ExprBlock, want: Want) -> Expr {
        let result = (want == Want::Value).then(|| self.temp(None, false));
        let after = self.new_block(self.scope());
        self.loops.push(LoopFrame {
            label: block.label.as_ref().map(|l| l.name.ident.to_string()),
            is_loop: false,
            break_to: after,
            continue_to: after,
            result: result.as_ref().map(|(b, _)| *b),
        });
        let value = self.lower_block(&block.block, want);
        if let Some((binding, _)) = &result {
            self.assign(*binding, value);
        }
        self.loops.pop();
        self.goto(after);
        self.current = after;
        result.map_or_else(unit, |(_, path)| path)
    }

    fn lower_if(&mut self, e: &syn::ExprIf, want: Want) -> Expr {
        let else_expr = e.else_branch.as_ref().map(|(_, expr)| &**expr);
        let branches_split =
            block_needs_lowering(&e.then_branch) || else_expr.is_some_and(needs_lowering);
        let has_chain = !matches!(&*e.cond, Expr::Let(_)) && contains_let(&e.cond);
        if has_chain && needs_lowering(&e.cond) {
            self.unsupported(
                &e.cond,
                "in a `let` condition chain",
                "bind the value with `let` before the `if`",
            );
            return Expr::If(e.clone());
        }
        if !branches_split {
            // Only the condition suspends: lower it and keep the `if` whole.
            let mut e = e.clone();
            match &mut *e.cond {
                Expr::Let(cond) => *cond.expr = self.lower_expr(&cond.expr, Want::Value),
                cond => *cond = self.lower_expr(cond, Want::Value),
            }
            return Expr::If(e);
        }
        let result = (want == Want::Value).then(|| self.temp(None, false));
        let scope = self.scope();
        let (then_to, else_to, join) = (
            self.new_block(scope),
            self.new_block(scope),
            self.new_block(scope),
        );
        let then_binds: Vec<(PatBinding, Option<Ident>)> = match &*e.cond {
            Expr::Let(cond) => {
                let scrutinee = self.lower_expr(&cond.expr, Want::Value);
                let (pat, pairs) = rename_bindings(&cond.pat, &mut self.fresh);
                let events = self.scan(&scrutinee);
                self.terminate(
                    Terminator::Match {
                        scrutinee,
                        arms: vec![
                            Arm {
                                pat,
                                guard: None,
                                target: then_to,
                            },
                            Arm {
                                pat: syn::parse_quote!(_),
                                guard: None,
                                target: else_to,
                            },
                        ],
                    },
                    events,
                );
                pairs
                    .into_iter()
                    .map(|(b, hidden)| (b, Some(hidden)))
                    .collect()
            }
            cond => {
                let cond = self.lower_expr(cond, Want::Value);
                let events = self.scan(&cond);
                let binds = chain_bindings(&cond)
                    .into_iter()
                    .map(|b| (b, None))
                    .collect();
                self.terminate(
                    Terminator::If {
                        cond,
                        then_to,
                        else_to,
                    },
                    events,
                );
                binds
            }
        };
        self.cfg.joins.insert(self.current, join);
        self.current = then_to;
        self.enter_scope();
        for (binding, from) in then_binds {
            let id = self.declare(binding.ident, binding.mutable);
            self.push(Stmt::Bind { binding: id, from });
        }
        let value = self.lower_block(&e.then_branch, want);
        self.finish_branch(result.as_ref().map(|(b, _)| *b), value, join, true);
        self.current = else_to;
        let value = match else_expr {
            Some(expr) => self.lower_expr(expr, want),
            None => unit(),
        };
        self.finish_branch(result.as_ref().map(|(b, _)| *b), value, join, false);
        self.current = join;
        result.map_or_else(unit, |(_, path)| path)
    }

    fn finish_branch(
        &mut self,
        result: Option<BindingId>,
        value: Expr,
        join: BlockId,
        in_scope: bool,
    ) {
        match result {
            Some(binding) => self.assign(binding, value),
            None => self.push_expr(value),
        }
        if in_scope {
            self.exit_scope();
        }
        self.goto(join);
    }

    fn lower_match(&mut self, e: &syn::ExprMatch, want: Want) -> Expr {
        let arms_split = e.arms.iter().any(|arm| needs_lowering(&arm.body));
        for arm in &e.arms {
            if let Some((_, guard)) = &arm.guard
                && needs_lowering(guard)
            {
                self.unsupported(
                    guard,
                    "in a match guard",
                    "suspend before the `match`, or inside the arm's body",
                );
            }
        }
        let scrutinee = self.lower_expr(&e.expr, Want::Value);
        if !arms_split {
            let mut e = e.clone();
            e.expr = Box::new(scrutinee);
            return Expr::Match(e);
        }
        let result = (want == Want::Value).then(|| self.temp(None, false));
        let scope = self.scope();
        let join = self.new_block(scope);
        let mut arms = Vec::new();
        let mut bodies = Vec::new();
        let mut events = self.scan(&scrutinee);
        for arm in &e.arms {
            let target = self.new_block(scope);
            let (pat, binds) = if arm.guard.is_some() {
                let binds: Vec<_> = pat_bindings(&arm.pat)
                    .into_iter()
                    .map(|b| (b, None))
                    .collect();
                (arm.pat.clone(), binds)
            } else {
                let (pat, pairs) = rename_bindings(&arm.pat, &mut self.fresh);
                (
                    pat,
                    pairs
                        .into_iter()
                        .map(|(b, hidden)| (b, Some(hidden)))
                        .collect(),
                )
            };
            let guard = arm.guard.as_ref().map(|(_, guard)| (**guard).clone());
            if let Some(guard) = &guard {
                let names = pat_bindings(&arm.pat)
                    .into_iter()
                    .map(|b| b.ident.to_string());
                let resolve = self.resolver();
                let mut scanner = Scanner::new(&resolve).shadowing(names);
                scanner.scan_expr(guard);
                // A guard runs only when its pattern matches (and no arm before
                // it was taken).
                events.extend(scanner.events.into_iter().map(Event::on_some_paths));
            }
            arms.push(Arm { pat, guard, target });
            bodies.push((target, binds, &arm.body));
        }
        let matched = scrutinee.clone();
        self.terminate(Terminator::Match { scrutinee, arms }, events);
        self.cfg.joins.insert(self.current, join);
        for (target, binds, body) in bodies {
            self.current = target;
            self.enter_scope();
            for (binding, from) in binds {
                let by_ref = binding.by_ref;
                let id = self.declare(binding.ident, binding.mutable);
                self.pattern_borrows(id, by_ref, &matched);
                self.push(Stmt::Bind { binding: id, from });
            }
            let value = self.lower_expr(body, want);
            self.finish_branch(result.as_ref().map(|(b, _)| *b), value, join, true);
        }
        self.current = join;
        result.map_or_else(unit, |(_, path)| path)
    }

    fn lower_loop(&mut self, label: Option<&syn::Label>, body: &SynBlock, want: Want) -> Expr {
        // A loop left only by `break;` (or never) has no value to keep.
        let has_value = want == Want::Value && scan::breaks_with_value(body, label);
        let result = has_value.then(|| self.temp(None, false));
        let scope = self.scope();
        let header = self.new_block(scope);
        let after = self.new_block(scope);
        self.goto(header);
        self.current = header;
        self.loops.push(LoopFrame {
            label: label.map(|l| l.name.ident.to_string()),
            is_loop: true,
            break_to: after,
            continue_to: header,
            result: result.as_ref().map(|(b, _)| *b),
        });
        let value = self.lower_block(body, Want::Discard);
        self.push_expr(value);
        self.goto(header);
        self.loops.pop();
        self.current = after;
        result.map_or_else(unit, |(_, path)| path)
    }

    fn find_loop(
        &mut self,
        label: Option<&syn::Lifetime>,
        tokens: &dyn quote::ToTokens,
    ) -> Option<usize> {
        let found = match label {
            Some(label) => {
                let name = label.ident.to_string();
                self.loops
                    .iter()
                    .rposition(|frame| frame.label.as_deref() == Some(name.as_str()))
            }
            None => self.loops.iter().rposition(|frame| frame.is_loop),
        };
        if found.is_none() {
            self.errors.spanned(
                tokens,
                "`break` or `continue` outside of a loop in a `#[coroutine]` body",
            );
        }
        found
    }

    fn lower_break(&mut self, e: &syn::ExprBreak) -> Expr {
        let value = e
            .expr
            .as_ref()
            .map(|value| self.lower_expr(value, Want::Value));
        let Some(index) = self.find_loop(e.label.as_ref(), e) else {
            return unit();
        };
        let (result, break_to) = (self.loops[index].result, self.loops[index].break_to);
        match (result, value) {
            (Some(binding), Some(value)) => self.assign(binding, value),
            (Some(binding), None) => self.assign(binding, unit()),
            (None, Some(value)) => self.push_expr(value),
            (None, None) => {}
        }
        self.goto(break_to);
        self.start_dead_block();
        unit()
    }

    fn lower_continue(&mut self, e: &syn::ExprContinue) -> Expr {
        if let Some(index) = self.find_loop(e.label.as_ref(), e) {
            let target = self.loops[index].continue_to;
            self.goto(target);
            self.start_dead_block();
        }
        unit()
    }
}

/// The one argument of `yield_!`/`yield_from!` (validation reported any other count).
fn single_arg(mac: &syn::Macro) -> Expr {
    match scan::macro_args(mac) {
        Ok(args) if args.len() == 1 => args.into_iter().next().unwrap(),
        _ => unit(),
    }
}

fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

fn contains_let(expr: &Expr) -> bool {
    match expr {
        Expr::Let(_) => true,
        Expr::Binary(e) if matches!(e.op, syn::BinOp::And(_)) => {
            contains_let(&e.left) || contains_let(&e.right)
        }
        _ => false,
    }
}

/// The bindings of the `let`s in a condition chain (`if let A = a && let B = b`).
fn chain_bindings(expr: &Expr) -> Vec<PatBinding> {
    match expr {
        Expr::Let(e) => pat_bindings(&e.pat),
        Expr::Binary(e) if matches!(e.op, syn::BinOp::And(_)) => {
            let mut out = chain_bindings(&e.left);
            out.extend(chain_bindings(&e.right));
            out
        }
        _ => Vec::new(),
    }
}

/// The operands of an expression in evaluation order, or `None` if the transform
/// does not know its evaluation order.
fn operands_mut(expr: &mut Expr) -> Option<Vec<&mut Expr>> {
    Some(match expr {
        Expr::Call(e) => std::iter::once(&mut *e.func)
            .chain(e.args.iter_mut())
            .collect(),
        Expr::MethodCall(e) => std::iter::once(&mut *e.receiver)
            .chain(e.args.iter_mut())
            .collect(),
        Expr::Tuple(e) => e.elems.iter_mut().collect(),
        Expr::Array(e) => e.elems.iter_mut().collect(),
        Expr::Struct(e) => {
            let rest = e.rest.as_deref_mut();
            e.fields
                .iter_mut()
                .map(|f| &mut f.expr)
                .chain(rest)
                .collect()
        }
        Expr::Binary(e) => vec![&mut *e.left, &mut *e.right],
        Expr::Index(e) => vec![&mut *e.expr, &mut *e.index],
        Expr::Range(e) => e
            .start
            .as_deref_mut()
            .into_iter()
            .chain(e.end.as_deref_mut())
            .collect(),
        Expr::Field(e) => vec![&mut *e.base],
        Expr::Unary(e) => vec![&mut *e.expr],
        Expr::Cast(e) => vec![&mut *e.expr],
        Expr::Reference(e) => vec![&mut *e.expr],
        Expr::Repeat(e) => vec![&mut *e.expr],
        Expr::Group(e) => vec![&mut *e.expr],
        _ => return None,
    })
}

/// A literal, maybe negated or in parentheses: its type is a primitive.
fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(_) => true,
        Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => is_literal(&unary.expr),
        Expr::Paren(paren) => is_literal(&paren.expr),
        _ => false,
    }
}
