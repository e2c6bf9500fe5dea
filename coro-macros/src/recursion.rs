//! A coroutine that calls itself. Its state holds the state of what it awaits or
//! forwards, so an unboxed recursive call makes its type contain itself, and rustc
//! answers with a bare "cannot resolve opaque type" (E0720) at the signature. The
//! fix is always the same: box the recursive call as a trait object, which gives
//! the type a finite size and a name. Say so at the call.

use syn::visit::Visit;
use syn::{Expr, Item, Macro};

use crate::diag::{self, Errors};
use crate::parse::{CoroutineFn, Kind};

pub fn check(func: &CoroutineFn, errors: &mut Errors) {
    let mut finder = Calls {
        name: func.sig.ident.to_string(),
        has_self: func.has_self(),
        kind: &func.kind,
        boxed: 0,
        errors,
    };
    finder.visit_block(&func.body);
}

struct Calls<'a> {
    name: String,
    has_self: bool,
    kind: &'a Kind,
    /// Inside `expr as Box<dyn ..>` / `as Pin<Box<dyn ..>>`: already a trait object.
    boxed: usize,
    errors: &'a mut Errors,
}

impl Calls<'_> {
    fn calls_itself(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) => match &*call.func {
                Expr::Path(path) if path.qself.is_none() => {
                    let segments = &path.path.segments;
                    let last = segments.last().is_some_and(|s| s.ident == self.name);
                    let own =
                        segments.len() == 1 || (segments.len() == 2 && segments[0].ident == "Self");
                    last && own
                }
                _ => false,
            },
            Expr::MethodCall(call) => {
                self.has_self
                    && call.method == self.name
                    && matches!(&*call.receiver, Expr::Path(p) if p.path.is_ident("self"))
            }
            _ => false,
        }
    }
}

impl<'ast> Visit<'ast> for Calls<'_> {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        match expr {
            Expr::Cast(cast)
                if quote::ToTokens::to_token_stream(&cast.ty)
                    .to_string()
                    .contains("dyn") =>
            {
                self.boxed += 1;
                syn::visit::visit_expr(self, expr);
                self.boxed -= 1;
                return;
            }
            // Another body: what it does is its own type's business.
            Expr::Closure(_) | Expr::Async(_) => return,
            _ => {}
        }
        if self.boxed == 0 && self.calls_itself(expr) {
            self.errors
                .spanned(expr, diag::unboxed_recursion(&self.name, self.kind.name()));
        }
        syn::visit::visit_expr(self, expr);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        // `yield_from!(walk(child))`: its operand is the body's own expression.
        if crate::scan::SuspendMacro::of(mac).is_some()
            && let Ok(args) = crate::scan::macro_args(mac)
        {
            args.iter().for_each(|arg| self.visit_expr(arg));
        }
    }

    fn visit_item(&mut self, _: &'ast Item) {}
}
