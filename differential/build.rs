//! Writes `$OUT_DIR/bodies.rs`: `CORO_DIFF_COUNT` random coroutine bodies (1,000 by
//! default), from the seed `CORO_DIFF_SEED` (a fixed one by default), each as a
//! `#[coro::coroutine]` function beside its plain twin. The bodies mix every loop
//! kind (including loops that run zero times), labelled `break`/`continue`, early
//! `return`, `?`, `match` with guards, shadowing, values with destructors moved on
//! some paths, and suspension points inside operands, conditions and `format!`;
//! the async ones await futures that pend several times and borrow their locals
//! across awaits and yields.

use std::env;
use std::fmt::Write;
use std::path::Path;

const DEFAULT_SEED: u64 = 0x5eed_c0de;
const DEFAULT_COUNT: usize = 1000;

fn main() {
    println!("cargo:rerun-if-env-changed=CORO_DIFF_SEED");
    println!("cargo:rerun-if-env-changed=CORO_DIFF_COUNT");
    println!("cargo:rerun-if-changed=build.rs");
    let seed = env::var("CORO_DIFF_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let count = env::var("CORO_DIFF_COUNT")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_COUNT);
    let mut out = String::new();
    writeln!(out, "pub const SEED: u64 = {seed};").unwrap();
    let mut cases = Vec::new();
    for index in 0..count {
        let kind = [Kind::Generator, Kind::Coroutine, Kind::Future, Kind::Stream][index % 4];
        let mut generator = Gen::new(
            seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            kind,
        );
        let body = generator.body();
        let param = generator.rng.below(9) as i64 - 2;
        out.push_str(&case(index, kind, &body, param));
        cases.push(index);
    }
    writeln!(out, "pub const CASES: &[Case] = &[").unwrap();
    for index in cases {
        writeln!(
            out,
            "    Case {{ name: \"case_{index}\", source: case_{index}::SOURCE, check: case_{index}::compare }},"
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();
    let path = Path::new(&env::var("OUT_DIR").unwrap()).join("bodies.rs");
    std::fs::write(path, out).unwrap();
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Generator,
    Coroutine,
    Future,
    Stream,
}

impl Kind {
    fn is_async(self) -> bool {
        matches!(self, Kind::Future | Kind::Stream)
    }
    fn yields(self) -> bool {
        !matches!(self, Kind::Future)
    }
    fn returns_result(self) -> bool {
        matches!(self, Kind::Coroutine | Kind::Future)
    }
}

fn case(index: usize, kind: Kind, body: &str, param: i64) -> String {
    let escaped = format!("{body:?}");
    let (transformed, plain, check) = match kind {
        Kind::Generator => (
            format!(
                "#[coro::coroutine]\n    pub fn transformed(p: i64) -> impl Iterator<Item = i64> {{\n{body}\n    }}"
            ),
            format!(
                "pub fn plain(p: i64) {{\n        macro_rules! yield_ {{ ($v:expr) => {{ {{ let _ = plain_yield($v); }} }} }}\n{body}\n    }}"
            ),
            format!(
                "compare_resumable(|k| run_plain(k, || plain({param})), |k| run_generator(k, transformed({param})))"
            ),
        ),
        Kind::Coroutine => (
            format!(
                "#[coro::coroutine]\n    pub fn transformed(p: i64) -> impl Coroutine<i64, Yield = i64, Return = Result<i64, String>> {{\n{body}\n    }}"
            ),
            format!(
                "pub fn plain(p: i64) -> Result<i64, String> {{\n        macro_rules! yield_ {{ ($v:expr) => {{ plain_yield($v) }} }}\n{body}\n    }}"
            ),
            format!(
                "compare_resumable(|k| run_plain(k, || plain({param})), |k| run_coroutine(k, transformed({param})))"
            ),
        ),
        Kind::Future => (
            format!(
                "#[coro::coroutine]\n    pub async fn transformed(p: i64) -> Result<i64, String> {{\n{body}\n    }}"
            ),
            format!("pub async fn plain(p: i64) -> Result<i64, String> {{\n{body}\n    }}"),
            format!(
                "compare_futures(|n| run_future(n, plain({param})), |n| run_future(n, transformed({param})))"
            ),
        ),
        Kind::Stream => (
            format!(
                "#[coro::coroutine]\n    pub fn transformed(p: i64) -> impl Stream<Item = i64> {{\n{body}\n    }}"
            ),
            format!(
                "pub async fn plain(p: i64) {{\n        macro_rules! yield_ {{ ($v:expr) => {{ log(format!(\"yield {{:?}}\", $v)) }} }}\n{body}\n    }}"
            ),
            format!(
                "{{ let (expected, got) = (run_plain_stream(plain({param})), run_stream(transformed({param}))); \
                 if expected == got {{ Ok(0) }} else {{ Err(format!(\"plain:     {{expected:?}}\\n  coroutine: {{got:?}}\")) }} }}"
            ),
        ),
    };
    format!(
        "pub mod case_{index} {{\n    use super::*;\n    pub const SOURCE: &str = {escaped};\n    {transformed}\n    {plain}\n    pub fn compare() -> Result<usize, String> {{ {check} }}\n}}\n"
    )
}

/// xorshift64*: small, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Var {
    name: String,
    /// An `i64` that may be read; otherwise a `Noisy` value.
    int: bool,
    mutable: bool,
    /// A `Noisy` value that may have been dropped already.
    gone: bool,
    /// How many loops enclose its declaration: a value declared outside a loop
    /// is never moved inside it.
    loops: usize,
}

struct Loop {
    label: Option<String>,
    /// A `loop` whose `break` carries a value.
    valued: bool,
}

struct Gen {
    rng: Rng,
    kind: Kind,
    scopes: Vec<Vec<Var>>,
    loops: Vec<Loop>,
    fresh: usize,
    budget: usize,
    /// Inside a macro's arguments or a match guard, where the compact machine
    /// cannot suspend: mostly no suspension there, so most bodies stay compact.
    calm: usize,
}

impl Gen {
    fn new(seed: u64, kind: Kind) -> Self {
        Gen {
            rng: Rng(seed | 1),
            kind,
            scopes: vec![vec![Var {
                name: "p".into(),
                int: true,
                mutable: false,
                gone: false,
                loops: 0,
            }]],
            loops: Vec::new(),
            fresh: 0,
            budget: 28,
            calm: 0,
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    fn body(&mut self) -> String {
        let mut out = self.stmts(4, 0);
        match self.kind {
            Kind::Coroutine | Kind::Future => {
                let value = self.expr(1);
                out.push_str(&format!("Ok({value})\n"));
            }
            Kind::Generator | Kind::Stream => {}
        }
        out
    }

    /// The readable `i64` bindings, innermost (shadowing) first.
    fn ints(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for scope in self.scopes.iter().rev() {
            for var in scope.iter().rev() {
                if !seen.contains(&var.name) {
                    seen.push(var.name.clone());
                }
            }
        }
        seen.into_iter()
            .filter(|name| self.lookup(name).is_some_and(|v| v.int))
            .collect()
    }

    fn lookup(&self, name: &str) -> Option<&Var> {
        self.scopes
            .iter()
            .rev()
            .find_map(|scope| scope.iter().rev().find(|v| v.name == name))
    }

    fn mutable_ints(&self) -> Vec<String> {
        self.ints()
            .into_iter()
            .filter(|name| self.lookup(name).is_some_and(|v| v.mutable))
            .collect()
    }

    fn noisy_alive(&self) -> Vec<String> {
        let mut names = Vec::new();
        for scope in &self.scopes {
            for var in scope {
                if !var.int
                    && !var.gone
                    && var.loops == self.loops.len()
                    && self.lookup(&var.name).is_some_and(|v| !v.int)
                {
                    names.push(var.name.clone());
                }
            }
        }
        names
    }

    fn mark_gone(&mut self, name: &str) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(var) = scope.iter_mut().rev().find(|v| v.name == name) {
                var.gone = true;
                return;
            }
        }
    }

    fn declare(&mut self, name: String, int: bool, mutable: bool) {
        let loops = self.loops.len();
        self.scopes.last_mut().unwrap().push(Var {
            name,
            int,
            mutable,
            gone: false,
            loops,
        });
    }

    fn small(&mut self) -> i64 {
        self.rng.below(9) as i64 - 3
    }

    fn literal(&mut self) -> String {
        let n = self.small();
        if n < 0 {
            format!("({n})")
        } else {
            n.to_string()
        }
    }

    /// A suspension point as an `i64` expression.
    fn suspend(&mut self, depth: usize) -> String {
        let value = self.expr(depth + 1);
        match self.kind {
            Kind::Coroutine => format!("yield_!({value})"),
            Kind::Generator => {
                let after = self.expr(depth + 1);
                format!("{{ yield_!({value}); {after} }}")
            }
            Kind::Future => format!("pend({}, {value}).await", self.rng.below(3)),
            Kind::Stream => {
                if self.rng.chance(50) {
                    let after = self.expr(depth + 1);
                    format!("{{ yield_!({value}); {after} }}")
                } else {
                    format!("pend({}, {value}).await", self.rng.below(3))
                }
            }
        }
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth > 3 || self.budget == 0 {
            let ints = self.ints();
            return if !ints.is_empty() && self.rng.chance(60) {
                ints[self.rng.below(ints.len() as u64) as usize].clone()
            } else {
                self.literal()
            };
        }
        self.budget = self.budget.saturating_sub(1);
        match self.rng.below(12) {
            0 | 1 => {
                let ints = self.ints();
                if ints.is_empty() {
                    self.literal()
                } else {
                    ints[self.rng.below(ints.len() as u64) as usize].clone()
                }
            }
            2 => self.literal(),
            3 => format!("step({})", self.expr(depth + 1)),
            4 => format!("add({}, {})", self.expr(depth + 1), self.expr(depth + 1)),
            5 => format!("mul3({})", self.expr(depth + 1)),
            6 | 7 if self.calm == 0 => self.suspend(depth),
            6 | 7 => self.literal(),
            8 => {
                let cond = self.cond(depth + 1);
                let (a, b) = (self.expr(depth + 1), self.expr(depth + 1));
                format!("(if {cond} {{ {a} }} else {{ {b} }})")
            }
            9 => {
                let scrutinee = self.expr(depth + 1);
                let guard = self.guard(depth + 1);
                let (a, b, c) = (
                    self.expr(depth + 1),
                    self.expr(depth + 1),
                    self.expr(depth + 1),
                );
                format!("(match rem({scrutinee}, 3) {{ 0 => {a}, 1 if {guard} => {b}, _ => {c} }})")
            }
            10 => {
                let calm = self.rng.chance(75);
                self.calm += usize::from(calm);
                let value = self.expr(depth + 1);
                self.calm -= usize::from(calm);
                format!("num(format!(\"{{}}\", {value}))")
            }
            _ => {
                // A block with statements, or a `loop` left with a value.
                self.scopes.push(Vec::new());
                let inner = if self.rng.chance(50) {
                    let stmts = self.stmts(2, depth + 2);
                    let value = self.expr(depth + 1);
                    format!("{{ {stmts} {value} }}")
                } else {
                    let counter = self.fresh("c");
                    let bound = self.rng.below(3);
                    self.loops.push(Loop {
                        label: None,
                        valued: true,
                    });
                    // Readable, but never assigned by the body: the loop must end.
                    self.declare(counter.clone(), true, false);
                    // The value is written before the statements: it sees only
                    // what is in scope at the loop's top.
                    let value = self.expr(depth + 1);
                    let stmts = self.stmts(2, depth + 2);
                    self.loops.pop();
                    format!(
                        "{{ let mut {counter} = 0i64; loop {{ {counter} += 1; if {counter} > {bound} {{ break {value}; }} {stmts} }} }}"
                    )
                };
                self.scopes.pop();
                inner
            }
        }
    }

    /// A match guard: mostly without a suspension point.
    fn guard(&mut self, depth: usize) -> String {
        let calm = self.rng.chance(75);
        self.calm += usize::from(calm);
        let guard = self.cond(depth);
        self.calm -= usize::from(calm);
        guard
    }

    fn cond(&mut self, depth: usize) -> String {
        match self.rng.below(6) {
            0 => format!("{} > {}", self.expr(depth + 1), self.literal()),
            1 => format!("rem({}, 2) == 0", self.expr(depth + 1)),
            2 => format!("({}) && ({})", self.cond(depth + 2), self.cond(depth + 2)),
            3 => format!("({}) || ({})", self.cond(depth + 2), self.cond(depth + 2)),
            4 => format!("!({})", self.cond(depth + 2)),
            _ => format!("{} <= {}", self.expr(depth + 1), self.expr(depth + 1)),
        }
    }

    fn block(&mut self, n: usize, depth: usize) -> String {
        self.scopes.push(Vec::new());
        let stmts = self.stmts(n, depth);
        self.scopes.pop();
        format!("{{\n{stmts}}}")
    }

    /// A `loop` whose turn starts its bindings with literals, goes round an inner
    /// `while`, and ends in a suspension: the shape whose two resume points the
    /// compact machine may merge (the second starts the next turn before it
    /// suspends). What the turn holds with a destructor there must still drop after
    /// the resume.
    fn turns_restarted_by_literals(&mut self, depth: usize) -> String {
        let (counter, inner, fresh) = (self.fresh("c"), self.fresh("i"), self.fresh("f"));
        let (bound, inner_bound, start) = (self.rng.below(3), self.rng.below(3), self.literal());
        let resumed = (self.kind == Kind::Coroutine).then(|| self.fresh("m"));
        // Counted at the end of the turn: no `break` or `continue` may skip that (a
        // `valued` loop gets none), and the inner counter is not assigned.
        self.loops.push(Loop {
            label: None,
            valued: true,
        });
        self.scopes.push(Vec::new());
        self.declare(fresh.clone(), true, true);
        self.declare(inner.clone(), true, false);
        self.scopes.push(Vec::new());
        let first = self.stmts(1, depth + 1);
        let suspend_inner = self.suspend_stmt(depth, resumed.as_deref());
        self.scopes.pop();
        let rest = self.stmts(1, depth + 1);
        let suspend_last = self.suspend_stmt(depth, resumed.as_deref());
        self.scopes.pop();
        self.loops.pop();
        let declared = resumed
            .map(|m| format!("let mut {m} = 0i64;\n"))
            .unwrap_or_default();
        format!(
            "{declared}let mut {counter} = 0i64;\nloop {{\nlet mut {fresh}: i64 = {start};\nlet mut {inner} = 0i64;\nwhile {inner} < {inner_bound} {{ {inner} += 1;\n{first}{suspend_inner}\n}}\n{rest}{counter} += 1;\nif {counter} > {bound} {{ break; }}\n{suspend_last}\n}}"
        )
    }

    /// A suspension point as a statement: into `resumed` for a coroutine, if given.
    fn suspend_stmt(&mut self, depth: usize, resumed: Option<&str>) -> String {
        let value = self.expr(depth + 1);
        match (self.kind, resumed) {
            (Kind::Coroutine, Some(m)) => format!("{m} = yield_!({value});"),
            (Kind::Future, _) => format!("pend({}, {value}).await;", self.rng.below(3)),
            _ => format!("yield_!({value});"),
        }
    }

    fn stmts(&mut self, n: usize, depth: usize) -> String {
        let count = 1 + self.rng.below(n as u64 + 1) as usize;
        let mut out = String::new();
        for _ in 0..count {
            out.push_str(&self.stmt(depth));
            out.push('\n');
        }
        out
    }

    fn stmt(&mut self, depth: usize) -> String {
        let nested = depth < 3 && self.budget > 0;
        let choice = self.rng.below(if nested { 20 } else { 9 });
        match choice {
            0 | 1 => {
                // A binding, sometimes shadowing one in scope.
                let ints = self.ints();
                let name = if !ints.is_empty() && self.rng.chance(25) {
                    ints[self.rng.below(ints.len() as u64) as usize].clone()
                } else {
                    self.fresh("x")
                };
                let mutable = self.rng.chance(50);
                let value = self.expr(depth);
                self.declare(name.clone(), true, mutable);
                format!("let {}{name} = {value};", if mutable { "mut " } else { "" })
            }
            2 => {
                let name = self.fresh("d");
                self.declare(name.clone(), false, false);
                format!("let {name} = Noisy::new(\"{name}\");")
            }
            3 => {
                let mutable = self.mutable_ints();
                if mutable.is_empty() {
                    return format!("step({});", self.expr(depth));
                }
                let name = mutable[self.rng.below(mutable.len() as u64) as usize].clone();
                let value = self.expr(depth);
                if self.rng.chance(50) {
                    format!("{name} += rem({value}, 10);")
                } else {
                    format!("{name} = {value};")
                }
            }
            4 => format!("step({});", self.expr(depth)),
            5 => {
                let value = self.suspend(depth);
                if self.kind.yields() && self.rng.chance(50) {
                    let value = self.expr(depth);
                    format!("yield_!({value});")
                } else {
                    let name = self.fresh("r");
                    self.declare(name.clone(), true, false);
                    format!("let {name} = {value};")
                }
            }
            6 => {
                let alive = self.noisy_alive();
                if alive.is_empty() {
                    return format!("step({});", self.expr(depth));
                }
                let name = alive[self.rng.below(alive.len() as u64) as usize].clone();
                self.mark_gone(&name);
                let cond = self.cond(depth);
                if self.rng.chance(50) {
                    format!("if {cond} {{ drop({name}); }}")
                } else {
                    format!("drop({name});")
                }
            }
            7 => {
                if self.kind.returns_result() {
                    let value = self.expr(depth);
                    let name = self.fresh("q");
                    self.declare(name.clone(), true, false);
                    format!("let {name} = check({value})?;")
                } else {
                    format!("step({});", self.expr(depth))
                }
            }
            8 => {
                // A value formatted, sometimes across a suspension point.
                let value = if self.rng.chance(30) {
                    self.suspend(depth)
                } else {
                    self.calm += 1;
                    let value = self.expr(depth);
                    self.calm -= 1;
                    value
                };
                format!("log(format!(\"shown {{}}\", {value}));")
            }
            9 | 10 => {
                let cond = self.cond(depth);
                let then = self.block(2, depth + 1);
                if self.rng.chance(50) {
                    let otherwise = self.block(2, depth + 1);
                    format!("if {cond} {then} else {otherwise}")
                } else {
                    format!("if {cond} {then}")
                }
            }
            11 => {
                let scrutinee = self.expr(depth);
                let guard = self.guard(depth);
                let (a, b, c) = (
                    self.block(1, depth + 1),
                    self.block(1, depth + 1),
                    self.block(1, depth + 1),
                );
                format!("match rem({scrutinee}, 3) {{ 0 => {a} 1 if {guard} => {b} _ => {c} }}")
            }
            12 | 13 => {
                let label = self.rng.chance(40).then(|| self.fresh("'l"));
                let var = self.fresh("i");
                let bound = self.rng.below(4);
                self.loops.push(Loop {
                    label: label.clone(),
                    valued: false,
                });
                self.scopes.push(Vec::new());
                self.declare(var.clone(), true, false);
                let body = self.stmts(2, depth + 1);
                self.scopes.pop();
                self.loops.pop();
                let label = label.map(|l| format!("{l}: ")).unwrap_or_default();
                format!("{label}for {var} in 0..{bound}i64 {{\n{body}}}")
            }
            14 if self.rng.chance(33) => self.turns_restarted_by_literals(depth),
            14 => {
                let label = self.rng.chance(40).then(|| self.fresh("'l"));
                let counter = self.fresh("c");
                let bound = self.rng.below(3);
                let is_while = self.rng.chance(50);
                self.loops.push(Loop {
                    label: label.clone(),
                    valued: false,
                });
                self.scopes.push(Vec::new());
                let body = self.stmts(2, depth + 1);
                self.scopes.pop();
                self.loops.pop();
                let label = label.map(|l| format!("{l}: ")).unwrap_or_default();
                if is_while {
                    format!(
                        "let mut {counter} = 0i64;\n{label}while {counter} < {bound} {{ {counter} += 1;\n{body}}}"
                    )
                } else {
                    format!(
                        "let mut {counter} = 0i64;\n{label}loop {{ {counter} += 1; if {counter} > {bound} {{ break; }}\n{body}}}"
                    )
                }
            }
            15 => {
                // `break` or `continue`, to the innermost loop or a labelled one.
                let Some(inner) = self.loops.last() else {
                    return format!("step({});", self.expr(depth));
                };
                let labelled: Vec<String> = self
                    .loops
                    .iter()
                    .filter(|l| !l.valued)
                    .filter_map(|l| l.label.clone())
                    .collect();
                let target = if !labelled.is_empty() && self.rng.chance(50) {
                    format!(
                        " {}",
                        labelled[self.rng.below(labelled.len() as u64) as usize]
                    )
                } else if inner.valued {
                    return format!("step({});", self.expr(depth));
                } else {
                    String::new()
                };
                let word = if self.rng.chance(50) {
                    "break"
                } else {
                    "continue"
                };
                let cond = self.cond(depth);
                format!("if {cond} {{ {word}{target}; }}")
            }
            16 => {
                let cond = self.cond(depth);
                let value = match self.kind {
                    Kind::Generator | Kind::Stream => String::new(),
                    Kind::Coroutine | Kind::Future => {
                        if self.rng.chance(70) {
                            format!(" Ok({})", self.expr(depth))
                        } else {
                            " Err(\"early\".to_string())".to_owned()
                        }
                    }
                };
                format!("if {cond} {{ return{value}; }}")
            }
            17 => {
                // Initialised on both branches.
                let name = self.fresh("v");
                let cond = self.cond(depth);
                let (a, b) = (self.expr(depth), self.expr(depth));
                self.declare(name.clone(), true, false);
                format!("let {name}: i64;\nif {cond} {{ {name} = {a}; }} else {{ {name} = {b}; }}")
            }
            18 if self.kind.is_async() => {
                // A borrow of a local held across a suspension point.
                // A binding of its own, which nothing else assigns while it is lent.
                let target = self.fresh("h");
                let init = self.expr(depth);
                let name = self.fresh("b");
                let value = self.suspend(depth);
                format!(
                    "let {target} = {init};\nlet {name} = &{target};\nstep({value});\nstep(*{name});"
                )
            }
            _ => {
                let value = self.expr(depth);
                let name = self.fresh("x");
                self.declare(name.clone(), true, true);
                format!(
                    "let mut {name} = {value};\n{name} += rem({}, 5);",
                    self.suspend(depth)
                )
            }
        }
    }
}
