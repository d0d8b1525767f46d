//! TaskGroup: every rule of `docs/semantics.md#taskgroup`, each run on every executor of the tests
//! crate's shared list (`aiokit_tests::on_each_executor!`).
//!
//! A group polls its children in place, inside the task that awaits it, so "on an executor"
//! means: the group's future is run by that executor. `on_each_executor!` turns one scenario
//! into a module named after the rule, with one test per executor. Nothing sleeps: ordering is
//! driven by channels.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aiokit::task::StartError;
use aiokit::{ExceptionGroup, LocalTaskGroup, Task, TaskGroup, partial};
use futures::FutureExt as _;
use futures::channel::oneshot;

use aiokit_tests::on_each_executor;

type Log = Mutex<Vec<String>>;

fn push(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Pushes `"drop NAME"` to the log when dropped: shows that a child or the body was cancelled.
#[derive(Debug)]
struct DropLog<'a>(&'a Log, &'static str);

impl Drop for DropLog<'_> {
    fn drop(&mut self) {
        push(self.0, format!("drop {}", self.1));
    }
}

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#the-body-runs-concurrently-with-the-children
// The body runs concurrently with the children; leaving the group waits for
// every child.

on_each_executor! {
    fn the_body_runs_concurrently_with_the_children_and_leaving_waits_for_every_child(ex) {
        let log = Log::default();
        let (to_child, from_body) = oneshot::channel::<&str>();
        let (to_body, from_child) = oneshot::channel::<&str>();
        let (release, last) = oneshot::channel::<()>();
        let result = ex.block_on(TaskGroup::run(async |tg| {
            tg.create_task(async {
                // The child and the body talk both ways: neither could finish alone.
                let word = from_body.await.unwrap();
                push(&log, format!("child got {word}"));
                to_body.send("pong").unwrap();
                Ok::<_, Infallible>(())
            });
            tg.create_task(async {
                last.await.unwrap();
                push(&log, "last child");
                Ok(())
            });
            to_child.send("ping").unwrap();
            let reply = from_child.await.unwrap();
            push(&log, format!("body got {reply}"));
            release.send(()).unwrap();
            push(&log, "body returns");
            Ok(7)
        }));
        assert_eq!(result.unwrap(), 7);
        // `run` returned only after the child released at the body's very end had finished.
        assert_eq!(
            entries(&log),
            ["child got ping", "body got pong", "body returns", "last child"]
        );
    }
}

// docs/semantics.md#the-first-child-failure-cancels-the-rest
// The first child failure (not a cancellation) cancels every other child and
// the body.

on_each_executor! {
    fn the_first_child_failure_cancels_every_other_child_and_the_body(ex) {
        let log = Log::default();
        let (fail, failing) = oneshot::channel::<()>();
        let mut handles = Vec::new();
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let _body = DropLog(&log, "body");
            for name in ["a", "b"] {
                let log = &log;
                handles.push(tg.create_task(async move {
                    let _guard = DropLog(log, name);
                    pending::<Result<(), String>>().await
                }));
            }
            tg.create_task(async {
                failing.await.unwrap();
                Err::<(), _>("boom".to_string())
            });
            fail.send(()).unwrap();
            pending::<()>().await;
            unreachable!("the body is cancelled");
        }));
        let errors = result.unwrap_err();
        assert_eq!(errors.into_inner(), ["boom"]);
        let mut dropped = entries(&log);
        dropped.sort();
        assert_eq!(dropped, ["drop a", "drop b", "drop body"]);
        assert!(handles.iter().all(Task::cancelled));
    }
}

// docs/semantics.md#errors-come-together-in-completion-order
// The errors are raised together (ExceptionGroup), in the order the children
// finished.

on_each_executor! {
    fn errors_are_raised_together_in_the_order_the_children_finished(ex) {
        let (first, first_rx) = oneshot::channel::<()>();
        let (second, second_rx) = oneshot::channel::<()>();
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let a = tg.create_task(async {
                first_rx.await.unwrap();
                Err::<(), _>("a")
            });
            a.set_name("child a");
            tg.create_task(async {
                second_rx.await.unwrap();
                Err::<(), _>("b")
            })
            .set_name("child b");
            // Enough idle siblings that the children are polled in the order they were woken.
            for _ in 0..20 {
                tg.create_task(pending::<Result<(), &str>>());
            }
            tg.create_task(async { Ok(()) }).await.unwrap();
            // Woken b first, then a, in one go: both fail in the same pass of the group.
            second.send(()).unwrap();
            first.send(()).unwrap();
            pending::<()>().await;
            Ok(())
        }));
        let errors = result.unwrap_err();
        let named: Vec<_> = errors.iter_named().collect();
        assert_eq!(named, [(Some("child b"), &"b"), (Some("child a"), &"a")]);
    }
}

on_each_executor! {
    fn children_failing_together_are_all_collected(ex) {
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            for i in 0..3 {
                tg.create_task(async move { Err::<(), _>(i) });
            }
            Ok(())
        }));
        assert_eq!(result.unwrap_err().into_inner(), [0, 1, 2]);
    }
}

// docs/semantics.md#the-bodys-error-comes-after-the-childrens
// An error of the body is added after the children's. Here no child fails: the
// body's error comes alone, with no task name, and the children are cancelled.

on_each_executor! {
    fn an_error_of_the_body_is_added_after_the_childrens(ex) {
        let log = Log::default();
        let mut waiting = None;
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            waiting = Some(tg.create_task(async {
                let _guard = DropLog(&log, "child");
                pending::<Result<(), &str>>().await
            }));
            tg.create_task(async { Ok(()) }).await.unwrap();
            Err("body failed")
        }));
        let errors = result.unwrap_err();
        assert_eq!(errors.iter_named().collect::<Vec<_>>(), [(None, &"body failed")]);
        assert_eq!(entries(&log), ["drop child"]);
        assert!(waiting.unwrap().cancelled());
        assert!(errors.to_string().ends_with("<body>: body failed"), "{errors}");
    }
}

// docs/semantics.md#a-child-cancelled-on-its-own-is-not-a-failure
// A child cancelled on its own is not a failure; its siblings go on.

on_each_executor! {
    fn a_child_cancelled_on_its_own_is_not_a_failure_and_its_siblings_go_on(ex) {
        let log = Log::default();
        let (go, gate) = oneshot::channel::<()>();
        let result = ex.block_on(TaskGroup::run(async |tg| {
            let doomed = tg.create_task(async {
                let _guard = DropLog(&log, "doomed");
                pending::<Result<u8, Infallible>>().await
            });
            let sibling = tg.create_task(async {
                gate.await.unwrap();
                push(&log, "sibling done");
                Ok(2)
            });
            tg.create_task(async { Ok(0) }).await.unwrap(); // the children have started
            assert!(doomed.cancel());
            assert_eq!((&doomed).await, Err(aiokit::CancelledError::new()));
            go.send(()).unwrap();
            Ok(sibling.await.unwrap())
        }));
        assert_eq!(result.unwrap(), 2);
        assert_eq!(entries(&log), ["drop doomed", "sibling done"]);
    }
}

// docs/semantics.md#a-panic-cancels-everything-then-resumes
// KeyboardInterrupt / SystemExit: the children are cancelled and awaited, then it
// is re-raised alone. aiokit: the same for a panic.

on_each_executor! {
    fn a_panic_in_a_child_cancels_everything_then_resumes(ex) {
        let log = Log::default();
        let (boom, armed) = oneshot::channel::<()>();
        let mut sibling = None;
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::run(async |tg| {
                let _body = DropLog(&log, "body");
                sibling = Some(tg.create_task(async {
                    let _guard = DropLog(&log, "sibling");
                    pending::<Result<(), Infallible>>().await
                }));
                tg.create_task(async {
                    armed.await.unwrap();
                    panic!("child panicked");
                    #[allow(unreachable_code)]
                    Ok::<(), Infallible>(())
                });
                boom.send(()).unwrap();
                pending::<()>().await;
                Ok(())
            }))
        }));
        let payload = caught.expect_err("the panic is resumed");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"child panicked"));
        let mut dropped = entries(&log);
        dropped.sort();
        assert_eq!(dropped, ["drop body", "drop sibling"]);
        assert!(sibling.unwrap().cancelled());
    }
}

on_each_executor! {
    fn a_panic_in_the_body_cancels_every_child_then_resumes(ex) {
        let log = Log::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::run(async |tg| {
                tg.create_task(async {
                    let _guard = DropLog(&log, "child");
                    pending::<Result<(), Infallible>>().await
                });
                tg.create_task(async { Ok(()) }).await.unwrap();
                panic!("body panicked");
                #[allow(unreachable_code)]
                Ok(())
            }))
        }));
        assert!(caught.is_err());
        assert_eq!(entries(&log), ["drop child"]);
    }
}

// docs/semantics.md#children-may-add-tasks-while-the-group-exits
// Children may add tasks to the group while it is exiting.

on_each_executor! {
    fn children_may_add_tasks_while_the_group_is_exiting(ex) {
        let log = Log::default();
        let (go, gate) = oneshot::channel::<()>();
        let result = ex.block_on(TaskGroup::run(async |tg| {
            tg.create_task(async {
                gate.await.unwrap();
                // The body has returned by now: the group is exiting.
                let grandchild = tg.create_task(async {
                    push(&log, "grandchild ran");
                    Ok::<_, Infallible>(3)
                });
                Ok(*(&grandchild).await.unwrap())
            });
            go.send(()).unwrap();
            push(&log, "body returns");
            Ok(())
        }));
        result.unwrap();
        assert_eq!(entries(&log), ["body returns", "grandchild ran"]);
    }
}

// docs/semantics.md#create_task-while-aborting-is-refused
// Creating a task while the group is aborting, or after it has finished, is
// refused and the refused future never runs.

/// A future that creates a task in the group when it is dropped.
struct CreateOnDrop<'scope, 'env> {
    group: &'scope TaskGroup<'scope, 'env, u8>,
    ran: &'env AtomicUsize,
    refused: &'env Mutex<Option<Task<()>>>,
}

impl Future for CreateOnDrop<'_, '_> {
    type Output = Result<(), u8>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Pending
    }
}

impl Drop for CreateOnDrop<'_, '_> {
    fn drop(&mut self) {
        let ran = self.ran;
        let task = self.group.create_task(async move {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        *self.refused.lock().unwrap() = Some(task);
    }
}

on_each_executor! {
    fn create_task_while_the_group_is_aborting_is_refused_and_the_future_never_runs(ex) {
        let ran = AtomicUsize::new(0);
        let refused: Mutex<Option<Task<()>>> = Mutex::new(None);
        let refused_in_sibling = AtomicUsize::new(0);
        // Plain references, copied into `async move` children.
        let (ran_ref, refused_ref, refused_in_sibling_ref) = (&ran, &refused, &refused_in_sibling);
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            // Cancelled by the abort: its destructor asks for a new child.
            tg.create_task(CreateOnDrop { group: tg, ran: ran_ref, refused: refused_ref });
            // Fails first; the sibling after it is polled in the same pass, during the abort.
            tg.create_task(async { Err::<(), _>(1) });
            tg.create_task(async move {
                assert!(!tg.is_open());
                let task = tg.create_task(async move {
                    ran_ref.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
                if task.done() && task.cancelled() {
                    refused_in_sibling_ref.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            });
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result.unwrap_err().into_inner(), [1]);
        assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused future never runs");
        let task = refused.into_inner().unwrap().expect("create_task was called");
        assert!(task.done() && task.cancelled(), "the handle reports the refusal");
        assert_eq!(refused_in_sibling.load(Ordering::SeqCst), 1);
    }
}

// docs/semantics.md#nested-groups
// Nested groups: an inner group's error group becomes the outer body's error.

on_each_executor! {
    fn an_inner_groups_error_group_becomes_the_outer_bodys_error(ex) {
        let result: Result<(), ExceptionGroup<ExceptionGroup<&str>>> =
            ex.block_on(TaskGroup::run(async |outer| {
                outer.create_task(async { Ok(()) });
                TaskGroup::run(async |inner| {
                    inner.create_task(async { Err::<(), _>("inner child") });
                    Ok(())
                })
                .await?;
                Ok(())
            }));
        let outer = result.unwrap_err();
        assert_eq!(outer.len(), 1);
        let (task, inner) = outer.iter_named().next().unwrap();
        assert_eq!(task, None, "the outer body's error");
        assert_eq!(inner.iter().collect::<Vec<_>>(), [&"inner child"]);
    }
}

// docs/semantics.md#handles-outlive-the-group
// After `run` returns, each handle still gives its child's outcome.

on_each_executor! {
    fn handles_give_each_childs_outcome_after_run_returns(ex) {
        let (ok, cancelled) = ex
            .block_on(TaskGroup::run(async |tg| {
                let ok = tg.create_task(async { Ok::<_, Infallible>(String::from("tea")) });
                let cancelled = tg.create_task(pending::<Result<String, Infallible>>());
                cancelled.cancel();
                Ok((ok, cancelled))
            }))
            .unwrap();
        assert_eq!(ok.result().unwrap(), "tea");
        assert!(cancelled.cancelled());
    }
}

// docs/semantics.md#handles-outlive-the-group
// A failing child is named in the ExceptionGroup; a coroutine's name is its task's name.

#[aiokit::coroutine]
async fn brew_badly() -> Result<(), String> {
    Err("burnt".into())
}

on_each_executor! {
    fn a_coroutines_name_becomes_its_tasks_name_and_names_its_failure(ex) {
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let task = tg.create_task(brew_badly());
            assert!(task.name().starts_with("Task-"), "named on its first poll");
            Ok(())
        }));
        let errors = result.unwrap_err();
        let (name, _) = errors.iter_named().next().unwrap();
        assert!(name.unwrap().ends_with("brew_badly"), "{name:?}");
        assert!(errors.to_string().contains("brew_badly: burnt"), "{errors}");
    }
}

// docs/semantics.md#children-may-borrow-and-need-not-be-send
// Children may borrow from the caller's stack, and may be !Send (LocalTaskGroup).

on_each_executor! {
    fn local_children_may_hold_rc_and_borrow_from_the_stack(ex) {
        let shared = Rc::new(RefCell::new(Vec::new()));
        let borrowed = String::from("borrowed");
        let result = ex.block_on(LocalTaskGroup::run(async |tg| {
            for i in 0..3 {
                let shared = shared.clone();
                let borrowed = &borrowed;
                tg.create_task(async move {
                    futures::future::ready(()).await;
                    shared.borrow_mut().push(format!("{borrowed} {i}"));
                    Ok::<_, Infallible>(Rc::new(i))
                });
            }
            Ok(())
        }));
        result.unwrap();
        assert_eq!(*shared.borrow(), ["borrowed 0", "borrowed 1", "borrowed 2"]);
    }
}

// docs/semantics.md#dropping-the-group-drops-everything
// Dropping the group's future drops the body and every child.

on_each_executor! {
    fn dropping_the_group_drops_the_body_and_every_child(ex) {
        let log = Log::default();
        let mut group = Box::pin(TaskGroup::run(async |tg| {
            let _body = DropLog(&log, "body");
            tg.create_task(async {
                let _guard = DropLog(&log, "child");
                pending::<Result<(), Infallible>>().await
            });
            pending::<()>().await;
            Ok(())
        }));
        ex.block_on(async {
            assert!((&mut group).now_or_never().is_none());
        });
        drop(group);
        let mut dropped = entries(&log);
        dropped.sort();
        assert_eq!(dropped, ["drop body", "drop child"]);
    }
}

// Task handles of group children: done-callbacks, `partial!` among them.

fn note(log: Arc<Log>, what: &'static str, task: &Task<u8>) {
    push(&log, format!("{what} {:?}", task.result()));
}

on_each_executor! {
    fn partial_works_as_a_done_callback_of_a_group_child(ex) {
        let log = Arc::new(Log::default());
        let result = ex.block_on(TaskGroup::run(async |tg| {
            let task = tg.create_task(async { Ok::<_, Infallible>(5_u8) });
            // asyncio: task.add_done_callback(functools.partial(note, log, "honey"))
            task.add_done_callback(partial!(note, log.clone(), "honey"));
            Ok(())
        }));
        result.unwrap();
        assert_eq!(entries(&log), ["honey Ok(5)"]);
    }
}

#[test]
#[cfg_attr(miri, ignore)] // a runtime, threads or a large N: too slow or out of reach under miri
fn the_group_future_is_send_and_runs_in_tokio_spawn() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let total = Arc::new(AtomicUsize::new(0));
    let counter = total.clone();
    let joined = rt.block_on(rt.spawn(TaskGroup::run(async move |tg| {
        for i in 1..=4 {
            // Children may outlive the body, so they own what they use, or borrow from
            // outside the group, never from the body.
            let counter = counter.clone();
            tg.create_task(async move {
                tokio::task::yield_now().await;
                counter.fetch_add(i, Ordering::SeqCst);
                Ok::<_, Infallible>(())
            });
        }
        Ok(())
    })));
    joined.unwrap().unwrap();
    assert_eq!(total.load(Ordering::SeqCst), 10);
}

#[test]
fn exception_group_display_lists_each_failure_with_its_task() {
    let errors = futures::executor::block_on(TaskGroup::run(async |tg| {
        tg.create_task(async { Err::<(), _>("no milk") })
            .set_name("milk");
        tg.create_task(async { Err::<(), _>("no sugar") })
            .set_name("sugar");
        Ok(())
    }))
    .unwrap_err();
    assert_eq!(
        errors.to_string(),
        "unhandled errors in a TaskGroup (2 sub-errors): milk: no milk; sugar: no sugar"
    );
    let as_error: &dyn std::error::Error = &errors;
    assert!(as_error.to_string().contains("milk"));
    assert_eq!((&errors).into_iter().count(), 2);
    assert!(errors.contains(|e| *e == "no sugar"));
    let (sugar, rest) = errors.split(|e| e.contains("sugar"));
    assert_eq!(sugar.unwrap().into_inner(), ["no sugar"]);
    assert_eq!(rest.unwrap().into_iter().collect::<Vec<_>>(), ["no milk"]);
}

// ---------------------------------------------------------------------------------------------
// asyncio (3.11 to 3.13): a child fails while the body is already resuming (its wake-up was
// scheduled before the child's done-callback); the body raises too, and both errors come
// together, the child's first, the body's last. aiokit: the body is already resuming when its
// waker fired after its last poll and before the pass's first failure (see `TaskGroup::run`).

on_each_executor! {
    fn a_body_already_resuming_when_a_child_fails_adds_its_error_after_the_childrens(ex) {
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            // `a` is polled before `b` in the pass: it finishes, waking the body, then `b`
            // fails. asyncio: `await ta` then `raise`, with `a` created before `b`.
            let a = tg.create_task(async { Ok(()) });
            tg.create_task(async { Err::<(), _>("child b") })
                .set_name("b");
            (&a).await.unwrap();
            Err("body")
        }));
        let errors = result.unwrap_err();
        let named: Vec<_> = errors.iter_named().collect();
        assert_eq!(named, [(Some("b"), &"child b"), (None, &"body")]);
    }
}

on_each_executor! {
    fn a_body_that_yielded_before_a_child_fails_is_already_resuming(ex) {
        // asyncio: `tg.create_task(fail()); await asyncio.sleep(0); raise KeyError`.
        let group = LocalTaskGroup::run(async |tg| {
            tg.create_task(async { Err::<(), _>("child") });
            futures_lite::future::yield_now().await;
            Err::<(), _>("body")
        });
        let errors = ex.block_on(group).unwrap_err();
        assert_eq!(errors.into_inner(), ["child", "body"]);
    }
}

on_each_executor! {
    fn a_body_woken_only_after_the_first_failure_is_cancelled_without_resuming(ex) {
        let log = Log::default();
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            // `b` fails first, then `a` finishes and wakes the body: too late. asyncio, with
            // `b` created before `a`: only the child's error.
            tg.create_task(async { Err::<(), _>("child b") });
            let a = tg.create_task(async { Ok(()) });
            let _body = DropLog(&log, "body");
            (&a).await.unwrap();
            push(&log, "body resumed");
            Err("body")
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["child b"]);
        assert_eq!(entries(&log), ["drop body"]);
    }
}

on_each_executor! {
    fn a_body_already_resuming_that_returns_ok_leaves_only_the_childrens_errors(ex) {
        let log = Log::default();
        let result: Result<DropLog<'_>, _> = ex.block_on(TaskGroup::run(async |tg| {
            let a = tg.create_task(async { Ok(()) });
            tg.create_task(async { Err::<(), _>("child b") });
            (&a).await.unwrap();
            push(&log, "body resumed");
            // Refused: the group aborts while the body's last poll runs.
            let late = tg.create_task(async { Ok(()) });
            assert!(late.cancelled());
            Ok(DropLog(&log, "value"))
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["child b"]);
        assert_eq!(entries(&log), ["body resumed", "drop value"]);
    }
}

on_each_executor! {
    fn a_body_not_woken_when_a_child_fails_is_dropped_without_another_poll(ex) {
        let log = Log::default();
        let (release, gate) = oneshot::channel::<()>();
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let _body = DropLog(&log, "body");
            tg.create_task(async {
                gate.await.unwrap();
                Err::<(), _>("child")
            });
            release.send(()).unwrap();
            pending::<()>().await;
            push(&log, "body resumed");
            Err("body")
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["child"]);
        assert_eq!(entries(&log), ["drop body"]);
    }
}

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#one-outcome-per-child
// One outcome per child: either a cancel wins (no failure) or the failure wins (`cancel()`
// returns false, as asyncio's does once the coroutine has raised).

/// Fails on its first poll; its destructor cancels its own task and records what `cancel()`
/// returned.
struct FailThenCancelOnDrop {
    handle: Arc<Mutex<Option<Task<()>>>>,
    cancel_returned: Arc<Mutex<Option<bool>>>,
}

impl Future for FailThenCancelOnDrop {
    type Output = Result<(), &'static str>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Err("failed"))
    }
}

impl Drop for FailThenCancelOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.lock().unwrap().as_ref() {
            *self.cancel_returned.lock().unwrap() = Some(handle.cancel());
        }
    }
}

on_each_executor! {
    fn a_child_has_one_outcome_a_cancel_after_its_error_returns_false(ex) {
        let handle = Arc::new(Mutex::new(None));
        let cancel_returned = Arc::new(Mutex::new(None));
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let task = tg.create_task(FailThenCancelOnDrop {
                handle: handle.clone(),
                cancel_returned: cancel_returned.clone(),
            });
            *handle.lock().unwrap() = Some(task);
            Ok(())
        }));
        // The failure won: the group reports it, and the cancel from the destructor (which
        // runs once the future has returned its error) was refused.
        assert_eq!(result.unwrap_err().into_inner(), ["failed"]);
        assert_eq!(*cancel_returned.lock().unwrap(), Some(false));
        let task = handle.lock().unwrap().take().unwrap();
        assert!(task.done() && task.cancelled(), "its error went to the group");
        assert!(!task.cancel());
    }
}

on_each_executor! {
    fn a_child_has_one_outcome_a_cancel_before_its_error_wins(ex) {
        let result = ex.block_on(TaskGroup::run(async |tg| {
            let (go, gate) = oneshot::channel::<()>();
            let task = tg.create_task(async {
                gate.await.unwrap();
                Err::<(), _>("too late")
            });
            tg.create_task(async { Ok(()) }).await.unwrap(); // the child waits on its gate
            go.send(()).unwrap(); // ready to fail...
            assert!(task.cancel()); // ...but the cancel comes first
            Ok(task)
        }));
        let task = result.expect("a cancelled child is not a failure");
        assert!(task.cancelled());
    }
}

// ---------------------------------------------------------------------------------------------
// Every child is dropped exactly once, whatever panics where.

/// How many times each tracked value was dropped.
#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<std::collections::BTreeMap<&'static str, usize>>>);

impl Ledger {
    fn counts(&self) -> Vec<(&'static str, usize)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(name, n)| (*name, *n))
            .collect()
    }
}

/// Enters its drop in the ledger; panics there if asked to (after the entry). Owns its share of
/// the ledger, so that children holding one may be `'static` (a plain closure body's).
struct Tracked {
    ledger: Ledger,
    name: &'static str,
    panic_on_drop: bool,
}

fn tracked(ledger: &Ledger, name: &'static str) -> Tracked {
    Tracked {
        ledger: ledger.clone(),
        name,
        panic_on_drop: false,
    }
}

/// A tracked value whose drop panics.
fn panics_on_drop(ledger: &Ledger, name: &'static str) -> Tracked {
    Tracked {
        ledger: ledger.clone(),
        name,
        panic_on_drop: true,
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        *self.ledger.0.lock().unwrap().entry(self.name).or_default() += 1;
        if self.panic_on_drop {
            panic!("{} panicked in drop", self.name);
        }
    }
}

/// A child that holds `value` (dropped with the future, polled or not) and never finishes.
macro_rules! holding {
    ($value:expr) => {{
        let value = $value;
        async move {
            let _value = value;
            pending::<Result<(), &'static str>>().await
        }
    }};
}

/// Each name of `names` was dropped exactly once, and nothing else was tracked.
fn assert_dropped_once(ledger: &Ledger, names: &[&'static str]) {
    let mut expected: Vec<_> = names.iter().map(|name| (*name, 1)).collect();
    expected.sort();
    assert_eq!(ledger.counts(), expected);
}

on_each_executor! {
    fn every_child_is_dropped_once_when_the_body_closure_panics_before_its_future(ex) {
        let ledger = Ledger::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            // A body written as a plain closure: it creates children, then panics before it
            // returns its future.
            ex.block_on(TaskGroup::run(|tg: &TaskGroup<'_, '_, &'static str>| {
                tg.create_task(holding!(tracked(&ledger, "queued 1")));
                tg.create_task(holding!(tracked(&ledger, "queued 2")));
                panic!("the body panicked before returning its future");
                #[allow(unreachable_code)]
                std::future::ready(Ok(()))
            }))
        }));
        assert!(caught.is_err());
        assert_dropped_once(&ledger, &["queued 1", "queued 2"]);

        let ledger = Ledger::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(LocalTaskGroup::run(|tg: &LocalTaskGroup<'_, '_, &'static str>| {
                let ready = tracked(&ledger, "local ready");
                tg.create_task(async move {
                    let _value = ready;
                    Ok(Rc::new(()))
                });
                tg.create_task(holding!(tracked(&ledger, "local pending")));
                panic!("the body panicked before returning its future");
                #[allow(unreachable_code)]
                std::future::ready(Ok(()))
            }))
        }));
        assert!(caught.is_err());
        assert_dropped_once(&ledger, &["local pending", "local ready"]);
    }
}

on_each_executor! {
    fn every_child_is_dropped_once_when_a_child_panics(ex) {
        let ledger = Ledger::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::run(async |tg| {
                let _body = tracked(&ledger, "body");
                tg.create_task(holding!(tracked(&ledger, "running")));
                tg.create_task(async {
                    let _value = tracked(&ledger, "panicking");
                    // Queued by the child just before it panics: never reaches the engine.
                    tg.create_task(holding!(tracked(&ledger, "grandchild")));
                    panic!("a child panicked");
                    #[allow(unreachable_code)]
                    Ok(())
                });
                // Created in the same poll, after the panicking one: polled after it, or never.
                tg.create_task(holding!(tracked(&ledger, "sibling")));
                pending::<()>().await;
                Ok(())
            }))
        }));
        assert!(caught.is_err());
        assert_dropped_once(&ledger, &["body", "grandchild", "panicking", "running", "sibling"]);
    }
}

on_each_executor! {
    fn every_child_is_dropped_once_when_the_body_future_panics(ex) {
        let ledger = Ledger::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::run(async |tg| {
                tg.create_task(holding!(tracked(&ledger, "running")));
                tg.create_task(async { Ok(()) }).await.unwrap(); // "running" is in the engine
                // Still queued when the body panics.
                tg.create_task(holding!(tracked(&ledger, "queued")));
                panic!("the body panicked");
                #[allow(unreachable_code)]
                Ok(())
            }))
        }));
        assert!(caught.is_err());
        assert_dropped_once(&ledger, &["queued", "running"]);
    }
}

on_each_executor! {
    fn every_child_is_dropped_once_when_a_childs_drop_panics(ex) {
        // Cancelled by the abort that a sibling's failure starts.
        let ledger = Ledger::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::run(async |tg| {
                tg.create_task(holding!(tracked(&ledger, "before")));
                tg.create_task(holding!(panics_on_drop(&ledger, "panicking drop")));
                tg.create_task(holding!(tracked(&ledger, "after")));
                tg.create_task(async { Err::<(), _>("failed") });
                tg.create_task(holding!(tracked(&ledger, "last")));
                pending::<()>().await;
                Ok(())
            }))
        }));
        assert!(caught.is_err());
        assert_dropped_once(&ledger, &["after", "before", "last", "panicking drop"]);

        // Dropped as it finishes: the future returned, its destructor panics.
        let ledger = Ledger::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::run(async |tg| {
                tg.create_task(holding!(tracked(&ledger, "sibling")));
                let value = panics_on_drop(&ledger, "finishing");
                tg.create_task(async move {
                    let _value = value;
                    Ok::<_, &str>(())
                });
                pending::<()>().await;
                Ok(())
            }))
        }));
        assert!(caught.is_err());
        assert_dropped_once(&ledger, &["finishing", "sibling"]);

        // Cancelled with the group's future, which is dropped.
        let ledger = Ledger::default();
        let mut group = Box::pin(TaskGroup::run(async |tg| {
            tg.create_task(holding!(tracked(&ledger, "before")));
            tg.create_task(holding!(panics_on_drop(&ledger, "panicking drop")));
            tg.create_task(holding!(tracked(&ledger, "after")));
            pending::<()>().await;
            Ok(())
        }));
        ex.block_on(async {
            assert!((&mut group).now_or_never().is_none());
        });
        assert!(catch_unwind(AssertUnwindSafe(|| drop(group))).is_err());
        assert_dropped_once(&ledger, &["after", "before", "panicking drop"]);
    }
}

// ---------------------------------------------------------------------------------------------
// No user code runs while an internal lock is held: `Debug` writes to the caller's sink, which
// may use the group (it would deadlock if the group's lock were held while writing).

struct UsesTheGroup<'g, 'scope, 'env> {
    group: &'g TaskGroup<'scope, 'env, ()>,
    out: String,
}

impl std::fmt::Write for UsesTheGroup<'_, '_, '_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        assert!(self.group.is_open());
        self.out.push_str(s);
        Ok(())
    }
}

#[test]
fn debug_of_a_group_holds_no_lock_while_it_writes() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = futures::executor::block_on(TaskGroup::run(async |tg| {
            let child = tg.create_task(async { Ok(()) });
            let mut sink = UsesTheGroup {
                group: tg,
                out: String::new(),
            };
            std::fmt::write(&mut sink, format_args!("{tg:?}")).unwrap();
            Ok((sink.out, child.name()))
        }));
        done.send(out).unwrap();
    });
    // Generous: the scenario takes microseconds; only a deadlock runs into this.
    let out = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("Debug deadlocked: it wrote while holding the group's lock")
        .unwrap();
    // The children's names and states: the `inspect` feature, which this crate enables.
    let (out, child) = out;
    assert_eq!(
        out,
        format!("TaskGroup {{ status: Open, queued: 1, children: [{child}<pending>], .. }}")
    );
}

// asyncio: a task's done-callbacks run in the order they were added, the group's first (added by
// `create_task`), and it cancels the body; so a body woken by the failed child's own completion
// (it awaits that child) does not resume. aiokit: the end of a failed child's handle does not
// make the body "already resuming".

on_each_executor! {
    fn a_body_woken_only_by_the_failed_childs_handle_is_not_resuming(ex) {
        let log = Log::default();
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let failing = tg.create_task(async { Err::<(), _>("child") });
            let _body = DropLog(&log, "body");
            // Would panic if the body resumed: the failed child's handle ends cancelled.
            (&failing).await.unwrap();
            Err("body")
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["child"]);
        assert_eq!(entries(&log), ["drop body"]);
    }
}

// A body that resumes after a failure finds the failed child's handle cancelled (its error is
// in the group); asyncio raises the child's error in the body there.

on_each_executor! {
    fn a_resuming_body_finds_the_handle_of_a_failed_child_cancelled(ex) {
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let first = tg.create_task(async { Ok(1) });
            let second = tg.create_task(async { Err::<i32, _>("second failed") });
            let mut sum = 0;
            for handle in [&first, &second] {
                match handle.await {
                    Ok(value) => sum += value,
                    Err(aiokit::CancelledError { .. }) => {
                        assert_eq!(sum, 1, "the first child's value came first");
                        return Err("the body saw a cancelled handle");
                    }
                }
            }
            Ok(())
        }));
        assert_eq!(
            result.unwrap_err().into_inner(),
            ["second failed", "the body saw a cancelled handle"]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Children that cannot fail: `spawn` takes a future of any output, `run_infallible` a body
// that returns a plain value; neither needs `Ok` nor an error type annotation.

on_each_executor! {
    fn plain_children_need_no_ok_and_their_group_no_error_annotation(ex) {
        let (to_second, from_first) = oneshot::channel();
        let total = ex.block_on(TaskGroup::run_infallible(async |tg| {
            // The second child waits for the first: both run in the group, concurrently.
            let second = tg.spawn(async { from_first.await.unwrap() * 10 });
            let first = tg.spawn(async {
                to_second.send(4).unwrap();
                2
            });
            first.await.unwrap() + second.await.unwrap()
        }));
        assert_eq!(total, 42);
    }
}

on_each_executor! {
    fn the_output_of_a_spawned_child_is_its_own_and_never_fails_the_group(ex) {
        let log = Log::default();
        let (release, wait) = oneshot::channel::<()>();
        let result = ex.block_on(TaskGroup::run(async |tg| {
            let parsed = tg.spawn(async { "tea".parse::<u8>() });
            let sibling = tg.create_task(async {
                wait.await.unwrap();
                push(&log, "sibling finished");
                Ok::<_, String>("sibling")
            });
            // The spawned child's `Err` is a value for its handle: the sibling goes on.
            let parsed = parsed.await.unwrap();
            release.send(()).unwrap();
            Ok((parsed.is_err(), sibling.await.unwrap()))
        }));
        assert_eq!(result.unwrap(), (true, "sibling"));
        assert_eq!(entries(&log), ["sibling finished"]);
    }
}

on_each_executor! {
    fn a_spawned_child_is_cancelled_by_a_sibling_failure(ex) {
        let log = Log::default();
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let guard = DropLog(&log, "spawned");
            let spawned = tg.spawn(async move {
                let _guard = guard;
                pending::<()>().await
            });
            tg.create_task(async { Err::<(), _>("failed") });
            let _ = spawned.await;
            Ok(())
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["failed"]);
        assert_eq!(entries(&log), ["drop spawned"]);
    }
}

on_each_executor! {
    fn a_local_group_of_plain_children_needs_no_annotation_either(ex) {
        let log = Rc::new(RefCell::new(Vec::new()));
        let cups = ex.block_on(LocalTaskGroup::run_infallible(async |tg| {
            for cup in ["green", "black"] {
                let log = log.clone();
                tg.spawn(async move { log.borrow_mut().push(cup) });
            }
            tg.spawn(async { Rc::new(2) }).await.unwrap()
        }));
        assert_eq!(*cups, 2);
        assert_eq!(*log.borrow(), ["green", "black"]);
    }
}

on_each_executor! {
    fn a_panic_in_a_plain_child_drops_every_child_then_is_resumed(ex) {
        let log = Log::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::run_infallible(async |tg| {
                let guard = DropLog(&log, "sibling");
                tg.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await
                });
                tg.spawn(async { panic!("boiled over") });
                pending::<()>().await
            }))
        }));
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boiled over"));
        assert_eq!(entries(&log), ["drop sibling"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Eager start (asyncio 3.12's `eager_start`): the child is polled once inside the call.

on_each_executor! {
    fn an_eager_child_that_finishes_at_once_is_never_queued(ex) {
        let log = Log::default();
        let result = ex.block_on(TaskGroup::run(async |tg| {
            let cup = tg.create_task_eager(async {
                push(&log, "child ran");
                Ok::<_, String>("tea")
            });
            push(&log, "call returned");
            // Done before the body's first await, and not in the queue.
            assert_eq!(cup.result(), Ok(&"tea"));
            assert!(format!("{tg:?}").contains("queued: 0"), "{tg:?}");
            Ok(cup)
        }));
        assert_eq!(result.unwrap().result(), Ok(&"tea"));
        assert_eq!(entries(&log), ["child ran", "call returned"]);
    }
}

on_each_executor! {
    fn an_eager_child_that_is_pending_is_queued_and_polled_again(ex) {
        let log = Log::default();
        let (send, receive) = oneshot::channel::<&str>();
        let result = ex.block_on(TaskGroup::run(async |tg| {
            let cup = tg.create_task_eager(async {
                push(&log, "child started");
                let word = receive.await.unwrap();
                push(&log, "child resumed");
                Ok::<_, String>(word)
            });
            push(&log, "call returned");
            assert!(!cup.done());
            assert!(format!("{tg:?}").contains("queued: 1"), "{tg:?}");
            send.send("tea").unwrap();
            Ok(cup.await.unwrap())
        }));
        assert_eq!(result.unwrap(), "tea");
        assert_eq!(entries(&log), ["child started", "call returned", "child resumed"]);
    }
}

on_each_executor! {
    fn an_eager_child_that_fails_at_once_aborts_the_group(ex) {
        let log = Log::default();
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let guard = DropLog(&log, "sibling");
            tg.create_task(async move {
                let _guard = guard;
                pending::<Result<(), &str>>().await
            });
            let failed = tg.create_task_eager(async { Err::<(), _>("no milk") });
            // Its handle is done (cancelled: the error is the group's) when the call returns.
            assert!(failed.cancelled());
            let _body = DropLog(&log, "body");
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["no milk"]);
        let mut dropped = entries(&log);
        dropped.sort();
        assert_eq!(dropped, ["drop body", "drop sibling"]);
    }
}

on_each_executor! {
    fn an_eager_child_is_refused_unpolled_while_the_group_aborts(ex) {
        let ran = AtomicUsize::new(0);
        let refused = AtomicUsize::new(0);
        let (ran, refused_ref) = (&ran, &refused);
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            // Fails first; the sibling after it is polled in the same pass, during the abort.
            tg.create_task(async { Err::<(), _>("failed") });
            tg.create_task(async move {
                let task = tg.create_task_eager(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
                if task.done() && task.cancelled() {
                    refused_ref.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            });
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["failed"]);
        assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused future never runs");
        assert_eq!(refused.load(Ordering::SeqCst), 1);
    }
}

on_each_executor! {
    fn a_local_eager_child_that_finishes_at_once_is_done_when_the_call_returns(ex) {
        let result = ex.block_on(LocalTaskGroup::run(async |tg| {
            let cup = tg.create_task_eager(async { Ok::<_, ()>(Rc::new("tea")) });
            assert!(cup.done());
            Ok(cup)
        }));
        assert_eq!(**result.unwrap().result().unwrap(), "tea");
    }
}

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#start-the-ready-handshake
// Trio's `nursery.start`: `start` returns once the child called `started(value)`.

on_each_executor! {
    fn start_returns_the_value_given_to_started_and_the_child_goes_on(ex) {
        let log = Log::default();
        let (send, receive) = oneshot::channel::<u16>();
        let result = ex.block_on(TaskGroup::run(async |tg| {
            let port = tg
                .start(|status| async {
                    push(&log, "binding");
                    status.started(8080);
                    let request = receive.await.unwrap();
                    push(&log, format!("served {request}"));
                    Ok::<_, String>(())
                })
                .await;
            push(&log, "start returned");
            send.send(1).unwrap();
            Ok(port.unwrap())
        }));
        assert_eq!(result.unwrap(), 8080);
        assert_eq!(entries(&log), ["binding", "start returned", "served 1"]);
    }
}

on_each_executor! {
    fn a_child_failing_before_started_fails_the_start_call_not_the_group(ex) {
        let log = Log::default();
        let (release, wait) = oneshot::channel::<()>();
        let result = ex.block_on(TaskGroup::run(async |tg| {
            tg.create_task(async {
                wait.await.unwrap();
                push(&log, "sibling finished");
                Ok(())
            });
            let started = tg
                .start(|_status: aiokit::task::TaskStatus<u16, String>| async {
                    Err::<(), _>("port in use".to_owned())
                })
                .await;
            release.send(()).unwrap();
            Ok(started)
        }));
        assert_eq!(
            result.unwrap(),
            Err(StartError::Failed("port in use".to_owned()))
        );
        assert_eq!(entries(&log), ["sibling finished"]);
    }
}

on_each_executor! {
    fn a_child_ending_without_calling_started_gives_not_started(ex) {
        let result = ex.block_on(TaskGroup::run(async |tg| {
            let started = tg
                .start(|status: aiokit::task::TaskStatus<u16, String>| async move {
                    drop(status);
                    Ok(())
                })
                .await;
            Ok(started)
        }));
        assert_eq!(result.unwrap(), Err(StartError::NotStarted));
    }
}

on_each_executor! {
    fn a_child_failing_after_started_aborts_the_group(ex) {
        let log = Log::default();
        let (send, receive) = oneshot::channel::<()>();
        let result: Result<(), _> = ex.block_on(TaskGroup::run(async |tg| {
            let port = tg
                .start(|status| async {
                    status.started(8080u16);
                    receive.await.unwrap();
                    Err::<(), _>("crashed".to_owned())
                })
                .await;
            assert_eq!(port, Ok(8080));
            send.send(()).unwrap();
            let _body = DropLog(&log, "body");
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["crashed"]);
        assert_eq!(entries(&log), ["drop body"]);
    }
}
