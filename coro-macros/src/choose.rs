//! Phase 1b: which state machine to build.
//!
//! The compact machine moves its state between resumes, so it cannot hold a borrow
//! of one of its own locals across a suspension point; the pinned machine (an
//! `async move` block that rustc lays out) can. Suspend functions and async
//! generators get the compact machine only when the body visibly creates no borrow
//! of a local at all, so they accept every body an `async` block accepts.
//! Generators and coroutines stay compact unless the attribute says `pinned`: that
//! is what nightly's `gen` blocks do too, and it keeps them `Unpin` and
//! allocation-free.
//!
//! Without types, "visibly" is read from syntax and errs towards `Pinned`. Any of
//! these, anywhere in the body, picks `Pinned`:
//! - `&x`, `&mut x.f`, `&x[..]` or `&temporary()`, unless the place is reached
//!   through a shared-reference parameter (`&self.items`, `&tree.children`), which
//!   borrows what the caller lent, not the machine;
//! - a method call on a local (`rx.recv()`, `v.iter()`: `self` may be borrowed), or
//!   on a temporary in a statement that suspends (`client().get(url).await`);
//! - a `ref` binding, a closure or `async` block without `move` that names a local;
//! - a macro other than the formatting family that names a local (`pin!(fut)`), and
//!   any suspension point inside a macro's arguments;
//! - a suspension point inside a loop or a branch. The compact machine passes
//!   through loop heads and joins as states of its pinned enum, so what they carry
//!   counts towards its size and `Send` (a guard dropped before the `.await` at a
//!   loop's end and taken again after it would make the future `!Send`, where
//!   rustc's is not); and its awaits are slower than rustc's (the README's table).
//!   Straight-line suspend functions keep its smaller layout.

use std::collections::HashSet;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{Expr, Macro, Pat, Stmt};

use crate::parse::{CoroutineFn, Lowering, ParamForm};
use crate::scan::{self, SuspendMacro};

pub fn choose(func: &CoroutineFn) -> Lowering {
    if let Some(forced) = func.forced {
        return forced;
    }
    if !func.kind.can_await() {
        return Lowering::Compact;
    }
    if suspends_in_a_loop_or_branch(&func.body) {
        return Lowering::Pinned;
    }
    let names = Names::of(func);
    let mut finder = BorrowFinder {
        names: &names,
        suspending: false,
        found: false,
    };
    finder.visit_block(&func.body);
    if finder.found {
        Lowering::Pinned
    } else {
        Lowering::Compact
    }
}

/// Is there a suspension point inside a loop, or in an `if`/`match` branch?
fn suspends_in_a_loop_or_branch(body: &syn::Block) -> bool {
    struct Finder(bool);
    use scan::{suspends_anywhere_in_block as block, suspends_anywhere_in_expr as expr};
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr(&mut self, e: &'ast Expr) {
            if self.0 {
                return;
            }
            match e {
                Expr::Loop(e) => self.0 |= block(&e.body),
                Expr::While(e) => self.0 |= block(&e.body) || expr(&e.cond),
                Expr::ForLoop(e) => self.0 |= block(&e.body),
                Expr::If(e) => {
                    self.0 |= block(&e.then_branch)
                        || e.else_branch.as_ref().is_some_and(|(_, b)| expr(b));
                }
                Expr::Match(e) => self.0 |= e.arms.iter().any(|arm| expr(&arm.body)),
                Expr::Closure(_) | Expr::Async(_) => return,
                _ => {}
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_macro(&mut self, mac: &'ast Macro) {
            visit_macro_operands(self, mac);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut finder = Finder(false);
    finder.visit_block(body);
    finder.0
}

/// A macro's operands, where they parse as expressions (`yield_!({ .. })`,
/// `vec![..]`, `assert_eq!(..)`): they are code of the body like any other.
fn visit_macro_operands(visitor: &mut impl for<'a> Visit<'a>, mac: &Macro) {
    if let Ok(args) = scan::macro_args(mac) {
        for arg in &args {
            visitor.visit_expr(arg);
        }
    }
}

/// The names the body can borrow from the machine, and the parameters that only
/// lend the caller's data.
struct Names {
    locals: HashSet<String>,
    shared_refs: HashSet<String>,
}

impl Names {
    fn of(func: &CoroutineFn) -> Self {
        let mut locals = HashSet::new();
        let mut shared_refs = HashSet::new();
        for param in &func.params {
            let bound: Vec<String> = match param.form {
                ParamForm::Receiver { .. } => vec!["self".to_owned()],
                _ => scan::pat_bindings(&param.bind)
                    .into_iter()
                    .map(|b| b.ident.to_string())
                    .collect(),
            };
            if param.lends() {
                shared_refs.extend(bound);
            } else {
                locals.extend(bound);
            }
        }
        let mut collector = PatNames(&mut locals);
        collector.visit_block(&func.body);
        shared_refs.retain(|name| !locals.contains(name));
        Names {
            locals,
            shared_refs,
        }
    }
}

/// Every name any pattern in the body binds.
struct PatNames<'a>(&'a mut HashSet<String>);

impl<'ast> Visit<'ast> for PatNames<'_> {
    fn visit_pat(&mut self, pat: &'ast Pat) {
        for binding in scan::pat_bindings(pat) {
            self.0.insert(binding.ident.to_string());
        }
        syn::visit::visit_pat(self, pat);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        visit_macro_operands(self, mac);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Where a place expression starts.
enum Root {
    /// A name, reached with `projected` field, index or deref steps.
    Name {
        name: String,
        projected: bool,
    },
    /// A path to an item (a static, a const): never the machine's.
    Item,
    Literal,
    /// A call, a block, a macro: a temporary.
    Temporary,
}

fn root(expr: &Expr) -> Root {
    let mut expr = expr;
    let mut projected = false;
    loop {
        expr = match expr {
            Expr::Field(e) => &e.base,
            Expr::Index(e) => &e.expr,
            Expr::Paren(e) => &e.expr,
            Expr::Unary(e) if matches!(e.op, syn::UnOp::Deref(_)) => &e.expr,
            Expr::Path(path) if path.qself.is_none() => {
                return match path.path.get_ident() {
                    Some(ident) => Root::Name {
                        name: ident.to_string(),
                        projected,
                    },
                    None => Root::Item,
                };
            }
            Expr::Lit(_) => return Root::Literal,
            _ => return Root::Temporary,
        };
        projected = true;
    }
}

struct BorrowFinder<'a> {
    names: &'a Names,
    /// Inside a statement that suspends, where a temporary lives across the point.
    suspending: bool,
    found: bool,
}

impl BorrowFinder<'_> {
    /// Does borrowing this place borrow the machine?
    fn borrows_machine(&self, place: &Expr) -> bool {
        match root(place) {
            Root::Name { name, projected } => {
                if self.names.locals.contains(&name) {
                    true
                } else if self.names.shared_refs.contains(&name) {
                    !projected
                } else {
                    false
                }
            }
            Root::Item | Root::Literal => false,
            Root::Temporary => true,
        }
    }

    fn receiver_borrows_machine(&self, receiver: &Expr) -> bool {
        match root(receiver) {
            Root::Name { name, .. } => self.names.locals.contains(&name),
            Root::Item | Root::Literal => false,
            Root::Temporary => self.suspending,
        }
    }

    fn mentions_local(&self, tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => self.names.locals.contains(&ident.to_string()),
            TokenTree::Group(group) => self.mentions_local(group.stream()),
            _ => false,
        })
    }
}

/// Macros whose arguments are expressions whose values the macro passes on.
const VALUE_MACROS: &[&str] = &["vec", "dbg", "matches"];

impl<'ast> Visit<'ast> for BorrowFinder<'_> {
    fn visit_stmt(&mut self, stmt: &'ast Stmt) {
        if self.found {
            return;
        }
        let outer = self.suspending;
        self.suspending = scan::stmt_needs_lowering(stmt);
        syn::visit::visit_stmt(self, stmt);
        self.suspending = outer;
    }

    fn visit_expr(&mut self, expr: &'ast Expr) {
        if self.found {
            return;
        }
        match expr {
            Expr::Reference(reference) if self.borrows_machine(&reference.expr) => {
                self.found = true;
            }
            Expr::RawAddr(raw) if self.borrows_machine(&raw.expr) => self.found = true,
            Expr::MethodCall(call) if self.receiver_borrows_machine(&call.receiver) => {
                self.found = true;
            }
            // A `move` closure or block owns what it names; a borrow inside it is of
            // its own copy.
            Expr::Closure(closure) if closure.capture.is_some() => {}
            Expr::Async(block) if block.capture.is_some() => {}
            Expr::Closure(closure) => {
                self.found = self.mentions_local(quote::ToTokens::to_token_stream(&closure.body));
            }
            Expr::Async(block) => {
                self.found = self.mentions_local(quote::ToTokens::to_token_stream(&block.block));
            }
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        if pat.by_ref.is_some() {
            self.found = true;
        }
        syn::visit::visit_pat_ident(self, pat);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        if self.found {
            return;
        }
        if SuspendMacro::of(mac).is_some() {
            // Its operand is an expression of the body like any other.
            if let Ok(args) = scan::macro_args(mac) {
                for arg in &args {
                    self.visit_expr(arg);
                }
            }
            return;
        }
        if scan::is_select(mac) || scan::suspends_in_tokens(mac.tokens.clone()) {
            self.found = true;
            return;
        }
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        // Their arguments are borrowed only while the macro runs.
        if scan::FORMAT_MACROS.contains(&name.as_str())
            || name == "assert"
            || name == "debug_assert"
        {
            return;
        }
        if VALUE_MACROS.contains(&name.as_str())
            && let Ok(args) = scan::macro_args(mac)
        {
            for arg in &args {
                self.visit_expr(arg);
            }
            return;
        }
        self.found = self.mentions_local(mac.tokens.clone());
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(item: &str) -> Lowering {
        let func = crate::parse::parse(TokenStream::new(), item.parse().unwrap()).unwrap();
        choose(&func)
    }

    #[test]
    fn borrows_of_locals_pick_pinned() {
        for body in [
            "async fn f(mut s: S) { let mut buf = [0; 4]; s.read(&mut buf).await; }",
            "async fn f(mut rx: Rx) { while let Some(v) = rx.recv().await { drop(v); } }",
            "async fn f(v: Vec<u32>) { for x in &v { g(*x).await; } }",
            "async fn f(m: &Mutex<u32>) { let mut g = m.lock(); for _ in 0..2 { drop(g); h().await; g = m.lock(); } }",
            "async fn f(n: u32) { if n > 0 { h().await; } }",
            "async fn f(v: Vec<u32>) { let it = v.iter(); g().await; drop(it); }",
            "async fn f(m: Arc<Mutex<u32>>) { let g = m.lock().await; h().await; drop(g); }",
            "async fn f(&mut self) { self.ping().await; self.ping().await; }",
            "async fn f(c: &mut Conn) { c.ping().await; }",
            "async fn f(t: &Tree) { let r = &t; g().await; r.len(); }",
            "async fn f() { let x = 1; let c = || x + 1; g().await; c(); }",
            "async fn f(o: Option<u32>) { if let Some(ref v) = o { g(*v).await; } }",
            "async fn f(s: S) { let s = pin!(s); s.await; }",
            "async fn f() { println!(\"{}\", g().await); }",
            "async fn f() { client().get(url).await; }",
            "fn f(input: S) -> impl Stream<Item = u32> { let line = input.next().await; yield_!(line.len()); }",
            "fn f() -> impl Stream<Item = u32> { yield_!({ let a = 1; let b = &a; g().await; *b }); }",
            "fn f(p: u32) -> impl Stream<Item = u32> { yield_!(match p { 0 => 1, _ => { yield_!(p); 2 } }); }",
        ] {
            assert_eq!(chosen(body), Lowering::Pinned, "{body}");
        }
    }

    #[test]
    fn bodies_without_borrows_of_locals_stay_compact() {
        for body in [
            "async fn f(id: u32) -> String { sleep(ms(10)).await; format!(\"{id}\") }",
            "async fn f(&self) -> usize { let n = self.items.len(); g(&self.name).await; n }",
            "async fn f(t: &Tree) { let c = &t.children; g(c).await; }",
            "async fn f() -> u64 { let a = ready(1).await; let b = ready(2).await; a + b }",
            "async fn f(data: [u8; 64]) -> u8 { ready(()).await; data[63] }",
            "async fn f() { let v = vec![1, 2]; let c = move || v.len(); g().await; c(); }",
            "async fn f() { println!(\"{}\", CONFIG.name()); g(&STATIC).await; }",
            "fn f(n: u32) -> impl Stream<Item = u32> { sleep(n).await; yield_!(n); }",
            // Generators and coroutines are compact unless asked.
            "fn f(v: Vec<u32>) -> impl Iterator<Item = u32> { for x in &v { yield_!(*x); } }",
        ] {
            assert_eq!(chosen(body), Lowering::Compact, "{body}");
        }
    }

    #[test]
    fn the_attribute_decides_when_it_says() {
        let item =
            "fn f(v: Vec<u32>) -> impl Iterator<Item = u32> { for x in &v { yield_!(*x); } }";
        let func = crate::parse::parse(quote::quote!(pinned), item.parse().unwrap()).unwrap();
        assert_eq!(choose(&func), Lowering::Pinned);
        let item = "async fn f(mut rx: Rx) { rx.recv().await; }";
        let func = crate::parse::parse(quote::quote!(compact), item.parse().unwrap()).unwrap();
        assert_eq!(choose(&func), Lowering::Compact);
    }
}
