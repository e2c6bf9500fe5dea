//! Phase 1: read the annotated function and its attribute. The signature says what
//! the caller gets (the coroutine's [`Kind`]); the attribute may force a lowering and
//! name the facade crate. The body is kept as written: the compact lowering renames
//! `self` (so the state can store it like any other parameter) and drops the
//! parameters' `mut` (the body rebinds them), the pinned one needs neither.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{
    AngleBracketedGenericArguments, Attribute, Block, Expr, FnArg, GenericArgument, Ident, Item,
    Pat, PatIdent, Path, PathArguments, ReturnType, Signature, Type, TypeImplTrait, TypeParamBound,
    Visibility,
};

use crate::diag::{self, Errors};

/// What the caller gets, read from the return type.
#[allow(clippy::large_enum_variant)] // one per macro call
pub enum Kind {
    /// `impl Iterator<Item = Y>`
    Generator { item: Type },
    /// `impl Coroutine<R, Yield = Y, Return = T>`; absent types are inferred (`_`).
    Coroutine {
        resume: Type,
        yield_ty: Option<Type>,
        ret: Option<Type>,
    },
    /// `async fn` or `impl Future<Output = T>`
    Future { output: Option<Type> },
    /// `impl Stream<Item = Y>`
    Stream { item: Type },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Generator { .. } => "impl Iterator",
            Kind::Coroutine { .. } => "impl Coroutine",
            Kind::Future { .. } => "impl Future",
            Kind::Stream { .. } => "impl Stream",
        }
    }

    pub fn can_await(&self) -> bool {
        matches!(self, Kind::Future { .. } | Kind::Stream { .. })
    }

    pub fn can_yield(&self) -> bool {
        !matches!(self, Kind::Future { .. })
    }

    /// Is a `yield_!`'s value `()`: in everything but a coroutine resumed with a
    /// value?
    pub fn resumes_with_unit(&self) -> bool {
        match self {
            Kind::Coroutine { resume, .. } => crate::emit::is_unit(resume),
            _ => true,
        }
    }
}

/// A parameter: how the signature passes it on, and the pattern that binds it
/// inside the body.
pub struct Param {
    /// `self`, the parameter's own name, or `__coro_paramN` for a pattern.
    pub passed: TokenStream,
    /// The binding the body sees (`__coro_self` for a receiver), with its `mut`.
    pub bind: Pat,
    pub form: ParamForm,
    /// The names the parameter binds to shared references, read from its type
    /// (`(text, sep): (&str, char)` binds `text` to one).
    pub shared_refs: Vec<String>,
    /// Its type is written as a reference or a primitive (`u64`, `bool`, `char`):
    /// dropping it runs no code.
    pub drops_nothing: bool,
}

impl Param {
    /// A shared reference (`&self`, `tree: &Node`): borrowing through it borrows
    /// what the caller lent, not the coroutine's own state.
    pub fn lends(&self) -> bool {
        matches!(
            self.form,
            ParamForm::Receiver {
                by_ref: true,
                mutable: false
            } | ParamForm::Named {
                by_shared_ref: true,
                ..
            }
        )
    }

    /// A reference of either kind: it has no destructor, so the machine need not
    /// keep it to the end of the body once it is no longer read.
    pub fn is_reference(&self) -> bool {
        matches!(
            self.form,
            ParamForm::Receiver { by_ref: true, .. } | ParamForm::Named { by_ref: true, .. }
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ParamForm {
    /// `self`, `&self`, `&mut self`, `mut self`.
    Receiver { by_ref: bool, mutable: bool },
    /// `name: T` or `mut name: T`; `by_ref` when `T` is written `&U` or `&mut U`,
    /// `by_shared_ref` when `&U`.
    Named { by_ref: bool, by_shared_ref: bool },
    /// A pattern (`(a, b): (A, B)`), renamed in the signature.
    Pattern,
}

/// Which state machine the attribute asked for, if it did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lowering {
    /// A movable state enum the macro lays out (`Unpin`, smallest).
    Compact,
    /// An `async move` block rustc lays out: borrows of locals may cross
    /// suspension points.
    Pinned,
}

pub struct CoroutineFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    pub kind: Kind,
    pub params: Vec<Param>,
    /// The body as written (`self` not renamed).
    pub body: Block,
    /// Path of the facade crate, `::coro` unless `#[coroutine(crate = path)]`.
    pub krate: Path,
    /// `#[coroutine(compact)]` or `#[coroutine(pinned)]`.
    pub forced: Option<Lowering>,
    /// The signature asks for `Debug` (`-> impl Iterator<Item = T> + Debug`): the
    /// machine keeps where it stands, for its `Debug` to say.
    pub describes: bool,
}

impl CoroutineFn {
    pub fn has_self(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p.form, ParamForm::Receiver { .. }))
    }

    /// The body with `self` renamed to [`SELF_NAME`], for the compact lowering.
    pub fn renamed_body(&self) -> Block {
        let mut body = self.body.clone();
        if self.has_self() {
            RenameSelf.visit_block_mut(&mut body);
        }
        body
    }

    /// The signature without `mut` on parameters, for the compact lowering, which
    /// rebinds each parameter with its own mutability inside the machine.
    pub fn signature_without_mut(&self) -> Signature {
        let mut sig = self.sig.clone();
        for input in sig.inputs.iter_mut() {
            match input {
                FnArg::Receiver(receiver) if receiver.reference.is_none() => {
                    receiver.mutability = None;
                }
                FnArg::Receiver(_) => {}
                FnArg::Typed(typed) => {
                    if let Pat::Ident(pat) = &mut *typed.pat {
                        pat.mutability = None;
                    }
                }
            }
        }
        sig
    }
}

/// The name `self` takes inside a coroutine body.
pub const SELF_NAME: &str = "__coro_self";

pub fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<CoroutineFn> {
    let (krate, forced) = parse_attr(attr)?;
    let item: Item = syn::parse2(item)?;
    let func = match item {
        Item::Fn(func) => func,
        other => {
            return Err(syn::Error::new_spanned(
                &other,
                diag::not_a_function(item_kind(&other)),
            ));
        }
    };
    let mut errors = Errors::default();
    let mut sig = func.sig;
    let kind = match read_kind(&mut sig, &krate) {
        Ok(kind) => Some(kind),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let debug = debug_bound(&sig);
    if let (Some(bound), Some(kind)) = (&debug, &kind)
        && kind.can_await()
    {
        errors.spanned(bound, diag::debug_on_async(kind.name()));
    }
    let params = read_params(&mut sig);
    let body = *func.block;
    errors.into_result()?;
    Ok(CoroutineFn {
        attrs: func.attrs,
        vis: func.vis,
        sig,
        kind: kind.expect("errors were reported"),
        params,
        body,
        krate,
        forced,
        describes: debug.is_some(),
    })
}

/// The `Debug` bound of the signature's `impl` return type, if it has one.
fn debug_bound(sig: &Signature) -> Option<syn::TraitBound> {
    let ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    let Type::ImplTrait(TypeImplTrait { bounds, .. }) = &**ty else {
        return None;
    };
    bounds.iter().find_map(|bound| match bound {
        TypeParamBound::Trait(bound)
            if bound
                .path
                .segments
                .last()
                .is_some_and(|last| last.ident == "Debug") =>
        {
            Some(bound.clone())
        }
        _ => None,
    })
}

fn parse_attr(attr: TokenStream) -> syn::Result<(Path, Option<Lowering>)> {
    let mut krate: Path = syn::parse_quote!(::coro);
    let mut forced: Option<(Lowering, Ident)> = None;
    if attr.is_empty() {
        return Ok((krate, None));
    }
    let parser = syn::meta::parser(|meta| {
        let lowering = if meta.path.is_ident("compact") {
            Lowering::Compact
        } else if meta.path.is_ident("pinned") {
            Lowering::Pinned
        } else if meta.path.is_ident("crate") {
            krate = meta.value()?.parse()?;
            return Ok(());
        } else {
            return Err(meta.error(diag::unknown_option()));
        };
        let name = meta.path.get_ident().cloned().expect("checked above");
        if let Some((_, first)) = &forced {
            return Err(meta.error(diag::both_lowerings(first, &name)));
        }
        forced = Some((lowering, name));
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok((krate, forced.map(|(lowering, _)| lowering)))
}

fn item_kind(item: &Item) -> &'static str {
    match item {
        Item::Struct(_) => "a struct",
        Item::Enum(_) => "an enum",
        Item::Impl(_) => "an impl block",
        Item::Trait(_) => "a trait",
        Item::Mod(_) => "a module",
        Item::Const(_) => "a const",
        Item::Static(_) => "a static",
        Item::Type(_) => "a type alias",
        Item::Use(_) => "a use declaration",
        _ => "this item",
    }
}

fn read_kind(sig: &mut Signature, krate: &Path) -> syn::Result<Kind> {
    if let Some(asyncness) = sig.asyncness.take() {
        let output = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        let out_ty = output.clone().unwrap_or_else(|| syn::parse_quote!(()));
        let span = asyncness.span;
        let captures = crate::lifetime::capture_all(sig, &quote::quote!(#krate::__private));
        sig.output = syn::parse_quote_spanned!(span=>
            -> impl ::core::future::Future<Output = #out_ty> #captures
        );
        return Ok(Kind::Future {
            output: Some(output.unwrap_or_else(|| syn::parse_quote!(()))),
        });
    }
    let ty = match &sig.output {
        ReturnType::Default => {
            return Err(syn::Error::new_spanned(
                &sig.ident,
                diag::unsupported_return("the function returns nothing"),
            ));
        }
        ReturnType::Type(_, ty) => ty,
    };
    let Type::ImplTrait(TypeImplTrait { bounds, .. }) = &**ty else {
        return Err(syn::Error::new_spanned(
            ty,
            diag::unsupported_return("a concrete type; write `impl Trait`"),
        ));
    };
    for bound in bounds {
        let TypeParamBound::Trait(bound) = bound else {
            continue;
        };
        let Some(last) = bound.path.segments.last() else {
            continue;
        };
        let args = match &last.arguments {
            PathArguments::AngleBracketed(args) => Some(args),
            _ => None,
        };
        let kind = match last.ident.to_string().as_str() {
            "Iterator" | "FusedIterator" => Kind::Generator {
                item: required(args, "Item", bound)?,
            },
            "Stream" | "FusedStream" => Kind::Stream {
                item: required(args, "Item", bound)?,
            },
            "Future" => Kind::Future {
                output: assoc(args, "Output"),
            },
            "Coroutine" => Kind::Coroutine {
                resume: first_type(args).unwrap_or_else(|| syn::parse_quote!(())),
                yield_ty: assoc(args, "Yield"),
                ret: assoc(args, "Return"),
            },
            _ => continue,
        };
        return Ok(kind);
    }
    Err(syn::Error::new_spanned(
        ty,
        diag::unsupported_return("no supported trait in this `impl` type"),
    ))
}

fn assoc(args: Option<&AngleBracketedGenericArguments>, name: &str) -> Option<Type> {
    args?.args.iter().find_map(|arg| match arg {
        GenericArgument::AssocType(assoc) if assoc.ident == name => Some(assoc.ty.clone()),
        _ => None,
    })
}

fn required(
    args: Option<&AngleBracketedGenericArguments>,
    name: &str,
    bound: &syn::TraitBound,
) -> syn::Result<Type> {
    assoc(args, name).ok_or_else(|| {
        syn::Error::new_spanned(
            bound,
            format!(
                "name the item type: `{}<{name} = ..>`",
                bound.path.segments.last().unwrap().ident
            ),
        )
    })
}

fn first_type(args: Option<&AngleBracketedGenericArguments>) -> Option<Type> {
    args?.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    })
}

/// Names pattern parameters so they can be passed on whole.
fn read_params(sig: &mut Signature) -> Vec<Param> {
    let mut params = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                // `mut self` makes the binding mutable; `&mut self` is the type.
                let mutability = match receiver.reference {
                    None => receiver.mutability,
                    Some(_) => None,
                };
                let name = Ident::new(SELF_NAME, receiver.self_token.span);
                params.push(Param {
                    passed: receiver.self_token.to_token_stream(),
                    bind: Pat::Ident(PatIdent {
                        attrs: vec![],
                        by_ref: None,
                        mutability,
                        ident: name,
                        subpat: None,
                    }),
                    form: ParamForm::Receiver {
                        by_ref: receiver.reference.is_some(),
                        mutable: receiver.mutability.is_some(),
                    },
                    shared_refs: Vec::new(),
                    drops_nothing: receiver.reference.is_some(),
                });
            }
            FnArg::Typed(typed) => match &mut *typed.pat {
                Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                    let by_ref = matches!(&*typed.ty, Type::Reference(_));
                    let by_shared_ref =
                        matches!(&*typed.ty, Type::Reference(r) if r.mutability.is_none());
                    params.push(Param {
                        passed: pat.ident.to_token_stream(),
                        bind: Pat::Ident(pat.clone()),
                        form: ParamForm::Named {
                            by_ref,
                            by_shared_ref,
                        },
                        shared_refs: Vec::new(),
                        drops_nothing: by_ref || is_primitive(&typed.ty),
                    });
                }
                pat => {
                    let name = format_ident!("__coro_param{}", index, span = Span::mixed_site());
                    let bind = pat.clone();
                    let mut shared_refs = Vec::new();
                    shared_refs_in(&bind, &typed.ty, &mut shared_refs);
                    *pat = Pat::Ident(PatIdent {
                        attrs: vec![],
                        by_ref: None,
                        mutability: None,
                        ident: name.clone(),
                        subpat: None,
                    });
                    params.push(Param {
                        passed: quote!(#name),
                        bind,
                        form: ParamForm::Pattern,
                        shared_refs,
                        drops_nothing: false,
                    });
                }
            },
        }
    }
    params
}

/// The names `pat` binds where `ty` has a shared reference, for tuple patterns.
fn shared_refs_in(pat: &Pat, ty: &Type, out: &mut Vec<String>) {
    match (pat, ty) {
        (Pat::Ident(p), Type::Reference(r)) if r.mutability.is_none() && p.by_ref.is_none() => {
            out.push(p.ident.to_string());
        }
        (Pat::Tuple(p), Type::Tuple(t)) if p.elems.len() == t.elems.len() => {
            for (pat, ty) in p.elems.iter().zip(&t.elems) {
                shared_refs_in(pat, ty, out);
            }
        }
        (Pat::Paren(p), ty) => shared_refs_in(&p.pat, ty, out),
        (pat, Type::Paren(t)) => shared_refs_in(pat, &t.elem, out),
        _ => {}
    }
}

/// Renames `self` to [`SELF_NAME`] in the body, outside nested items, so it can be
/// stored in and restored from the state like any other binding.
struct RenameSelf;

impl VisitMut for RenameSelf {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Path(path) = expr
            && path.qself.is_none()
            && path.path.is_ident("self")
        {
            let span = path.path.segments[0].ident.span();
            path.path = Ident::new(SELF_NAME, span).into();
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        mac.tokens = rename_self_tokens(std::mem::take(&mut mac.tokens));
    }

    fn visit_item_mut(&mut self, _: &mut Item) {}
}

fn rename_self_tokens(tokens: TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let next_is_path =
            matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':');
        out.push(match token {
            TokenTree::Ident(ident) if ident == "self" && !next_is_path => {
                TokenTree::Ident(Ident::new(SELF_NAME, ident.span()))
            }
            TokenTree::Group(group) => {
                let mut renamed =
                    proc_macro2::Group::new(group.delimiter(), rename_self_tokens(group.stream()));
                renamed.set_span(group.span());
                TokenTree::Group(renamed)
            }
            other => other.clone(),
        });
    }
    out.into_iter().collect()
}

/// A primitive type, written by its name alone (`u64`, `bool`, `char`).
fn is_primitive(ty: &Type) -> bool {
    const PRIMITIVES: [&str; 16] = [
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char",
    ];
    matches!(ty, Type::Path(path) if path.qself.is_none()
        && path.path.get_ident().is_some_and(|name| PRIMITIVES.iter().any(|p| name == p)))
}
