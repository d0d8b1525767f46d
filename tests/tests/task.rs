//! Task handles (asyncio Future / Task): every rule of `docs/semantics.md#task-and-future`, each run on
//! every executor of the tests crate.
//!
//! `on_each_executor!` turns one scenario into a module named after the rule, with one test
//! per executor (`rule::tokio_current_thread`, `rule::futures_thread_pool`, ...). Ordering is
//! observed through logs and channels; nothing sleeps.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::{self, ThreadId};

use aiokit::{CancelledError, DoneCallback, Task, TaskStateError, shield};
use aiokit_tests::{Exec, on_each_executor};
use futures::channel::oneshot;

/// A task that stays pending until the returned sender fires.
fn gated<E: Exec, T: Send + Sync + 'static>(ex: &E, value: T) -> (Task<T>, oneshot::Sender<()>) {
    let (tx, rx) = oneshot::channel::<()>();
    let task = ex.spawn(async move {
        let _ = rx.await;
        value
    });
    (task, tx)
}

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// docs/semantics.md#result-and-exception-while-pending-or-cancelled
// `result()` / `exception()` while pending: InvalidStateError; after cancel:
// CancelledError.

on_each_executor! {
    fn result_and_exception_while_pending_raise_invalid_state_error(ex) {
        let (task, tx) = gated(ex, Ok::<u8, String>(7));
        assert!(matches!(task.result(), Err(TaskStateError::InvalidState(_))));
        assert!(matches!(task.exception(), Err(TaskStateError::InvalidState(_))));
        assert!(!task.done());
        tx.send(()).unwrap();
        assert_eq!(ex.block_on(task.clone()), Ok(Ok(7)));
        assert_eq!(task.result(), Ok(&Ok(7)));
        assert_eq!(task.exception(), Ok(None));
    }
}

on_each_executor! {
    fn result_and_exception_after_cancel_raise_cancelled_error(ex) {
        let (task, _tx) = gated(ex, Ok::<u8, String>(7));
        assert!(task.cancel());
        assert_eq!(ex.block_on(task.clone()), Err(CancelledError::new()));
        assert!(task.done());
        assert!(task.cancelled());
        assert_eq!(task.result(), Err(TaskStateError::Cancelled(CancelledError::new())));
        assert_eq!(task.exception(), Err(TaskStateError::Cancelled(CancelledError::new())));
    }
}

on_each_executor! {
    /// asyncio's exception(): the `Err` of a task whose output is a `Result`.
    fn exception_gives_the_error_of_a_failed_task(ex) {
        let task = ex.spawn(async { Err::<u8, String>("no milk".into()) });
        assert_eq!(ex.block_on(shield(&task)), Ok(&Err("no milk".to_string())));
        assert_eq!(task.exception(), Ok(Some(&"no milk".to_string())));
    }
}

// docs/semantics.md#cancel-on-a-done-future-returns-false
// `cancel()` on a done future returns false and changes nothing.

on_each_executor! {
    fn cancel_on_a_done_future_returns_false_and_changes_nothing(ex) {
        let task = ex.spawn(async { 5 });
        assert_eq!(ex.block_on(task.clone()), Ok(5));
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        task.add_done_callback(move |_: &Task<i32>| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(!task.cancel());
        assert!(!task.cancel());
        assert!(!task.cancelled());
        assert_eq!(task.result(), Ok(&5));
        assert_eq!(ex.block_on(task.clone()), Ok(5));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "no callback ran again");
        assert_eq!(format!("{task:?}"), format!("<Task finished name='{}'>", task.name()));
    }
}

on_each_executor! {
    /// cancel() on a pending task returns true, and then the task certainly ends cancelled.
    fn cancel_on_a_pending_task_returns_true_and_the_task_ends_cancelled(ex) {
        let (task, tx) = gated(ex, 1);
        assert!(task.cancel());
        if ex.is_local() {
            // Still pending (the driver has not run): a repeated request is accepted too.
            assert!(task.cancel());
        }
        // Even if the future could now finish, the request wins.
        let _ = tx.send(());
        assert_eq!(ex.block_on(task.clone()), Err(CancelledError::new()));
        assert!(!task.cancel());
    }
}

// docs/semantics.md#done-callbacks-run-in-registration-order-after-completion
// Done-callbacks receive the future as their only argument and run in
// registration order, after completion.

on_each_executor! {
    fn done_callbacks_receive_the_future_and_run_in_registration_order_after_completion(ex) {
        let (task, tx) = gated(ex, 42);
        task.set_name("brew");
        let log = log();
        for i in 0..5 {
            let log = log.clone();
            task.add_done_callback(move |t: &Task<i32>| {
                assert!(t.done(), "runs after completion");
                log.lock().unwrap().push(format!("{i}:{}:{:?}", t.name(), t.result()));
            });
        }
        assert!(entries(&log).is_empty(), "nothing runs while pending");
        tx.send(()).unwrap();
        // An await returns only after every callback ran.
        assert_eq!(ex.block_on(shield(&task)), Ok(&42));
        let expected: Vec<String> = (0..5).map(|i| format!("{i}:brew:Ok(42)")).collect();
        assert_eq!(entries(&log), expected);
    }
}

on_each_executor! {
    /// A callback registered from inside a callback runs too, after the ones before it.
    fn callback_added_by_a_callback_runs_after_the_others(ex) {
        let (task, tx) = gated(ex, 1);
        let log = log();
        let (l1, l2) = (log.clone(), log.clone());
        task.add_done_callback(move |t: &Task<i32>| {
            l1.lock().unwrap().push("a".into());
            let l1 = l1.clone();
            t.add_done_callback(move |_: &Task<i32>| l1.lock().unwrap().push("c".into()));
        });
        task.add_done_callback(move |_: &Task<i32>| l2.lock().unwrap().push("b".into()));
        tx.send(()).unwrap();
        ex.block_on(task).unwrap();
        assert_eq!(entries(&log), ["a", "b", "c"]);
    }
}

on_each_executor! {
    /// The cancelled task's callbacks run as well, seeing it cancelled.
    fn done_callbacks_run_when_the_task_is_cancelled(ex) {
        let (task, _tx) = gated(ex, 1);
        let log = log();
        let l = log.clone();
        task.add_done_callback(move |t: &Task<i32>| {
            l.lock().unwrap().push(format!("{} {:?}", t.cancelled(), t.result()));
        });
        task.cancel();
        assert_eq!(ex.block_on(task), Err(CancelledError::new()));
        assert_eq!(entries(&log), ["true Err(Cancelled(CancelledError))"]);
    }
}

// docs/semantics.md#a-callback-added-to-a-done-task-runs-at-once
// One added to an already-done future runs too (asyncio: scheduled soon, never
// synchronously). aiokit: it runs at once, on the caller's thread, before add_done_callback
// returns.

on_each_executor! {
    fn done_callback_added_to_a_done_future_runs_too(ex) {
        let task = ex.spawn(async { 3 });
        ex.block_on(task.clone()).unwrap();
        let ran_on: Arc<Mutex<Option<ThreadId>>> = Arc::default();
        let r = ran_on.clone();
        task.add_done_callback(move |t: &Task<i32>| {
            assert_eq!(t.result(), Ok(&3));
            *r.lock().unwrap() = Some(thread::current().id());
        });
        assert_eq!(*ran_on.lock().unwrap(), Some(thread::current().id()));
    }
}

// docs/semantics.md#partial-as-a-done-callback-gets-the-task-last
// `functools.partial(f, 'A', 'B')` as a callback is called as `f('A', 'B', fut)`.
// A hand-written partial shows that any `DoneCallback` type gets the task as its last argument
// (`partial!` itself: tests/tests/macros.rs and task_group.rs).

struct Partial2<F, A, B>(F, A, B);

impl<T, F, A, B> DoneCallback<T> for Partial2<F, A, B>
where
    F: FnMut(&A, &B, &Task<T>),
{
    fn call(&mut self, task: &Task<T>) {
        (self.0)(&self.1, &self.2, task)
    }
}

on_each_executor! {
    fn partial_as_callback_is_called_with_the_future_last(ex) {
        let task = ex.spawn(async { "tea" });
        let log = log();
        let l = log.clone();
        let report = move |a: &&str, b: &&str, t: &Task<&'static str>| {
            l.lock().unwrap().push(format!("{a} {b} {}", t.result().unwrap()));
        };
        task.add_done_callback(Partial2(report, "A", "B"));
        ex.block_on(task).unwrap();
        assert_eq!(entries(&log), ["A B tea"]);
    }
}

// docs/semantics.md#remove_done_callback-removes-every-registration
// `remove_done_callback(cb)` removes every registration of it and returns how many.

static FN_CALLED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_name(task: &Task<i32>) {
    FN_CALLED.lock().unwrap().push(task.name());
}

/// Compared by tag only: asyncio compares callbacks with `==`, whatever that means for them.
struct Tagged(&'static str, Log);

impl PartialEq for Tagged {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl DoneCallback<i32> for Tagged {
    fn call(&mut self, _: &Task<i32>) {
        self.1.lock().unwrap().push(self.0.into());
    }
}

#[derive(PartialEq)]
struct OtherType(&'static str);

on_each_executor! {
    fn remove_done_callback_removes_every_registration_and_returns_how_many(ex) {
        let (task, tx) = gated(ex, 1);
        let log = log();
        let keep = log.clone();
        task.add_done_callback(Tagged("x", log.clone()));
        task.add_done_callback(move |_: &Task<i32>| keep.lock().unwrap().push("closure".into()));
        task.add_done_callback(Tagged("y", log.clone()));
        task.add_done_callback(Tagged("x", log.clone()));
        assert_eq!(task.remove_done_callback(&Tagged("x", log.clone())), 2);
        assert_eq!(task.remove_done_callback(&Tagged("x", log.clone())), 0);
        assert_eq!(task.remove_done_callback(&OtherType("x")), 0, "another type never matches");
        tx.send(()).unwrap();
        ex.block_on(shield(&task)).unwrap();
        assert_eq!(entries(&log), ["closure", "y"]);
        assert_eq!(task.remove_done_callback(&Tagged("y", log.clone())), 0, "already ran");
    }
}

on_each_executor! {
    /// Function pointers compare by address, like asyncio's `remove_done_callback(fn)`.
    fn remove_done_callback_by_function_pointer(ex) {
        let (task, tx) = gated(ex, 1);
        let name = format!("fn-pointer-{}", UNIQUE.fetch_add(1, Ordering::SeqCst));
        task.set_name(name.clone());
        let f = record_name as fn(&Task<i32>);
        task.add_done_callback(f);
        task.add_done_callback(f);
        assert_eq!(task.remove_done_callback(&f), 2);
        let id = task.add_done_callback(f);
        assert_eq!(task.remove_done_callback_id(id), 1);
        task.add_done_callback(f);
        tx.send(()).unwrap();
        ex.block_on(shield(&task)).unwrap();
        let calls = FN_CALLED.lock().unwrap().iter().filter(|n| **n == name).count();
        assert_eq!(calls, 1, "only the registration made after the removals ran");
    }
}

on_each_executor! {
    /// Closures have no `==`: they are removed by the id add_done_callback returned.
    fn remove_done_callback_by_id_removes_that_registration(ex) {
        let (task, tx) = gated(ex, 1);
        let log = log();
        let (a, b) = (log.clone(), log.clone());
        let id_a = task.add_done_callback(move |_: &Task<i32>| a.lock().unwrap().push("a".into()));
        task.add_done_callback(move |_: &Task<i32>| b.lock().unwrap().push("b".into()));
        assert_eq!(task.remove_done_callback_id(id_a), 1);
        assert_eq!(task.remove_done_callback_id(id_a), 0);
        tx.send(()).unwrap();
        ex.block_on(shield(&task)).unwrap();
        assert_eq!(entries(&log), ["b"]);
    }
}

// docs/semantics.md#a-panicking-callback-is-reported-and-the-others-still-run
// A callback that raises (panics) is reported; the other callbacks still run.

static REPORTS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();
static UNIQUE: AtomicUsize = AtomicUsize::new(0);

fn record_callback_panics() {
    HOOK.call_once(|| {
        aiokit::set_done_callback_panic_hook(Box::new(|info: &aiokit::DoneCallbackPanic<'_>| {
            REPORTS.lock().unwrap().push(format!(
                "{}: {}",
                info.task_name(),
                info.message().unwrap_or("?")
            ));
        }));
    });
}

on_each_executor! {
    fn panicking_callback_is_reported_and_the_others_still_run(ex) {
        record_callback_panics();
        let name = format!("panicky-{}", UNIQUE.fetch_add(1, Ordering::SeqCst));
        let (task, tx) = gated(ex, 1);
        task.set_name(name.clone());
        let log = log();
        let (a, b) = (log.clone(), log.clone());
        task.add_done_callback(move |_: &Task<i32>| a.lock().unwrap().push("before".into()));
        task.add_done_callback(|_: &Task<i32>| panic!("callback failed"));
        task.add_done_callback(move |_: &Task<i32>| b.lock().unwrap().push("after".into()));
        tx.send(()).unwrap();
        assert_eq!(ex.block_on(shield(&task)), Ok(&1));
        assert_eq!(entries(&log), ["before", "after"]);
        // Also for a callback added once the task is done: reported, and the caller goes on.
        task.add_done_callback(|_: &Task<i32>| panic!("late callback failed"));
        let reports: Vec<String> = REPORTS
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with(&format!("{name}:")))
            .cloned()
            .collect();
        assert_eq!(
            reports,
            [format!("{name}: callback failed"), format!("{name}: late callback failed")]
        );
    }
}

// docs/semantics.md#dropping-a-handle-never-cancels-the-task
// Dropping a Task handle does not cancel the task; cancel() does, and the future is
// dropped promptly on its executor.

on_each_executor! {
    fn dropping_every_handle_does_not_cancel_the_task(ex) {
        let (done_tx, done_rx) = oneshot::channel::<u8>();
        let (gate_tx, gate_rx) = oneshot::channel::<()>();
        let task = ex.spawn(async move {
            gate_rx.await.unwrap();
            done_tx.send(9).unwrap();
        });
        drop(task);
        gate_tx.send(()).unwrap();
        assert_eq!(ex.block_on(done_rx), Ok(9));
    }
}

struct DropProbe(Arc<Mutex<Option<ThreadId>>>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(thread::current().id());
    }
}

on_each_executor! {
    fn cancel_drops_the_future_promptly_on_its_executor(ex) {
        let dropped_on: Arc<Mutex<Option<ThreadId>>> = Arc::default();
        let probe = DropProbe(dropped_on.clone());
        let task = ex.spawn(async move {
            let _probe = probe;
            std::future::pending::<()>().await
        });
        let seen_in_callback = Arc::new(AtomicBool::new(false));
        let (d, s) = (dropped_on.clone(), seen_in_callback.clone());
        task.add_done_callback(move |_: &Task<()>| {
            // The future is gone before the task is marked cancelled.
            s.store(d.lock().unwrap().is_some(), Ordering::SeqCst);
        });
        assert!(task.cancel());
        assert_eq!(ex.block_on(task), Err(CancelledError::new()));
        let dropped_on = dropped_on.lock().unwrap().expect("future dropped before the await returned");
        assert!(seen_in_callback.load(Ordering::SeqCst));
        if ex.is_local() {
            assert_eq!(dropped_on, thread::current().id());
        } else {
            assert_ne!(dropped_on, thread::current().id(), "dropped on an executor thread");
        }
    }
}

// docs/semantics.md#awaiting-a-task-and-shield
// Awaiting a handle and dropping that await never cancels the task (shield).

on_each_executor! {
    fn dropping_an_await_of_a_handle_never_cancels_the_task(ex) {
        let (task, tx) = gated(ex, vec![1, 2]);
        // Poll the awaits once each, then drop them.
        ex.block_on(async {
            assert!(futures::poll!(shield(&task)).is_pending());
            assert!(futures::poll!(std::future::IntoFuture::into_future(&task)).is_pending());
            assert!(futures::poll!(task.clone()).is_pending());
        });
        assert!(!task.done());
        tx.send(()).unwrap();
        assert_eq!(ex.block_on(task.clone()), Ok(vec![1, 2]));
        assert!(!task.cancelled());
    }
}

on_each_executor! {
    /// Several handles await one task at once; all of them get the outcome.
    fn every_awaiting_handle_gets_the_outcome(ex) {
        let (task, tx) = gated(ex, String::from("tea"));
        let (a, b) = (task.clone(), task.clone());
        let both = async move {
            let (x, y, z) = futures::join!(a, b, shield(&task));
            (x, y, z.cloned())
        };
        tx.send(()).unwrap();
        let (x, y, z) = ex.block_on(both);
        assert_eq!((x.as_deref(), y.as_deref(), z.as_deref()), (Ok("tea"), Ok("tea"), Ok("tea")));
    }
}

// docs/semantics.md#task-names
// Name() / set_name(); default "Task-N"; Debug shows name and state.

on_each_executor! {
    fn tasks_are_named_task_n_by_default_and_can_be_renamed(ex) {
        let (first, tx) = gated(ex, 0);
        let second = ex.spawn(async { 0 });
        let n = |t: &Task<i32>| -> u64 { t.name().strip_prefix("Task-").unwrap().parse().unwrap() };
        assert!(n(&second) > n(&first), "numbers grow: {} then {}", first.name(), second.name());
        assert_eq!(format!("{first:?}"), format!("<Task pending name='{}'>", first.name()));
        first.set_name("kettle");
        assert_eq!(first.clone().name(), "kettle");
        assert!(first.cancel());
        if ex.is_local() {
            // The driver has not run yet; on a thread pool it may already have finished.
            assert_eq!(format!("{first:?}"), "<Task cancelling name='kettle'>");
        }
        drop(tx);
        let _ = ex.block_on(first.clone());
        assert_eq!(format!("{first:?}"), "<Task cancelled name='kettle'>");
        ex.block_on(second).unwrap();
    }
}

// Executor-specific rules that cannot run the same way everywhere.

/// An executor that drops a task's future without finishing it (shutdown) ends the task
/// cancelled, so no await hangs.
#[test]
fn executor_shutdown_ends_the_task_cancelled() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let task = aiokit::spawn_task(rt.handle(), std::future::pending::<()>());
    let clone = task.clone();
    rt.block_on(async { tokio::task::yield_now().await });
    assert!(!task.done());
    drop(rt);
    assert!(clone.cancelled());
    assert_eq!(
        futures::executor::block_on(task),
        Err(CancelledError::new())
    );

    let pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    drop(pool);
    // The pool is gone: the spawner refuses, the future is dropped, the task is cancelled.
    let task = aiokit::spawn_local_task(&spawner, async { 1 });
    assert!(task.cancelled());
}

/// A panicking future ends its task cancelled (awaits do not hang), then the panic reaches
/// the executor (tokio reports it through its own JoinHandle, which aiokit detached).
#[test]
fn panicking_future_ends_the_task_cancelled() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let task = aiokit::spawn_task(&rt, async {
        if true {
            panic!("the future failed");
        }
    });
    assert_eq!(rt.block_on(task), Err(CancelledError::new()));
}

/// Local executors accept `!Send` futures and outputs.
#[test]
fn local_tasks_may_be_not_send() {
    use std::rc::Rc;
    let mut pool = futures::executor::LocalPool::new();
    let task = aiokit::spawn_local_task(&pool.spawner(), async { Rc::new(5) });
    let local = tokio::task::LocalSet::new();
    let tokio_task = aiokit::spawn_local_task(&local, async { Rc::new(6) });
    let ex = async_executor::LocalExecutor::new();
    let smol_task = aiokit::spawn_local_task(&ex, async { Rc::new(7) });
    pool.run();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(local);
    futures_lite::future::block_on(ex.run(shield(&smol_task))).unwrap();
    assert_eq!(
        (**task.result().unwrap(), **tokio_task.result().unwrap()),
        (5, 6)
    );
    assert_eq!(**smol_task.result().unwrap(), 7);
}

/// The closure form names any executor.
#[test]
fn closure_spawner_names_any_executor() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let spawner = move |fut: aiokit::SpawnFuture| {
        handle.spawn(fut);
    };
    let task = aiokit::spawn_task(&spawner, async { 11 });
    assert_eq!(rt.block_on(task), Ok(11));
    let shared = Arc::new(spawner);
    let task = aiokit::spawn_task(&shared, async { 12 });
    assert_eq!(rt.block_on(task), Ok(12));
}
