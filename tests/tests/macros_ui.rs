//! trybuild ui tests: every misuse of `#[aiokit::coroutine]` and `partial!()`, every
//! compile-time rule of the task handles (a `!Send` callback on a `Send` task), and a
//! `spawn_task` / `spawn_local_task` on something that is not an executor, and a child of
//! `TaskGroup::on(&spawner)` that tries to hold its group, has a `.rs` +
//! `.stderr` pair in `tests/ui/`, named for the error. Regenerate with `TRYBUILD=overwrite`
//! and read every changed `.stderr`: the span must point at the offending tokens.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
