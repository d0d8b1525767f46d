//! TaskGroup's early exit (`run_cancellable`, `Cancellable::cancel`): every rule of
//! `docs/semantics.md#early-exit-cancel`, each run on every executor of the tests crate's shared
//! list. Nothing sleeps: ordering is driven by channels and by the group's own passes.

use std::future::{Future, pending, poll_fn};
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aiokit::{LocalTaskGroup, Task, TaskGroup};
use futures::channel::oneshot;

use aiokit_tests::on_each_executor;

type Log = Mutex<Vec<String>>;

fn push(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

fn sorted(log: &Log) -> Vec<String> {
    let mut entries = log.lock().unwrap().clone();
    entries.sort();
    entries
}

/// Pushes `"drop NAME"` when dropped: the drop ledger.
struct DropLog<'a>(&'a Log, &'static str);

impl Drop for DropLog<'_> {
    fn drop(&mut self) {
        push(self.0, format!("drop {}", self.1));
    }
}

/// `fut`, counting its polls in `polls`.
fn counted<'a, F: Future + 'a>(
    polls: &'a AtomicUsize,
    fut: F,
) -> impl Future<Output = F::Output> + 'a {
    let mut fut = Box::pin(fut);
    poll_fn(move |cx| {
        polls.fetch_add(1, Ordering::SeqCst);
        fut.as_mut().poll(cx)
    })
}

// docs/semantics.md#early-exit-cancel
// `cancel()` from the body ends the group at once, without an error: every child and the body
// are dropped, each handle ends cancelled, and `run_cancellable` returns `Ok(None)`.

on_each_executor! {
    fn cancel_from_the_body_drops_everything_and_returns_none(ex) {
        let log = Log::default();
        let mut handles: Vec<Task<()>> = Vec::new();
        let result = ex.block_on(TaskGroup::run_cancellable(async |tg| {
            let _body = DropLog(&log, "body");
            for name in ["a", "b"] {
                let log = &log;
                handles.push(tg.create_task(async move {
                    let _guard = DropLog(log, name);
                    pending::<Result<(), String>>().await
                }));
            }
            futures_lite::future::yield_now().await; // the children start
            assert!(tg.cancel());
            push(&log, "cancelled");
            pending::<()>().await;
            Ok::<u8, String>(1)
        }));
        assert_eq!(result, Ok(None));
        assert_eq!(sorted(&log), ["cancelled", "drop a", "drop b", "drop body"]);
        assert!(handles.iter().all(Task::cancelled));
    }
}

// `cancel()` from a child ends the group the same way: its siblings and the body are dropped.

on_each_executor! {
    fn cancel_from_a_child_drops_its_siblings_and_the_body(ex) {
        let log = Log::default();
        let (go, going) = oneshot::channel::<()>();
        let mut handles: Vec<Task<()>> = Vec::new();
        let result = ex.block_on(TaskGroup::run_cancellable(async |tg| {
            let _body = DropLog(&log, "body");
            let log = &log;
            handles.push(tg.create_task(async move {
                let _guard = DropLog(log, "sibling");
                pending::<Result<(), String>>().await
            }));
            handles.push(tg.create_task(async move {
                let _guard = DropLog(log, "canceller");
                going.await.unwrap();
                assert!(tg.cancel());
                pending::<Result<(), String>>().await
            }));
            go.send(()).unwrap();
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result, Ok(None));
        assert_eq!(sorted(&log), ["drop body", "drop canceller", "drop sibling"]);
        assert!(handles.iter().all(Task::cancelled));
    }
}

// Cancelling twice (or from two places) is harmless: the first call ends the group, the later
// ones return false and change nothing.

on_each_executor! {
    fn cancel_is_idempotent(ex) {
        let calls = Mutex::new(Vec::new());
        let result = ex.block_on(TaskGroup::run_cancellable(async |tg| {
            let calls = &calls;
            calls.lock().unwrap().push(tg.cancel());
            calls.lock().unwrap().push(tg.cancel());
            // Refused: the group no longer takes children, so this one never calls `cancel`.
            let late = tg.create_task(async move {
                calls.lock().unwrap().push(tg.cancel());
                Ok::<_, ()>(())
            });
            assert!(late.cancelled());
            assert!(tg.is_cancelled() && !tg.is_open());
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result, Ok(None));
        assert_eq!(*calls.lock().unwrap(), [true, false]);
    }
}

// A failure before the cancel wins: the cancel does nothing and the group returns the errors.
// The two children run in the same pass, the failing one first.

on_each_executor! {
    fn a_failure_before_the_cancel_wins(ex) {
        let cancelled = Mutex::new(None);
        let result = ex.block_on(TaskGroup::run_cancellable(async |tg| {
            tg.create_task(async { Err::<(), _>("boom") });
            let cancelled = &cancelled;
            tg.create_task(async move {
                *cancelled.lock().unwrap() = Some(tg.cancel());
                Ok(())
            });
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result.unwrap_err().into_inner(), ["boom"]);
        // Polled in the same pass as the failure (siblings failing together are all
        // collected), and refused.
        assert_eq!(*cancelled.lock().unwrap(), Some(false));
    }
}

// A cancel before a failure wins: the child that would fail is never polled.

on_each_executor! {
    fn a_cancel_before_a_failure_wins(ex) {
        let polls = AtomicUsize::new(0);
        let result = ex.block_on(TaskGroup::run_cancellable(async |tg| {
            tg.create_task(async move {
                tg.cancel();
                Ok(())
            });
            tg.create_task(counted(&polls, async { Err::<(), _>("boom") }));
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result, Ok(None));
        assert_eq!(polls.load(Ordering::SeqCst), 0);
    }
}

// Nothing is polled after the cancel: not the siblings after the canceller in its pass, not the
// canceller again, not the body (even when woken).

on_each_executor! {
    fn nothing_is_polled_after_cancel(ex) {
        let (body_polls, canceller_polls, sibling_polls) =
            (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
        let (wake_body, body_woken) = oneshot::channel::<()>();
        let result = ex.block_on(TaskGroup::run_cancellable(async |tg| {
            counted(&body_polls, async {
                tg.create_task(counted(&canceller_polls, async move {
                    wake_body.send(()).unwrap(); // the body is woken: would be polled next pass
                    tg.cancel();
                    futures_lite::future::yield_now().await; // wakes itself
                    Ok::<_, ()>(())
                }));
                for _ in 0..20 {
                    // Twenty siblings: past the engine's direct mode too.
                    tg.create_task(counted(&sibling_polls, async { Ok(()) }));
                }
                body_woken.await.unwrap();
                unreachable!("the body is not polled after the cancel");
                #[allow(unreachable_code)]
                Ok::<(), ()>(())
            })
            .await
        }));
        assert_eq!(result, Ok(None));
        assert_eq!(body_polls.load(Ordering::SeqCst), 1);
        assert_eq!(canceller_polls.load(Ordering::SeqCst), 1);
        assert_eq!(sibling_polls.load(Ordering::SeqCst), 0);
    }
}

// Every child and the body are dropped exactly once, never-polled children (queued, or in the
// engine) included.

on_each_executor! {
    fn children_and_the_body_are_dropped_exactly_once(ex) {
        let log = Log::default();
        let result = ex.block_on(TaskGroup::run_cancellable(async |tg| {
            let _body = DropLog(&log, "body");
            let log = &log;
            tg.create_task(async move {
                let _guard = DropLog(log, "running");
                pending::<Result<(), ()>>().await
            });
            futures_lite::future::yield_now().await; // `running` was polled
            let unpolled = DropLog(log, "unpolled");
            tg.create_task(async move {
                let _guard = unpolled;
                pending::<Result<(), ()>>().await
            });
            tg.cancel();
            Ok(())
        }));
        // The body returned (its value is kept) in the poll that cancelled.
        assert_eq!(result, Ok(Some(())));
        assert_eq!(sorted(&log), ["drop body", "drop running", "drop unpolled"]);
    }
}

// A cancel after the body returned ends the children still running; the body's value is kept.

on_each_executor! {
    fn cancel_after_the_body_returned_keeps_its_value(ex) {
        let (go, going) = oneshot::channel::<()>();
        let mut late: Option<Task<()>> = None;
        let result = ex.block_on(TaskGroup::run_cancellable(async |tg| {
            tg.create_task(async move {
                going.await.unwrap();
                tg.cancel();
                Ok::<_, ()>(())
            });
            late = Some(tg.create_task(pending()));
            go.send(()).unwrap();
            Ok("tea")
        }));
        assert_eq!(result, Ok(Some("tea")));
        assert!(late.unwrap().cancelled());
    }
}

// The same for a LocalTaskGroup, whose children need not be `Send`.

on_each_executor! {
    fn a_local_group_can_be_cancelled(ex) {
        let dropped = Rc::new(AtomicUsize::new(0));
        let result = ex.block_on(LocalTaskGroup::run_cancellable(async |tg| {
            struct Count(Rc<AtomicUsize>);
            impl Drop for Count {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            for _ in 0..3 {
                let count = Count(dropped.clone());
                tg.create_task(async move {
                    let _count = count;
                    pending::<Result<(), ()>>().await
                });
            }
            let (go, going) = oneshot::channel::<()>();
            tg.create_task(async move {
                going.await.unwrap();
                tg.cancel();
                Ok(())
            });
            go.send(()).unwrap();
            pending::<()>().await;
            Ok(())
        }));
        assert_eq!(result, Ok(None));
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
    }
}
