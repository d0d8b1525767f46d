//! `LocalTaskGroup::start`, Trio's `nursery.start` for a local group: the rules of
//! `docs/semantics.md#start-the-ready-handshake`, with children and values that are not `Send`,
//! each run on every executor of the tests crate's shared list.

use std::cell::RefCell;
use std::future::pending;
use std::rc::Rc;

use aiokit::LocalTaskGroup;
use aiokit::task::{StartError, TaskStatus};
use futures::channel::oneshot;

use aiokit_tests::on_each_executor;

type Log = Rc<RefCell<Vec<String>>>;

fn push(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

on_each_executor! {
    fn local_start_returns_the_value_given_to_started_and_the_child_goes_on(ex) {
        let log = Log::default();
        let (send, receive) = oneshot::channel::<u16>();
        let result = ex.block_on(LocalTaskGroup::run(async |tg| {
            let port = tg
                .start(|status| async {
                    push(&log, "binding");
                    status.started(Rc::new(8080));
                    let request = receive.await.unwrap();
                    push(&log, format!("served {request}"));
                    Ok::<_, Rc<str>>(())
                })
                .await;
            push(&log, "start returned");
            send.send(1).unwrap();
            Ok(*port.unwrap())
        }));
        assert_eq!(result.unwrap(), 8080);
        assert_eq!(*log.borrow(), ["binding", "start returned", "served 1"]);
    }
}

on_each_executor! {
    fn local_start_a_child_failing_before_started_fails_the_call_not_the_group(ex) {
        let log = Log::default();
        let (release, wait) = oneshot::channel::<()>();
        let result = ex.block_on(LocalTaskGroup::run(async |tg| {
            tg.create_task(async {
                wait.await.unwrap();
                push(&log, "sibling finished");
                Ok(())
            });
            let started = tg
                .start(|_status: TaskStatus<u16, Rc<str>>| async {
                    Err::<(), _>(Rc::from("port in use"))
                })
                .await;
            release.send(()).unwrap();
            Ok(started)
        }));
        assert_eq!(
            result.unwrap(),
            Err(StartError::Failed(Rc::from("port in use")))
        );
        assert_eq!(*log.borrow(), ["sibling finished"]);
    }
}

on_each_executor! {
    fn local_start_a_child_ending_without_started_gives_not_started(ex) {
        let result = ex.block_on(LocalTaskGroup::run(async |tg| {
            let started = tg
                .start(|status: TaskStatus<Rc<u16>, ()>| async move {
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
    fn local_start_a_child_failing_after_started_aborts_the_group(ex) {
        let (send, receive) = oneshot::channel::<()>();
        let result: Result<(), _> = ex.block_on(LocalTaskGroup::run(async |tg| {
            let port = tg
                .start(|status| async {
                    status.started(8080u16);
                    receive.await.unwrap();
                    Err::<(), _>(Rc::new("crashed"))
                })
                .await;
            assert_eq!(port, Ok(8080));
            send.send(()).unwrap();
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(*result.unwrap_err().into_inner()[0], "crashed");
    }
}
