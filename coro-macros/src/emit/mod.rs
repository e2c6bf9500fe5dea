//! Phase 4: tokens, by one of two emitters. `compact` writes the state machine the
//! macro lays out itself from the lowered graph (movable, `Unpin`, smallest);
//! `pinned` puts the body as written into an `async move` block that rustc lays out,
//! which may borrow its own locals across suspension points. `choose` decides which.

pub mod compact;
pub mod pinned;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Type;

/// A type to name in a turbofish, or `_` where it cannot be named there.
fn nameable(ty: Option<&Type>) -> TokenStream {
    match ty {
        Some(ty) if !ty.to_token_stream().to_string().contains("impl") => quote!(#ty),
        _ => quote!(_),
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}
