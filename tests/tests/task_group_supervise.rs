//! Supervising groups (`TaskGroup::supervise`, Kotlin's `supervisorScope`): every rule of
//! `docs/semantics.md#supervision`, each run on every executor of the tests crate's shared
//! list. Nothing sleeps: ordering is driven by channels.

use std::cell::RefCell;
use std::future::pending;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Mutex;

use aiokit::{LocalTaskGroup, Task, TaskGroup};
use futures::channel::oneshot;

use aiokit_tests::on_each_executor;

type Log = Mutex<Vec<String>>;

fn push(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Pushes `"drop NAME"` when dropped.
struct DropLog<'a>(&'a Log, &'static str);

impl Drop for DropLog<'_> {
    fn drop(&mut self) {
        push(self.0, format!("drop {}", self.1));
    }
}

fn child_panics() -> Result<(), ()> {
    panic!("child panics")
}

// docs/semantics.md#supervision
// A child's failure cancels neither its siblings nor the body: it is handed to the handler and
// kept in the result, and the group goes on.

on_each_executor! {
    fn a_child_failure_cancels_nothing_and_is_reported(ex) {
        let log = Log::default();
        let (after, after_rx) = oneshot::channel::<()>();
        let mut failed: Option<Task<()>> = None;
        let ended = ex.block_on(TaskGroup::supervise(
            |task, error: &String| push(&log, format!("handler {task}: {error}")),
            async |tg| {
                let failing = tg.create_task(async { Err::<(), _>("boom".to_string()) });
                failing.set_name("failing");
                failed = Some(failing);
                let sibling = tg.create_task(async {
                    after_rx.await.unwrap(); // sent once the failure was seen
                    push(&log, "sibling goes on");
                    Ok("tea")
                });
                while !failed.as_ref().unwrap().done() {
                    futures_lite::future::yield_now().await;
                }
                push(&log, "body goes on");
                after.send(()).unwrap();
                Ok(sibling.await.unwrap())
            },
        ));
        assert_eq!(ended.body, Ok("tea"));
        assert_eq!(ended.failures, [("failing".to_string(), "boom".to_string())]);
        assert_eq!(
            entries(&log),
            ["handler failing: boom", "body goes on", "sibling goes on"]
        );
        // Its error is in the result: its handle ends cancelled, as in any group.
        assert!(failed.unwrap().cancelled());
    }
}

// The handler is called once per failure, in the order the children failed, before the group
// returns.

on_each_executor! {
    fn the_handler_sees_each_failure_once_in_order(ex) {
        let seen = Mutex::new(Vec::new());
        let ended = ex.block_on(TaskGroup::supervise(
            |_, error: &u32| seen.lock().unwrap().push(*error),
            async |tg| {
                let mut releases = Vec::new();
                let mut handles = Vec::new();
                for n in [3u32, 1, 4, 0, 2] {
                    let (release, released) = oneshot::channel::<()>();
                    releases.push((n, release));
                    handles.push((n, tg.create_task(async move {
                        released.await.unwrap();
                        Err::<(), _>(n)
                    })));
                }
                // Released in the order 0..5, each once the one before it has failed.
                releases.sort_by_key(|(n, _)| *n);
                handles.sort_by_key(|(n, _)| *n);
                for ((_, release), (_, handle)) in releases.into_iter().zip(&handles) {
                    release.send(()).unwrap();
                    while !handle.done() {
                        futures_lite::future::yield_now().await;
                    }
                }
                Ok(())
            },
        ));
        assert_eq!(ended.body, Ok(()));
        let failures: Vec<u32> = ended.failures.iter().map(|(_, e)| *e).collect();
        assert_eq!(failures, [0, 1, 2, 3, 4]);
        assert_eq!(*seen.lock().unwrap(), [0, 1, 2, 3, 4]);
    }
}

// The body's failure still cancels everything: every child still running is dropped, and the
// result holds the body's error beside the children's earlier failures.

on_each_executor! {
    fn the_body_failure_still_cancels_everything(ex) {
        let log = Log::default();
        let mut handles = Vec::new();
        let ended = ex.block_on(TaskGroup::supervise(
            |_, _: &&str| {},
            async |tg| {
                for name in ["a", "b"] {
                    let log = &log;
                    handles.push(tg.create_task(async move {
                        let _guard = DropLog(log, name);
                        pending::<Result<(), &str>>().await
                    }));
                }
                let failing = tg.create_task(async { Err::<(), _>("child") });
                while !failing.done() {
                    futures_lite::future::yield_now().await;
                }
                Err::<(), _>("body")
            },
        ));
        assert_eq!(ended.body, Err("body"));
        assert_eq!(ended.failures.len(), 1);
        let mut dropped = entries(&log);
        dropped.sort();
        assert_eq!(dropped, ["drop a", "drop b"]);
        assert!(handles.iter().all(Task::cancelled));
        assert_eq!(
            ended.into_result().unwrap_err().into_inner(),
            ["child", "body"]
        );
    }
}

// A panic still propagates: every child is dropped, then the panic is resumed.

on_each_executor! {
    fn a_panic_still_propagates(ex) {
        let log = Log::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::supervise(|_, _: &()| {}, async |tg| {
                let log = &log;
                tg.create_task(async move {
                    let _guard = DropLog(log, "sibling");
                    pending::<Result<(), ()>>().await
                });
                tg.create_task(async { child_panics() });
                pending::<()>().await;
                Ok(())
            }))
        }));
        assert!(caught.is_err());
        assert_eq!(entries(&log), ["drop sibling"]);
    }
}

// The handler runs with no lock of the group held: it may use the group's handles (cancel a
// sibling: a cancellation, not a failure) and may panic, which drops everything.

on_each_executor! {
    fn the_handler_runs_outside_the_group_and_may_cancel_a_sibling(ex) {
        let sibling: Mutex<Option<Task<()>>> = Mutex::new(None);
        let ended = ex.block_on(TaskGroup::supervise(
            |_, _: &&str| {
                let sibling = sibling.lock().unwrap();
                assert!(sibling.as_ref().unwrap().cancel());
            },
            async |tg| {
                *sibling.lock().unwrap() = Some(tg.create_task(pending()));
                tg.create_task(async { Err::<(), _>("boom") });
                Ok(())
            },
        ));
        assert_eq!(ended.body, Ok(()));
        assert_eq!(ended.failures.len(), 1);
        assert!(sibling.lock().unwrap().as_ref().unwrap().cancelled());
    }
}

on_each_executor! {
    fn a_handler_panic_drops_everything_and_propagates(ex) {
        let log = Log::default();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            ex.block_on(TaskGroup::supervise(
                |_, _: &&str| panic!("handler panics"),
                async |tg| {
                    let _body = DropLog(&log, "body");
                    let log = &log;
                    tg.create_task(async move {
                        let _guard = DropLog(log, "sibling");
                        pending::<Result<(), &str>>().await
                    });
                    tg.create_task(async { Err::<(), _>("boom") });
                    pending::<()>().await;
                    Ok(())
                },
            ))
        }));
        assert!(caught.is_err());
        let mut dropped = entries(&log);
        dropped.sort();
        assert_eq!(dropped, ["drop body", "drop sibling"]);
    }
}

// The same for a LocalTaskGroup.

on_each_executor! {
    fn a_local_group_can_supervise(ex) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let ended = ex.block_on(LocalTaskGroup::supervise(
            |task, error: &Rc<&str>| seen.borrow_mut().push(format!("{task} {error}")),
            async |tg| {
                let bad = tg.create_task(async { Err::<(), _>(Rc::new("bad")) });
                bad.set_name("worker");
                let good = tg.create_task(async { Ok(Rc::new(2)) });
                Ok(*good.await.unwrap())
            },
        ));
        assert_eq!(ended.body, Ok(2));
        assert_eq!(*seen.borrow(), ["worker bad"]);
    }
}

// docs/semantics.md#a-supervising-group-that-can-be-cancelled
// `supervise_cancellable`: a supervising group whose body gets a `Cancellable` group. A cancel
// from the body drops every child and the body; the result's body is `Ok(None)`.

on_each_executor! {
    fn cancel_from_a_supervised_body_drops_everything_and_returns_none(ex) {
        let log = Log::default();
        let mut handles: Vec<Task<()>> = Vec::new();
        let ended = ex.block_on(TaskGroup::supervise_cancellable(
            |_, _: &&str| {},
            async |tg| {
                let _body = DropLog(&log, "body");
                for name in ["a", "b"] {
                    let log = &log;
                    handles.push(tg.create_task(async move {
                        let _guard = DropLog(log, name);
                        pending::<Result<(), &str>>().await
                    }));
                }
                futures_lite::future::yield_now().await; // both children are running
                assert!(tg.cancel());
                pending::<()>().await;
                Ok("never")
            },
        ));
        assert_eq!(ended.body, Ok(None));
        assert!(ended.failures.is_empty());
        let mut dropped = entries(&log);
        dropped.sort();
        assert_eq!(dropped, ["drop a", "drop b", "drop body"]);
        assert!(handles.iter().all(Task::cancelled));
    }
}

// A cancel from a child ends the group the same way: its siblings and the body are dropped, and
// the child itself is not polled again.

on_each_executor! {
    fn cancel_from_a_supervised_child_drops_its_siblings_and_the_body(ex) {
        let log = Log::default();
        let (go, going) = oneshot::channel::<()>();
        let ended = ex.block_on(TaskGroup::supervise_cancellable(
            |_, _: &&str| {},
            async |tg| {
                let _body = DropLog(&log, "body");
                let log = &log;
                tg.create_task(async move {
                    let _guard = DropLog(log, "sibling");
                    pending::<Result<(), &str>>().await
                });
                tg.create_task(async move {
                    let _guard = DropLog(log, "canceller");
                    going.await.unwrap();
                    assert!(tg.cancel());
                    push(log, "canceller polled again");
                    pending::<Result<(), &str>>().await
                });
                go.send(()).unwrap();
                pending::<()>().await;
                Ok(())
            },
        ));
        assert_eq!(ended.body, Ok(None));
        let mut dropped = entries(&log);
        dropped.sort();
        // "canceller polled again" is pushed in the poll that called `cancel`, which returns
        // Pending; the child is not polled after it.
        assert_eq!(
            dropped,
            ["canceller polled again", "drop body", "drop canceller", "drop sibling"]
        );
    }
}

// The failures seen before the cancel are kept in `failures` and were handed to the handler,
// in order; the group went on after each of them until the cancel.

on_each_executor! {
    fn failures_before_the_cancel_are_still_reported(ex) {
        let seen = Mutex::new(Vec::new());
        let ended = ex.block_on(TaskGroup::supervise_cancellable(
            |task, error: &&str| seen.lock().unwrap().push(format!("{task}: {error}")),
            async |tg| {
                let first = tg.create_task(async { Err::<(), _>("no milk") });
                first.set_name("first");
                let second = tg.create_task(async { Err::<(), _>("no cup") });
                second.set_name("second");
                // A failed child's handle ends cancelled (its error is in the result); the
                // failures cancel nothing, so the body goes on.
                assert!(first.await.is_err());
                assert!(second.await.is_err());
                tg.cancel();
                pending::<()>().await;
                Ok(())
            },
        ));
        assert_eq!(ended.body, Ok(None));
        assert_eq!(
            ended.failures,
            [("first".to_string(), "no milk"), ("second".to_string(), "no cup")]
        );
        assert_eq!(*seen.lock().unwrap(), ["first: no milk", "second: no cup"]);
        // As a `Result`: the children's errors, the cancel being no error.
        assert_eq!(
            ended.into_result().unwrap_err().into_inner(),
            ["no milk", "no cup"]
        );
    }
}

// A supervised group that is never cancelled gives `Ok(Some(value))`; a cancel after the body
// returned keeps its value; the body's `Err` still cancels every child.

on_each_executor! {
    fn a_supervised_cancellable_group_keeps_the_body_outcome(ex) {
        let returned = ex.block_on(TaskGroup::supervise_cancellable(
            |_, _: &()| {},
            async |tg| {
                tg.create_task(async { Err::<(), _>(()) });
                Ok(1)
            },
        ));
        assert_eq!((returned.body, returned.failures.len()), (Ok(Some(1)), 1));

        let (go, going) = oneshot::channel::<()>();
        let late = ex.block_on(TaskGroup::supervise_cancellable(
            |_, _: &()| {},
            async |tg| {
                tg.create_task(async move {
                    going.await.unwrap(); // sent once the body has returned
                    tg.cancel();
                    pending::<Result<(), ()>>().await
                });
                go.send(()).unwrap();
                Ok(2)
            },
        ));
        assert_eq!(late.body, Ok(Some(2)));

        let log = Log::default();
        let failed = ex.block_on(TaskGroup::supervise_cancellable(
            |_, _: &&str| {},
            async |tg| {
                let log = &log;
                tg.create_task(async move {
                    let _guard = DropLog(log, "child");
                    pending::<Result<(), &str>>().await
                });
                futures_lite::future::yield_now().await;
                Err::<(), _>("body")
            },
        ));
        assert_eq!(failed.body, Err("body"));
        assert_eq!(entries(&log), ["drop child"]);
    }
}

// The same for a LocalTaskGroup.

on_each_executor! {
    fn a_local_group_can_supervise_and_be_cancelled(ex) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let dropped = Rc::new(RefCell::new(false));
        let ended = ex.block_on(LocalTaskGroup::supervise_cancellable(
            |task, error: &Rc<&str>| seen.borrow_mut().push(format!("{task} {error}")),
            async |tg| {
                let bad = tg.create_task(async { Err::<(), _>(Rc::new("bad")) });
                bad.set_name("worker");
                let dropped = dropped.clone();
                tg.create_task(async move {
                    struct Flag(Rc<RefCell<bool>>);
                    impl Drop for Flag {
                        fn drop(&mut self) {
                            *self.0.borrow_mut() = true;
                        }
                    }
                    let _flag = Flag(dropped);
                    pending::<Result<(), Rc<&str>>>().await
                });
                assert!(bad.await.is_err());
                tg.cancel();
                pending::<()>().await;
                Ok(())
            },
        ));
        assert_eq!(ended.body, Ok(None));
        assert_eq!(*seen.borrow(), ["worker bad"]);
        assert!(*dropped.borrow());
    }
}
