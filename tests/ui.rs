//! Every misuse of `#[coro::coroutine]` is a compile error at the user's span with a
//! message a person can act on. The expected messages live in `tests/ui/*.stderr`.

#[test]
fn misuse_is_reported_at_the_users_span() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
