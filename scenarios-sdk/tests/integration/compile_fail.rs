//! A `#[scenario]` cannot silently be left out of the component: the crates under
//! `compile-fail/` must not compile, each with the error its `.stderr` file shows.
//! (`TRYBUILD=overwrite cargo test -p scenarios-sdk --test integration compile_fail` rewrites them after
//! a deliberate change of message.)

#[test]
fn registration_mistakes_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/*.rs");
}
