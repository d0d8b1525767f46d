//! Task handles (asyncio Future / Task): every rule of `docs/semantics.md#task-and-future`,
//! each run on every executor of the tests crate.
//!
//! `on_each_executor!` turns one scenario into a module named after the rule, with one test
//! per executor (`rule::tokio_current_thread`, `rule::futures_thread_pool`, ...). Ordering is
//! observed through logs and channels; nothing sleeps.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::{self, ThreadId};

use aiokit::task::{DoneCallback, TaskStateError};
use aiokit::{CancelledError, Task, shield};
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
// asyncio: `result()` / `exception()` while pending: InvalidStateError; after cancel:
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
// asyncio: `cancel()` on a done future returns false and changes nothing.

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
// asyncio: done-callbacks receive the future as their only argument and run in
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
// asyncio: one added to an already-done future runs too (asyncio: scheduled soon, never
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
// asyncio: `remove_done_callback(cb)` removes every registration of it and returns how many.

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
// asyncio: a callback that raises (panics) is reported; the other callbacks still run.

static REPORTS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();
static UNIQUE: AtomicUsize = AtomicUsize::new(0);

fn record_callback_panics() {
    HOOK.call_once(|| {
        aiokit::hooks::set_done_callback_panic_hook(Box::new(
            |info: &aiokit::hooks::DoneCallbackPanic<'_>| {
                REPORTS.lock().unwrap().push(format!(
                    "{}: {}",
                    info.task_name(),
                    info.message().unwrap_or("?")
                ));
            },
        ));
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

// docs/semantics.md#a-handle-never-awaited-does-not-cancel-the-task
// Dropping a Task handle never polled does not cancel the task; cancel() does, and the future is
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

// docs/semantics.md#abandoning-an-await-cancels-the-task and
// docs/semantics.md#shield-and-awaits-by-reference-never-cancel
// asyncio cancels the task an abandoned `await` waited for (and `wait_for` the task it timed
// out on); `shield` and awaits by reference never cancel.

on_each_executor! {
    fn awaiting_by_reference_or_through_shield_never_cancels_the_task(ex) {
        let (task, tx) = gated(ex, vec![1, 2]);
        // Poll each await once, then drop it.
        ex.block_on(async {
            assert!(futures::poll!(shield(&task)).is_pending());
            assert!(futures::poll!(std::future::IntoFuture::into_future(&task)).is_pending());
            let mut by_ref = aiokit::wait([shield(&task)], aiokit::ReturnWhen::AllCompleted);
            assert!(futures::poll!(&mut by_ref).is_pending());
            let mut gathered = aiokit::gather([shield(&task)]);
            assert!(futures::poll!(&mut gathered).is_pending());
            let mut completed = aiokit::as_completed([shield(&task)]);
            assert!(futures::poll!(futures::StreamExt::next(&mut completed)).is_pending());
        });
        assert!(!task.done());
        assert!(!format!("{task:?}").contains("cancelling"));
        tx.send(()).unwrap();
        assert_eq!(ex.block_on(task.clone()), Ok(vec![1, 2]));
        assert!(!task.cancelled());
    }
}

on_each_executor! {
    fn dropping_a_handle_whose_await_is_in_progress_cancels_the_task(ex) {
        let (task, _tx) = gated(ex, 5);
        let saw = Arc::new(Mutex::new(None));
        let s = saw.clone();
        task.add_done_callback(move |t: &Task<i32>| *s.lock().unwrap() = Some(t.cancelled()));
        ex.block_on(async {
            // A by-value await, polled once and abandoned.
            assert!(futures::poll!(task.clone()).is_pending());
        });
        assert_eq!(ex.block_on(shield(&task)), Err(CancelledError::new()));
        assert_eq!(*saw.lock().unwrap(), Some(true));
    }
}

on_each_executor! {
    fn a_handle_dropped_by_select_cancels_the_task(ex) {
        let (task, _tx) = gated(ex, 5);
        let (slow, fast) = (task.clone(), async { "fast" });
        let winner = ex.block_on(async move {
            futures::pin_mut!(fast);
            match futures::future::select(slow, fast).await {
                futures::future::Either::Left(_) => "slow",
                futures::future::Either::Right((fast, _slow)) => fast,
            }
        });
        assert_eq!(winner, "fast");
        assert_eq!(ex.block_on(shield(&task)), Err(CancelledError::new()));
    }
}

on_each_executor! {
    fn a_combinator_dropping_a_polled_child_handle_cancels_the_task(ex) {
        let (task, _tx) = gated(ex, 5);
        let (other, other_tx) = gated(ex, 6);
        ex.block_on(async {
            let mut both = aiokit::gather([task.clone(), other.clone()]);
            assert!(futures::poll!(&mut both).is_pending());
        });
        assert_eq!(ex.block_on(shield(&task)), Err(CancelledError::new()));
        assert!(ex.block_on(shield(&other)).is_err(), "both children were dropped");
        drop(other_tx);
    }
}

on_each_executor! {
    fn a_handle_never_polled_is_a_reference_and_dropping_it_cancels_nothing(ex) {
        let (task, tx) = gated(ex, 5);
        drop(task.clone());
        let unpolled = aiokit::gather([task.clone()]);
        drop(unpolled);
        tx.send(()).unwrap();
        assert_eq!(ex.block_on(shield(&task)), Ok(&5));
    }
}

on_each_executor! {
    fn wait_for_timeout_cancels_the_task_and_its_callbacks_see_it_cancelled(ex) {
        let (task, _tx) = gated(ex, 5);
        let saw = Arc::new(Mutex::new(None));
        let s = saw.clone();
        task.add_done_callback(move |t: &Task<i32>| *s.lock().unwrap() = Some(t.cancelled()));
        // A deadline that has passed: the task is awaited once, then the timeout drops it.
        let timed_out = ex.block_on(aiokit::wait_for_deadline(task.clone(), async {}));
        assert_eq!(timed_out, Err(aiokit::TimeoutError::new()));
        assert_eq!(ex.block_on(shield(&task)), Err(CancelledError::new()));
        assert_eq!(*saw.lock().unwrap(), Some(true));

        // The same with a real timer; the gated task cannot finish in time.
        let (task, _tx) = gated(ex, 6);
        let timed_out = ex.block_on(aiokit::wait_for(task.clone(), std::time::Duration::from_millis(1)));
        assert_eq!(timed_out, Err(aiokit::TimeoutError::new()));
        assert_eq!(ex.block_on(shield(&task)), Err(CancelledError::new()));
    }
}

on_each_executor! {
    fn shield_protects_the_task_from_a_wait_for_timeout(ex) {
        let (task, tx) = gated(ex, 5);
        let timed_out = ex.block_on(aiokit::wait_for_deadline(shield(&task), async {}));
        assert_eq!(timed_out, Err(aiokit::TimeoutError::new()));
        let timed_out = ex.block_on(aiokit::wait_for_deadline(&task, async {}));
        assert_eq!(timed_out, Err(aiokit::TimeoutError::new()));
        assert!(!task.cancelled());
        tx.send(()).unwrap();
        assert_eq!(ex.block_on(task), Ok(5));
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
// name() / set_name(); default "Task-N"; Debug shows name and state.

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
    let spawner = move |fut: aiokit::spawn::SpawnFuture| {
        handle.spawn(fut);
    };
    let task = aiokit::spawn_task(&spawner, async { 11 });
    assert_eq!(rt.block_on(task), Ok(11));
    let shared = Arc::new(spawner);
    let task = aiokit::spawn_task(&shared, async { 12 });
    assert_eq!(rt.block_on(task), Ok(12));
}

// Every task ends exactly once and nobody waits forever: a panicking destructor (of the value
// a cancel discards, of the future) still lets the callbacks run and the awaits return
// `Err(CancelledError)`; the panic goes on to the executor afterwards.

/// Panics when dropped (unless the thread is already unwinding).
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("PanicsOnDrop dropped");
        }
    }
}

/// Tokio reports a task's panic through the `JoinHandle` aiokit detached: the runtime lives on.
fn tokio_runtimes() -> [tokio::runtime::Runtime; 2] {
    [
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
    ]
}

mod every_task_ends_exactly_once_even_when_a_destructor_panics {
    use super::*;

    #[test]
    fn the_value_a_cancel_discards() {
        for rt in tokio_runtimes() {
            let (me_tx, me_rx) = oneshot::channel::<Task<Arc<PanicsOnDrop>>>();
            let task = aiokit::spawn_task(rt.handle(), async move {
                // The task cancels itself, then produces its value: the cancel wins and the
                // value is dropped, which panics.
                let me = me_rx.await.unwrap();
                assert!(me.cancel());
                Arc::new(PanicsOnDrop)
            });
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            task.add_done_callback(move |t: &Task<Arc<PanicsOnDrop>>| {
                r.store(t.cancelled(), Ordering::SeqCst)
            });
            me_tx.send(task.clone()).ok().unwrap();
            assert_eq!(
                rt.block_on(shield(&task)).err(),
                Some(CancelledError::new())
            );
            assert!(task.done() && task.cancelled());
            assert!(ran.load(Ordering::SeqCst), "the callbacks ran");
        }
    }

    #[test]
    fn the_future_after_it_returned() {
        for rt in tokio_runtimes() {
            let task = aiokit::spawn_task(rt.handle(), async {
                let _guard = PanicsOnDrop;
                7
            });
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            task.add_done_callback(move |t: &Task<i32>| r.store(t.cancelled(), Ordering::SeqCst));
            assert_eq!(rt.block_on(task.clone()), Err(CancelledError::new()));
            assert!(ran.load(Ordering::SeqCst));
        }
    }

    #[test]
    fn the_future_dropped_by_a_cancel() {
        for rt in tokio_runtimes() {
            let task = aiokit::spawn_task(rt.handle(), async {
                let _guard = PanicsOnDrop;
                std::future::pending::<()>().await
            });
            rt.block_on(async { tokio::task::yield_now().await });
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            task.add_done_callback(move |t: &Task<()>| r.store(t.cancelled(), Ordering::SeqCst));
            assert!(task.cancel());
            assert_eq!(rt.block_on(shield(&task)), Err(CancelledError::new()));
            assert!(ran.load(Ordering::SeqCst));
        }
    }

    /// On a local executor the panic reaches the caller of `run`, after the task ended.
    #[test]
    fn the_panic_goes_on_to_the_driver_afterwards() {
        let mut pool = futures::executor::LocalPool::new();
        let task = aiokit::spawn_local_task(&pool.spawner(), async {
            let _guard = PanicsOnDrop;
            1
        });
        let ended = Rc::new(Cell::new(false));
        let e = ended.clone();
        task.add_done_callback(move |t: &Task<i32>| e.set(t.cancelled()));
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.run()));
        assert!(run.is_err(), "the panic reached the executor");
        assert!(ended.get(), "after the task ended");
        assert_eq!(
            futures::executor::block_on(shield(&task)),
            Err(CancelledError::new())
        );
    }
}

// No user code runs under an internal lock: `remove_done_callback`'s `==` may look at the task.

/// Compares equal to any `LooksAtTask`, after formatting the task and reading its name.
struct LooksAtTask(Task<i32>, Arc<AtomicUsize>);

impl PartialEq for LooksAtTask {
    fn eq(&self, other: &Self) -> bool {
        // Both take the task's lock: a comparison under that lock would deadlock here.
        assert!(format!("{:?}", self.0).contains(&other.0.name()));
        other.0.add_done_callback(|_: &Task<i32>| {});
        self.1.fetch_add(1, Ordering::SeqCst);
        true
    }
}

impl DoneCallback<i32> for LooksAtTask {
    fn call(&mut self, _: &Task<i32>) {
        unreachable!("removed before the task ended");
    }
}

on_each_executor! {
    fn no_user_code_runs_under_the_tasks_lock_remove_done_callback_eq_may_look_at_the_task(ex) {
        let (task, tx) = gated(ex, 1);
        let compared = Arc::new(AtomicUsize::new(0));
        task.add_done_callback(LooksAtTask(task.clone(), compared.clone()));
        task.add_done_callback(LooksAtTask(task.clone(), compared.clone()));
        let probe = LooksAtTask(task.clone(), compared.clone());
        assert_eq!(task.remove_done_callback(&probe), 2);
        assert_eq!(compared.load(Ordering::SeqCst), 2);
        tx.send(()).unwrap();
        assert_eq!(ex.block_on(task.clone()), Ok(1));
    }
}

/// Blocks in `==` until released, to complete the task while a comparison is in progress.
struct Gate {
    entered: Option<std::sync::mpsc::Sender<()>>,
    release: Option<Arc<Mutex<std::sync::mpsc::Receiver<()>>>>,
    log: Log,
}

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        if let (Some(entered), Some(release)) = (&other.entered, &other.release) {
            entered.send(()).unwrap();
            release.lock().unwrap().recv().unwrap();
        }
        false
    }
}

impl DoneCallback<i32> for Gate {
    fn call(&mut self, _: &Task<i32>) {
        self.log.lock().unwrap().push("gate".into());
    }
}

/// A task completing on another thread while `eq` runs waits for that comparison: every
/// callback runs once, in registration order.
#[test]
fn callbacks_run_once_in_order_even_while_remove_done_callback_compares_them() {
    let pool = futures_executor::ThreadPool::new().unwrap();
    let ex = aiokit_tests::FuturesThreadPool(pool);
    let (task, tx) = gated(&ex, 1);
    let log = log();
    let (first, third) = (log.clone(), log.clone());
    let (first_ran_tx, first_ran) = std::sync::mpsc::channel();
    let first_ran_tx = Mutex::new(first_ran_tx);
    task.add_done_callback(move |_: &Task<i32>| {
        first.lock().unwrap().push("first".into());
        first_ran_tx.lock().unwrap().send(()).unwrap();
    });
    task.add_done_callback(Gate {
        entered: None,
        release: None,
        log: log.clone(),
    });
    task.add_done_callback(move |_: &Task<i32>| third.lock().unwrap().push("third".into()));
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let probe = Gate {
        entered: Some(entered_tx),
        release: Some(Arc::new(Mutex::new(release_rx))),
        log: log.clone(),
    };
    let remover = {
        let task = task.clone();
        thread::spawn(move || task.remove_done_callback(&probe))
    };
    entered_rx.recv().unwrap();
    // The comparison is in progress: let the task complete now. Its completer runs the first
    // callback, then reaches the one being compared and waits for it.
    tx.send(()).unwrap();
    first_ran.recv().unwrap();
    assert_eq!(
        entries(&log),
        ["first"],
        "nothing overtakes the callback being compared"
    );
    release_tx.send(()).unwrap();
    assert_eq!(remover.join().unwrap(), 0);
    assert_eq!(ex.block_on(shield(&task)), Ok(&1));
    assert_eq!(entries(&log), ["first", "gate", "third"]);
}

// Local tasks accept `!Send` done-callbacks (a `Send` task refuses them at compile time: see
// tests/ui/task-callback-not-send.rs).

/// Compares by tag; holds an `Rc`, so it is `!Send`.
struct LocalTagged(&'static str, Rc<RefCell<Vec<&'static str>>>);

impl PartialEq for LocalTagged {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl DoneCallback<i32> for LocalTagged {
    fn call(&mut self, _: &Task<i32>) {
        self.1.borrow_mut().push(self.0);
    }
}

#[test]
fn local_tasks_accept_done_callbacks_that_are_not_send() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (pool_log, tokio_log, smol_log) = (log.clone(), log.clone(), log.clone());

    let mut pool = futures::executor::LocalPool::new();
    let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    task.add_done_callback(move |_: &Task<i32>| pool_log.borrow_mut().push("pool"));
    let local = tokio::task::LocalSet::new();
    let tokio_task = aiokit::spawn_local_task(&local, async { 2 });
    tokio_task.add_done_callback(move |_: &Task<i32>| tokio_log.borrow_mut().push("tokio"));
    let ex = async_executor::LocalExecutor::new();
    let smol_task = aiokit::spawn_local_task(&ex, async { 3 });
    smol_task.add_done_callback(move |_: &Task<i32>| smol_log.borrow_mut().push("smol"));

    pool.run();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(local);
    futures_lite::future::block_on(ex.run(shield(&smol_task))).unwrap();
    assert_eq!(*log.borrow(), ["pool", "tokio", "smol"]);

    // Added once done: runs at once.
    let late = log.clone();
    task.add_done_callback(move |_: &Task<i32>| late.borrow_mut().push("late"));
    assert_eq!(log.borrow().last(), Some(&"late"));
}

#[test]
fn local_callbacks_keep_registration_order_and_are_removable() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut pool = futures::executor::LocalPool::new();
    let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    let shared = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let s = shared.clone();
    task.add_done_callback(LocalTagged("a", log.clone()));
    // A `Send` callback through the `Task` the handle derefs to: one order for both kinds.
    let send_log = log.clone();
    let send_id = (*task).add_done_callback(move |_: &Task<i32>| s.lock().unwrap().push("send"));
    let l = log.clone();
    task.add_done_callback(move |_: &Task<i32>| l.borrow_mut().push("after-send"));
    task.add_done_callback(LocalTagged("b", log.clone()));
    let gone = task.add_done_callback(LocalTagged("c", log.clone()));
    task.add_done_callback(LocalTagged("b", log.clone()));
    assert_eq!(task.remove_done_callback(&LocalTagged("b", log.clone())), 2);
    assert_eq!(task.remove_done_callback_id(gone), 1);
    let marker = send_log.clone();
    task.add_done_callback(move |_: &Task<i32>| marker.borrow_mut().push("last"));
    pool.run();
    assert_eq!(*log.borrow(), ["a", "after-send", "last"]);
    assert_eq!(*shared.lock().unwrap(), ["send"]);
    assert_eq!(task.remove_done_callback_id(send_id), 0);
}

/// An `eq` that runs the task's own executor completes the task on the comparing thread: the
/// completer leaves the callbacks to the comparison, which runs them once it is over.
#[test]
fn a_comparison_that_completes_the_task_runs_the_callbacks_in_order_afterwards() {
    struct RunsPool(
        Option<Rc<RefCell<futures::executor::LocalPool>>>,
        Rc<RefCell<Vec<&'static str>>>,
    );
    impl PartialEq for RunsPool {
        fn eq(&self, other: &Self) -> bool {
            if let Some(pool) = &other.0 {
                pool.borrow_mut().run_until_stalled();
            }
            false
        }
    }
    impl DoneCallback<i32> for RunsPool {
        fn call(&mut self, _: &Task<i32>) {
            self.1.borrow_mut().push("compared");
        }
    }
    let log = Rc::new(RefCell::new(Vec::new()));
    let pool = Rc::new(RefCell::new(futures::executor::LocalPool::new()));
    let task = aiokit::spawn_local_task(&pool.borrow().spawner(), async { 1 });
    let l = log.clone();
    task.add_done_callback(move |_: &Task<i32>| l.borrow_mut().push("first"));
    task.add_done_callback(RunsPool(None, log.clone()));
    let l = log.clone();
    task.add_done_callback(move |_: &Task<i32>| l.borrow_mut().push("third"));
    assert_eq!(
        task.remove_done_callback(&RunsPool(Some(pool.clone()), log.clone())),
        0
    );
    assert!(task.done());
    assert_eq!(*log.borrow(), ["first", "compared", "third"]);
    assert_eq!(futures::executor::block_on(shield(&task)), Ok(&1));
}

/// A `!Send` callback never leaves its thread: removed by id from another thread (through the
/// `Task` the local handle converts into), it is dropped on the task's thread, never run.
#[test]
fn a_local_callback_removed_from_another_thread_is_dropped_on_its_own_thread() {
    struct RecordsDrop(Rc<Cell<Option<ThreadId>>>);
    impl Drop for RecordsDrop {
        fn drop(&mut self) {
            self.0.set(Some(thread::current().id()));
        }
    }
    let mut pool = futures::executor::LocalPool::new();
    let local = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
    let dropped_on = Rc::new(Cell::new(None));
    let record = RecordsDrop(dropped_on.clone());
    let id = local.add_done_callback(move |_: &Task<i32>| {
        let _keep = &record;
        unreachable!("removed before it could run");
    });
    let task: Task<i32> = local.clone().into_task();
    let removed = thread::spawn(move || {
        // Not reachable from here: neither compared nor dropped on this thread.
        assert_eq!(
            task.remove_done_callback(&(record_name as fn(&Task<i32>))),
            0
        );
        task.remove_done_callback_id(id)
    })
    .join()
    .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        dropped_on.get(),
        None,
        "still on its thread, not dropped elsewhere"
    );
    pool.run();
    assert_eq!(dropped_on.get(), Some(thread::current().id()));
    assert_eq!(local.result(), Ok(&1));
}

// ---------------------------------------------------------------------------------------------
// Handles under hostile user code: destructors that panic, callbacks whose `==` or `Drop`
// call back into the task.

/// A future that completes at once with `1`, or stays pending, and panics when dropped.
struct PanicsWhenDropped {
    ready: bool,
}

impl std::future::Future for PanicsWhenDropped {
    type Output = i32;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<i32> {
        if self.ready {
            std::task::Poll::Ready(1)
        } else {
            std::task::Poll::Pending
        }
    }
}

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("the future's destructor panics");
        }
    }
}

/// A task always ends, also when its future's destructor panics: after completing and when
/// cancelled (it ends cancelled).
#[test]
fn a_task_ends_even_when_its_futures_destructor_panics() {
    let mut pool = futures::executor::LocalPool::new();
    let completed = aiokit::spawn_local_task(&pool.spawner(), PanicsWhenDropped { ready: true });
    let cancelled = aiokit::spawn_local_task(&pool.spawner(), PanicsWhenDropped { ready: false });
    for _ in 0..4 {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.run_until_stalled()));
    }
    assert!(completed.done(), "the completed task ends");
    // Its output, or cancelled: either way an outcome, not a task pending forever.
    assert!(
        matches!(completed.result(), Ok(&1)) || completed.cancelled(),
        "{:?}",
        completed.result()
    );
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cancelled.cancel();
        pool.run_until_stalled();
    }));
    for _ in 0..4 {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.run_until_stalled()));
    }
    assert!(
        cancelled.done() && cancelled.cancelled(),
        "the cancelled task ends cancelled"
    );
}

/// A callback whose `==` and destructor use the task they are registered on.
struct Reentrant {
    task: Arc<Mutex<Option<Task<i32>>>>,
    calls: Arc<AtomicUsize>,
}

impl Reentrant {
    fn touch(&self) {
        if let Some(task) = self.task.lock().unwrap().clone() {
            // Each of these takes the task's lock.
            let _ = task.done();
            let _ = task.name();
            self.calls.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl PartialEq for Reentrant {
    fn eq(&self, _: &Self) -> bool {
        self.touch();
        true
    }
}

impl Drop for Reentrant {
    fn drop(&mut self) {
        self.touch();
    }
}

impl DoneCallback<i32> for Reentrant {
    fn call(&mut self, _: &Task<i32>) {}
}

/// `remove_done_callback` compares and drops callbacks with no lock of the task held: a
/// callback's `==` or `Drop` may call the task's methods. Run on a thread of its own, with a
/// generous limit, so a deadlock fails the test instead of hanging it.
#[test]
fn remove_done_callback_compares_and_drops_with_no_lock_held() {
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut pool = futures::executor::LocalPool::new();
        let (_gate, gated) = oneshot::channel::<()>();
        let task = aiokit::spawn_local_task(&pool.spawner(), async move {
            let _ = gated.await;
            1
        });
        pool.run_until_stalled();
        let slot = Arc::new(Mutex::new(None));
        let calls = Arc::new(AtomicUsize::new(0));
        task.add_done_callback(Reentrant {
            task: slot.clone(),
            calls: calls.clone(),
        });
        *slot.lock().unwrap() = Some(task.clone().into_task());
        let probe = Reentrant {
            task: Arc::new(Mutex::new(None)),
            calls: calls.clone(),
        };
        let removed = task.remove_done_callback(&probe);
        *slot.lock().unwrap() = None; // breaks the cycle task -> callback -> task
        done.send((removed, calls.load(Ordering::SeqCst))).unwrap();
    });
    let (removed, calls) = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("remove_done_callback deadlocked (no answer in 60 s)");
    assert_eq!(removed, 1);
    // The registered callback's `==` (or the probe's, whichever side is compared) and its
    // destructor both reached the task.
    assert!(calls >= 1, "{calls}");
}

// ---------------------------------------------------------------------------------------------
// The task state is lock-free on its common path: a cancel, an await and the completion race
// on an atomic word. These run the task's driver on a thread of their own, lined up with the
// caller by a barrier, many times over; each run must end in one of the allowed orders.

/// Spawns `fut` and hands back its driver, to run wherever the test wants.
fn task_and_driver<T: Send + Sync + 'static>(
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> (Task<T>, aiokit::spawn::SpawnFuture) {
    let (tx, rx) = std::sync::mpsc::channel();
    let task = aiokit::spawn_task(&move |fut| tx.send(fut).unwrap(), fut);
    (task, rx.recv().unwrap())
}

/// Runs `driver` on a new thread once the caller also reached the barrier.
fn race(driver: aiokit::spawn::SpawnFuture) -> (Arc<std::sync::Barrier>, thread::JoinHandle<()>) {
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let start = barrier.clone();
    let runner = thread::spawn(move || {
        start.wait();
        futures::executor::block_on(driver);
    });
    (barrier, runner)
}

mod cancel_racing_completion_one_wins {
    use super::*;

    #[test]
    fn on_two_threads() {
        for _ in 0..if cfg!(miri) { 3 } else { 300 } {
            let (task, driver) = task_and_driver(async { 5u32 });
            let (barrier, runner) = race(driver);
            barrier.wait();
            let cancelled = task.cancel();
            runner.join().unwrap();
            assert!(task.done());
            // cancel() returned true: the task ends cancelled, whatever the future produced.
            assert_eq!(task.cancelled(), cancelled);
            if !cancelled {
                assert_eq!(task.result(), Ok(&5));
                assert!(!task.cancel(), "done: a later cancel changes nothing");
            }
        }
    }
}

mod await_racing_completion_is_woken_or_ready {
    use super::*;
    use aiokit_tests::manual::{counting, poll, wakes};
    use std::pin::Pin;
    use std::task::Poll;

    #[test]
    fn on_two_threads() {
        for _ in 0..if cfg!(miri) { 3 } else { 300 } {
            let (task, driver) = task_and_driver(async { 5u32 });
            let (counter, waker) = counting();
            let mut awaiting = task.clone();
            let (barrier, runner) = race(driver);
            barrier.wait();
            let first = poll(Pin::new(&mut awaiting), &waker);
            runner.join().unwrap();
            match first {
                Poll::Ready(out) => assert_eq!(out, Ok(5)),
                Poll::Pending => {
                    assert_eq!(wakes(&counter), 1, "a pending await is woken once");
                    assert_eq!(poll(Pin::new(&mut awaiting), &waker), Poll::Ready(Ok(5)));
                }
            }
        }
    }
}

mod every_awaiting_handle_is_woken_once {
    use super::*;
    use aiokit_tests::manual::{counting, poll, wakes};
    use std::pin::Pin;
    use std::task::Poll;

    #[test]
    fn first_second_and_a_replacement() {
        let (tx, rx) = oneshot::channel::<()>();
        let (task, driver) = task_and_driver(async move {
            let _ = rx.await;
            7u32
        });
        let mut driver = driver;
        let (driver_counter, driver_waker) = counting();
        assert!(poll(Pin::new(&mut driver), &driver_waker).is_pending());

        // The first await takes the lock-free slot, the second one waits in the slow part.
        let (a_count, a) = counting();
        let (b_count, b) = counting();
        let (c_count, c) = counting();
        let mut first = Box::pin(shield(&task));
        let mut second = Box::pin(shield(&task));
        assert!(poll(first.as_mut(), &a).is_pending());
        assert!(poll(second.as_mut(), &b).is_pending());
        // Dropping the first (by reference: no cancel) frees its slot for a third.
        drop(first);
        let mut third = Box::pin(shield(&task));
        assert!(poll(third.as_mut(), &c).is_pending());

        tx.send(()).unwrap();
        assert_eq!(wakes(&driver_counter), 1);
        assert!(poll(Pin::new(&mut driver), &driver_waker).is_ready());
        assert_eq!(wakes(&a_count), 0, "a dropped await is not woken");
        assert_eq!(wakes(&b_count), 1);
        assert_eq!(wakes(&c_count), 1);
        assert_eq!(poll(second.as_mut(), &b), Poll::Ready(Ok(&7)));
        assert_eq!(poll(third.as_mut(), &c), Poll::Ready(Ok(&7)));
        assert!(!task.cancelled());
    }
}
