//! `TaskGroup::on(&spawner)`: the rules of `docs/semantics.md#taskgroup-on-many-cores`, each
//! run on three multi-thread executors with 2 threads: tokio's multi-thread runtime,
//! async-executor's `Executor` run by two threads, and futures' `ThreadPool`.
//!
//! The group's future runs on the test's thread (`block_on`); its children run on the
//! executor's threads. Nothing sleeps: events are ordered with channels, done-callbacks and
//! rendezvous between children, whose waits time out only to turn a hang into a failure.

use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use aiokit::spawn::SpawnFuture;
use aiokit::{CancelledError, Spawn, Task, TaskGroup};
use futures::channel::oneshot;

/// How long a blocked child waits for its partner before the test fails (a hang otherwise).
const PATIENCE: Duration = Duration::from_secs(60);

/// A multi-thread executor with 2 threads, as the scenarios see it.
trait Pool {
    type Spawner: Spawn + Sync;
    fn spawner(&self) -> &Self::Spawner;
    /// The same executor, as a spawner a `'static` future can own.
    fn shared_spawner(&self) -> Arc<dyn Spawn + Send + Sync>;
    /// Runs `fut` on the test's thread.
    fn block_on<F: Future>(&self, fut: F) -> F::Output;
}

struct Tokio(tokio::runtime::Runtime);

impl Pool for Tokio {
    type Spawner = tokio::runtime::Runtime;
    fn spawner(&self) -> &tokio::runtime::Runtime {
        &self.0
    }
    fn shared_spawner(&self) -> Arc<dyn Spawn + Send + Sync> {
        Arc::new(self.0.handle().clone())
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.0.block_on(fut)
    }
}

/// async-executor's `Executor`, run by two threads until the pool is dropped.
struct AsyncExecutor {
    ex: Arc<async_executor::Executor<'static>>,
    /// Dropped to stop the executor's threads (it ends their `run`).
    stop: Option<oneshot::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Pool for AsyncExecutor {
    type Spawner = async_executor::Executor<'static>;
    fn spawner(&self) -> &async_executor::Executor<'static> {
        &self.ex
    }
    fn shared_spawner(&self) -> Arc<dyn Spawn + Send + Sync> {
        self.ex.clone()
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        futures::executor::block_on(fut)
    }
}

impl Drop for AsyncExecutor {
    fn drop(&mut self) {
        drop(self.stop.take());
        for thread in self.threads.drain(..) {
            thread.join().unwrap();
        }
    }
}

struct ThreadPool(futures_executor::ThreadPool);

impl Pool for ThreadPool {
    type Spawner = futures_executor::ThreadPool;
    fn spawner(&self) -> &futures_executor::ThreadPool {
        &self.0
    }
    fn shared_spawner(&self) -> Arc<dyn Spawn + Send + Sync> {
        Arc::new(self.0.clone())
    }
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        futures::executor::block_on(fut)
    }
}

fn tokio_pool() -> Tokio {
    Tokio(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    )
}

fn async_executor_pool() -> AsyncExecutor {
    let ex = Arc::new(async_executor::Executor::new());
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = futures::future::FutureExt::shared(stopped);
    let threads = (0..2)
        .map(|_| {
            let ex = ex.clone();
            let stopped = stopped.clone();
            thread::spawn(move || {
                let _ = futures_lite::future::block_on(ex.run(stopped));
            })
        })
        .collect();
    AsyncExecutor {
        ex,
        stop: Some(stop),
        threads,
    }
}

fn thread_pool() -> ThreadPool {
    ThreadPool(
        futures_executor::ThreadPool::builder()
            .pool_size(2)
            .create()
            .unwrap(),
    )
}

/// Turns `fn rule<P: Pool>(pool: &P)` into `mod rule` with one test per executor.
macro_rules! on_each_pool {
    ($rule:ident) => {
        mod $rule {
            #[test]
            fn tokio_multi_thread_2_workers() {
                super::$rule(&super::tokio_pool());
            }

            #[test]
            fn async_executor_2_threads() {
                super::$rule(&super::async_executor_pool());
            }

            #[test]
            fn futures_thread_pool_2_threads() {
                super::$rule(&super::thread_pool());
            }
        }
    };
}

type Ledger = Arc<Mutex<Vec<&'static str>>>;

fn entries(ledger: &Ledger) -> Vec<&'static str> {
    ledger.lock().unwrap().clone()
}

/// Writes `.1` to the ledger when dropped: shows that a child or the body was cancelled.
struct OnDrop(Ledger, &'static str);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(self.1);
    }
}

/// A two-party rendezvous that fails the test instead of hanging when the other party never
/// comes (std's `Barrier` has no timeout).
#[derive(Default)]
struct Rendezvous {
    arrived: Mutex<usize>,
    all: Condvar,
}

impl Rendezvous {
    fn wait(&self) {
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        self.all.notify_all();
        let (arrived, timeout) = self
            .all
            .wait_timeout_while(arrived, PATIENCE, |arrived| *arrived < 2)
            .unwrap();
        drop(arrived);
        assert!(
            !timeout.timed_out(),
            "the other child never ran at the same time"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#children-run-in-parallel-on-the-executors-threads

/// Two children pass a two-party rendezvous only if both run at the same time, on two threads:
/// polled in place, one would wait forever for the other.
fn children_run_in_parallel_on_the_executors_threads<P: Pool>(pool: &P) {
    let rendezvous = Arc::new(Rendezvous::default());
    let threads = pool.block_on(TaskGroup::on(pool.spawner()).run_infallible(async |tg| {
        let both: Vec<Task<ThreadId>> = (0..2)
            .map(|_| {
                let rendezvous = rendezvous.clone();
                tg.spawn(async move {
                    rendezvous.wait();
                    thread::current().id()
                })
            })
            .collect();
        let mut threads = Vec::new();
        for child in both {
            threads.push(child.await.unwrap());
        }
        threads
    }));
    assert_ne!(threads[0], threads[1]);
    assert!(!threads.contains(&thread::current().id()));
}
on_each_pool!(children_run_in_parallel_on_the_executors_threads);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#the-first-child-failure-cancels-the-rest

/// A sibling parked on another thread is dropped, and so is the body, before `run` returns.
fn the_first_failure_cancels_siblings_running_on_other_threads<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let (started, sibling_started) = oneshot::channel::<ThreadId>();
    let mut sibling_thread = None;
    let result: Result<(), _> = pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
        let _body = OnDrop(ledger.clone(), "body dropped");
        let guard = OnDrop(ledger.clone(), "sibling dropped");
        let sibling = tg.create_task(async move {
            let _guard = guard;
            started.send(thread::current().id()).unwrap();
            pending::<Result<(), &str>>().await
        });
        sibling_thread = Some(sibling_started.await.unwrap());
        tg.create_task(async { Err::<(), _>("no milk") });
        // Cancelled with the sibling (which it may see cancelled first: the abort runs on
        // another thread).
        let _ = sibling.clone().await;
        pending::<()>().await;
        Ok(())
    }));
    assert_eq!(result.unwrap_err().into_inner(), ["no milk"]);
    let mut dropped = entries(&ledger);
    dropped.sort_unstable();
    assert_eq!(dropped, ["body dropped", "sibling dropped"]);
    assert_ne!(sibling_thread, Some(thread::current().id()));
}
on_each_pool!(the_first_failure_cancels_siblings_running_on_other_threads);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#failures-race-on-many-threads

/// A child that fails on its first poll, then, when its future is dropped, blocks until the
/// other child's handle has ended. A child's handle ends (its outcome settled, so that a later
/// cancel cannot undo its failure) before its future is dropped and before the group records
/// the failure. Each of the two failing children waits here for the other, so neither failure
/// can cancel the other child: both must be reported.
struct FailThenAwaitOther {
    error: Option<String>,
    other_ended: mpsc::Receiver<()>,
}

impl Future for FailThenAwaitOther {
    type Output = Result<(), String>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), String>> {
        std::task::Poll::Ready(Err(self.error.take().expect("polled once")))
    }
}

impl Drop for FailThenAwaitOther {
    fn drop(&mut self) {
        self.other_ended
            .recv_timeout(PATIENCE)
            .expect("the other child's handle never ended");
    }
}

fn every_error_is_collected_from_children_failing_on_two_threads<P: Pool>(pool: &P) {
    let result: Result<(), _> = pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
        let (a_ended, a_waits) = mpsc::channel::<()>();
        let (b_ended, b_waits) = mpsc::channel::<()>();
        let a = tg.create_task(FailThenAwaitOther {
            error: Some(String::from("a")),
            other_ended: b_waits,
        });
        let b = tg.create_task(FailThenAwaitOther {
            error: Some(String::from("b")),
            other_ended: a_waits,
        });
        // Runs at once if the handle has ended already.
        a.add_done_callback(move |_: &Task<()>| a_ended.send(()).unwrap());
        b.add_done_callback(move |_: &Task<()>| b_ended.send(()).unwrap());
        Ok(())
    }));
    let errors = result.unwrap_err();
    let mut named: Vec<_> = errors
        .iter_named()
        .map(|(task, error)| (task.is_some(), error.clone()))
        .collect();
    named.sort_unstable();
    assert_eq!(
        named,
        [(true, String::from("a")), (true, String::from("b"))]
    );
}
on_each_pool!(every_error_is_collected_from_children_failing_on_two_threads);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#the-bodys-error-comes-after-the-childrens

fn the_body_error_cancels_the_children_and_comes_last<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let result: Result<(), _> = pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
        let (started, child_started) = oneshot::channel::<()>();
        let guard = OnDrop(ledger.clone(), "child dropped");
        tg.create_task(async move {
            let _guard = guard;
            started.send(()).unwrap();
            pending::<Result<(), &str>>().await
        });
        child_started.await.unwrap();
        Err("no cup")
    }));
    assert_eq!(result.unwrap_err().into_inner(), ["no cup"]);
    assert_eq!(entries(&ledger), ["child dropped"]);
}
on_each_pool!(the_body_error_cancels_the_children_and_comes_last);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#a-panic-cancels-everything-then-resumes

fn a_panic_in_a_child_propagates_after_the_siblings_end<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
            let _body = OnDrop(ledger.clone(), "body dropped");
            let (started, sibling_started) = oneshot::channel::<()>();
            let guard = OnDrop(ledger.clone(), "sibling dropped");
            tg.create_task(async move {
                let _guard = guard;
                started.send(()).unwrap();
                pending::<Result<(), ()>>().await
            });
            sibling_started.await.unwrap();
            let boom = tg.create_task(async {
                std::panic::panic_any("boom");
                #[allow(unreachable_code)]
                Ok(())
            });
            let _ = boom.await;
            pending::<()>().await;
            Ok(())
        }))
    }));
    let payload = caught.expect_err("the child's panic is resumed by run");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    let mut dropped = entries(&ledger);
    dropped.sort_unstable();
    assert_eq!(dropped, ["body dropped", "sibling dropped"]);
}
on_each_pool!(a_panic_in_a_child_propagates_after_the_siblings_end);

fn a_panic_in_the_body_propagates_after_the_children_end<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
            let (started, child_started) = oneshot::channel::<()>();
            let guard = OnDrop(ledger.clone(), "child dropped");
            tg.create_task(async move {
                let _guard = guard;
                started.send(()).unwrap();
                pending::<Result<(), ()>>().await
            });
            child_started.await.unwrap();
            std::panic::panic_any("body boom");
            #[allow(unreachable_code)]
            Ok::<(), ()>(())
        }))
    }));
    let payload = caught.expect_err("the body's panic is resumed by run");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"body boom"));
    assert_eq!(entries(&ledger), ["child dropped"]);
}
on_each_pool!(a_panic_in_the_body_propagates_after_the_children_end);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#nothing-outlives-run

/// The future of `run` is dropped while one child is parked and another is in the middle of a
/// poll on an executor thread: the drop returns only after both futures were dropped, the busy
/// one once its poll returned.
fn dropping_run_cancels_every_child_and_waits_for_it<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let (body_dropped, release_when_body_dropped) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    // Releases the busy child once the drop of `run` has begun (it drops the body first).
    let releaser = thread::spawn(move || {
        release_when_body_dropped
            .recv_timeout(PATIENCE)
            .expect("the body was dropped");
        release.send(()).unwrap();
    });

    struct SendOnDrop(mpsc::Sender<()>);
    impl Drop for SendOnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    let (all_started, all_started_rx) = oneshot::channel::<()>();
    let group = TaskGroup::on(pool.spawner()).run(async |tg| {
        let _body = SendOnDrop(body_dropped);
        let (idle_started, idle_started_rx) = oneshot::channel::<()>();
        let (busy_started, busy_started_rx) = oneshot::channel::<()>();
        let guard = OnDrop(ledger.clone(), "idle dropped");
        tg.create_task(async move {
            let _guard = guard;
            idle_started.send(()).unwrap();
            pending::<Result<(), ()>>().await
        });
        let guard = OnDrop(ledger.clone(), "busy dropped");
        let log = ledger.clone();
        tg.create_task(async move {
            let _guard = guard;
            busy_started.send(()).unwrap();
            // In the middle of a poll, on an executor thread, until the drop has begun.
            released.recv_timeout(PATIENCE).expect("released");
            log.lock().unwrap().push("busy poll returned");
            pending::<Result<(), ()>>().await
        });
        idle_started_rx.await.unwrap();
        busy_started_rx.await.unwrap();
        all_started.send(()).unwrap();
        pending::<()>().await;
        Ok(())
    });
    let mut group = Box::pin(group);
    pool.block_on(async {
        match futures::future::select(group.as_mut(), all_started_rx).await {
            futures::future::Either::Right((started, _)) => started.unwrap(),
            futures::future::Either::Left(_) => unreachable!("the body never returns"),
        }
    });
    drop(group);
    let ledger = entries(&ledger);
    assert_eq!(ledger.len(), 3, "{ledger:?}");
    assert!(ledger.contains(&"idle dropped"));
    let returned = ledger.iter().position(|e| *e == "busy poll returned");
    let dropped = ledger.iter().position(|e| *e == "busy dropped");
    assert!(returned < dropped, "{ledger:?}");
    releaser.join().unwrap();
}
on_each_pool!(dropping_run_cancels_every_child_and_waits_for_it);

/// The future of `run` is itself a task of the executor, cancelled there: its drop, on an
/// executor thread, ends every child without needing that executor to run anything.
fn dropping_run_on_an_executor_thread_ends_every_child<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let spawner = pool.shared_spawner();
    let (all_started, all_started_rx) = oneshot::channel::<()>();
    let log = ledger.clone();
    let group = aiokit::spawn_task(pool.spawner(), async move {
        TaskGroup::on(&spawner)
            .run(async |tg| {
                let _body = OnDrop(log.clone(), "body dropped");
                for name in ["first dropped", "second dropped"] {
                    let guard = OnDrop(log.clone(), name);
                    let (started, child_started) = oneshot::channel::<()>();
                    tg.create_task(async move {
                        let _guard = guard;
                        started.send(()).unwrap();
                        pending::<Result<(), ()>>().await
                    });
                    child_started.await.unwrap();
                }
                all_started.send(()).unwrap();
                pending::<()>().await;
                Ok(())
            })
            .await
    });
    pool.block_on(all_started_rx).unwrap();
    assert!(group.cancel());
    // The task ends once the executor has dropped its future: the group's drop has returned.
    assert_eq!(
        pool.block_on(aiokit::shield(&group)),
        Err(CancelledError::new())
    );
    let mut dropped = entries(&ledger);
    dropped.sort_unstable();
    assert_eq!(dropped, ["body dropped", "first dropped", "second dropped"]);
}
on_each_pool!(dropping_run_on_an_executor_thread_ends_every_child);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#a-child-cancelled-on-its-own-is-not-a-failure

fn a_child_cancelled_through_its_handle_is_not_a_failure<P: Pool>(pool: &P) {
    let result = pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
        let (started, child_started) = oneshot::channel::<()>();
        let child = tg.create_task(async move {
            started.send(()).unwrap();
            pending::<Result<(), String>>().await
        });
        child_started.await.unwrap();
        assert!(child.cancel());
        assert_eq!(aiokit::shield(&child).await, Err(CancelledError::new()));
        let sibling = tg.create_task(async { Ok(5) });
        Ok(sibling.await.unwrap())
    }));
    assert_eq!(result, Ok(5));
}
on_each_pool!(a_child_cancelled_through_its_handle_is_not_a_failure);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#create_task-while-aborting-is-refused

fn create_task_while_aborting_is_refused<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let mut refused = None;
    let result: Result<(), _> = pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
        tg.create_task(async { Err::<(), _>("no milk") });
        // In the body's poll, until the failure on an executor thread aborts the group.
        while tg.is_open() {
            thread::yield_now();
        }
        let guard = OnDrop(ledger.clone(), "refused dropped");
        let late = tg.create_task(async move {
            let _guard = guard;
            Ok(())
        });
        assert!(late.cancelled());
        refused = Some(late);
        Ok(())
    }));
    assert_eq!(result.unwrap_err().into_inner(), ["no milk"]);
    assert_eq!(entries(&ledger), ["refused dropped"]);
    assert!(refused.unwrap().cancelled());
}
on_each_pool!(create_task_while_aborting_is_refused);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#nothing-outlives-run

/// An executor that drops a child without polling it (here, one that refuses every future)
/// ends it cancelled; that is not a failure.
mod a_child_the_executor_drops_unpolled_ends_cancelled {
    use super::*;

    #[test]
    fn refusing_spawner() {
        let ledger = Ledger::default();
        let refuse = |fut: SpawnFuture| drop(fut);
        let result = futures::executor::block_on(TaskGroup::on(&refuse).run(async |tg| {
            let guard = OnDrop(ledger.clone(), "child dropped");
            let child = tg.create_task(async move {
                let _guard = guard;
                Ok::<_, ()>(1)
            });
            Ok(child.await)
        }));
        assert_eq!(result, Ok(Err(CancelledError::new())));
        assert_eq!(entries(&ledger), ["child dropped"]);
    }
}

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#early-exit-and-add_task-on-many-cores

/// `cancel()` from the body drops the body and every child, wherever it runs, before
/// `run_cancellable` returns `Ok(None)`; the group refuses children from then on.
fn cancel_on_many_cores_drops_every_child_and_returns_none<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let mut handles: Vec<Task<()>> = Vec::new();
    let mut refused = None;
    let ended = pool.block_on(TaskGroup::on(pool.spawner()).run_cancellable(async |tg| {
        let _body = OnDrop(ledger.clone(), "body dropped");
        let mut started = Vec::new();
        for name in ["a dropped", "b dropped"] {
            let (ready, is_ready) = oneshot::channel::<()>();
            started.push(is_ready);
            let guard = OnDrop(ledger.clone(), name);
            handles.push(tg.create_task(async move {
                let _guard = guard;
                ready.send(()).unwrap();
                pending::<Result<(), &str>>().await
            }));
        }
        for is_ready in started {
            is_ready.await.unwrap(); // both children run on the executor
        }
        assert!(tg.cancel());
        assert!(!tg.cancel() && tg.is_cancelled() && !tg.is_open());
        let late = tg.create_task(async { Ok(()) });
        assert!(late.cancelled());
        refused = Some(late);
        pending::<()>().await;
        Ok("never")
    }));
    assert_eq!(ended, Ok(None));
    let mut dropped = entries(&ledger);
    dropped.sort_unstable();
    assert_eq!(dropped, ["a dropped", "b dropped", "body dropped"]);
    assert!(handles.iter().all(Task::cancelled));
    assert!(refused.unwrap().cancelled());
}
on_each_pool!(cancel_on_many_cores_drops_every_child_and_returns_none);

/// A failure the group recorded before the cancel wins: `cancel` returns false, and the
/// result holds the error. A cancel after the body returned keeps its value.
fn a_failure_before_the_cancel_wins_on_many_cores<P: Pool>(pool: &P) {
    let result = pool.block_on(TaskGroup::on(pool.spawner()).run_cancellable(async |tg| {
        tg.create_task(async { Err::<(), _>("no milk") });
        // In the body's poll, until the failure on an executor thread aborts the group.
        while tg.is_open() {
            thread::yield_now();
        }
        assert!(!tg.cancel() && !tg.is_cancelled());
        Ok(())
    }));
    assert_eq!(result.unwrap_err().into_inner(), ["no milk"]);

    let kept = pool.block_on(TaskGroup::on(pool.spawner()).run_cancellable(async |tg| {
        assert!(tg.cancel());
        Ok::<_, ()>(7) // returned in the very poll that cancelled
    }));
    assert_eq!(kept, Ok(Some(7)));
}
on_each_pool!(a_failure_before_the_cancel_wins_on_many_cores);

/// `add_task` spawns children without handles: each runs, and an `Err` still aborts the group.
fn add_task_on_many_cores_runs_children_without_handles<P: Pool>(pool: &P) {
    let served = Arc::new(Mutex::new(0usize));
    let result = pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
        for _ in 0..200 {
            let served = served.clone();
            tg.add_task(async move {
                *served.lock().unwrap() += 1;
                Ok::<_, &str>(())
            });
        }
        Ok(())
    }));
    assert_eq!(result, Ok(()));
    assert_eq!(*served.lock().unwrap(), 200);

    let failed: Result<(), _> = pool.block_on(TaskGroup::on(pool.spawner()).run(async |tg| {
        tg.add_task(async { Err::<(), _>("no milk") });
        pending::<()>().await;
        Ok(())
    }));
    assert_eq!(failed.unwrap_err().into_inner(), ["no milk"]);
}
on_each_pool!(add_task_on_many_cores_runs_children_without_handles);

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#supervision-on-many-cores

/// A child's failure on an executor thread cancels neither its siblings nor the body: the
/// handler sees each failure once, on the thread that awaits the group, in the order of
/// `failures` (a child's handle ends before the group records its failure, so two failures
/// may be recorded in either order), and the result keeps them.
fn supervision_on_many_cores_cancels_nothing_and_reports_each_failure<P: Pool>(pool: &P) {
    let awaiting = thread::current().id();
    let mut seen = Vec::new();
    let ended = pool.block_on(TaskGroup::on(pool.spawner()).supervise(
        |task, error: &&str| seen.push((task.to_string(), *error, thread::current().id())),
        async |tg| {
            let (release, released) = oneshot::channel::<()>();
            let sibling = tg.create_task(async move {
                released.await.unwrap(); // sent once both children have failed
                Ok("tea")
            });
            for name in ["first", "second"] {
                let failing = tg.create_task(async move { Err::<(), _>(name) });
                // Its error is in the result: its handle ends cancelled.
                assert_eq!(failing.await, Err(CancelledError::new()));
            }
            release.send(()).unwrap();
            Ok(sibling.await.unwrap())
        },
    ));
    assert_eq!(ended.body, Ok("tea"));
    let mut errors: Vec<&str> = ended.failures.iter().map(|(_, error)| *error).collect();
    let in_handler: Vec<(String, &str, ThreadId)> = ended
        .failures
        .iter()
        .map(|(task, error)| (task.clone(), *error, awaiting))
        .collect();
    assert_eq!(seen, in_handler);
    errors.sort_unstable();
    assert_eq!(errors, ["first", "second"]);
}
on_each_pool!(supervision_on_many_cores_cancels_nothing_and_reports_each_failure);

/// The body's `Err` still cancels every child, wherever it runs.
fn supervision_on_many_cores_the_body_error_cancels_everything<P: Pool>(pool: &P) {
    let ledger = Ledger::default();
    let ended = pool.block_on(TaskGroup::on(pool.spawner()).supervise(
        |_, _: &&str| {},
        async |tg| {
            let (started, child_started) = oneshot::channel::<()>();
            let guard = OnDrop(ledger.clone(), "child dropped");
            tg.create_task(async move {
                let _guard = guard;
                started.send(()).unwrap();
                pending::<Result<(), &str>>().await
            });
            child_started.await.unwrap();
            Err::<(), _>("body")
        },
    ));
    assert_eq!(ended.body, Err("body"));
    assert!(ended.failures.is_empty());
    assert_eq!(entries(&ledger), ["child dropped"]);
}
on_each_pool!(supervision_on_many_cores_the_body_error_cancels_everything);
