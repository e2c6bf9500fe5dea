//! Reading user code without changing it: where the suspension points are, which
//! bindings a piece of straight code mentions and how, and which names a pattern binds.
//!
//! The transform has no types, so "how" is read from syntax. A mention is a `Read`
//! only where Rust never moves (`&x`, `x[i]`, `x == y`, `x.len()`); everything else is
//! a possible `Move`. Erring towards `Move` is the safe side: a possibly-moved binding
//! that is never mentioned again is not carried across a suspension point (it is
//! dropped there instead of at the end of its scope), whereas carrying a binding that
//! was really moved would not compile.

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{Block, Expr, Local, Macro, Pat, Stmt};

use crate::diag::{self, Errors};
use crate::parse::{Kind, Lowering};

pub type BindingId = usize;

/// What a piece of code does to a binding, in evaluation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The binding starts to exist, initialised or not (`let x;`).
    Declare { binding: BindingId, init: bool },
    /// Read or borrowed: still initialised afterwards.
    Read(BindingId),
    /// Possibly moved out.
    Move(BindingId),
    /// Overwritten as a whole (`x = ..`): initialised afterwards.
    Assign(BindingId),
    /// Overwritten on some paths only (inside an `if`, a loop, a match arm).
    MaybeAssign(BindingId),
    /// Possibly moved out, on some paths only.
    MaybeMove(BindingId),
}

impl Event {
    /// The event as it is for code that runs on some paths only.
    pub fn on_some_paths(self) -> Event {
        match self {
            Event::Assign(b) => Event::MaybeAssign(b),
            Event::Move(b) => Event::MaybeMove(b),
            other => other,
        }
    }
}

/// The two macros the transform recognises by name inside a body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SuspendMacro {
    Yield,
    YieldFrom,
}

impl SuspendMacro {
    pub fn of(mac: &Macro) -> Option<Self> {
        match mac.path.segments.last()?.ident.to_string().as_str() {
            "yield_" => Some(SuspendMacro::Yield),
            "yield_from" => Some(SuspendMacro::YieldFrom),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SuspendMacro::Yield => "yield_",
            SuspendMacro::YieldFrom => "yield_from",
        }
    }
}

/// The name a macro is called by (`println` for `std::println!`).
fn macro_name(mac: &Macro) -> String {
    mac.path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// Does this expression have to be split into blocks: does it suspend, or jump out
/// of itself to a loop that was split?
pub fn needs_lowering(expr: &Expr) -> bool {
    let mut finder = Finder::default();
    finder.visit_expr(expr);
    finder.found
}

pub fn block_needs_lowering(block: &Block) -> bool {
    let mut finder = Finder::default();
    finder.visit_block(block);
    finder.found
}

pub fn stmt_needs_lowering(stmt: &Stmt) -> bool {
    let mut finder = Finder::default();
    finder.visit_stmt(stmt);
    finder.found
}

/// Finds suspension points and `break`/`continue`s that leave the searched code.
/// Closures, async blocks and items are other bodies: their contents do not count.
#[derive(Default)]
struct Finder {
    found: bool,
    loops: usize,
    labels: Vec<String>,
}

impl Finder {
    fn leaves(&self, label: Option<&syn::Lifetime>) -> bool {
        match label {
            Some(label) => !self.labels.iter().any(|l| label.ident == l),
            None => self.loops == 0,
        }
    }

    fn in_loop(&mut self, label: Option<&syn::Label>, visit: impl FnOnce(&mut Self)) {
        if let Some(label) = label {
            self.labels.push(label.name.ident.to_string());
        }
        self.loops += 1;
        visit(self);
        self.loops -= 1;
        if label.is_some() {
            self.labels.pop();
        }
    }
}

impl<'ast> Visit<'ast> for Finder {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        if self.found {
            return;
        }
        match expr {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Await(_) => self.found = true,
            Expr::Loop(e) => self.in_loop(e.label.as_ref(), |f| f.visit_block(&e.body)),
            Expr::While(e) => {
                self.visit_expr(&e.cond);
                self.in_loop(e.label.as_ref(), |f| f.visit_block(&e.body));
            }
            Expr::ForLoop(e) => {
                self.visit_expr(&e.expr);
                self.in_loop(e.label.as_ref(), |f| f.visit_block(&e.body));
            }
            Expr::Block(e) if e.label.is_some() => {
                let label = e.label.as_ref().unwrap();
                self.labels.push(label.name.ident.to_string());
                self.visit_block(&e.block);
                self.labels.pop();
            }
            Expr::Break(e) => {
                if self.leaves(e.label.as_ref()) {
                    self.found = true;
                }
                if let Some(value) = &e.expr {
                    self.visit_expr(value);
                }
            }
            Expr::Continue(e) => {
                if self.leaves(e.label.as_ref()) {
                    self.found = true;
                }
            }
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        if SuspendMacro::of(mac).is_some() {
            self.found = true;
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Reports suspension points the transform cannot turn into states, with the user's
/// span: inside closures, async blocks or nested items; `.await` where there is no
/// waker; `yield_!` where there is no `Yield` type; `?` where there is no return
/// value. The compact machine also cannot split other macros' arguments or `unsafe`
/// blocks; the pinned one, being an `async` block, can.
pub fn validate(body: &Block, kind: &Kind, lowering: Lowering, errors: &mut Errors) {
    let mut validator = Validator {
        kind,
        lowering,
        container: None,
        errors,
    };
    validator.visit_block(body);
}

struct Validator<'a> {
    kind: &'a Kind,
    lowering: Lowering,
    container: Option<&'static str>,
    errors: &'a mut Errors,
}

impl Validator<'_> {
    fn inside(&mut self, container: &'static str, visit: impl FnOnce(&mut Self)) {
        let outer = self.container.replace(container);
        visit(self);
        self.container = outer;
    }
}

impl<'ast> Visit<'ast> for Validator<'_> {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        match expr {
            Expr::Closure(e) => self.inside("a closure", |v| v.visit_expr(&e.body)),
            Expr::Async(e) => self.inside("an async block", |v| v.visit_block(&e.block)),
            Expr::Const(e) => self.inside("a const block", |v| v.visit_block(&e.block)),
            Expr::Await(e) => {
                if self.container.is_none() && !self.kind.can_await() {
                    self.errors.spanned(e.await_token, diag::await_in_sync_kind(self.kind.name()));
                }
                self.visit_expr(&e.base);
            }
            Expr::Try(e) => {
                if self.container.is_none() {
                    match self.kind {
                        Kind::Generator { .. } => {
                            self.errors.spanned(e.question_token, diag::try_in_generator());
                        }
                        Kind::Stream { .. } => self
                            .errors
                            .spanned(e.question_token, diag::try_in_async_generator()),
                        Kind::Coroutine { .. } | Kind::Future { .. } => {}
                    }
                }
                self.visit_expr(&e.expr);
            }
            Expr::Unsafe(e)
                if self.lowering == Lowering::Compact && block_needs_lowering(&e.block) =>
            {
                self.errors.spanned(
                e.unsafe_token,
                diag::unsupported(
                    "inside an `unsafe` block",
                    "keep the `unsafe` block around the unsafe operation alone and suspend outside it",
                ),
            )
            }
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        let Some(suspend) = SuspendMacro::of(mac) else {
            if self.lowering == Lowering::Pinned {
                // Expanded inside the `async` block, where the suspension macros are
                // defined: any macro may carry them. An `.await` still needs a waker.
                if !self.kind.can_await() && awaits_in_macro(mac) {
                    self.errors
                        .spanned(mac, diag::await_in_sync_kind(self.kind.name()));
                }
                return;
            }
            let outer = macro_name(mac);
            if self.container.is_none() && exits_in_tokens(mac.tokens.clone()) {
                // The compact machine rewrites `?` and `return` into leaving the
                // machine; it cannot see them inside another macro.
                self.errors.spanned(
                    mac,
                    diag::unsupported(
                        &format!("`?` or `return` inside the arguments of `{outer}!`"),
                        "compute the value first",
                    ),
                );
                return;
            }
            if let Some(inner) = suspend_macro_in_tokens(mac.tokens.clone()) {
                self.errors
                    .spanned(mac, diag::yield_in_macro(inner, &outer));
            } else if self.kind.can_await() && awaits_in_macro(mac) {
                self.errors.spanned(mac, diag::await_in_macro(&outer));
            }
            return;
        };
        let name = suspend.name();
        if let Some(container) = self.container {
            self.errors
                .spanned(mac, diag::yield_in_closure(name, container));
            return;
        }
        if !self.kind.can_yield() {
            self.errors.spanned(mac, diag::yield_in_future(name));
            return;
        }
        match macro_args(mac) {
            Ok(args) if args.len() == 1 || (args.is_empty() && suspend == SuspendMacro::Yield) => {
                for arg in &args {
                    self.visit_expr(arg);
                }
            }
            Ok(_) => self.errors.spanned(mac, diag::yield_arity(name)),
            Err(error) => self.errors.push(error),
        }
    }

    /// A nested function is not part of the state machine: a `yield_!` in it would
    /// otherwise meet only "cannot find macro".
    fn visit_item(&mut self, item: &'ast syn::Item) {
        // A nested `#[coro::coroutine]` function is transformed on its own.
        if let syn::Item::Fn(func) = item
            && func.attrs.iter().any(|attr| {
                attr.path()
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "coroutine")
            })
        {
            return;
        }
        if let Some(found) = suspend_macro_in_tokens(quote::ToTokens::to_token_stream(item)) {
            self.errors.spanned(item, diag::yield_in_nested_item(found));
        }
    }
}

/// The comma-separated expressions inside a macro call.
pub fn macro_args(mac: &Macro) -> syn::Result<Vec<Expr>> {
    let args =
        mac.parse_body_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)?;
    Ok(args.into_iter().collect())
}

/// Does a macro's input hold a suspension point (`yield_!`, `yield_from!`, `.await`)?
/// `coro::select!` (by its last segment): it awaits, though its input shows no
/// `.await`.
pub fn is_select(mac: &Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|s| s.ident == "select")
}

/// An `.await` in what `mac` expands to, as far as its tokens tell.
pub fn awaits_in_macro(mac: &Macro) -> bool {
    is_select(mac) || await_in_tokens(mac.tokens.clone())
}

pub fn suspends_in_tokens(tokens: TokenStream) -> bool {
    suspend_macro_in_tokens(tokens.clone()).is_some() || await_in_tokens(tokens)
}

/// Does `block` hold a suspension point anywhere, closures, async blocks and items
/// included: what [`suspends_in_tokens`] would say of its tokens. A walk of the
/// syntax reads only macros' inputs as tokens, where printing the whole block would
/// go through the compiler's bridge once per token.
pub fn suspends_anywhere_in_block(block: &Block) -> bool {
    let mut finder = AnySuspension(false);
    finder.visit_block(block);
    finder.0
}

struct AnySuspension(bool);

impl<'ast> Visit<'ast> for AnySuspension {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        if self.0 {
            return;
        }
        match expr {
            Expr::Await(_) => self.0 = true,
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        self.0 |= SuspendMacro::of(mac).is_some()
            || is_select(mac)
            || suspends_in_tokens(mac.tokens.clone());
    }
}

fn suspend_macro_in_tokens(tokens: TokenStream) -> Option<&'static str> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            // One `to_string` per identifier: each crosses the compiler's bridge.
            TokenTree::Ident(ident) if matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!') => {
                match ident.to_string().as_str() {
                    "yield_" => return Some("yield_"),
                    "yield_from" => return Some("yield_from"),
                    _ => {}
                }
            }
            TokenTree::Group(group) => {
                if let Some(found) = suspend_macro_in_tokens(group.stream()) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

/// A `?` or `return` in `tokens` (a macro's input, or a whole body).
pub(crate) fn exits_in_tokens(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Punct(p) => p.as_char() == '?',
        TokenTree::Ident(ident) => ident == "return",
        TokenTree::Group(group) => exits_in_tokens(group.stream()),
        TokenTree::Literal(_) => false,
    })
}

/// An `.await`, or a `select!` (which expands to one), in `tokens`.
fn await_in_tokens(tokens: TokenStream) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(i, token)| match token {
        TokenTree::Punct(p) if p.as_char() == '.' => {
            matches!(tokens.get(i + 1), Some(TokenTree::Ident(ident)) if ident == "await")
        }
        TokenTree::Ident(ident) => {
            matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!')
                && ident == "select"
        }
        TokenTree::Group(group) => await_in_tokens(group.stream()),
        _ => false,
    })
}

/// A name a pattern binds.
#[derive(Clone)]
pub struct PatBinding {
    pub ident: syn::Ident,
    pub mutable: bool,
    /// `ref x` / `ref mut x`.
    pub by_ref: bool,
}

/// The bindings of a pattern, in order. An identifier that starts with an upper-case
/// letter is read as a constant or unit variant (`None`, `MAX`), as Rust's naming
/// conventions have it: without name resolution, that is the only way to tell.
pub fn pat_bindings(pat: &Pat) -> Vec<PatBinding> {
    let mut out = Vec::new();
    collect_bindings(pat, &mut out);
    out
}

pub fn is_binding_ident(pat: &syn::PatIdent) -> bool {
    let starts_upper = pat
        .ident
        .to_string()
        .starts_with(|c: char| c.is_uppercase());
    !starts_upper || pat.by_ref.is_some() || pat.mutability.is_some() || pat.subpat.is_some()
}

fn collect_bindings(pat: &Pat, out: &mut Vec<PatBinding>) {
    match pat {
        Pat::Ident(p) => {
            if is_binding_ident(p) {
                out.push(PatBinding {
                    ident: p.ident.clone(),
                    mutable: p.mutability.is_some(),
                    by_ref: p.by_ref.is_some(),
                });
            }
            if let Some((_, sub)) = &p.subpat {
                collect_bindings(sub, out);
            }
        }
        Pat::Or(p) => {
            if let Some(first) = p.cases.first() {
                collect_bindings(first, out);
            }
        }
        Pat::Paren(p) => collect_bindings(&p.pat, out),
        Pat::Reference(p) => collect_bindings(&p.pat, out),
        Pat::Slice(p) => p.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| collect_bindings(&f.pat, out)),
        Pat::Tuple(p) => p.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Type(p) => collect_bindings(&p.pat, out),
        _ => {}
    }
}

/// Methods that take `&self` or `&mut self` on every std type that has them, so a
/// receiver of one of these is read, not moved.
const BY_REF_METHODS: &[&str] = &[
    "append",
    "as_bytes",
    "as_deref",
    "as_deref_mut",
    "as_mut",
    "as_mut_slice",
    "as_ref",
    "as_slice",
    "as_str",
    "borrow",
    "borrow_mut",
    "capacity",
    "chars",
    "char_indices",
    "clear",
    "clone",
    "cmp",
    "contains",
    "contains_key",
    "ends_with",
    "entry",
    "eq",
    "extend",
    "extend_from_slice",
    "fetch_add",
    "fetch_sub",
    "fill",
    "first",
    "first_mut",
    "fmt",
    "get",
    "get_mut",
    "get_or_insert_with",
    "insert",
    "is_empty",
    "is_err",
    "is_none",
    "is_ok",
    "is_some",
    "iter",
    "iter_mut",
    "keys",
    "last",
    "last_mut",
    "len",
    "load",
    "lock",
    "ne",
    "next",
    "next_back",
    "partial_cmp",
    "peek",
    "pop",
    "pop_back",
    "pop_front",
    "push",
    "push_back",
    "push_front",
    "push_str",
    "remove",
    "reserve",
    "resize",
    "retain",
    "reverse",
    "send",
    "recv",
    "set",
    "sort",
    "sort_by",
    "sort_by_key",
    "sort_unstable",
    "split_whitespace",
    "starts_with",
    "store",
    "swap",
    "to_lowercase",
    "to_owned",
    "to_string",
    "to_uppercase",
    "to_vec",
    "trim",
    "truncate",
    "values",
    "values_mut",
    "windows",
    "chunks",
    "drain",
];

/// Macros whose arguments are taken by reference (the `format_args!` family).
pub const FORMAT_MACROS: &[&str] = &[
    "print",
    "println",
    "eprint",
    "eprintln",
    "format",
    "format_args",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "write",
    "writeln",
    "assert_eq",
    "assert_ne",
    "debug_assert_eq",
    "debug_assert_ne",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
];

/// The events of one branch of an `if` or `match`, scanned on its own.
#[derive(Default)]
struct Branch {
    events: Vec<Event>,
    diverges: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Evaluated to a value: a bare binding here may be moved.
    Value,
    /// Used as a place (borrowed, indexed, compared): never moved.
    Place,
}

/// Lists the [`Event`]s of straight code. `resolve` maps a name to the binding it
/// means at this point; names bound inside the scanned code shadow it.
pub struct Scanner<'r> {
    resolve: &'r dyn Fn(&str) -> Option<BindingId>,
    shadow: Vec<Vec<String>>,
    moving: usize,
    /// Inside code that may not run (a branch, a loop body, a closure body).
    conditional: usize,
    pub events: Vec<Event>,
}

impl<'r> Scanner<'r> {
    pub fn new(resolve: &'r dyn Fn(&str) -> Option<BindingId>) -> Self {
        Scanner {
            resolve,
            shadow: vec![Vec::new()],
            moving: 0,
            conditional: 0,
            events: Vec::new(),
        }
    }

    /// Names that are bound by the surrounding construct (a match arm's pattern).
    pub fn shadowing(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.shadow.push(names.into_iter().collect());
        self
    }

    pub fn scan_expr(&mut self, expr: &Expr) {
        self.expr(expr, Ctx::Value);
    }

    pub fn scan_stmt(&mut self, stmt: &Stmt) {
        self.stmt(stmt);
    }

    /// A `let`'s initialiser and `else` block; the caller declares its bindings.
    pub fn scan_local(&mut self, local: &Local) {
        if let Some(init) = &local.init {
            self.expr(&init.expr, Ctx::Value);
            if let Some((_, diverge)) = &init.diverge {
                self.expr(diverge, Ctx::Value);
            }
        }
    }

    fn mention(&mut self, name: &str, ctx: Ctx) {
        if self
            .shadow
            .iter()
            .any(|frame| frame.iter().any(|n| n == name))
        {
            return;
        }
        if let Some(binding) = (self.resolve)(name) {
            let event = match (ctx == Ctx::Value || self.moving > 0, self.conditional > 0) {
                (true, false) => Event::Move(binding),
                (true, true) => Event::MaybeMove(binding),
                (false, _) => Event::Read(binding),
            };
            self.events.push(event);
        }
    }

    /// Scans one of several branches (of an `if` or a `match`) on its own: its
    /// events, and whether it diverges (then it never reaches the join).
    fn branch(&mut self, diverges: bool, visit: impl FnOnce(&mut Self)) -> Branch {
        let start = self.events.len();
        let outer = std::mem::replace(&mut self.conditional, 0);
        visit(self);
        self.conditional = outer;
        Branch {
            events: self.events.drain(start..).collect(),
            diverges,
        }
    }

    /// Puts the branches' events back as code that runs on some paths only, then
    /// the assignments every branch that reaches the join surely made: after
    /// `if c { x = 1 } else { x = 2 }`, `x` is set.
    fn join(&mut self, branches: Vec<Branch>) {
        let mut sure: Option<Vec<BindingId>> = None;
        for branch in branches.iter().filter(|b| !b.diverges) {
            let mut set = Vec::new();
            for event in &branch.events {
                match *event {
                    Event::Assign(b) if !set.contains(&b) => set.push(b),
                    Event::Move(b) | Event::MaybeMove(b) => set.retain(|&x| x != b),
                    _ => {}
                }
            }
            sure = Some(match sure {
                None => set,
                Some(before) => before.into_iter().filter(|b| set.contains(b)).collect(),
            });
        }
        let outer_maybe = self.conditional > 0;
        for branch in branches {
            self.events
                .extend(branch.events.into_iter().map(Event::on_some_paths));
        }
        for binding in sure.unwrap_or_default() {
            self.events.push(match outer_maybe {
                true => Event::MaybeAssign(binding),
                false => Event::Assign(binding),
            });
        }
    }

    /// Scans code that runs on some paths only.
    fn maybe(&mut self, visit: impl FnOnce(&mut Self)) {
        self.conditional += 1;
        visit(self);
        self.conditional -= 1;
    }

    /// The left side of `=`: each name in it (`x`, or `(a, b)` in a destructuring
    /// assignment) is overwritten; anything else is a place.
    fn assigned(&mut self, left: &Expr) {
        match left {
            Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                let name = p.path.get_ident().unwrap().to_string();
                if !self.shadow.iter().any(|f| f.contains(&name))
                    && let Some(binding) = (self.resolve)(&name)
                {
                    self.events.push(match self.conditional {
                        0 => Event::Assign(binding),
                        _ => Event::MaybeAssign(binding),
                    });
                }
            }
            Expr::Tuple(t) => t.elems.iter().for_each(|e| self.assigned(e)),
            Expr::Array(a) => a.elems.iter().for_each(|e| self.assigned(e)),
            Expr::Paren(p) => self.assigned(&p.expr),
            Expr::Infer(_) => {}
            Expr::Struct(s) => s.fields.iter().for_each(|f| self.assigned(&f.expr)),
            left => self.expr(left, Ctx::Place),
        }
    }

    fn bind(&mut self, pat: &Pat) {
        let names = pat_bindings(pat).into_iter().map(|b| b.ident.to_string());
        self.shadow
            .last_mut()
            .expect("a shadow frame")
            .extend(names);
    }

    fn scoped(&mut self, visit: impl FnOnce(&mut Self)) {
        self.shadow.push(Vec::new());
        visit(self);
        self.shadow.pop();
    }

    fn block(&mut self, block: &Block) {
        self.scoped(|s| block.stmts.iter().for_each(|stmt| s.stmt(stmt)));
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Local(local) => {
                self.scan_local(local);
                self.bind(&local.pat);
            }
            Stmt::Item(_) => {}
            Stmt::Expr(expr, _) => self.expr(expr, Ctx::Value),
            Stmt::Macro(mac) => self.mac(&mac.mac),
        }
    }

    /// An `if`/`while` condition: `let` patterns bind for the rest of the chain.
    fn cond(&mut self, cond: &Expr) {
        match cond {
            Expr::Let(e) => {
                self.expr(&e.expr, Ctx::Value);
                self.bind(&e.pat);
            }
            Expr::Binary(e) if matches!(e.op, syn::BinOp::And(_)) => {
                self.cond(&e.left);
                self.cond(&e.right);
            }
            other => self.expr(other, Ctx::Value),
        }
    }

    fn expr(&mut self, expr: &Expr, ctx: Ctx) {
        use syn::BinOp::*;
        match expr {
            Expr::Path(e) if e.qself.is_none() => {
                if let Some(ident) = e.path.get_ident() {
                    self.mention(&ident.to_string(), ctx);
                }
            }
            Expr::Paren(e) => self.expr(&e.expr, ctx),
            Expr::Group(e) => self.expr(&e.expr, ctx),
            Expr::Reference(e) => self.expr(&e.expr, Ctx::Place),
            Expr::Field(e) => self.expr(&e.base, ctx),
            Expr::Index(e) => {
                self.expr(&e.expr, Ctx::Place);
                self.expr(&e.index, Ctx::Value);
            }
            Expr::Unary(e) if matches!(e.op, syn::UnOp::Deref(_)) => self.expr(&e.expr, Ctx::Place),
            Expr::MethodCall(e) => {
                let by_ref = BY_REF_METHODS.contains(&e.method.to_string().as_str());
                self.expr(&e.receiver, if by_ref { Ctx::Place } else { Ctx::Value });
                e.args.iter().for_each(|arg| self.expr(arg, Ctx::Value));
            }
            Expr::Binary(e) => match e.op {
                Eq(_) | Ne(_) | Lt(_) | Le(_) | Gt(_) | Ge(_) => {
                    self.expr(&e.left, Ctx::Place);
                    self.expr(&e.right, Ctx::Place);
                }
                AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_)
                | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_)
                | ShrAssign(_) => {
                    self.expr(&e.right, Ctx::Value);
                    self.expr(&e.left, Ctx::Place);
                }
                And(_) | Or(_) => {
                    self.expr(&e.left, Ctx::Value);
                    self.maybe(|s| s.expr(&e.right, Ctx::Value));
                }
                _ => {
                    self.expr(&e.left, Ctx::Value);
                    self.expr(&e.right, Ctx::Value);
                }
            },
            Expr::Assign(e) => {
                self.expr(&e.right, Ctx::Value);
                self.assigned(&e.left);
            }
            Expr::Closure(e) => self.scoped(|s| {
                e.inputs.iter().for_each(|p| s.bind(p));
                if e.capture.is_some() {
                    // A `move` closure takes what it names when it is created.
                    s.moving += 1;
                    let outer = std::mem::replace(&mut s.conditional, 0);
                    s.expr(&e.body, Ctx::Value);
                    s.conditional = outer;
                    s.moving -= 1;
                } else {
                    s.maybe(|s| s.expr(&e.body, Ctx::Value));
                }
            }),
            Expr::Async(e) if e.capture.is_some() => {
                // Takes what it names when it is created.
                self.moving += 1;
                let outer = std::mem::replace(&mut self.conditional, 0);
                self.block(&e.block);
                self.conditional = outer;
                self.moving -= 1;
            }
            Expr::Async(e) => self.maybe(|s| s.block(&e.block)),
            Expr::Const(_) => {}
            Expr::Block(e) => self.block(&e.block),
            Expr::Unsafe(e) => self.block(&e.block),
            Expr::Loop(e) => self.maybe(|s| s.block(&e.body)),
            Expr::If(e) => {
                let mut branches = Vec::new();
                self.scoped(|s| {
                    s.cond(&e.cond);
                    branches.push(
                        s.branch(block_diverges(&e.then_branch), |s| s.block(&e.then_branch)),
                    );
                });
                match &e.else_branch {
                    Some((_, else_branch)) => {
                        let diverges = expr_diverges(else_branch)
                            || matches!(&**else_branch, Expr::Block(b) if block_diverges(&b.block));
                        branches.push(self.branch(diverges, |s| s.expr(else_branch, Ctx::Value)));
                    }
                    // No `else`: the path that skips the block assigns nothing.
                    None => branches.push(Branch::default()),
                }
                self.join(branches);
            }
            Expr::While(e) => self.scoped(|s| {
                s.maybe(|s| {
                    s.cond(&e.cond);
                    s.block(&e.body);
                });
            }),
            Expr::ForLoop(e) => {
                self.expr(&e.expr, Ctx::Value);
                self.scoped(|s| {
                    s.bind(&e.pat);
                    s.maybe(|s| s.block(&e.body));
                });
            }
            Expr::Match(e) => {
                self.expr(&e.expr, Ctx::Value);
                let mut branches = Vec::new();
                for arm in &e.arms {
                    self.scoped(|s| {
                        s.bind(&arm.pat);
                        if let Some((_, guard)) = &arm.guard {
                            s.maybe(|s| s.expr(guard, Ctx::Value));
                        }
                        let diverges = expr_diverges(&arm.body)
                            || matches!(&*arm.body, Expr::Block(b) if block_diverges(&b.block));
                        branches.push(s.branch(diverges, |s| s.expr(&arm.body, Ctx::Value)));
                    });
                }
                self.join(branches);
            }
            Expr::Let(e) => {
                self.expr(&e.expr, Ctx::Value);
                self.bind(&e.pat);
            }
            Expr::Macro(e) => self.mac(&e.mac),
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    fn mac(&mut self, mac: &Macro) {
        let name = macro_name(mac);
        let parsed = macro_args(mac);
        match (name.as_str(), parsed) {
            (name, Ok(args))
                if FORMAT_MACROS.contains(&name) || name == "assert" || name == "debug_assert" =>
            {
                let by_value_first = name == "assert" || name == "debug_assert";
                for (i, arg) in args.iter().enumerate() {
                    match arg {
                        Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(fmt),
                            ..
                        }) => {
                            for inline in inline_format_args(&fmt.value()) {
                                self.mention(&inline, Ctx::Place);
                            }
                        }
                        Expr::Assign(named) => self.expr(&named.right, Ctx::Place),
                        arg if i == 0 && by_value_first => self.expr(arg, Ctx::Value),
                        arg => self.expr(arg, Ctx::Place),
                    }
                }
            }
            ("matches", _) => {
                let first = mac.parse_body_with(|input: syn::parse::ParseStream| {
                    let expr: Expr = input.parse()?;
                    let _: TokenStream = input.parse()?;
                    Ok(expr)
                });
                match first {
                    Ok(expr) => self.expr(&expr, Ctx::Place),
                    Err(_) => self.tokens(mac.tokens.clone()),
                }
            }
            (_, Ok(args)) => args.iter().for_each(|arg| self.expr(arg, Ctx::Value)),
            (_, Err(_)) => self.tokens(mac.tokens.clone()),
        }
    }

    /// A macro we cannot parse: every identifier that names a binding may move it.
    fn tokens(&mut self, tokens: TokenStream) {
        for token in tokens {
            match token {
                TokenTree::Ident(ident) => self.mention(&ident.to_string(), Ctx::Value),
                TokenTree::Group(group) => self.tokens(group.stream()),
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Scanner<'_> {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        self.expr(expr, Ctx::Value);
    }

    fn visit_block(&mut self, block: &'ast Block) {
        self.block(block);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        self.mac(mac);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Names captured inline by a format string: `{x}`, `{x:?}`, `{x:>width$}`.
fn inline_format_args(fmt: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = fmt.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if matches!(chars.peek(), Some((_, '{'))) => {
                chars.next();
            }
            '{' => {
                let rest = &fmt[i + 1..];
                let end = rest.find(['}', ':']).unwrap_or(rest.len());
                let name = rest[..end].trim();
                if name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                    names.push(name.to_string());
                }
                if let Some(spec) = rest[end..].strip_prefix(':') {
                    let spec_end = spec.find('}').unwrap_or(spec.len());
                    for part in spec[..spec_end]
                        .split('$')
                        .take_while(|_| spec[..spec_end].contains('$'))
                    {
                        let part =
                            part.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '_');
                        if part.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                            names.push(part.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    names
}

/// Does a `break` with a value leave this loop body for the loop itself?
pub fn breaks_with_value(body: &Block, label: Option<&syn::Label>) -> bool {
    find_breaks(body, label, true)
}

/// Does any `break` leave this loop body for the code after the loop? A macro whose
/// tokens say `break` anywhere is taken to.
pub fn breaks_out(body: &Block, label: Option<&syn::Label>) -> bool {
    find_breaks(body, label, false)
}

fn find_breaks(body: &Block, label: Option<&syn::Label>, with_value: bool) -> bool {
    struct BreakFinder {
        label: Option<String>,
        depth: usize,
        with_value: bool,
        found: bool,
    }
    impl<'ast> Visit<'ast> for BreakFinder {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
                Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
                    self.depth += 1;
                    syn::visit::visit_expr(self, expr);
                    self.depth -= 1;
                }
                Expr::Break(e) => {
                    let ours = match &e.label {
                        Some(label) => Some(label.ident.to_string()) == self.label,
                        None => self.depth == 0,
                    };
                    self.found |= ours && (e.expr.is_some() || !self.with_value);
                    syn::visit::visit_expr(self, expr);
                }
                _ => syn::visit::visit_expr(self, expr),
            }
        }
        // `yield_from!` of a coroutine breaks out of its own loop with a value; other
        // macros' tokens are not searched for one. Any `break` at all in a macro
        // might be this loop's.
        fn visit_macro(&mut self, mac: &'ast Macro) {
            fn says_break(tokens: TokenStream) -> bool {
                tokens.into_iter().any(|token| match token {
                    TokenTree::Ident(ident) => ident == "break",
                    TokenTree::Group(group) => says_break(group.stream()),
                    _ => false,
                })
            }
            self.found |= !self.with_value && says_break(mac.tokens.clone());
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut finder = BreakFinder {
        label: label.map(|l| l.name.ident.to_string()),
        depth: 0,
        with_value,
        found: false,
    };
    finder.visit_block(body);
    finder.found
}

/// Does the body call a macro that is neither a suspension macro nor one of std's
/// (whose expansions hold no `yield_!`)? Its expansion might suspend.
pub fn invokes_other_macros(body: &Block) -> bool {
    struct Other(bool);
    impl<'ast> Visit<'ast> for Other {
        fn visit_macro(&mut self, mac: &'ast Macro) {
            let name = macro_name(mac);
            let known = SuspendMacro::of(mac).is_some()
                || FORMAT_MACROS.contains(&name.as_str())
                || matches!(
                    name.as_str(),
                    "assert"
                        | "debug_assert"
                        | "vec"
                        | "matches"
                        | "dbg"
                        | "concat"
                        | "stringify"
                        | "line"
                        | "column"
                        | "file"
                        | "module_path"
                        | "env"
                        | "option_env"
                        | "include_str"
                        | "include_bytes"
                        | "cfg"
                        | "compile_error"
                );
            self.0 |= !known;
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut other = Other(false);
    other.visit_block(body);
    other.0
}

/// Does this statement never finish, as rustc would see it: `return`, `break`,
/// `continue`, a `panic!`-like macro, or a `loop` with no `break` in it? A block
/// that ends with one has type `!`, so whatever follows is never typed against
/// the block's value.
pub fn diverges(stmt: &Stmt) -> bool {
    match stmt {
        Stmt::Expr(expr, _) => expr_diverges(expr),
        Stmt::Macro(mac) => macro_diverges(&mac.mac),
        Stmt::Local(_) | Stmt::Item(_) => false,
    }
}

fn block_diverges(block: &Block) -> bool {
    block.stmts.last().is_some_and(diverges)
}

fn expr_diverges(expr: &Expr) -> bool {
    match expr {
        Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => true,
        Expr::Macro(mac) => macro_diverges(&mac.mac),
        Expr::Paren(e) => expr_diverges(&e.expr),
        Expr::Loop(e) => !contains_break(&e.body),
        _ => false,
    }
}

fn macro_diverges(mac: &Macro) -> bool {
    matches!(
        macro_name(mac).as_str(),
        "panic" | "unreachable" | "todo" | "unimplemented"
    )
}

/// Any `break` at all (of this loop or an inner one), outside closures and items.
fn contains_break(block: &Block) -> bool {
    struct Breaks(bool);
    impl<'ast> Visit<'ast> for Breaks {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Break(_) => self.0 = true,
                Expr::Closure(_) | Expr::Async(_) => {}
                _ => syn::visit::visit_expr(self, expr),
            }
        }
        fn visit_macro(&mut self, mac: &'ast Macro) {
            // A `break` hidden in a macro's tokens counts too.
            self.0 |= mac
                .tokens
                .clone()
                .into_iter()
                .any(|t| t.to_string() == "break");
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut breaks = Breaks(false);
    breaks.visit_block(block);
    breaks.0
}

#[cfg(test)]
mod tests {
    use super::inline_format_args;

    #[test]
    fn inline_format_args_are_found() {
        assert_eq!(
            inline_format_args("{a} {{b}} {c:?} {0} {d:>w$}"),
            ["a", "c", "d", "w"]
        );
    }
}
