//! The compact machine, in tokens. The machine is a local generic enum (one variant per state, each
//! holding exactly the bindings live there, their types left to inference) and a
//! resume closure that dispatches on it:
//!
//! ```text
//! enum __CoroState<T0, T1, ..> { Start { params.. }, Resume3 { x: T0, .. }, .., Done, Poisoned }
//! let mut state = __CoroState::Start { .. };
//! wrapper(move |arg| 'dispatch: loop {
//!     match mem::replace(&mut state, Poisoned) { Resume3 { x, .. } => { .. } .. }
//! })
//! ```
//!
//! A block that is entered from one place only, in the same scope, is written inline
//! at that place, so an `if` whose branch suspends stays an `if`. The other blocks
//! (resume points, loop heads, joins) are states; going to one is a transition:
//! store its bindings and `continue 'dispatch`. In a sync machine, when a loop head
//! or join carries a binding that no stored state does, those passing states are
//! variants of a second enum (`__CoroNext { Stored(__CoroState), Block3 {..} }`), the
//! type of the local the dispatch moves: only what crosses a yield sizes the state.
//!
//! Inside a state, bindings are restored by name with `let`, one Rust block per scope,
//! so drop order and shadowing are Rust's own. When a declaration would hide a binding
//! that is still needed, the hidden one is first moved to an alias; when the inner
//! block ends, the alias is handed back under its own name.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident, Lifetime, Local};

use super::{is_unit, nameable};
use crate::diag;
use crate::liveness::{BitSet, Liveness, Standing};
use crate::lower::{BlockId, Cfg, ENTRY, ROOT_SCOPE, ScopeId, Stmt, Terminator};
use crate::parse::{CoroutineFn, Kind};
use crate::scan::BindingId;

pub fn emit(func: &CoroutineFn, cfg: &Cfg, live: &Liveness) -> TokenStream {
    // A block written in place may turn out to close by hand a scope whose drops
    // it cannot write (see `Env::close`): it is then made a state, and the machine
    // written again.
    let mut kept_as_states = BitSet::new(cfg.blocks.len());
    loop {
        let emitter = Emitter::new(func, cfg, live, &kept_as_states);
        let tokens = emitter.function();
        let failed = emitter.inlined_in_vain.take();
        if failed.is_empty() {
            return tokens;
        }
        failed
            .into_iter()
            .for_each(|block| kept_as_states.insert(block));
    }
}

struct Emitter<'a> {
    func: &'a CoroutineFn,
    cfg: &'a Cfg,
    live: &'a Liveness,
    /// Written inline at its only predecessor instead of being a state.
    inline: Vec<bool>,
    /// Blocks written inline whose code closed by hand a scope it could not drop
    /// right: they must be states (see `emit`).
    inlined_in_vain: std::rc::Rc<std::cell::RefCell<Vec<BlockId>>>,
    /// Per block, the bindings declared again there, uninitialised: those not
    /// carried but assigned later, and named by the code from the block to the next
    /// state. (One that code never names would have no type.)
    redeclared_at: Vec<Vec<BindingId>>,
    /// The bindings some state declares again: a `mut` one may be assigned only there.
    redeclared: BitSet,
    /// The variant of each state.
    variant: Vec<Option<Ident>>,
    /// The generic parameter of each binding that is ever carried.
    generic: std::collections::BTreeMap<BindingId, Ident>,
    private: TokenStream,
    state_ty: Ident,
    /// In a sync machine with states passed through within one resume (loop heads,
    /// joins), the type of the local that moves between them: those states are not
    /// variants of the stored enum, so what they carry does not make it larger.
    passing_ty: Option<Ident>,
    state: Ident,
    dispatch: Lifetime,
    resume_slot: Ident,
    cx: Ident,
    uses_dispatch: std::cell::Cell<bool>,
    /// Has the arm being written declared a binding uninitialised (`let x;`)? Only
    /// then may it hold a declaration its code never names, which must go.
    declares_uninit: std::cell::Cell<bool>,
    uses_resume_slot: std::cell::Cell<bool>,
    /// States whose arm is written as a loop; a resume that goes on to one of them
    /// enters a copy of that loop directly.
    loop_heads: std::cell::RefCell<std::collections::HashSet<BlockId>>,
    /// The states the arm being written goes on to.
    arm_targets: std::cell::RefCell<Vec<BlockId>>,
    /// The states reachable from the start through the arms as written: others
    /// (joins every predecessor copied) get no variant and no arm.
    kept: std::cell::RefCell<std::collections::HashSet<BlockId>>,
    /// May a loop head's code be written twice (in its own arm and in a resume)?
    /// Not when the body has a closure or an `async` block: each copy would be a
    /// type of its own, and one binding cannot hold both.
    copies_code: bool,
    /// The state a generator starts in when it is made (see `eager_start`): it then
    /// has no `Start` state.
    eager_start: Option<BlockId>,
    /// Writing that start's code: going to a state is its value, not a transition.
    writing_start: std::cell::Cell<bool>,
}

/// Where names stand while one state's code is written.
#[derive(Clone, Default)]
struct Env {
    frames: Vec<Frame>,
    /// The identifier each binding is reachable by right now.
    names: HashMap<BindingId, Ident>,
    /// Which binding each user-visible name means right now.
    visible: HashMap<String, BindingId>,
    /// The state whose arm is a Rust loop, if any: going back to it is `continue`.
    looping: Option<Looping>,
    /// The block being written inline, and where to say that it cannot be.
    inlined: Option<(BlockId, std::rc::Rc<std::cell::RefCell<Vec<BlockId>>>)>,
    /// That block was entered across scopes (see `Emitter::leave_scopes`).
    across: bool,
    /// Writing a resume's arm: the state it goes on to may be entered in place.
    resuming: bool,
    /// Inside the branches of an `if`/`match` whose join is written after it: going
    /// to that join is falling out of the branch.
    falls_into: Option<FallInto>,
}

/// The join an `if`/`match` falls into, and how things stood before it: a branch may
/// fall out only where the join's bindings are still reached the same way.
#[derive(Clone)]
struct FallInto {
    join: BlockId,
    /// The name each binding live at the join had before the branches.
    names: Vec<(BindingId, Option<Ident>)>,
    /// Loops open before the branches: falling out of a loop begun inside one would
    /// go round it instead.
    loops: usize,
    fell: std::rc::Rc<std::cell::Cell<bool>>,
}

impl FallInto {
    fn allows(&self, env: &Env, join: BlockId) -> bool {
        self.join == join
            && env.open_loops() == self.loops
            && self.names.iter().all(|(binding, name)| {
                env.names.get(binding) == name.as_ref()
                    && name
                        .as_ref()
                        .is_some_and(|n| env.visible.get(&n.to_string()) == Some(binding))
            })
    }
}

/// A loop-header state written as a Rust `loop` around its own code.
#[derive(Clone)]
struct Looping {
    header: BlockId,
    /// Carried bindings still held by the variables restored before the loop.
    fixed: std::collections::HashSet<BindingId>,
    used: std::rc::Rc<std::cell::Cell<bool>>,
    /// The code left the loop's frame: the arm is written again without the loop.
    broken: std::rc::Rc<std::cell::Cell<bool>>,
}

#[derive(Clone, Default)]
struct Frame {
    /// `None` for the inside of an `if`/`match` arm written inline.
    scope: Option<ScopeId>,
    /// Opened outside the code being written (an arm written inline sees the frames
    /// around it): closing it cannot end a Rust block, so it is closed by hand.
    outer: bool,
    tokens: TokenStream,
    /// Bindings declared in this frame, in order.
    declared: Vec<BindingId>,
    /// Written as `'label: loop { .. }` rather than `{ .. }`.
    loop_label: Option<Lifetime>,
    /// `visible` entries this frame overwrote, to put back when it closes.
    saved: Vec<(String, Option<BindingId>)>,
    /// Bindings of outer scopes whose current name was declared in this frame.
    hosted: Vec<BindingId>,
}

impl Env {
    /// How many Rust loops the code being written is inside.
    fn open_loops(&self) -> usize {
        self.frames
            .iter()
            .filter(|f| f.loop_label.is_some())
            .count()
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("an open frame")
    }

    /// Appends `tokens` as one stream. Extending by the stream's trees instead
    /// would take it apart through the compiler's bridge and send every tree back.
    fn push(&mut self, tokens: TokenStream) {
        self.frame().tokens.extend(std::iter::once(tokens));
    }

    fn open(&mut self, scope: Option<ScopeId>) {
        self.frames.push(Frame {
            scope,
            ..Frame::default()
        });
    }

    /// Makes `binding` reachable as `name` from here on.
    fn declare(&mut self, cfg: &Cfg, binding: BindingId, name: Ident) {
        let key = name.to_string();
        let previous = self.visible.insert(key.clone(), binding);
        let frame = self.frame();
        frame.saved.push((key, previous));
        frame.declared.push(binding);
        if frame.scope != Some(cfg.bindings[binding].scope) {
            frame.hosted.push(binding);
        }
        self.names.insert(binding, name);
        if let Some(looping) = &mut self.looping {
            looping.fixed.remove(&binding);
        }
    }

    /// Before a declaration of `name`: if it would hide a binding that is still
    /// needed, move that binding to an alias the generated code can still reach.
    fn alias_hidden(&mut self, cfg: &Cfg, name: &Ident, declaring: &[BindingId], live: &BitSet) {
        let Some(&old) = self.visible.get(&name.to_string()) else {
            return;
        };
        let reachable_by_name = self.names.get(&old).is_some_and(|n| n == name);
        if declaring.contains(&old) || !live.contains(old) || !reachable_by_name {
            return;
        }
        let alias = format_ident!("__coro_alias{}", old, span = Span::mixed_site());
        self.push(quote!(let #alias = #name;));
        self.names.insert(old, alias);
        let frame = self.frame();
        if frame.scope != Some(cfg.bindings[old].scope) {
            frame.hosted.push(old);
        }
    }

    /// Did a frame inside frame `at` declare a binding of `at`'s scope? Closing
    /// `at` by hand would then leave that binding's drop and name to the inner
    /// frame's Rust block.
    fn declared_into_from_inside(&self, cfg: &Cfg, at: usize) -> bool {
        let scope = self.frames[at].scope;
        self.frames[at + 1..]
            .iter()
            .flat_map(|f| &f.declared)
            .any(|&b| Some(cfg.bindings[b].scope) == scope)
    }

    /// Closes by hand the scopes opened inside `outer`, as a jump out of them to
    /// code written in place does. `false`, leaving the rest open, at one that a
    /// frame inside it declared into (see `declared_into_from_inside`).
    fn close_until(&mut self, cfg: &Cfg, outer: ScopeId, standing: &Standing) -> bool {
        while let Some(at) = self.frames.iter().rposition(|f| f.scope.is_some())
            && self.frames[at].scope != Some(outer)
        {
            if self.declared_into_from_inside(cfg, at) {
                return false;
            }
            self.close(cfg, standing);
        }
        true
    }

    /// Ends the innermost scope. Bindings of outer scopes that were aliased inside it
    /// and are still live come back out under their own names. `standing` says which
    /// bindings are live and which hold a value here.
    fn close(&mut self, cfg: &Cfg, standing: &Standing) {
        let (live, init) = (&standing.live, &standing.init);
        let Some(at) = self.frames.iter().rposition(|f| f.scope.is_some()) else {
            return;
        };
        if let Some(looping) = &self.looping
            && self.frames[at + 1..].iter().any(|f| f.loop_label.is_some())
        {
            if self.frames[at].outer && self.across {
                // A block written in place across scopes, inside an `if`/`match`
                // arm, closes the scope by hand: what follows has left the loop for
                // good (going round would enter the scope afresh), so it goes on
                // through the dispatch.
                self.looping = None;
            } else {
                // This scope was opened before the loop began: the loop cannot close
                // it.
                looping.broken.set(true);
            }
        }
        let lexical = at == self.frames.len() - 1 && !self.frames[at].outer;
        if !lexical && let Some((block, in_vain)) = &self.inlined {
            let scope = self.frames[at].scope;
            // The scope holds a value only on some paths, which only Rust's drop flag
            // knows: left to the end of the Rust block, it would be dropped late. Or
            // code written in place across scopes declared into this scope from a
            // frame of its own, which goes on after the scope ends: neither the drops
            // nor the names would end with it. As a state, the block starts after the
            // Rust blocks of the code before it have ended.
            let unsure = self.frames[at]
                .declared
                .iter()
                .any(|&b| Some(cfg.bindings[b].scope) == scope && standing.unsure.contains(b));
            if unsure || self.declared_into_from_inside(cfg, at) {
                in_vain.borrow_mut().push(*block);
            }
        }
        let frame = self.frames.remove(at);
        if !lexical {
            // The scope's Rust block encloses this code: drop what it declared, as
            // leaving it would (a block written in place that would have to leave a
            // value moved on only some paths is made a state instead, above).
            let dropped = Ident::new("__coro_dropped", Span::mixed_site());
            for &binding in frame.declared.iter().rev() {
                let Some(name) = self.names.get(&binding).cloned() else {
                    continue;
                };
                let reachable = self.visible.get(&name.to_string()) == Some(&binding)
                    || name.to_string().starts_with("__coro_alias");
                if Some(cfg.bindings[binding].scope) == frame.scope
                    && init.contains(binding)
                    && reachable
                {
                    self.push(quote!({ let #dropped = #name; }));
                }
            }
        }
        for (key, previous) in frame.saved.into_iter().rev() {
            match previous {
                Some(binding) => self.visible.insert(key, binding),
                None => self.visible.remove(&key),
            };
        }
        let mut hosted = frame.hosted;
        hosted.dedup();
        let handed_back: Vec<BindingId> = hosted
            .into_iter()
            .filter(|&b| live.contains(b) && Some(cfg.bindings[b].scope) != frame.scope)
            .filter(|b| self.names.contains_key(b))
            .collect();
        let values: Vec<Ident> = handed_back.iter().map(|b| self.names[b].clone()).collect();
        let pats: Vec<TokenStream> = handed_back.iter().map(|&b| binding_pat(cfg, b)).collect();
        if lexical {
            let inner = frame.tokens;
            if inner.is_empty() && handed_back.is_empty() && frame.loop_label.is_none() {
                // A scope whose code went elsewhere (a block written in place after it).
            } else if handed_back.is_empty() {
                self.push(wrap(frame.loop_label.as_ref(), inner));
            } else {
                self.push(quote! {
                    #[allow(unused_mut, unused_variables)]
                    let (#(#pats,)*) = { #inner (#(#values,)*) };
                });
            }
        } else {
            self.push(quote! {
                #(#[allow(unused_mut, unused_variables)] let #pats = #values;)*
            });
        }
        for binding in handed_back {
            let name = cfg.bindings[binding].name.clone();
            self.declare(cfg, binding, name);
        }
    }

    /// Closes the frames this code opened (it has diverged) and returns its tokens:
    /// each frame's code ends with its inner frame's, as a block or a loop.
    fn finish(mut self) -> TokenStream {
        let mut inner: Option<(TokenStream, Option<Lifetime>)> = None;
        while let Some(frame) = self.frames.pop() {
            if frame.outer {
                break;
            }
            let mut tokens = frame.tokens;
            if let Some((code, label)) = inner.take() {
                tokens.extend(std::iter::once(wrap(label.as_ref(), code)));
            }
            inner = Some((tokens, frame.loop_label));
        }
        match inner {
            Some((code, Some(label))) => wrap(Some(&label), code),
            Some((code, None)) => code,
            None => TokenStream::new(),
        }
    }

    /// A fresh environment for code written inside an `if`/`match` arm: it sees the
    /// same names and scopes, but writes into its own frame.
    fn arm(&self) -> Env {
        let mut frames: Vec<Frame> = self
            .frames
            .iter()
            .map(|f| Frame {
                outer: true,
                tokens: TokenStream::new(),
                ..f.clone()
            })
            .collect();
        frames.push(Frame::default());
        Env {
            frames,
            names: self.names.clone(),
            visible: self.visible.clone(),
            looping: self.looping.clone(),
            inlined: self.inlined.clone(),
            across: self.across,
            resuming: self.resuming,
            falls_into: self.falls_into.clone(),
        }
    }
}

/// A frame's code as a block, or as a labelled loop.
fn wrap(label: Option<&Lifetime>, inner: TokenStream) -> TokenStream {
    match label {
        Some(label) => then_braced(quote!(#label: loop), inner),
        None => then_braced(TokenStream::new(), inner),
    }
}

/// `head { inner }`. Quoting `#head { #inner }` would copy `inner` into a fresh
/// stream, a round trip through the compiler's bridge for each; moved into its
/// group here, it costs none.
fn then_braced(mut head: TokenStream, inner: TokenStream) -> TokenStream {
    let group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, inner);
    head.extend(std::iter::once(TokenTree::Group(group)));
    head
}

fn binding_pat(cfg: &Cfg, binding: BindingId) -> TokenStream {
    let data = &cfg.bindings[binding];
    let name = &data.name;
    if data.mutable {
        quote!(mut #name)
    } else {
        quote!(#name)
    }
}

/// The label of a state's arm written as a loop.
fn loop_label() -> Lifetime {
    Lifetime::new("'__coro_loop", Span::mixed_site())
}

/// The local a sync machine moves between blocks within one resume.
fn next_state() -> Ident {
    Ident::new("__coro_next", Span::mixed_site())
}

/// Where a described body writes the `yield_!` it stops at.
fn at_slot() -> Ident {
    Ident::new("__coro_at", Span::mixed_site())
}

/// The pinned field of a state that waits on an `.await`.
fn future_field() -> Ident {
    Ident::new("__coro_future", Span::mixed_site())
}

fn projection() -> Ident {
    Ident::new("__CoroStateProj", Span::mixed_site())
}

fn owned_projection() -> Ident {
    Ident::new("__CoroStateOwned", Span::mixed_site())
}

fn field(binding: BindingId) -> Ident {
    format_ident!("__coro_b{}", binding, span = Span::mixed_site())
}

impl<'a> Emitter<'a> {
    fn new(
        func: &'a CoroutineFn,
        cfg: &'a Cfg,
        live: &'a Liveness,
        kept_as_states: &BitSet,
    ) -> Self {
        // A block entered from one place is written there; so is a join that only
        // closes scopes before going on (written at each of its predecessors), when
        // its predecessors end in its scope. Inside an `if`/`match` arm, scopes opened
        // outside it are closed by hand (see `Env::close`). A block entered from one
        // place deeper in (the code after a loop its `break` leaves) is written there
        // too when those scopes hold nothing to drop: it then costs no state, and no
        // pass through the dispatch.
        let mut inline = vec![false; cfg.blocks.len()];
        for &block in &live.order {
            let data = &cfg.blocks[block];
            let preds = &live.preds[block];
            if block == ENTRY || data.resumed || preds.is_empty() || kept_as_states.contains(block)
            {
                continue;
            }
            let same_scope = preds.iter().all(|&p| cfg.scope_at_end(p) == data.scope);
            inline[block] = if same_scope {
                preds.len() == 1 || is_trivial_join(cfg, live, block)
            } else {
                preds.len() == 1 && leaves_nothing_to_drop(cfg, live, preds[0], block)
            };
        }
        let mut variant = vec![None; cfg.blocks.len()];
        let mut generic = std::collections::BTreeMap::new();
        for &block in &live.order {
            if inline[block] {
                continue;
            }
            variant[block] = Some(match block {
                ENTRY => format_ident!("Start"),
                _ if cfg.blocks[block].resumed => format_ident!("Resume{}", block),
                _ => format_ident!("Block{}", block),
            });
            for binding in live.live_in[block].iter() {
                let next = generic.len();
                generic
                    .entry(binding)
                    .or_insert_with(|| format_ident!("T{}", next));
            }
        }
        let passing =
            |block: BlockId| !func.kind.can_await() && block != ENTRY && !cfg.blocks[block].resumed;
        // Worth a second enum only when a passing state would make the stored one
        // larger: when it carries what no stored state does. (Wrapping the stored
        // state costs a few instructions a resume.)
        let states = (0..cfg.blocks.len()).filter(|&b| variant[b].is_some());
        let carries_more = |passing_state: BlockId| {
            let carried = &live.live_in[passing_state];
            carried.iter().next().is_some()
                && !states
                    .clone()
                    .filter(|&b| !passing(b) && b != ENTRY)
                    .any(|stored| {
                        carried
                            .iter()
                            .all(|binding| live.live_in[stored].contains(binding))
                    })
        };
        let passing_ty = states
            .clone()
            .any(|b| passing(b) && carries_more(b))
            .then(|| Ident::new("__CoroNext", Span::mixed_site()));
        let krate = &func.krate;
        let named_in_arm = live.mentioned_before_leaving(cfg, &inline);
        let redeclared_at: Vec<Vec<BindingId>> = (0..cfg.blocks.len())
            .map(|block| {
                live.redeclare_in[block]
                    .iter()
                    .filter(|&b| named_in_arm[block].contains(b))
                    .collect()
            })
            .collect();
        let mut redeclared = BitSet::new(cfg.bindings.len());
        redeclared_at
            .iter()
            .flatten()
            .for_each(|&b| redeclared.insert(b));
        let stored =
            |block: BlockId| variant[block].is_some() && (passing_ty.is_none() || !passing(block));
        let eager_start =
            super::eager_start::eager_start(func, cfg, !live.preds[ENTRY].is_empty(), stored);
        Emitter {
            func,
            cfg,
            live,
            inline,
            inlined_in_vain: Default::default(),
            redeclared_at,
            redeclared,
            variant,
            generic,
            private: quote!(#krate::__private),
            state_ty: Ident::new("__CoroState", Span::mixed_site()),
            passing_ty,
            state: Ident::new("__coro_state", Span::mixed_site()),
            dispatch: Lifetime::new("'__coro_dispatch", Span::mixed_site()),
            resume_slot: Ident::new("__coro_resume", Span::mixed_site()),
            cx: Ident::new("__coro_cx", Span::mixed_site()),
            uses_dispatch: Default::default(),
            declares_uninit: Default::default(),
            uses_resume_slot: Default::default(),
            loop_heads: Default::default(),
            arm_targets: Default::default(),
            kept: Default::default(),
            copies_code: !has_closures(cfg),
            eager_start,
            writing_start: Default::default(),
        }
    }

    fn function(&self) -> TokenStream {
        let CoroutineFn { attrs, vis, .. } = self.func;
        let sig = self.func.signature_without_mut();
        let items = &self.cfg.items;
        let machine = self.machine();
        let state_enum = self.state_enum();
        let hidden_suspensions =
            crate::scan::invokes_other_macros(&self.func.body).then(hidden_suspension_macros);
        quote! {
            #(#attrs)*
            #vis #sig {
                #hidden_suspensions
                #(#items)*
                #state_enum
                #machine
            }
        }
    }

    fn is_async(&self) -> bool {
        self.func.kind.can_await()
    }

    /// Is `block` a state passed through within one resume, never stored?
    fn is_passing(&self, block: BlockId) -> bool {
        self.passing_ty.is_some() && block != ENTRY && !self.cfg.blocks[block].resumed
    }

    /// The path of `block`'s variant as the dispatch matches on it: a stored state
    /// is wrapped in the passing enum when there is one.
    fn dispatch_pattern(&self, block: BlockId, inner: TokenStream) -> TokenStream {
        let name = self.variant[block].as_ref().expect("a state");
        let state_ty = &self.state_ty;
        match &self.passing_ty {
            Some(passing_ty) if self.is_passing(block) => quote!(#passing_ty::#name #inner),
            Some(passing_ty) => quote!(#passing_ty::Stored(#state_ty::#name #inner)),
            None => quote!(#state_ty::#name #inner),
        }
    }

    fn carried(&self, block: BlockId) -> Vec<BindingId> {
        self.live.live_in[block].iter().collect()
    }

    /// `state = value`: a plain assignment, or `Pin::set` for a pinned state, which
    /// drops the old value in place.
    fn assign_state(&self, value: TokenStream) -> TokenStream {
        let state = &self.state;
        if self.is_async() {
            quote!(#state.set(#value);)
        } else {
            quote!(#state = #value;)
        }
    }

    /// Does the pinned state have no field at all, so `Poisoned` must carry one?
    fn poisoned_marker(&self) -> bool {
        self.is_async()
            && self.cfg.params.is_empty()
            && self.generic.is_empty()
            && self.cfg.await_slots == 0
    }

    fn poisoned(&self) -> TokenStream {
        let state_ty = &self.state_ty;
        if self.poisoned_marker() {
            quote!(#state_ty::Poisoned { __coro_unit: () })
        } else {
            quote!(#state_ty::Poisoned)
        }
    }

    fn start_value(&self) -> TokenStream {
        let state_ty = &self.state_ty;
        let start_fields = &self.cfg.params;
        let passed = self.func.params.iter().map(|p| &p.passed);
        if self.eager_start.is_some() {
            // The first block's code, run now: it ends in the value of the state it
            // goes on to.
            let mut env = Env::default();
            env.open(Some(ROOT_SCOPE));
            env.push(quote!(#(let #start_fields = #passed;)*));
            self.writing_start.set(true);
            self.block(&mut env, ENTRY);
            self.writing_start.set(false);
            let code = env.finish();
            return quote!({ #code });
        }
        quote!(#state_ty::Start { #(#start_fields: #passed),* })
    }

    /// The states. In a future or stream it is pinned (declared with `pin_project!`)
    /// and each state waiting on an `.await` holds the awaited future as a pinned
    /// field, beside the bindings: one enum, one discriminant, as rustc lays it out.
    fn state_enum(&self) -> TokenStream {
        let state_ty = &self.state_ty;
        let start_params = if self.eager_start.is_some() {
            0
        } else {
            self.cfg.params.len()
        };
        let param_generics: Vec<Ident> =
            (0..start_params).map(|i| format_ident!("P{}", i)).collect();
        let kept = self.kept.borrow();
        let used_by = |passing: bool| -> Vec<Ident> {
            let used: std::collections::HashSet<BindingId> = kept
                .iter()
                .filter(|&&b| b != ENTRY && self.is_passing(b) == passing)
                .flat_map(|&b| self.carried(b))
                .collect();
            self.generic
                .iter()
                .filter(|(b, _)| used.contains(b))
                .map(|(_, g)| g.clone())
                .collect()
        };
        let binding_generics = used_by(false);
        let future_generics: Vec<Ident> = (0..self.cfg.await_slots)
            .map(|i| format_ident!("F{}", i))
            .collect();
        let kept_slots: std::collections::HashSet<usize> = kept
            .iter()
            .filter_map(|&b| self.cfg.blocks[b].polls.map(|p| p.slot))
            .collect();
        let generics: Vec<&Ident> = param_generics
            .iter()
            .chain(&binding_generics)
            .chain(
                future_generics
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| kept_slots.contains(i))
                    .map(|(_, g)| g),
            )
            .collect();
        let params = &self.cfg.params;
        let is_async = self.is_async();
        let braced = |fields: Vec<TokenStream>| {
            if fields.is_empty() && is_async {
                TokenStream::new()
            } else {
                quote!({ #(#fields),* })
            }
        };
        let start = braced(
            params
                .iter()
                .zip(&param_generics)
                .map(|(p, g)| quote!(#p: #g))
                .collect(),
        );
        let start = self.eager_start.is_none().then(|| quote!(Start #start,));
        // `pin_project!`'s projections borrow for a lifetime that must appear in a field.
        let poisoned_fields = self.poisoned_marker().then(|| quote!({ __coro_unit: () }));
        let kept = &*kept;
        let variants_where = |passing: bool| {
            self.live
                .order
                .iter()
                .filter(move |&&b| b != ENTRY && kept.contains(&b) && self.is_passing(b) == passing)
                .filter_map(|&block| {
                    let name = self.variant[block].as_ref()?;
                    let mut fields = Vec::new();
                    if let Some(polled) = self.cfg.blocks[block].polls {
                        let (future, ty) = (future_field(), &future_generics[polled.slot]);
                        fields.push(quote!(#[pin] #future: #ty));
                    }
                    // Reverse declaration order: dropping a suspended coroutine drops its
                    // bindings as leaving their scopes would.
                    fields.extend(self.carried(block).into_iter().rev().map(|b| {
                        let (field, ty) = (field(b), &self.generic[&b]);
                        quote!(#field: #ty)
                    }));
                    let fields = braced(fields);
                    Some(quote!(#name #fields))
                })
        };
        let variants = variants_where(false);
        let declaration = quote! {
            #[allow(dead_code, non_camel_case_types, clippy::large_enum_variant)]
            enum #state_ty<#(#generics),*> {
                #start
                #(#variants,)*
                Done,
                Poisoned #poisoned_fields,
            }
        };
        if let Some(passing_ty) = &self.passing_ty {
            let passing_generics = used_by(true);
            let all_generics = generics.iter().copied().chain(
                passing_generics
                    .iter()
                    .filter(|g| !binding_generics.contains(g)),
            );
            let passing_variants = variants_where(true);
            return quote! {
                #declaration
                #[allow(dead_code, non_camel_case_types, clippy::large_enum_variant)]
                enum #passing_ty<#(#all_generics),*> {
                    Stored(#state_ty<#(#generics),*>),
                    #(#passing_variants,)*
                }
            };
        }
        if !is_async {
            return declaration;
        }
        let p = &self.private;
        let (projection, owned) = (projection(), owned_projection());
        quote! {
            #p::pin_project! {
                #[project = #projection]
                #[project_replace = #owned]
                #declaration
            }
        }
    }

    fn machine(&self) -> TokenStream {
        let p = &self.private;
        let (state_ty, state, dispatch, cx) =
            (&self.state_ty, &self.state, &self.dispatch, &self.cx);
        let next = next_state();
        let mut written = HashMap::new();
        for &block in self
            .live
            .order
            .iter()
            .filter(|&&b| self.variant[b].is_some())
            .filter(|&&b| b != ENTRY || self.eager_start.is_none())
        {
            let arm = self.state_arm(block);
            written.insert(
                block,
                (arm, self.arm_targets.take(), self.uses_dispatch.take()),
            );
        }
        let start = self.start_value();
        let mut kept = std::collections::HashSet::new();
        let mut work = match self.eager_start {
            Some(_) => self.arm_targets.take(),
            None => vec![ENTRY],
        };
        kept.extend(work.iter().copied());
        while let Some(block) = work.pop() {
            for &target in &written[&block].1 {
                if kept.insert(target) {
                    work.push(target);
                }
            }
        }
        let arms: Vec<TokenStream> = self
            .live
            .order
            .iter()
            .filter(|b| kept.contains(b))
            .map(|b| written[b].0.clone())
            .collect();
        self.uses_dispatch.set(kept.iter().any(|b| written[b].2));
        *self.kept.borrow_mut() = kept;
        let set_done = self.assign_state(quote!(#state_ty::Done));
        let done = match &self.func.kind {
            Kind::Generator { .. } => quote!({
                #set_done
                return #p::CoroutineState::Complete(());
            }),
            Kind::Stream { .. } => quote!(return #p::Poll::Ready(#p::Option::None)),
            Kind::Future { .. } => quote!(#p::polled_after_completion()),
            Kind::Coroutine { .. } => quote!(#p::resumed_after_completion()),
        };
        let label = self.uses_dispatch.get().then(|| quote!(#dispatch:));
        let (scrutinee, done_pat, poisoned_pat) = if self.is_async() {
            let projection = projection();
            (
                quote!(#state.as_mut().project()),
                quote!(#projection::Done),
                quote!(#projection::Poisoned { .. }),
            )
        } else {
            match &self.passing_ty {
                Some(passing_ty) => (
                    quote!(#next),
                    quote!(#passing_ty::Stored(#state_ty::Done)),
                    quote!(#passing_ty::Stored(#state_ty::Poisoned)),
                ),
                None => (
                    quote!(#next),
                    quote!(#state_ty::Done),
                    quote!(#state_ty::Poisoned),
                ),
            }
        };
        // A sync machine takes its state out once per resume into a local, which
        // moves between blocks within the resume: a local that never escapes is
        // kept in registers, so those moves become plain jumps. The captured state is
        // written again only when the coroutine suspends or finishes.
        let take_state = (!self.is_async()).then(|| {
            let taken = quote!(#p::replace(&mut #state, #state_ty::Poisoned));
            let taken = match &self.passing_ty {
                Some(passing_ty) => quote!(#passing_ty::Stored(#taken)),
                None => taken,
            };
            quote!(#[allow(unused_mut)] let mut #next = #taken;)
        });
        let dispatch_loop = quote! {{
            #take_state
            #label loop {
                match #scrutinee {
                    #(#arms)*
                    #done_pat => #done,
                    #poisoned_pat => #p::resumed_after_panic(),
                }
            }
        }};
        let slot = &self.resume_slot;
        let sync_machine = |wrapper: TokenStream| {
            quote! {
                let mut #state = #start;
                #wrapper
            }
        };
        let (at, named) = (at_slot(), self.named());
        match &self.func.kind {
            Kind::Generator { item } if self.describes() => {
                let y = nameable(Some(item));
                sync_machine(quote! {
                    #p::described_generator::<#y, _>(#named, move |_: (), #at| #dispatch_loop)
                })
            }
            Kind::Generator { item } => {
                let y = nameable(Some(item));
                sync_machine(quote! {
                    #p::generator::<#y, _>(move |_: ()| #dispatch_loop)
                })
            }
            Kind::Coroutine {
                resume,
                yield_ty,
                ret,
            } => {
                let (y, mut t) = (nameable(yield_ty.as_ref()), nameable(ret.as_ref()));
                if ret.is_none() && !super::body_completes(&self.func.body) {
                    // Nothing gives the return type a value: say `()`, as a
                    // function that never returns says nothing either.
                    t = quote!(());
                }
                let r = nameable(Some(resume));
                let (wrap, extra) = if self.describes() {
                    (quote!(described_coroutine), quote!(#named,))
                } else {
                    (quote!(coroutine), quote!())
                };
                let at = self.describes().then_some(quote!(, #at));
                if is_unit(resume) || !self.uses_resume_slot.get() {
                    sync_machine(
                        quote!(#p::#wrap::<#r, #y, #t, _>(#extra move |_ #at| #dispatch_loop)),
                    )
                } else {
                    sync_machine(quote! {
                        #p::#wrap::<#r, #y, #t, _>(#extra move |__coro_arg #at| {
                            let mut #slot = #p::Option::Some(__coro_arg);
                            #dispatch_loop
                        })
                    })
                }
            }
            Kind::Future { output } => {
                let t = nameable(output.as_ref());
                quote!(#p::future::<#t, _, _>(#start, move |mut #state, #cx| #dispatch_loop))
            }
            Kind::Stream { item } => {
                let y = nameable(Some(item));
                quote!(#p::stream::<#y, _, _>(#start, move |mut #state, #cx| #dispatch_loop))
            }
        }
    }

    /// Whether this body keeps where it stands, for its `Debug`.
    fn describes(&self) -> bool {
        self.func.describes && !self.is_async()
    }

    /// ``"generator `fib`"``: what the body's `Debug` calls it.
    fn named(&self) -> String {
        let kind = match self.func.kind {
            Kind::Generator { .. } => "generator",
            _ => "coroutine",
        };
        format!("{kind} `{}`", self.func.sig.ident)
    }

    fn state_arm(&self, block: BlockId) -> TokenStream {
        let name = self.variant[block].as_ref().unwrap();
        let carried = if block == ENTRY {
            Vec::new()
        } else {
            self.carried(block)
        };
        let fields: Vec<Ident> = if block == ENTRY {
            self.cfg.params.clone()
        } else {
            carried.iter().map(|&b| field(b)).collect()
        };
        let mut env = Env::default();
        env.open(Some(ROOT_SCOPE));
        // How the arm is entered: the variant's pattern, and for a pinned state the
        // poll of its future and the move of its bindings out of the pinned state.
        let pattern = if self.is_async() {
            let (projection, owned, state) = (projection(), owned_projection(), &self.state);
            let poisoned = self.poisoned();
            let polled = self.cfg.blocks[block].polls;
            let future = polled.map(|_| {
                let field = future_field();
                quote!(#field,)
            });
            if let Some(polled) = polled {
                env.push(self.poll(polled));
            }
            env.push(quote! {
                let #owned::#name { #(#fields,)* .. } = #state.as_mut().project_replace(#poisoned) else {
                    ::core::unreachable!()
                };
            });
            quote!(#projection::#name { #future .. })
        } else {
            self.dispatch_pattern(block, quote!({ #(#fields),* }))
        };
        // A state entered again from its own code (a loop's head) is written as a Rust
        // loop, so going round is a jump rather than a pass through the dispatch.
        // (A state that polls a future re-polls it on entry: it cannot be a loop's head.)
        if block != ENTRY
            && self.cfg.blocks[block].polls.is_none()
            && self.live.has_back_edge(block)
        {
            let (body, used, broken) = self.arm_body(env.clone(), block, &carried, true);
            if used && !broken {
                self.loop_heads.borrow_mut().insert(block);
                return then_braced(quote!(#pattern =>), body);
            }
        }
        let (body, ..) = self.arm_body(env, block, &carried, false);
        then_braced(quote!(#pattern =>), body)
    }

    /// Declares again, uninitialised, the bindings in scope at `block` that are not
    /// carried but are assigned later (those of `scope`, or all).
    fn redeclare(&self, env: &mut Env, block: BlockId, scope: Option<ScopeId>) {
        let live = &self.live.live_in[block];
        for &binding in &self.redeclared_at[block] {
            let data = &self.cfg.bindings[binding];
            // Already declared in this arm (entering a copy of `block`): keep that one.
            if scope.is_some_and(|scope| data.scope != scope) || env.names.contains_key(&binding) {
                continue;
            }
            env.alias_hidden(self.cfg, &data.name, &[binding], live);
            let pat = binding_pat(self.cfg, binding);
            env.push(quote!(#[allow(unused_mut, unused_variables)] let #pat;));
            self.declares_uninit.set(true);
            env.declare(self.cfg, binding, data.name.clone());
        }
    }

    /// The code of a state's arm after its pattern: restore the bindings, one Rust
    /// block per scope, then the state's own code. Returns whether the loop was used,
    /// and whether it had to be given up.
    fn arm_body(
        &self,
        mut env: Env,
        block: BlockId,
        carried: &[BindingId],
        looped: bool,
    ) -> (TokenStream, bool, bool) {
        let used = std::rc::Rc::new(std::cell::Cell::new(false));
        let broken = std::rc::Rc::new(std::cell::Cell::new(false));
        env.resuming = self.cfg.blocks[block].resumed;
        self.arm_targets.borrow_mut().clear();
        self.uses_dispatch.set(false);
        self.declares_uninit.set(false);
        if block != ENTRY {
            let live = &self.live.live_in[block];
            for (depth, scope) in self
                .cfg
                .scope_chain(self.cfg.blocks[block].scope)
                .into_iter()
                .enumerate()
            {
                if depth > 0 {
                    env.open(Some(scope));
                }
                for &binding in carried
                    .iter()
                    .filter(|&&b| self.cfg.bindings[b].scope == scope)
                {
                    let data = &self.cfg.bindings[binding];
                    env.alias_hidden(self.cfg, &data.name, &[binding], live);
                    let (pat, from) = (binding_pat(self.cfg, binding), field(binding));
                    env.push(quote!(#[allow(unused_mut, unused_variables)] let #pat = #from;));
                    env.declare(self.cfg, binding, data.name.clone());
                }
                if !looped {
                    self.redeclare(&mut env, block, Some(scope));
                }
            }
            if looped {
                env.frames.push(Frame {
                    loop_label: Some(loop_label()),
                    ..Frame::default()
                });
                env.looping = Some(Looping {
                    header: block,
                    fixed: carried.iter().copied().collect(),
                    used: used.clone(),
                    broken: broken.clone(),
                });
                // Inside the loop, so each turn starts them afresh.
                self.redeclare(&mut env, block, None);
            }
        }
        if block == ENTRY && self.cfg.await_slots > 0 {
            // Names the `.await`s, which record only their places (see `poll`).
            env.push(super::function_starts(self.func));
        }
        self.block(&mut env, block);
        let body = if self.declares_uninit.get() {
            prune_unused_declarations(env.finish())
        } else {
            env.finish()
        };
        (body, used.get(), broken.get())
    }

    /// Writes the statements and terminator of `block` into `env`.
    fn block(&self, env: &mut Env, block: BlockId) {
        let data = &self.cfg.blocks[block];
        for (index, stmt) in data.stmts.iter().enumerate() {
            match stmt {
                Stmt::Enter(scope) => env.open(Some(*scope)),
                Stmt::Exit(_) => {
                    env.close(self.cfg, &self.live.after(self.cfg, block, index));
                }
                Stmt::Let { local, binds, .. } => {
                    let live = self.live.live_after(self.cfg, block, index);
                    self.local(env, local, binds, &live);
                }
                Stmt::Code { stmt, .. } => {
                    let mut stmt = stmt.clone();
                    self.rewriter().visit_stmt_mut(&mut stmt);
                    env.push(stmt.into_token_stream());
                }
                Stmt::Bind { binding, from } => {
                    let data = &self.cfg.bindings[*binding];
                    if let Some(from) = from {
                        let live = self.live.live_after(self.cfg, block, index);
                        env.alias_hidden(self.cfg, &data.name, &[*binding], &live);
                        let pat = binding_pat(self.cfg, *binding);
                        env.push(quote!(#[allow(unused_mut, unused_variables)] let #pat = #from;));
                    }
                    env.declare(self.cfg, *binding, data.name.clone());
                }
                Stmt::Resume { into } => {
                    let resumed = match data.polls {
                        Some(_) => quote!(__coro_ready),
                        None => self.resume_value(),
                    };
                    match into {
                        Some(binding) => {
                            let name = &self.cfg.bindings[*binding].name;
                            env.push(quote!(let #name = #resumed;));
                            env.declare(self.cfg, *binding, name.clone());
                        }
                        None if self.resume_is_unit() || data.polls.is_some() => {}
                        None => env.push(quote!(let _ = #resumed;)),
                    }
                }
            }
        }
        self.terminator(env, block);
    }

    fn resume_is_unit(&self) -> bool {
        match &self.func.kind {
            Kind::Coroutine { resume, .. } => is_unit(resume),
            _ => true,
        }
    }

    fn resume_value(&self) -> TokenStream {
        if self.resume_is_unit() {
            return quote!(());
        }
        self.uses_resume_slot.set(true);
        let (p, slot) = (&self.private, &self.resume_slot);
        quote!(#p::take_resume(&mut #slot))
    }

    /// A user's `let`. If it hides a binding that is still needed, the initialiser
    /// runs first (it may read the binding), then the binding moves to its alias.
    fn local(&self, env: &mut Env, local: &Local, binds: &[BindingId], live: &BitSet) {
        let mut local = local.clone();
        if local.init.is_none() {
            self.declares_uninit.set(true);
        }
        self.rewriter().visit_local_mut(&mut local);
        // A `mut` binding carried to, or declared again in, another state may be
        // mutated only there.
        if binds.iter().any(|b| {
            self.cfg.bindings[*b].mutable
                && (self.generic.contains_key(b) || self.redeclared.contains(*b))
        }) {
            local.attrs.push(syn::parse_quote!(#[allow(unused_mut)]));
        }
        let hides = binds.iter().any(|&b| {
            let name = self.cfg.bindings[b].name.to_string();
            env.visible
                .get(&name)
                .is_some_and(|old| !binds.contains(old) && live.contains(*old))
        });
        if hides {
            let pat = &local.pat;
            match local.init.take() {
                Some(init) => {
                    let value = Ident::new("__coro_init", Span::mixed_site());
                    let expr = &init.expr;
                    env.push(quote!(let #value = #expr;));
                    for &b in binds {
                        env.alias_hidden(self.cfg, &self.cfg.bindings[b].name, binds, live);
                    }
                    let diverge = init.diverge.map(|(_, block)| quote!(else #block));
                    env.push(quote!(let #pat = #value #diverge;));
                }
                None => {
                    for &b in binds {
                        env.alias_hidden(self.cfg, &self.cfg.bindings[b].name, binds, live);
                    }
                    env.push(local.into_token_stream());
                }
            }
        } else {
            env.push(local.into_token_stream());
        }
        for &binding in binds {
            env.declare(self.cfg, binding, self.cfg.bindings[binding].name.clone());
        }
    }

    fn terminator(&self, env: &mut Env, block: BlockId) {
        let p = &self.private;
        let state_ty = &self.state_ty;
        let tokens = match &self.cfg.blocks[block].term {
            Terminator::Goto(target) if self.inline[*target] => {
                self.leave_scopes(env, block, *target);
                return self.block(env, *target);
            }
            Terminator::Goto(target) => self.transition(env, block, *target),
            Terminator::If {
                cond,
                then_to,
                else_to,
            } => {
                let cond = self.rewritten(cond);
                let (branches, join) = self.branches_env(env, block);
                let (then_code, else_code) = (
                    self.successor(&branches, block, *then_to),
                    self.successor(&branches, block, *else_to),
                );
                let if_then = then_braced(quote!(if #cond), then_code);
                env.push(then_braced(quote!(#if_then else), else_code));
                return self.after_branches(env, join);
            }
            Terminator::Match { scrutinee, arms } => {
                let scrutinee = self.rewritten(scrutinee);
                let (branches, join) = self.branches_env(env, block);
                let arms: Vec<TokenStream> = arms
                    .iter()
                    .map(|arm| {
                        let pat = &arm.pat;
                        let guard = arm.guard.as_ref().map(|g| {
                            let g = self.rewritten(g);
                            quote!(if #g)
                        });
                        let code = self.successor(&branches, block, arm.target);
                        then_braced(quote!(#pat #guard =>), code)
                    })
                    .collect();
                env.push(quote!(match #scrutinee { #(#arms)* }));
                return self.after_branches(env, join);
            }
            Terminator::Yield {
                value,
                next,
                origin,
            } => {
                let span = origin
                    .clone()
                    .into_iter()
                    .next()
                    .map_or_else(Span::call_site, |t| t.span());
                let value = self.rewritten(value);
                let yielded = Ident::new("__coro_yielded", Span::mixed_site());
                let store = self.store(env, *next);
                let yielded_value = self.yielded(quote!(#yielded));
                // A body whose signature asks for `Debug` says where it stopped.
                let mark = self.describes().then(|| {
                    let (p, at) = (&self.private, at_slot());
                    let site = super::site(p, &self.func.sig.ident.to_string(), span);
                    quote!(*#at = #p::Option::Some(#site);)
                });
                quote_spanned! {span=>
                    let #yielded = #value;
                    #store
                    #mark
                    return #yielded_value;
                }
            }
            Terminator::Return(value) => {
                let value = self.rewritten(value);
                let returned = Ident::new("__coro_returned", Span::mixed_site());
                let completed = self.completed(quote!(#returned));
                let set_done = self.assign_state(quote!(#state_ty::Done));
                quote! {
                    let #returned = #value;
                    #set_done
                    return #completed;
                }
            }
            Terminator::Await { future, next, .. } => {
                let future = self.rewritten(future);
                let pending = Ident::new("__coro_pending", Span::mixed_site());
                let into_future = match self.cfg.blocks[*next].polls {
                    Some(polled) if polled.stream => quote!(#future),
                    _ => quote!(#p::IntoFuture::into_future(#future)),
                };
                self.uses_dispatch.set(true);
                let store = self.store_with(env, *next, Some(quote!(#pending)));
                let dispatch = &self.dispatch;
                quote! {
                    let #pending = #into_future;
                    #store
                    continue #dispatch;
                }
            }
            // Reached only past code that diverges (rustc sees it too).
            Terminator::Unreachable => quote! {
                #[allow(unreachable_code)]
                {
                    ::core::unreachable!()
                }
            },
        };
        env.push(tokens);
    }

    /// The environment the branches of the `if`/`match` ending `block` are written
    /// in. When their join can be written after them in the same arm (a join that
    /// is a state only because several branches reach it), branches that reach it
    /// fall out instead of passing through the dispatch: a loop's body with an `if`
    /// in it then runs as Rust code, not as a jump per turn through the state enum.
    fn branches_env(&self, env: &Env, block: BlockId) -> (Env, Option<FallInto>) {
        let mut branches = env.clone();
        let join = self.cfg.joins.get(&block).copied().filter(|&join| {
            self.copies_code
                && !self.inline[join]
                && join != ENTRY
                && !self.cfg.blocks[join].resumed
                && self.cfg.blocks[join].polls.is_none()
                && !self.live.has_back_edge(join)
                && self.cfg.blocks[join].scope == self.cfg.scope_at_end(block)
                // What the join declares again must already be declared here.
                && self.redeclared_at[join]
                    .iter()
                    .all(|b| env.names.contains_key(b))
        });
        let fall = join.map(|join| FallInto {
            join,
            names: self.live.live_in[join]
                .iter()
                .map(|b| (b, env.names.get(&b).cloned()))
                .collect(),
            loops: env.open_loops(),
            fell: std::rc::Rc::default(),
        });
        if fall.is_some() {
            branches.falls_into = fall.clone();
        }
        (branches, fall)
    }

    /// After an `if`/`match`: the join's code, if a branch fell into it.
    fn after_branches(&self, env: &mut Env, fall: Option<FallInto>) {
        if let Some(fall) = fall
            && fall.fell.get()
        {
            self.block(env, fall.join);
        }
    }

    /// The code that continues at `target` from inside an `if`/`match` arm that
    /// ends `from`.
    fn successor(&self, env: &Env, from: BlockId, target: BlockId) -> TokenStream {
        if self.inline[target] {
            let mut arm = env.arm();
            self.leave_scopes(&mut arm, from, target);
            self.block(&mut arm, target);
            arm.finish()
        } else {
            self.transition(env, from, target)
        }
    }

    /// Before writing inline block `target` where `from` ends: notes which block is
    /// being written, and closes the scopes the jump leaves, which hold nothing to
    /// drop (see `leaves_nothing_to_drop`), so that only the names they hid come
    /// back.
    fn leave_scopes(&self, env: &mut Env, from: BlockId, target: BlockId) {
        env.inlined = Some((target, self.inlined_in_vain.clone()));
        let outer = self.cfg.blocks[target].scope;
        if self.cfg.scope_at_end(from) == outer {
            return;
        }
        env.across = true;
        if !env.close_until(self.cfg, outer, &self.standing_at_jump(from, target)) {
            self.inlined_in_vain.borrow_mut().push(target);
        }
    }

    /// What stands where `from` ends, with what is live as `target` begins.
    fn standing_at_jump(&self, from: BlockId, target: BlockId) -> Standing {
        let mut standing = self.live.at_end(self.cfg, from);
        standing.live = self.live.live_in[target].clone();
        standing
    }

    /// Goes on at `target` within this resume, from the end of `from`.
    fn transition(&self, env: &Env, from: BlockId, target: BlockId) -> TokenStream {
        if self.writing_start.get() {
            self.arm_targets.borrow_mut().push(target);
            return self.variant_value(env, target, None);
        }
        if let Some(fall) = &env.falls_into
            && fall.allows(env, target)
        {
            fall.fell.set(true);
            return TokenStream::new();
        }
        if let Some(looping) = &env.looping
            && looping.header == target
            && self.carried(target).into_iter().all(|b| {
                let name = &self.cfg.bindings[b].name;
                looping.fixed.contains(&b)
                    && env.names.get(&b) == Some(name)
                    && env.visible.get(&name.to_string()) == Some(&b)
            })
        {
            // Back to the loop this arm is written as: the bindings are already in
            // the variables the loop's next turn starts with.
            looping.used.set(true);
            let label = loop_label();
            return quote!(continue #label;);
        }
        let worth_copying = self.loop_heads.borrow().contains(&target) || env.resuming;
        if env.looping.is_none()
            && env.open_loops() == 0
            && worth_copying
            && target != ENTRY
            && self.cfg.blocks[target].polls.is_none()
            && let Some(entered) = self.enter_loop(env, from, target)
        {
            return entered;
        }
        self.uses_dispatch.set(true);
        let dispatch = &self.dispatch;
        if self.is_async() {
            let store = self.store(env, target);
            return quote!(#store continue #dispatch;);
        }
        let next = next_state();
        self.arm_targets.borrow_mut().push(target);
        let value = self.variant_value(env, target, None);
        let value = match &self.passing_ty {
            Some(passing_ty) if !self.is_passing(target) => quote!(#passing_ty::Stored(#value)),
            _ => value,
        };
        quote!(#next = #value; continue #dispatch;)
    }

    /// Enters a copy of loop head `header`'s loop here, at the end of `from`, when
    /// the bindings it carries are in their own variables: a resume inside a loop
    /// then goes round without passing through the dispatch. `None` if the copy
    /// cannot be made: also when the jump leaves scopes that hold something to drop
    /// (a `break` or `continue` past a binding with a destructor), which only the
    /// end of their Rust blocks drops right.
    fn enter_loop(&self, env: &Env, from: BlockId, header: BlockId) -> Option<TokenStream> {
        if !self.copies_code {
            return None;
        }
        let mut inner = env.arm();
        let outer = self.cfg.blocks[header].scope;
        if self.cfg.scope_at_end(from) != outer {
            if !leaves_nothing_to_drop(self.cfg, self.live, from, header) {
                return None;
            }
            if !inner.close_until(self.cfg, outer, &self.standing_at_jump(from, header)) {
                return None;
            }
        }
        let carried = self.carried(header);
        let in_place = carried.iter().all(|&b| {
            let name = &self.cfg.bindings[b].name;
            inner.names.get(&b) == Some(name) && inner.visible.get(&name.to_string()) == Some(&b)
        });
        if !in_place {
            return None;
        }
        let broken = std::rc::Rc::new(std::cell::Cell::new(false));
        inner.frames.push(Frame {
            loop_label: Some(loop_label()),
            ..Frame::default()
        });
        inner.looping = Some(Looping {
            header,
            fixed: carried.into_iter().collect(),
            used: std::rc::Rc::new(std::cell::Cell::new(false)),
            broken: broken.clone(),
        });
        let used = inner
            .looping
            .as_ref()
            .map(|l| l.used.clone())
            .expect("set above");
        self.redeclare(&mut inner, header, None);
        self.block(&mut inner, header);
        if !used.get()
            && let Some(frame) = inner
                .frames
                .iter_mut()
                .rev()
                .find(|f| f.loop_label.is_some())
        {
            // Entered once and left through the dispatch: a block, not a loop.
            frame.loop_label = None;
        }
        let tokens = inner.finish();
        (!broken.get()).then_some(tokens)
    }

    /// Moves the bindings live at `target` into its variant, stored as the state the
    /// next resume starts from.
    fn store(&self, env: &Env, target: BlockId) -> TokenStream {
        self.store_with(env, target, None)
    }

    /// Like [`Emitter::store`], with the future `target` will poll if it waits on an
    /// `.await`.
    fn store_with(&self, env: &Env, target: BlockId, future: Option<TokenStream>) -> TokenStream {
        self.arm_targets.borrow_mut().push(target);
        let value = self.variant_value(env, target, future);
        self.assign_state(value)
    }

    /// `target`'s variant, holding the bindings live there (reached by their current
    /// names), and compile errors for any that cannot be reached.
    fn variant_value(
        &self,
        env: &Env,
        target: BlockId,
        future: Option<TokenStream>,
    ) -> TokenStream {
        let state_ty = &self.state_ty;
        let name = self.variant[target].as_ref().expect("a state");
        let mut errors = TokenStream::new();
        let mut fields: Vec<TokenStream> = Vec::new();
        if let Some(future) = future {
            let field = future_field();
            fields.push(quote!(#field: #future));
        }
        for binding in self.carried(target) {
            let field = field(binding);
            let data = &self.cfg.bindings[binding];
            let reachable = env.names.get(&binding).filter(|name| {
                **name != data.name || env.visible.get(&data.name.to_string()) == Some(&binding)
            });
            fields.push(match reachable {
                Some(name) => quote!(#field: #name),
                None => {
                    let message = diag::shadowed_in_guard(&data.name.to_string());
                    errors.extend(
                        quote_spanned!(data.name.span()=> ::core::compile_error!(#message);),
                    );
                    quote!(#field: ::core::unreachable!())
                }
            });
        }
        let ty = match &self.passing_ty {
            Some(passing_ty) if self.is_passing(target) => passing_ty,
            _ => state_ty,
        };
        quote!({ #errors #ty::#name { #(#fields),* } })
    }

    /// What the resume closure returns to hand out a yielded value.
    fn yielded(&self, value: TokenStream) -> TokenStream {
        let p = &self.private;
        match &self.func.kind {
            Kind::Stream { .. } => quote!(#p::Poll::Ready(#p::Option::Some(#value))),
            _ => quote!(#p::CoroutineState::Yielded(#value)),
        }
    }

    /// What the resume closure returns when the body finishes with `value`.
    fn completed(&self, value: TokenStream) -> TokenStream {
        let p = &self.private;
        match &self.func.kind {
            Kind::Future { .. } => quote!(#p::Poll::Ready(#value)),
            Kind::Stream { .. } => quote!({
                let () = #value;
                #p::Poll::Ready(#p::Option::None)
            }),
            _ => quote!(#p::CoroutineState::Complete(#value)),
        }
    }

    /// The start of a state entered after an `.await`: poll the future pinned in it.
    /// While it is pending nothing moves; a forwarded stream's items are yielded from
    /// here. The value it is ready with is what the `.await` evaluates to.
    fn poll(&self, polled: crate::lower::Polled) -> TokenStream {
        let p = &self.private;
        let (future, cx) = (future_field(), &self.cx);
        let value = Ident::new("__coro_value", Span::mixed_site());
        // The `.await`'s place joins the task's async backtrace on `Pending`, and
        // while a panic unwinds through the poll: the poll is `#[track_caller]`, and
        // the call is spanned at the `.await`, every token of its path included.
        let at = polled.at;
        let poll = |function: &str| {
            let function = Ident::new(function, at);
            let call = super::respan(quote!(#p::#function), at);
            quote_spanned!(at=> #call(#future, #cx))
        };
        let pending = quote!(#p::Poll::Pending => return #p::Poll::Pending,);
        if polled.stream {
            let item = self.yielded(quote!(#value));
            let poll = poll("poll_next_at");
            quote! {
                match #poll {
                    #p::Poll::Ready(#p::Option::Some(#value)) => return #item,
                    #p::Poll::Ready(#p::Option::None) => {}
                    #pending
                }
            }
        } else {
            let poll = poll("poll_at");
            quote! {
                let __coro_ready = match #poll {
                    #p::Poll::Ready(#value) => #value,
                    #pending
                };
            }
        }
    }

    fn rewriter(&self) -> Rewriter<'_> {
        Rewriter { emitter: self }
    }

    fn rewritten(&self, expr: &Expr) -> Expr {
        let mut expr = expr.clone();
        self.rewriter().visit_expr_mut(&mut expr);
        expr
    }
}

/// The scope a block ends in.
/// `yield_!` and `yield_from!` for what the transform did not see: a suspension
/// point that another macro of the body expands to. The compact machine cannot
/// split it; say so, instead of "cannot find macro".
fn hidden_suspension_macros() -> TokenStream {
    let message = diag::suspension_from_another_macro();
    let call = Span::call_site();
    let (yield_name, from_name) = (Ident::new("yield_", call), Ident::new("yield_from", call));
    quote! {
        #[allow(unused_macros)]
        macro_rules! #yield_name { ($($tokens:tt)*) => { ::core::compile_error!(#message) }; }
        #[allow(unused_macros)]
        macro_rules! #from_name { ($($tokens:tt)*) => { ::core::compile_error!(#message) }; }
    }
}

/// Does any code of the graph write a closure or an `async` block?
fn has_closures(cfg: &Cfg) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Closure(_) | Expr::Async(_) => self.0 = true,
                _ => syn::visit::visit_expr(self, expr),
            }
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            let tokens = mac.tokens.to_string();
            self.0 |= tokens.contains('|') || tokens.contains("async");
        }
    }
    let mut finder = Finder(false);
    for block in &cfg.blocks {
        for stmt in &block.stmts {
            match stmt {
                Stmt::Let { local, .. } => syn::visit::Visit::visit_local(&mut finder, local),
                Stmt::Code { stmt, .. } => syn::visit::Visit::visit_stmt(&mut finder, stmt),
                _ => {}
            }
        }
        match &block.term {
            Terminator::If { cond: expr, .. }
            | Terminator::Match {
                scrutinee: expr, ..
            }
            | Terminator::Yield { value: expr, .. }
            | Terminator::Await { future: expr, .. }
            | Terminator::Return(expr) => syn::visit::Visit::visit_expr(&mut finder, expr),
            Terminator::Goto(_) | Terminator::Unreachable => {}
        }
    }
    finder.0
}

/// Does the jump from the end of `from` into `target` only leave scopes (that
/// enclose `from`'s end and not `target`) whose bindings are all gone by then, so
/// that writing `target` in place drops nothing late?
fn leaves_nothing_to_drop(cfg: &Cfg, live: &Liveness, from: BlockId, target: BlockId) -> bool {
    let chain = cfg.scope_chain(cfg.scope_at_end(from));
    let Some(at) = chain.iter().position(|&s| s == cfg.blocks[target].scope) else {
        return false;
    };
    let left = &chain[at + 1..];
    let standing = live.at_end(cfg, from);
    (standing.init.iter())
        .chain(standing.unsure.iter())
        .all(|b| !left.contains(&cfg.bindings[b].scope))
}

/// A join that only closes scopes and goes on to a block that is not itself such a
/// join: cheap to write at each predecessor, and it saves a pass through the
/// dispatch on every use.
fn is_trivial_join(cfg: &Cfg, live: &Liveness, block: BlockId) -> bool {
    let only_scopes = |b: BlockId| {
        cfg.blocks[b]
            .stmts
            .iter()
            .all(|s| matches!(s, Stmt::Exit(_)))
    };
    match cfg.blocks[block].term {
        Terminator::Goto(target) => {
            only_scopes(block)
                && target != block
                && !(only_scopes(target)
                    && matches!(cfg.blocks[target].term, Terminator::Goto(_))
                    && live.preds[target].len() > 1)
        }
        _ => false,
    }
}

/// Rewrites what leaves the body from straight code: `return` and `?` finish the
/// coroutine instead of returning from the resume closure.
struct Rewriter<'a> {
    emitter: &'a Emitter<'a>,
}

impl Rewriter<'_> {
    fn complete(&self, value: TokenStream) -> TokenStream {
        let e = self.emitter;
        let completed = e.completed(value);
        let state_ty = &e.state_ty;
        let set_done = e.assign_state(quote!(#state_ty::Done));
        quote!({
            #set_done
            return #completed;
        })
    }
}

impl VisitMut for Rewriter<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => return,
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
        let p = &self.emitter.private;
        match expr {
            Expr::Return(ret) => {
                let value = ret
                    .expr
                    .as_ref()
                    .map_or_else(|| quote!(()), |e| e.to_token_stream());
                let returned = Ident::new("__coro_returned", Span::mixed_site());
                let complete = self.complete(quote!(#returned));
                *expr = Expr::Verbatim(quote!({ let #returned = #value; #complete }));
            }
            Expr::Try(e) => {
                let inner = &e.expr;
                let span = e.question_token.span;
                // An error about `?` (a `Return` type that is no `Result`) points at it.
                let p = &super::respan(p.clone(), span);
                let (value, residual) = (
                    Ident::new("__coro_value", Span::mixed_site()),
                    Ident::new("__coro_residual", Span::mixed_site()),
                );
                let complete = self
                    .complete(quote_spanned!(span=> #p::FromResidual::from_residual(#residual)));
                *expr = Expr::Verbatim(quote_spanned! {span=>
                    match #p::Try::branch(#inner) {
                        #p::ControlFlow::Continue(#value) => #value,
                        #p::ControlFlow::Break(#residual) => #complete,
                    }
                });
            }
            _ => {}
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Drops `let x;` declarations that nothing after them in the state's code mentions.
///
/// A binding that is declared uninitialised and only assigned in a later state would
/// otherwise leave a `let x;` whose type nothing in this state determines, which rustc
/// rejects; the declaration does nothing there, so it goes.
fn prune_unused_declarations(tokens: TokenStream) -> TokenStream {
    let mut idents = Vec::new();
    let mut declarations = Vec::new();
    let mut groups = Vec::new();
    collect_declarations(tokens.clone(), &mut idents, &mut declarations, &mut groups);
    // A declaration mentioned only by later declarations that are themselves unused
    // goes too: repeat until nothing changes, on the identifiers read once.
    let declared_at: std::collections::HashSet<usize> =
        declarations.iter().map(|(at, ..)| *at).collect();
    let mut unused: std::collections::HashSet<usize> = std::collections::HashSet::new();
    loop {
        let before = unused.len();
        for (position, name, end) in &declarations {
            if unused.contains(position) {
                continue;
            }
            // Only the rest of the block it is declared in can name it.
            let mentioned = idents[position + 1..*end]
                .iter()
                .enumerate()
                .any(|(offset, ident)| {
                    let at = position + 1 + offset;
                    ident == name && !(declared_at.contains(&at) && unused.contains(&at))
                });
            if !mentioned {
                unused.insert(*position);
            }
        }
        if unused.len() == before {
            break;
        }
    }
    if unused.is_empty() {
        return tokens;
    }
    let mut walk = Walk {
        idents: 0,
        groups: 0,
    };
    remove_declarations(tokens, &unused, &groups, &mut walk)
}

/// What a group holds, for [`remove_declarations`] to pass over a group with
/// nothing to remove in one step rather than rebuild it token by token: the
/// identifiers it holds (at any depth) and the groups nested in it.
#[derive(Clone, Copy, Default)]
struct GroupSize {
    idents: usize,
    groups: usize,
}

/// How far [`remove_declarations`] has gone: identifiers and groups met so far,
/// counted as [`collect_declarations`] counted them.
struct Walk {
    idents: usize,
    groups: usize,
}

/// The length of the `[#[attr]] let [mut] name ;` starting at `tokens[i]`, and the
/// offset of `name` in it.
fn declaration_at(tokens: &[TokenTree], i: usize) -> Option<(usize, usize)> {
    let is_ident =
        |j: usize, text: &str| matches!(tokens.get(j), Some(TokenTree::Ident(id)) if id == text);
    let mut start = i;
    if matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == '#')
        && matches!(tokens.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Bracket)
    {
        start = i + 2;
    }
    if !is_ident(start, "let") {
        return None;
    }
    let name = if is_ident(start + 1, "mut") {
        start + 2
    } else {
        start + 1
    };
    match (tokens.get(name), tokens.get(name + 1)) {
        (Some(TokenTree::Ident(_)), Some(TokenTree::Punct(p))) if p.as_char() == ';' => {
            Some((name + 2 - i, name - i))
        }
        _ => None,
    }
}

use proc_macro2::TokenTree;

/// Each `let name;` as (position of `name` among the identifiers, `name`, the
/// position where its block ends), and the size of each group outside a
/// declaration, in the order the groups open.
fn collect_declarations(
    tokens: TokenStream,
    idents: &mut Vec<String>,
    declarations: &mut Vec<(usize, String, usize)>,
    groups: &mut Vec<GroupSize>,
) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let first = declarations.len();
    let mut nested = std::collections::HashSet::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some((len, _)) = declaration_at(&tokens, i) {
            // Count the declaration's identifiers so positions stay aligned.
            for token in &tokens[i..i + len] {
                count_idents(token, idents);
            }
            let name_position = idents.len() - 1;
            declarations.push((name_position, idents[name_position].clone(), usize::MAX));
            i += len;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(group) => {
                let before = declarations.len();
                let (at, idents_before) = (groups.len(), idents.len());
                groups.push(GroupSize::default());
                collect_declarations(group.stream(), idents, declarations, groups);
                groups[at] = GroupSize {
                    idents: idents.len() - idents_before,
                    groups: groups.len() - at - 1,
                };
                nested.extend(before..declarations.len());
            }
            TokenTree::Ident(ident) => idents.push(ident.to_string()),
            _ => {}
        }
        i += 1;
    }
    let end = idents.len();
    for (index, declaration) in declarations.iter_mut().enumerate().skip(first) {
        if !nested.contains(&index) {
            declaration.2 = end;
        }
    }
}

fn count_idents(token: &TokenTree, idents: &mut Vec<String>) {
    match token {
        TokenTree::Ident(ident) => idents.push(ident.to_string()),
        TokenTree::Group(group) => group
            .stream()
            .into_iter()
            .for_each(|t| count_idents(&t, idents)),
        _ => {}
    }
}

/// `tokens` without the declarations at the positions in `unused`. A group with
/// none of them inside is kept whole.
fn remove_declarations(
    tokens: TokenStream,
    unused: &std::collections::HashSet<usize>,
    groups: &[GroupSize],
    walk: &mut Walk,
) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if let Some((len, _)) = declaration_at(&tokens, i) {
            // Its attribute's group, if any, was counted for its identifiers only,
            // not as a group.
            let mut idents = Vec::new();
            tokens[i..i + len]
                .iter()
                .for_each(|t| count_idents(t, &mut idents));
            walk.idents += idents.len();
            if !unused.contains(&(walk.idents - 1)) {
                out.extend(tokens[i..i + len].iter().cloned());
            }
            i += len;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(group) => {
                let size = groups[walk.groups];
                let inside = walk.idents..walk.idents + size.idents;
                if unused.iter().any(|at| inside.contains(at)) {
                    walk.groups += 1;
                    let mut rebuilt = proc_macro2::Group::new(
                        group.delimiter(),
                        remove_declarations(group.stream(), unused, groups, walk),
                    );
                    rebuilt.set_span(group.span());
                    out.push(TokenTree::Group(rebuilt));
                } else {
                    walk.groups += 1 + size.groups;
                    walk.idents += size.idents;
                    out.push(TokenTree::Group(group.clone()));
                }
            }
            TokenTree::Ident(ident) => {
                walk.idents += 1;
                out.push(TokenTree::Ident(ident.clone()));
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}
