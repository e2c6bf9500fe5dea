//! The lifetimes of an `async fn` the attribute rewrites to `fn .. -> impl Future`.
//!
//! rustc's own `async fn` captures every lifetime of its parameters in every
//! edition. An `impl Trait` return type does so only from edition 2024 on: in
//! edition 2021, `fn parse(input: &str) -> impl Future<Output = usize>` is an error
//! once the future holds `input`. So the rewrite names each elided lifetime of the
//! parameters (`&str` becomes `&'__coro_l0 str`) and makes the return type mention
//! every lifetime parameter (`+ Captures<'__coro_l0>`), which captures it in both
//! editions. Elision inside `fn(..)` pointer types and `Fn(..)` bounds is left
//! alone: there it means a higher-ranked lifetime, not a parameter's.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::visit_mut::VisitMut;
use syn::{
    FnArg, GenericParam, Lifetime, LifetimeParam, PathArguments, Signature, Type, TypeBareFn,
    TypeReference,
};

/// Names the elided lifetimes of `sig`'s parameters, as new lifetime parameters of
/// the function, and returns the bounds that make an `impl Future` return type
/// capture every lifetime parameter (empty if there is none).
pub fn capture_all(sig: &mut Signature, private: &TokenStream) -> TokenStream {
    let mut namer = NameElided::default();
    for input in &mut sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                if let Some((_, lifetime)) = &mut receiver.reference {
                    let named = namer.name(lifetime.take());
                    *lifetime = Some(named.clone());
                    if let Type::Reference(reference) = &mut *receiver.ty {
                        reference.lifetime = Some(named);
                    }
                }
                namer.visit_type_mut(&mut receiver.ty);
            }
            FnArg::Typed(typed) => namer.visit_type_mut(&mut typed.ty),
        }
    }
    for (i, lifetime) in namer.fresh.into_iter().enumerate() {
        sig.generics
            .params
            .insert(i, GenericParam::Lifetime(LifetimeParam::new(lifetime)));
    }
    let lifetimes = sig.generics.lifetimes().map(|param| &param.lifetime);
    quote!(#(+ #private::Captures<#lifetimes>)*)
}

/// Gives each elided lifetime a name of its own.
#[derive(Default)]
struct NameElided {
    fresh: Vec<Lifetime>,
}

impl NameElided {
    /// `lifetime`, or a new name if it is elided (absent or `'_`).
    fn name(&mut self, lifetime: Option<Lifetime>) -> Lifetime {
        match lifetime {
            Some(lifetime) if lifetime.ident != "_" => lifetime,
            _ => {
                let named = Lifetime::new(
                    &format!("'__coro_l{}", self.fresh.len()),
                    Span::mixed_site(),
                );
                self.fresh.push(named.clone());
                named
            }
        }
    }
}

impl VisitMut for NameElided {
    fn visit_type_reference_mut(&mut self, reference: &mut TypeReference) {
        reference.lifetime = Some(self.name(reference.lifetime.take()));
        self.visit_type_mut(&mut reference.elem);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident == "_" {
            *lifetime = self.name(None);
        }
    }

    fn visit_type_bare_fn_mut(&mut self, _: &mut TypeBareFn) {
        // `fn(&u8)`: a higher-ranked lifetime of its own.
    }

    fn visit_path_arguments_mut(&mut self, arguments: &mut PathArguments) {
        // `Fn(&u8) -> &u8`: higher-ranked too.
        if let PathArguments::AngleBracketed(arguments) = arguments {
            syn::visit_mut::visit_angle_bracketed_generic_arguments_mut(self, arguments);
        }
    }
}
