//! trybuild pass tests: programs as users write them that must compile (and run).

/// asyncio's `for f in as_completed(aws, timeout=t)` reads like the form without a timeout.
#[test]
#[ignore = "as_completed(..).timeout(..) is Unpin like as_completed(..): it is not (the timer's Sleep is !Unpin)"]
fn as_completed_with_a_timeout_is_unpin() {
    trybuild::TestCases::new().pass("tests/pass/as-completed-timeout-is-unpin.rs");
}
