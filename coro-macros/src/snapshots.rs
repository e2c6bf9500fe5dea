//! Expansion snapshots: every construct the transform supports, pretty-printed, so a
//! change to the generated code is reviewed, not stumbled upon.

use quote::quote;

fn expand_pretty(item: proc_macro2::TokenStream) -> String {
    let tokens = crate::expand(proc_macro2::TokenStream::new(), item);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => tokens.to_string(),
    }
}

macro_rules! snapshot {
    ($name:ident, $($item:tt)*) => {
        #[test]
        fn $name() {
            let expanded = expand_pretty(quote!($($item)*));
            insta::with_settings!({ snapshot_path => "../../tests/snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(stringify!($name), expanded);
            });
        }
    };
}

snapshot!(generator_fib,
    fn fib() -> impl Iterator<Item = u64> {
        let (mut a, mut b) = (0, 1);
        loop {
            yield_!(a);
            (a, b) = (b, a + b);
        }
    }
);

/// Prints the expansion of the function in the file named by `CORO_EXPAND`:
/// `CORO_EXPAND=body.rs cargo test -p coro-macros print_expansion -- --ignored --nocapture`
#[test]
#[ignore = "a tool for developers, run on demand"]
fn print_expansion() {
    let path = std::env::var("CORO_EXPAND").expect("CORO_EXPAND names a file with one function");
    let source = std::fs::read_to_string(path).expect("a readable file");
    let item: proc_macro2::TokenStream = source.parse().expect("Rust tokens");
    println!("{}", expand_pretty(item));
}
