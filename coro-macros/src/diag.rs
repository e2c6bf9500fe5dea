//! Every message a user of `#[coroutine]` can see, and the collector that reports them
//! all at once at the user's spans (`syn::Error::combine`), as dtolnay's crates do.

use std::fmt::Display;

/// Errors gathered across phases; each phase keeps going after an error so the user
/// sees every problem in one build.
#[derive(Default)]
pub struct Errors {
    first: Option<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.first {
            Some(first) => first.combine(error),
            None => self.first = Some(error),
        }
    }

    pub fn spanned(&mut self, tokens: impl quote::ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub fn into_result(self) -> syn::Result<()> {
        self.first.map_or(Ok(()), Err)
    }
}

pub const SUPPORTED_KINDS: &str = "`#[coroutine]` supports these return types:\n\
     - `impl Iterator<Item = Y>` (a generator)\n\
     - `impl Coroutine<R, Yield = Y, Return = T>` (resume arguments in, yields out)\n\
     - `async fn` or `impl Future<Output = T>` (a suspend function that awaits)\n\
     - `impl Stream<Item = Y>` (an async generator)";

pub fn not_a_function(what: &str) -> String {
    format!(
        "`#[coroutine]` applies to a function, not {what}; annotate a `fn` whose return type says what kind of coroutine it is"
    )
}

pub fn unsupported_return(found: &str) -> String {
    format!("unsupported return type for `#[coroutine]`: {found}\n{SUPPORTED_KINDS}")
}

pub fn yield_in_closure(mac: &str, container: &str) -> String {
    format!(
        "`{mac}!` cannot suspend from inside {container}: only the `#[coroutine]` function's own body is turned into a state machine; \
         move the `{mac}!` out of it (a `for` loop instead of `for_each`, for example)"
    )
}

pub fn yield_in_macro(mac: &str, outer: &str) -> String {
    format!(
        "`{mac}!` inside the arguments of `{outer}!` is not supported by the compact machine, which cannot see into other macros; \
         bind the value first, e.g. `let value = {mac}!(..);`, then pass `value` to `{outer}!`, \
         or write `#[coro::coroutine(pinned)]`, which expands the body's macros in place"
    )
}

pub fn await_in_sync_kind(kind: &str) -> String {
    format!(
        "`.await` is not allowed in a coroutine returning `{kind}`: it has no waker to suspend on; \
         return `impl Stream<Item = ..>` for an async generator, or `impl Future<Output = ..>` / `async fn` for a suspend function"
    )
}

pub fn yield_in_future(mac: &str) -> String {
    format!(
        "`{mac}!` is not allowed in a coroutine that returns a `Future`: a future has no `Yield` type; \
         return `impl Stream<Item = ..>` to yield values while awaiting"
    )
}

pub fn try_in_generator() -> &'static str {
    "the `?` operator cannot be used in a generator returning `impl Iterator`: it has no return value to carry the error; \
     return `impl Coroutine<Yield = .., Return = Result<.., E>>`, or handle the error and `return`"
}

pub fn try_in_async_generator() -> &'static str {
    "the `?` operator cannot be used in an async generator returning `impl Stream`: it ends with no value to carry the error; \
     yield the error as an item (`impl Stream<Item = Result<T, E>>`, then `return`), or handle it"
}

pub fn unsupported(construct: &str, advice: &str) -> String {
    format!(
        "the compact machine does not support a suspension point {construct}; {advice}, \
         or drop `compact` from the attribute (the pinned machine supports it)"
    )
}

pub fn yield_arity(mac: &str) -> String {
    format!("`{mac}!` takes exactly one expression, e.g. `{mac}!(value)`")
}

/// Said after every borrow error of the compact machine.
const PINNED_HINT: &str = "or write `#[coro::coroutine(pinned)]`, whose frame is pinned in place and may borrow its own locals";

pub fn borrow_across_suspend(binding: &str, local: &str, point: &str) -> String {
    format!(
        "`{binding}` borrows the local `{local}` and is still in use across this {point}: \
         a compact coroutine keeps its locals in a state that moves between resumes, so a borrow of one would dangle; \
         end the borrow before the {point}, hold an owned value (clone it, or move `{local}` itself), {PINNED_HINT}"
    )
}

pub fn for_over_borrow(local: &str, point: &str) -> String {
    format!(
        "this `for` loop iterates over a borrow of the local `{local}` and its body suspends at a {point}: \
         the iterator would borrow a local of a compact coroutine across a suspension point; \
         iterate over an owned value instead (`{local}` itself, `{local}.clone()`, or indices `0..{local}.len()`), {PINNED_HINT}"
    )
}

pub fn shadowed_in_guard(binding: &str) -> String {
    format!(
        "the pattern binding `{binding}` in a match arm with a guard hides another `{binding}` that is still needed after a suspension point; rename one of them"
    )
}

pub fn closure_borrow_across_suspend(binding: &str, local: &str, point: &str) -> String {
    format!(
        "the closure `{binding}` borrows the local `{local}` and is still in use across this {point}: \
         a compact coroutine keeps its locals in a state that moves between resumes, so a borrow of one would dangle; \
         write `move |..|` so the closure holds its own copy of `{local}`, {PINNED_HINT}"
    )
}

pub fn await_in_macro(outer: &str) -> String {
    format!(
        "`.await` inside the arguments of `{outer}!` is not supported by the compact machine, which cannot see into other macros; \
         await first, e.g. `let value = future.await;`, then pass `value` to `{outer}!`, \
         or drop `compact` from the attribute"
    )
}

pub fn yield_in_nested_item(mac: &str) -> String {
    format!(
        "`{mac}!` cannot suspend from inside a nested item: only the `#[coroutine]` function's own body is turned into a state machine; \
         make the nested function a `#[coro::coroutine]` of its own and forward its values with `yield_from!`"
    )
}

pub fn unknown_option() -> &'static str {
    "unknown `#[coroutine]` option; the options are `compact` or `pinned` (which state machine to build) \
     and `crate = path::to::coro`"
}

pub fn both_lowerings(first: &syn::Ident, second: &syn::Ident) -> String {
    format!(
        "`{second}` conflicts with `{first}`: a coroutine is lowered one way; \
         keep `pinned` to allow borrows of locals across suspension points, or `compact` for a movable, `Unpin` machine"
    )
}

pub fn ambiguous_across_suspend(binding: &str) -> String {
    format!(
        "`{binding}` is moved or assigned on some paths to this suspension point and not on others: \
         the compact machine has no drop flag to remember which; \
         move or assign it on every path, or drop `compact` from the attribute (the pinned machine tracks it as rustc does)"
    )
}

pub fn borrow_of_temporary(binding: &str, point: &str) -> String {
    format!(
        "`{binding}` borrows a temporary value and is still in use across this {point}: \
         a compact coroutine keeps the temporary in a state that moves between resumes, so the borrow would dangle; \
         bind the value to a variable and use it by value, {PINNED_HINT}"
    )
}

pub fn may_borrow_across_suspend(binding: &str, local: &str) -> String {
    format!(
        "`{binding}` may borrow the local `{local}` (it is made by a method call on it) and is kept across this suspension point: \
         the compact machine cannot hold a borrow of its own locals, and cannot tell whether this is one; \
         drop `compact` from the attribute (the pinned machine holds such borrows), or end `{binding}` before the suspension point"
    )
}

pub fn suspension_from_another_macro() -> &'static str {
    "this suspension point comes from another macro's expansion, which the compact machine cannot see into; \
     write `#[coro::coroutine(pinned)]` on the function, whose machine expands the body's macros in place, \
     or write the `yield_!` in the body itself"
}

pub fn unboxed_recursion(name: &str, kind: &str) -> String {
    let boxed = match kind {
        "impl Iterator" => {
            format!("`yield_from!(Box::new({name}(..)) as Box<dyn Iterator<Item = T> + '_>)`")
        }
        "impl Stream" => {
            format!("`yield_from!(Box::pin({name}(..)) as Pin<Box<dyn Stream<Item = T> + '_>>)`")
        }
        "impl Coroutine" => format!(
            "`yield_from!(Box::pin({name}(..)) as Pin<Box<dyn Coroutine<R, Yield = Y, Return = T> + '_>>)`"
        ),
        _ => format!("`(Box::pin({name}(..)) as Pin<Box<dyn Future<Output = T> + '_>>).await`"),
    };
    format!(
        "`{name}` calls itself: a coroutine holds the state of what it awaits or forwards, \
         so calling itself directly would make its type contain itself (rustc's E0720); \
         box the recursive call as a trait object: {boxed}"
    )
}

pub fn debug_on_async(kind: &str) -> String {
    format!(
        "`+ Debug` is for generators and coroutines; an `{kind}` shows where it waits in \
         `coro::debug::dump()` instead: remove `+ Debug`"
    )
}
