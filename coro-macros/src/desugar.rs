//! Desugarings built as syntax trees, not parsed from tokens: the user's code inside
//! them is moved in as it was parsed, where `parse_quote!` would print it and parse
//! it again (for a small body, the costliest step of the whole transform).

use proc_macro2::Span;
use syn::{
    Arm, Block, Expr, ExprBlock, ExprBreak, ExprCall, ExprForLoop, ExprLoop, ExprMatch, ExprPath,
    ExprReference, Ident, Local, LocalInit, Pat, PatIdent, PatTupleStruct, Path, Stmt,
};

/// `for pat in source { body }` as
///
/// ```text
/// {
///     let mut iter = IntoIterator::into_iter(source);
///     'label: loop {
///         match Iterator::next(&mut iter) {
///             Option::Some(pat) => { body }
///             Option::None => break,   // or `{ drop_iterator(iter); break }`
///         }
///     }
/// }
/// ```
///
/// with every path through the crate's `__private`. `drop_at_end`: the iterator is
/// dropped as it runs out, rather than where its block ends.
pub fn for_loop(krate: &Path, e: &ExprForLoop, iter: Ident, drop_at_end: bool) -> Expr {
    let private = |names: &[&str]| {
        let mut path = krate.clone();
        for name in std::iter::once("__private").chain(names.iter().copied()) {
            path.segments
                .push(Ident::new(name, Span::call_site()).into());
        }
        path
    };
    let declare = Stmt::Local(Local {
        attrs: Vec::new(),
        let_token: Default::default(),
        pat: Pat::Ident(PatIdent {
            attrs: Vec::new(),
            by_ref: None,
            mutability: Some(Default::default()),
            ident: iter.clone(),
            subpat: None,
        }),
        init: Some(LocalInit {
            eq_token: Default::default(),
            expr: Box::new(call(
                private(&["IntoIterator", "into_iter"]),
                (*e.expr).clone(),
            )),
            diverge: None,
        }),
        semi_token: Default::default(),
    });
    let next = call(
        private(&["Iterator", "next"]),
        Expr::Reference(ExprReference {
            attrs: Vec::new(),
            and_token: Default::default(),
            mutability: Some(Default::default()),
            expr: Box::new(path_expr(iter.clone().into())),
        }),
    );
    let some = Pat::TupleStruct(PatTupleStruct {
        attrs: Vec::new(),
        qself: None,
        path: private(&["Option", "Some"]),
        paren_token: Default::default(),
        elems: std::iter::once((*e.pat).clone()).collect(),
    });
    let none = Pat::Path(ExprPath {
        attrs: Vec::new(),
        qself: None,
        path: private(&["Option", "None"]),
    });
    let ended = if drop_at_end {
        braced(block(vec![
            Stmt::Expr(
                call(private(&["drop_iterator"]), path_expr(iter.into())),
                Some(Default::default()),
            ),
            Stmt::Expr(stop(), None),
        ]))
    } else {
        stop()
    };
    let matched = Expr::Match(ExprMatch {
        attrs: Vec::new(),
        match_token: Default::default(),
        expr: Box::new(next),
        brace_token: Default::default(),
        arms: vec![arm(some, braced(e.body.clone())), arm(none, ended)],
    });
    let looped = Expr::Loop(ExprLoop {
        attrs: Vec::new(),
        label: e.label.clone(),
        loop_token: Default::default(),
        body: block(vec![Stmt::Expr(matched, None)]),
    });
    braced(block(vec![declare, Stmt::Expr(looped, None)]))
}

fn path_expr(path: Path) -> Expr {
    Expr::Path(ExprPath {
        attrs: Vec::new(),
        qself: None,
        path,
    })
}

fn call(function: Path, argument: Expr) -> Expr {
    Expr::Call(ExprCall {
        attrs: Vec::new(),
        func: Box::new(path_expr(function)),
        paren_token: Default::default(),
        args: std::iter::once(argument).collect(),
    })
}

fn arm(pat: Pat, body: Expr) -> Arm {
    Arm {
        attrs: Vec::new(),
        pat,
        guard: None,
        fat_arrow_token: Default::default(),
        body: Box::new(body),
        comma: Some(Default::default()),
    }
}

fn block(stmts: Vec<Stmt>) -> Block {
    Block {
        brace_token: Default::default(),
        stmts,
    }
}

/// A block as an expression: `{ .. }`.
pub fn braced(block: Block) -> Expr {
    Expr::Block(ExprBlock {
        attrs: Vec::new(),
        label: None,
        block,
    })
}

/// `{ expr }`
fn around(expr: Expr) -> Block {
    block(vec![Stmt::Expr(expr, None)])
}

/// `while cond { body }` as `'label: loop { if cond { body } else { break } }`, and
/// `while let pat = source { body }` as
/// `'label: loop { match source { pat => { body } _ => break } }`.
pub fn while_loop(e: &syn::ExprWhile) -> Expr {
    let turn = match &*e.cond {
        Expr::Let(cond) => Expr::Match(ExprMatch {
            attrs: Vec::new(),
            match_token: Default::default(),
            expr: cond.expr.clone(),
            brace_token: Default::default(),
            arms: vec![
                arm((*cond.pat).clone(), braced(e.body.clone())),
                arm(
                    Pat::Wild(syn::PatWild {
                        attrs: Vec::new(),
                        underscore_token: Default::default(),
                    }),
                    stop(),
                ),
            ],
        }),
        cond => if_else(cond.clone(), e.body.clone(), around(stop())),
    };
    Expr::Loop(ExprLoop {
        attrs: Vec::new(),
        label: e.label.clone(),
        loop_token: Default::default(),
        body: block(vec![Stmt::Expr(turn, None)]),
    })
}

/// `a && b` as `if a { b } else { false }`, `a || b` as `if a { true } else { b }`.
pub fn short_circuit(e: &syn::ExprBinary) -> Expr {
    let boolean = |value: bool| {
        Expr::Lit(syn::ExprLit {
            attrs: Vec::new(),
            lit: syn::LitBool::new(value, Span::call_site()).into(),
        })
    };
    let (left, right) = ((*e.left).clone(), (*e.right).clone());
    match e.op {
        syn::BinOp::And(_) => if_else(left, around(right), around(boolean(false))),
        _ => if_else(left, around(boolean(true)), around(right)),
    }
}

/// `target = value;`
pub fn assign(target: Expr, value: Expr) -> Stmt {
    Stmt::Expr(
        Expr::Assign(syn::ExprAssign {
            attrs: Vec::new(),
            left: Box::new(target),
            eq_token: Default::default(),
            right: Box::new(value),
        }),
        Some(Default::default()),
    )
}

/// The expression naming a local.
pub fn local(name: &Ident) -> Expr {
    path_expr(name.clone().into())
}

/// `if cond { then } else { otherwise }`
fn if_else(cond: Expr, then: Block, otherwise: Block) -> Expr {
    Expr::If(syn::ExprIf {
        attrs: Vec::new(),
        if_token: Default::default(),
        cond: Box::new(cond),
        then_branch: then,
        else_branch: Some((Default::default(), Box::new(braced(otherwise)))),
    })
}

fn stop() -> Expr {
    Expr::Break(ExprBreak {
        attrs: Vec::new(),
        break_token: Default::default(),
        label: None,
        expr: None,
    })
}
