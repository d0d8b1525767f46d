//! Model-based random tests of the combinators: scripted schedules of 1..=64 children, run
//! through gather, try_gather, wait (each `ReturnWhen`, with and without a deadline),
//! as_completed (with an early stop and a resume through `into_pending`, with and without a
//! deadline), TaskGroup and LocalTaskGroup, compared with a model written in the test: the
//! outputs and their order, the done / pending split, errors, panics, how often each child and
//! each output was dropped (exactly once), and a counting allocator's balance (zero).
//!
//! Each child waits for its "go" from the shared [`Script`]; the test releases one child per
//! step (woken from this thread or another, once or twice, after spurious wakes, completing
//! after waking itself a few times) and polls the combinator until it is quiet, so a case's
//! completion order is its release order and every case is deterministic. A case may drop the
//! combinator before any step, fire its deadline, make one child panic (in the poll that
//! completes it, at its n-th poll, or in its destructor); in the TaskGroups, each child's task
//! has a done-callback (some panic) that must run exactly once.
//!
//! `PROPTEST_CASES` sets the cases per property (default 1 250: 10 000 in all over the eight
//! properties); `scripts/proptest.sh` runs many more. Below the properties, the exhaustive
//! tests: every combinator dropped after every step, and a panic at every poll of every child.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Once};

use aiokit::wait::IntoChildren;
use aiokit::{
    Done, ExceptionGroup, LocalTaskGroup, Pending, ReturnWhen, Task, TaskGroup, TimeoutError,
    as_completed, gather, try_gather, wait,
};
use futures::StreamExt;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;

use common::counting::{Counting, measure};
use common::script::{Child, ChildPanic, ChildSpec, Gate, Outcome, Script, Token, settle};

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Cases

/// One schedule: the children, the order they are released in, and what else happens.
#[derive(Clone, Debug)]
struct Case {
    children: Vec<ChildSpec>,
    /// `order[s]` is released at step `s`.
    order: Vec<usize>,
    /// The combinator is dropped before step `drop_at` (`n`: after the last release).
    drop_at: Option<usize>,
    /// The deadline fires before step `deadline_at` (for the forms that take one).
    deadline_at: Option<usize>,
    /// as_completed: stop reading after this step, then resume through `into_pending`.
    resume_at: Option<usize>,
    /// Before each release, wake the next child in the order without releasing it.
    spurious: bool,
}

impl Case {
    fn n(&self) -> usize {
        self.children.len()
    }

    fn outcome(&self, i: usize) -> Outcome {
        self.children[i].outcome
    }

    /// Whether the model predicts every step: no panic but, at most, one in the poll that
    /// completes a child.
    fn exact(&self) -> bool {
        self.children
            .iter()
            .all(|c| !c.panic_on_drop && c.panic_at_poll.is_none())
    }
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        8 => any::<u32>().prop_map(Outcome::Ok),
        2 => any::<u32>().prop_map(Outcome::Err),
    ]
}

fn child_spec() -> impl Strategy<Value = ChildSpec> {
    (
        outcome(),
        0u8..3,
        prop::bool::weighted(0.1),
        any::<bool>(),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(outcome, self_wakes, other_thread, double_wake, callback_panics)| ChildSpec {
                outcome,
                self_wakes,
                other_thread,
                double_wake,
                panic_on_drop: false,
                panic_at_poll: None,
                callback_panics,
            },
        )
}

fn case(errors: bool) -> impl Strategy<Value = Case> {
    (1usize..=64)
        .prop_flat_map(move |n| {
            (
                prop::collection::vec(child_spec(), n),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                prop::option::weighted(0.2, 0..=n),
                prop::option::weighted(0.3, 0..=n),
                prop::option::weighted(0.3, 0..=n),
                any::<bool>(),
                // 0: a child panics as it completes, 1: in its destructor, 2: at its n-th poll.
                prop::option::weighted(0.15, (0u8..3, any::<Index>(), 1u32..4)),
            )
        })
        .prop_map(
            move |(mut children, order, drop_at, deadline_at, resume_at, spurious, panic)| {
                if !errors {
                    for c in &mut children {
                        if let Outcome::Err(e) = c.outcome {
                            c.outcome = Outcome::Ok(e);
                        }
                    }
                }
                if let Some((kind, at, poll)) = panic {
                    let c = &mut children[at.index(order.len())];
                    match kind {
                        0 => c.outcome = Outcome::Panic,
                        1 => c.panic_on_drop = true,
                        _ => c.panic_at_poll = Some(poll),
                    }
                }
                Case {
                    children,
                    order,
                    drop_at,
                    deadline_at,
                    resume_at,
                    spurious,
                }
            },
        )
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_250);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The harness

/// What a run sees, step by step.
struct Run<'a> {
    case: &'a Case,
    script: Arc<Script>,
    gate: Arc<Gate>,
    panics: Vec<ChildPanic>,
    /// Each child's task has a done-callback that must run exactly once.
    callbacks: bool,
}

impl Run<'_> {
    /// Polls `fut` until it is quiet; `None` if it panicked (the panic is recorded).
    fn poll<F: std::future::Future + ?Sized>(
        &mut self,
        fut: Pin<&mut F>,
    ) -> Option<Option<F::Output>> {
        match catch_unwind(AssertUnwindSafe(|| settle(fut))) {
            Ok(out) => Some(out),
            Err(payload) => {
                let p = payload.downcast::<ChildPanic>().unwrap_or_else(|p| {
                    panic!(
                        "a panic that no child raised: {:?}",
                        p.downcast_ref::<String>()
                    )
                });
                self.panics.push(*p);
                None
            }
        }
    }

    /// Step `s`: spurious wake, deadline, then release `order[s]` and poll. `None` if the
    /// poll panicked; in an exact case, it must then be the released child's `Panic` (and
    /// such a child must panic).
    fn step<F: std::future::Future + ?Sized>(
        &mut self,
        s: usize,
        mut fut: Pin<&mut F>,
    ) -> Option<Option<F::Output>> {
        let n = self.case.n();
        if self.case.spurious {
            self.script.poke(self.case.order[(s + 1) % n]);
        }
        let i = self.case.order[s];
        self.script.release(i);
        let out = self.poll(fut.as_mut());
        if self.case.exact() {
            if self.case.outcome(i) == Outcome::Panic {
                assert!(
                    out.is_none(),
                    "step {s}: child {i} panics, the poll did not"
                );
                assert_eq!(
                    self.panics,
                    [ChildPanic {
                        child: i,
                        in_drop: false
                    }]
                );
            } else {
                assert!(
                    out.is_some(),
                    "step {s}: a poll panicked: {:?}",
                    self.panics
                );
            }
        }
        out
    }

    fn fires_before(&self, s: usize) -> bool {
        self.case.deadline_at == Some(s)
    }

    fn drops_before(&self, s: usize) -> bool {
        self.case.drop_at == Some(s)
    }
}

fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<ChildPanic>().is_none() {
                default(info);
            }
        }));
        // One-off allocations of a first panic, a first thread and a first catch_unwind stay
        // out of every measurement.
        let _ = catch_unwind(|| {
            std::panic::panic_any(ChildPanic {
                child: 0,
                in_drop: false,
            })
        });
        common::script::on_helper_thread(|| {});
        // Scripted callbacks panic on purpose: the hook stays quiet.
        aiokit::hooks::set_done_callback_panic_hook(|_: &aiokit::hooks::DoneCallbackPanic<'_>| {});
    });
}

/// Runs `body` on a fresh script of `case`, then checks what holds in every case: each child
/// dropped exactly once, each output made at most once and dropped exactly once, no panic
/// but scripted ones, nothing left allocated.
fn check(case: &Case, body: impl FnOnce(&mut Run<'_>, Vec<Child>)) -> usize {
    quiet_panics();
    let (panics, measured) = measure(|| {
        let script = Script::new(case.children.clone());
        let mut run = Run {
            case,
            script: script.clone(),
            gate: Arc::new(Gate::default()),
            panics: Vec::new(),
            callbacks: false,
        };
        let children = script.children();
        // The body owns the combinator: it is dropped (maybe panicking) when the body ends.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body(&mut run, children))) {
            match payload.downcast::<ChildPanic>() {
                Ok(p) => run.panics.push(*p),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        assert_eq!(
            script.drops(),
            vec![1; case.n()],
            "every child dropped exactly once"
        );
        for (i, (made, dropped)) in script.tokens().into_iter().enumerate() {
            assert!(made <= 1, "child {i} completed {made} times");
            assert_eq!(made, dropped, "child {i}: outputs made vs dropped");
        }
        if case.exact() {
            assert!(run.panics.len() <= 1, "{:?}", run.panics);
        } else {
            let culprits: Vec<usize> = run.panics.iter().map(|p| p.child).collect();
            for c in culprits {
                let spec = case.children[c];
                assert!(
                    spec.panic_on_drop
                        || spec.panic_at_poll.is_some()
                        || spec.outcome == Outcome::Panic
                );
            }
        }
        if run.callbacks {
            assert_eq!(
                script.callbacks(),
                vec![1; case.n()],
                "each task's done-callback ran exactly once (panicking ones included)"
            );
        }
        let panics = run.panics.len();
        drop(run);
        panics
    });
    assert_eq!(measured.live, 0, "bytes left allocated after the case");
    panics
}

/// An output as the model sees it: `(child, value)` in `Ok` or `Err`.
type Seen = Result<(usize, u32), (usize, u32)>;

/// A named runner.
type Runner = (&'static str, fn(&Case) -> usize);

fn token_of(case: &Case, i: usize) -> Seen {
    match case.outcome(i) {
        Outcome::Ok(v) => Ok((i, v)),
        Outcome::Err(e) => Err((i, e)),
        Outcome::Panic => unreachable!("a panicking child has no output"),
    }
}

fn seen(out: &Result<Token, Token>) -> Seen {
    match out {
        Ok(t) => Ok((t.child, t.value)),
        Err(t) => Err((t.child, t.value)),
    }
}

fn done_seen(done: &[Done<Result<Token, Token>>]) -> Vec<(usize, Seen)> {
    done.iter().map(|d| (d.index, seen(&d.output))).collect()
}

fn expected_done(case: &Case, released: &[usize]) -> Vec<(usize, Seen)> {
    released.iter().map(|&i| (i, token_of(case, i))).collect()
}

// ---------------------------------------------------------------------------------------------
// One runner per combinator: drives a case and compares with the model as it goes.

fn run_gather(case: &Case) -> usize {
    check(case, |run, children| {
        let n = case.n();
        let mut fut = Box::pin(gather(children));
        let Some(first) = run.poll(fut.as_mut()) else {
            return;
        };
        assert!(first.is_none(), "nothing released yet");
        for s in 0..n {
            if run.drops_before(s) {
                return;
            }
            let Some(out) = run.step(s, fut.as_mut()) else {
                return;
            };
            match out {
                None => assert!(s + 1 < n, "all released, gather still pending"),
                Some(outputs) => {
                    assert_eq!(s + 1, n, "gather returned at step {s} of {n}");
                    let got: Vec<_> = outputs.iter().map(seen).collect();
                    let want: Vec<_> = (0..n).map(|i| token_of(case, i)).collect();
                    assert_eq!(got, want, "outputs in input order");
                }
            }
        }
    })
}

fn run_try_gather(case: &Case) -> usize {
    check(case, |run, children| {
        let n = case.n();
        let mut fut = Box::pin(try_gather(children));
        let Some(first) = run.poll(fut.as_mut()) else {
            return;
        };
        assert!(first.is_none(), "nothing released yet");
        for s in 0..n {
            if run.drops_before(s) {
                return;
            }
            let i = case.order[s];
            let Some(out) = run.step(s, fut.as_mut()) else {
                return;
            };
            let first_err = matches!(case.outcome(i), Outcome::Err(_));
            match out {
                None => assert!(s + 1 < n && !first_err, "step {s}: pending"),
                Some(Err(e)) => {
                    assert!(first_err, "step {s}: Err from a child that did not fail");
                    assert_eq!((e.child, e.value), token_of(case, i).unwrap_err());
                    return;
                }
                Some(Ok(outputs)) => {
                    assert!(s + 1 == n && !first_err, "step {s}: Ok too early");
                    let got: Vec<_> = outputs.iter().map(|t| (t.child, t.value)).collect();
                    let want: Vec<_> = (0..n).map(|i| token_of(case, i).unwrap()).collect();
                    assert_eq!(got, want);
                }
            }
        }
    })
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    All,
    First,
    Exception,
}

/// `wait` in `mode`, with a deadline when the case has one; after it returns, the rest is
/// waited for again (FirstCompleted: one wait per completion), until nothing is pending.
fn run_wait(case: &Case, mode: Mode) -> usize {
    check(case, |run, children| {
        let n = case.n();
        let mut pending: Option<Pending<Child>> = Some(children.into_pending());
        let mut released: Vec<usize> = Vec::new(); // since the current wait started
        let mut s = 0;
        let mut with_deadline = case.deadline_at.is_some();
        while let Some(p) = pending.take() {
            let remaining = p.len();
            type Out = (Vec<Done<Result<Token, Token>>>, Pending<Child>);
            let mut fut: Pin<Box<dyn std::future::Future<Output = Out>>> =
                match (mode, with_deadline) {
                    (Mode::All, false) => Box::pin(wait(p, ReturnWhen::AllCompleted)),
                    (Mode::First, false) => Box::pin(wait(p, ReturnWhen::FirstCompleted)),
                    (Mode::Exception, false) => Box::pin(wait(p, ReturnWhen::FirstException)),
                    (Mode::All, true) => {
                        Box::pin(wait(p, ReturnWhen::AllCompleted).deadline(run.gate.wait()))
                    }
                    (Mode::First, true) => {
                        Box::pin(wait(p, ReturnWhen::FirstCompleted).deadline(run.gate.wait()))
                    }
                    (Mode::Exception, true) => {
                        Box::pin(wait(p, ReturnWhen::FirstException).deadline(run.gate.wait()))
                    }
                };
            // The first poll of each wait: nothing new is done (unless the deadline fired).
            let mut out = match run.poll(fut.as_mut()) {
                Some(out) => out,
                None => return,
            };
            if out.is_some() {
                assert!(
                    with_deadline && case.deadline_at.is_some_and(|d| d <= s),
                    "a wait returned with nothing done"
                );
            }
            while out.is_none() {
                if run.drops_before(s) {
                    return;
                }
                if with_deadline && run.fires_before(s) {
                    run.gate.open();
                    out = match run.poll(fut.as_mut()) {
                        Some(out) => out,
                        None => return,
                    };
                    assert!(
                        out.is_some(),
                        "the deadline fired, the wait is still pending"
                    );
                    break;
                }
                assert!(s < n, "every child released, the wait still pending");
                let i = case.order[s];
                released.push(i);
                out = match run.step(s, fut.as_mut()) {
                    Some(out) => out,
                    None => return,
                };
                s += 1;
                let failed = matches!(case.outcome(i), Outcome::Err(_));
                let should_return = match mode {
                    Mode::All => released.len() == remaining,
                    Mode::First => true,
                    Mode::Exception => failed || released.len() == remaining,
                };
                assert_eq!(
                    out.is_some(),
                    should_return,
                    "step {}: {mode:?} returned?",
                    s - 1
                );
            }
            let (done, rest) = out.expect("returned");
            assert_eq!(
                done_seen(&done),
                expected_done(case, &released),
                "done, in completion order"
            );
            assert_eq!(rest.len(), remaining - released.len(), "pending");
            let mut want_rest: Vec<usize> = case.order[s..].to_vec();
            want_rest.sort_unstable();
            assert_eq!(
                rest.indices().collect::<Vec<_>>(),
                want_rest,
                "pending, by index"
            );
            drop(done);
            released.clear();
            if with_deadline && case.deadline_at.is_some_and(|d| d <= s) {
                with_deadline = false; // fired: the rest is waited for without one
            }
            if !rest.is_empty() {
                pending = Some(rest);
            }
            drop(fut);
        }
        assert_eq!(s, n);
    })
}

type Out = Result<Token, Token>;

/// as_completed (indexed), with a deadline when the case has one; at `resume_at` it stops and
/// goes on through `into_pending` and a new stream; after the deadline, likewise.
fn run_as_completed(case: &Case) -> usize {
    check(case, |run, children| {
        let mut pending = Some(children.into_pending());
        let mut s = 0;
        let mut deadline_live = case.deadline_at.is_some();
        let mut resumed = false;
        while let Some(p) = pending.take() {
            let next = if deadline_live {
                let st = as_completed(p).indexed().deadline(run.gate.wait());
                drive_stream(
                    run,
                    &mut s,
                    &mut resumed,
                    &mut deadline_live,
                    st,
                    |item| item,
                    |st| st.into_pending(),
                )
            } else {
                let st = as_completed(p).indexed();
                drive_stream(
                    run,
                    &mut s,
                    &mut resumed,
                    &mut deadline_live,
                    st,
                    Ok,
                    |st| st.into_pending(),
                )
            };
            match next {
                None => return,
                Some(p) => pending = p,
            }
        }
        assert_eq!(s, case.n());
    })
}

/// Reads `st` from step `*s` on. `None`: the run ended (dropped, or a panic); `Some(None)`:
/// every child was yielded; `Some(Some(p))`: stopped (resume or deadline) with `p` left.
fn drive_stream<S: futures::Stream + Unpin>(
    run: &mut Run<'_>,
    s: &mut usize,
    resumed: &mut bool,
    deadline_live: &mut bool,
    mut st: S,
    norm: impl Fn(S::Item) -> Result<(usize, Out), TimeoutError>,
    back: impl FnOnce(S) -> Pending<Child>,
) -> Option<Option<Pending<Child>>> {
    let case = run.case;
    let n = case.n();
    let first = run.poll(Pin::new(&mut st.next()))?;
    assert!(first.is_none(), "yielded with nothing released");
    loop {
        if *s == n {
            let end = run.poll(Pin::new(&mut st.next()))?;
            assert!(
                matches!(end, Some(None)),
                "the stream ends once every child is yielded"
            );
            return Some(None);
        }
        if run.drops_before(*s) {
            return None;
        }
        if *deadline_live && run.fires_before(*s) {
            run.gate.open();
            let item = run
                .poll(Pin::new(&mut st.next()))?
                .expect("ready once the deadline fired");
            assert!(
                matches!(item.map(&norm), Some(Err(TimeoutError { .. }))),
                "one TimeoutError"
            );
            let end = run.poll(Pin::new(&mut st.next()))?;
            assert!(matches!(end, Some(None)), "then the end");
            *deadline_live = false;
            let p = back(st);
            assert_eq!(p.len(), n - *s, "the deadline cancels nothing");
            return Some(Some(p));
        }
        if case.resume_at == Some(*s) && !*resumed {
            *resumed = true;
            let p = back(st);
            assert_eq!(p.len(), n - *s, "into_pending keeps every unfinished child");
            return Some(Some(p));
        }
        let i = case.order[*s];
        let out = run.step(*s, Pin::new(&mut st.next()))?;
        *s += 1;
        let item = out.expect("the released child is yielded at once");
        let (index, output) = norm(item.expect("not the end")).expect("not a timeout");
        assert_eq!(
            (index, seen(&output)),
            (i, token_of(case, i)),
            "yielded in completion order"
        );
    }
}

type GroupOutput = Result<Vec<Task<Token>>, ExceptionGroup<Token>>;

/// TaskGroup or LocalTaskGroup: the body starts every child and returns their handles; the
/// first failure aborts the group (every other child dropped before `run` returns).
fn run_task_group(case: &Case, local: bool) -> usize {
    check(case, |run, children| {
        run.callbacks = true;
        let with_callbacks: Vec<_> = children
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, run.script.callback::<Task<Token>>(i)))
            .collect();
        if local {
            drive_group(
                run,
                LocalTaskGroup::run(async move |tg| {
                    Ok(with_callbacks
                        .into_iter()
                        .map(|(c, callback)| {
                            let task = tg.create_task(c);
                            task.add_done_callback(callback);
                            task
                        })
                        .collect())
                }),
            );
        } else {
            drive_group(
                run,
                TaskGroup::run(async move |tg| {
                    Ok(with_callbacks
                        .into_iter()
                        .map(|(c, callback)| {
                            let task = tg.create_task(c);
                            task.add_done_callback(callback);
                            task
                        })
                        .collect())
                }),
            );
        }
    })
}

fn drive_group(run: &mut Run<'_>, fut: impl std::future::Future<Output = GroupOutput>) {
    let case = run.case;
    let n = case.n();
    let mut fut = Box::pin(fut);
    let Some(first) = run.poll(fut.as_mut()) else {
        return;
    };
    assert!(first.is_none(), "nothing released yet");
    for s in 0..n {
        if run.drops_before(s) {
            return;
        }
        let i = case.order[s];
        let Some(out) = run.step(s, fut.as_mut()) else {
            return;
        };
        let failed = matches!(case.outcome(i), Outcome::Err(_));
        match out {
            None => assert!(s + 1 < n && !failed, "step {s}: still running"),
            Some(result) => {
                assert_eq!(
                    run.script.drops(),
                    vec![1; n],
                    "run returned with a child left"
                );
                match result {
                    Err(group) => {
                        assert!(failed, "step {s}: the group failed with no failure");
                        let errors: Vec<_> = group.iter().map(|t| (t.child, t.value)).collect();
                        assert_eq!(errors, [token_of(case, i).unwrap_err()]);
                    }
                    Ok(handles) => {
                        assert!(s + 1 == n && !failed, "step {s}: Ok too early");
                        let got: Vec<_> = handles
                            .iter()
                            .map(|h| h.result().map(|t| (t.child, t.value)).ok())
                            .collect();
                        let want: Vec<_> = (0..n).map(|i| token_of(case, i).ok()).collect();
                        assert_eq!(got, want, "each handle holds its child's value");
                    }
                }
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gather_matches_the_model(case in case(true)) {
        run_gather(&case);
    }

    #[test]
    fn try_gather_matches_the_model(case in case(true)) {
        run_try_gather(&case);
    }

    #[test]
    fn wait_all_completed_matches_the_model(case in case(true)) {
        run_wait(&case, Mode::All);
    }

    #[test]
    fn wait_first_completed_matches_the_model(case in case(true)) {
        run_wait(&case, Mode::First);
    }

    #[test]
    fn wait_first_exception_matches_the_model(case in case(true)) {
        run_wait(&case, Mode::Exception);
    }

    #[test]
    fn as_completed_matches_the_model(case in case(true)) {
        run_as_completed(&case);
    }

    #[test]
    fn task_group_matches_the_model(case in case(true)) {
        run_task_group(&case, false);
    }

    #[test]
    fn local_task_group_matches_the_model(case in case(true)) {
        run_task_group(&case, true);
    }
}

// ---------------------------------------------------------------------------------------------
// Exhaustive: drop after every step, a panic at every poll

/// Every runner, by name.
fn runners() -> Vec<Runner> {
    vec![
        ("gather", run_gather),
        ("try_gather", run_try_gather),
        ("wait AllCompleted", |c| run_wait(c, Mode::All)),
        ("wait FirstCompleted", |c| run_wait(c, Mode::First)),
        ("wait FirstException", |c| run_wait(c, Mode::Exception)),
        ("as_completed", run_as_completed),
        ("TaskGroup", |c| run_task_group(c, false)),
        ("LocalTaskGroup", |c| run_task_group(c, true)),
    ]
}

/// Five children, one failing last, a mix of wakes, released out of order.
fn base_case() -> Case {
    let mut children: Vec<ChildSpec> = (0..5).map(|i| ChildSpec::ok(10 + i)).collect();
    children[1].self_wakes = 2;
    children[2].other_thread = true;
    children[3].double_wake = true;
    children[4].outcome = Outcome::Err(99);
    children[0].callback_panics = true;
    Case {
        children,
        order: vec![2, 0, 3, 1, 4],
        drop_at: None,
        deadline_at: None,
        resume_at: None,
        spurious: true,
    }
}

fn variants(base: &Case) -> Vec<Case> {
    let mut out = vec![base.clone()];
    for deadline_at in 0..=base.n() {
        out.push(Case {
            deadline_at: Some(deadline_at),
            ..base.clone()
        });
    }
    for resume_at in 0..=base.n() {
        out.push(Case {
            resume_at: Some(resume_at),
            ..base.clone()
        });
    }
    out
}

/// Every combinator dropped after each step (k = 0..=n releases): each child and each output
/// dropped exactly once, nothing leaked.
#[test]
#[cfg_attr(miri, ignore)] // a runtime, threads or a large N: too slow or out of reach under miri
fn dropping_at_every_step_drops_each_child_and_output_exactly_once() {
    for (name, runner) in runners() {
        for case in variants(&base_case()) {
            for drop_at in 0..=case.n() {
                let case = Case {
                    drop_at: Some(drop_at),
                    ..case.clone()
                };
                if let Err(p) = catch_unwind(|| runner(&case)) {
                    panic!("{name}, {case:?}: {:?}", p.downcast_ref::<String>());
                }
            }
        }
    }
}

/// A panic at every poll of every child, and in every child's destructor, in every
/// combinator: the panic comes out, each child is dropped exactly once, nothing leaks.
#[test]
#[cfg_attr(miri, ignore)] // a runtime, threads or a large N: too slow or out of reach under miri
fn a_panic_at_every_child_poll_drops_each_child_exactly_once_and_leaks_nothing() {
    for (name, runner) in runners() {
        for base in variants(&base_case()) {
            for child in 0..base.n() {
                let run = |case: Case| {
                    catch_unwind(|| runner(&case)).unwrap_or_else(|p| {
                        panic!("{name}, {case:?}: {:?}", p.downcast_ref::<String>())
                    })
                };
                // No child of these schedules is polled more than 8 times; each is polled at
                // least once, so one of these cases panics.
                let at_polls: usize = (1..=8)
                    .map(|poll| {
                        let mut case = base.clone();
                        case.children[child].panic_at_poll = Some(poll);
                        run(case)
                    })
                    .sum();
                assert!(at_polls >= 1, "{name}, child {child}: no poll panicked");
                let mut case = base.clone();
                case.children[child].panic_on_drop = true;
                assert!(
                    run(case) >= 1,
                    "{name}, child {child}: its destructor did not panic"
                );
                let mut case = base.clone();
                case.children[child].outcome = Outcome::Panic;
                run(case);
            }
        }
    }
}
