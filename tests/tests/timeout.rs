//! wait_for / timeout / timeout_at / wait_for_deadline, and the timer layer (`sleep`).
//!
//! Time is never left to luck: deadline forms are driven by channels the test fires, Duration
//! forms by tokio's paused clock, or by a zero / past deadline, or by an inner that can never
//! complete (the outcome then does not depend on how fast the machine is).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aiokit::{TimeoutError, timeout, timeout_at, wait_for, wait_for_deadline};
use futures::FutureExt;
use futures::channel::oneshot;
use futures::executor::{LocalPool, block_on};

use aiokit_tests::on_each_executor;
use futures::future::{self, FusedFuture};
use futures::task::LocalSpawnExt;

type Log = Rc<RefCell<Vec<&'static str>>>;

/// Never completes; counts its polls and logs its drop.
struct Probe {
    polls: Rc<Cell<usize>>,
    log: Log,
}

impl Probe {
    fn new(log: &Log) -> (Self, Rc<Cell<usize>>) {
        let polls = Rc::new(Cell::new(0));
        let probe = Probe {
            polls: polls.clone(),
            log: log.clone(),
        };
        (probe, polls)
    }
}

impl Future for Probe {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        self.polls.set(self.polls.get() + 1);
        Poll::Pending
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.log.borrow_mut().push("inner dropped");
    }
}

/// A deadline the test fires by sending on (or dropping) the returned sender.
fn channel_deadline() -> (oneshot::Sender<()>, impl Future<Output = ()>) {
    let (fire, fired) = oneshot::channel::<()>();
    (fire, fired.map(drop))
}

// ---- the rules of docs/semantics.md#wait_for-and-timeouts ---------------------------------------

#[test]
fn on_expiry_the_inner_is_dropped_before_timeout_error() {
    let log = Log::default();
    let (probe, polls) = Probe::new(&log);
    let (fire, deadline) = channel_deadline();
    let mut pool = LocalPool::new();
    let task_log = log.clone();
    let outcome = Rc::new(Cell::new(None));
    let task_outcome = outcome.clone();
    pool.spawner()
        .spawn_local(async move {
            // Kept alive past the error: only its own drop of the inner can be logged first.
            let mut job = pin!(wait_for_deadline(probe, deadline));
            let result = job.as_mut().await;
            task_log.borrow_mut().push("error observed");
            assert!(job.is_terminated());
            task_outcome.set(Some(result));
        })
        .unwrap();
    pool.run_until_stalled();
    assert_eq!(polls.get(), 1);
    assert!(
        log.borrow().is_empty(),
        "nothing happens before the deadline"
    );
    fire.send(()).unwrap();
    pool.run_until_stalled();
    assert_eq!(outcome.get(), Some(Err(TimeoutError::new())));
    assert_eq!(*log.borrow(), ["inner dropped", "error observed"]);
}

#[tokio::test(start_paused = true)]
async fn on_expiry_the_inner_is_dropped_before_timeout_error_tokio_clock() {
    let log = Log::default();
    let (probe, _) = Probe::new(&log);
    let start = tokio::time::Instant::now();
    let mut job = pin!(wait_for(probe, Duration::from_secs(5)));
    let result = job.as_mut().await;
    log.borrow_mut().push("error observed");
    assert_eq!(result, Err(TimeoutError::new()));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(*log.borrow(), ["inner dropped", "error observed"]);
}

on_each_executor! {
    fn zero_timeout_ready_inner_gives_result(ex) {
        // Every form of a zero or past timeout, on futures' block_on.
        assert_eq!(ex.block_on(wait_for(async { 1 }, Duration::ZERO)), Ok(1));
        assert_eq!(ex.block_on(timeout(Duration::ZERO, async { 2 })), Ok(2));
        let past = Instant::now() - Duration::from_secs(1);
        assert_eq!(ex.block_on(timeout_at(past, async { 3 })), Ok(3));
        assert_eq!(
            ex.block_on(wait_for_deadline(async { 4 }, future::ready(()))),
            Ok(4)
        );
    }
}

on_each_executor! {
    fn zero_timeout_pending_inner_times_out_without_polling_again(ex) {
        let log = Log::default();
        let past = Instant::now() - Duration::from_secs(1);
        type Timed = Pin<Box<dyn Future<Output = Result<u32, TimeoutError>>>>;
        let cases: Vec<Box<dyn Fn(Probe) -> Timed>> = vec![
            Box::new(|p| Box::pin(wait_for(p, Duration::ZERO))),
            Box::new(|p| Box::pin(timeout(Duration::ZERO, p))),
            Box::new(move |p| Box::pin(timeout_at(past, p))),
            Box::new(|p| Box::pin(wait_for_deadline(p, future::ready(())))),
        ];
        for make in cases {
            let (probe, polls) = Probe::new(&log);
            log.borrow_mut().clear();
            assert_eq!(ex.block_on(make(probe)), Err(TimeoutError::new()));
            assert_eq!(polls.get(), 1, "polled once, never again");
            assert_eq!(*log.borrow(), ["inner dropped"]);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn nested_timeouts_only_the_outer_reports() {
    // One deadline for both: the outer reports, the inner's own expiry is not seen.
    let inner = wait_for(future::pending::<()>(), Duration::from_secs(1));
    let outer = wait_for(inner, Duration::from_secs(1));
    assert_eq!(outer.await, Err(TimeoutError::new()));

    // Same with an absolute deadline.
    let when = tokio::time::Instant::now().into_std() + Duration::from_secs(1);
    let nested = timeout_at(when, timeout_at(when, future::pending::<()>()));
    assert_eq!(nested.await, Err(TimeoutError::new()));

    // The inner deadline alone expiring is the inner's to report.
    let inner = wait_for(future::pending::<()>(), Duration::from_secs(1));
    let outer = wait_for(inner, Duration::from_secs(2));
    assert_eq!(outer.await, Ok(Err(TimeoutError::new())));
}

#[test]
fn nested_timeouts_only_the_outer_reports_with_one_deadline_future() {
    let (fire, deadline) = channel_deadline();
    let deadline = deadline.shared();
    let log = Log::default();
    let (probe, _) = Probe::new(&log);
    let nested = wait_for_deadline(wait_for_deadline(probe, deadline.clone()), deadline);
    let mut pool = LocalPool::new();
    let handle = pool.spawner().spawn_local_with_handle(nested).unwrap();
    pool.run_until_stalled();
    fire.send(()).unwrap();
    assert_eq!(pool.run_until(handle), Err(TimeoutError::new()));
    assert_eq!(*log.borrow(), ["inner dropped"]);
}

#[test]
fn nested_timeouts_only_the_outer_reports_whatever_the_inner_made_of_it() {
    // The inner code handles its timeout (a fallback, a select); the outer still reports, as
    // in asyncio, where the inner sees a cancellation rather than its own timeout.
    let (fire, deadline) = channel_deadline();
    let deadline = deadline.shared();
    let inner_deadline = deadline.clone();
    let fallback = async move {
        // A fallback value on the inner timeout.
        wait_for_deadline(future::pending::<u32>(), inner_deadline)
            .await
            .unwrap_or(99)
    };
    let raced = future::select(
        wait_for_deadline(future::pending::<u32>(), deadline.clone()),
        future::pending::<()>(),
    );
    let both = future::join(
        wait_for_deadline(fallback, deadline.clone()),
        wait_for_deadline(raced, deadline.clone()),
    );
    // Three levels: the middle one's deadline is later; the outermost shares the inner's.
    let middle = wait_for_deadline(
        wait_for_deadline(future::pending::<()>(), deadline.clone()),
        future::pending::<()>(),
    );
    let outermost = wait_for_deadline(middle, deadline.clone());
    // A sibling polled after the nested expiry, finishing in that poll, hides nothing.
    let siblings = wait_for_deadline(
        future::join(
            wait_for_deadline(future::pending::<()>(), deadline.clone()),
            wait_for_deadline(deadline.clone().map(|()| 1), future::pending::<()>()),
        ),
        deadline,
    );
    let mut pool = LocalPool::new();
    let siblings = pool.spawner().spawn_local_with_handle(siblings).unwrap();
    let both = pool.spawner().spawn_local_with_handle(both).unwrap();
    let outermost = pool.spawner().spawn_local_with_handle(outermost).unwrap();
    pool.run_until_stalled();
    fire.send(()).unwrap();
    let (fallback, raced) = pool.run_until(both);
    assert_eq!(fallback, Err(TimeoutError::new()));
    assert!(raced.is_err());
    assert_eq!(pool.run_until(outermost), Err(TimeoutError::new()));
    assert_eq!(pool.run_until(siblings), Err(TimeoutError::new()));
}

on_each_executor! {
    fn a_ready_inner_never_polls_the_deadline(ex) {
        let polls = Rc::new(Cell::new(0));
        let counted = polls.clone();
        let deadline = future::poll_fn(move |_| {
            counted.set(counted.get() + 1);
            Poll::Ready(())
        });
        assert_eq!(ex.block_on(wait_for_deadline(async { 5 }, deadline)), Ok(5));
        assert_eq!(polls.get(), 0);
    }
}

// ---- more of the contract ----------------------------------------------------------------

#[test]
fn an_inner_finishing_in_the_same_poll_as_the_deadline_wins() {
    let (fire, trigger) = oneshot::channel::<()>();
    let trigger = trigger.shared();
    let inner = trigger.clone().map(|_| "inner");
    let job = wait_for_deadline(inner, trigger.map(drop));
    let mut pool = LocalPool::new();
    let handle = pool.spawner().spawn_local_with_handle(job).unwrap();
    pool.run_until_stalled();
    fire.send(()).unwrap();
    assert_eq!(pool.run_until(handle), Ok("inner"));
}

#[test]
fn nested_inner_finishing_with_the_outer_deadline_wins() {
    let (fire, trigger) = oneshot::channel::<()>();
    let trigger = trigger.shared();
    let value = trigger.clone().map(|_| 9);
    let nested = wait_for_deadline(
        wait_for_deadline(value, trigger.clone().map(drop)),
        trigger.map(drop),
    );
    let mut pool = LocalPool::new();
    let handle = pool.spawner().spawn_local_with_handle(nested).unwrap();
    pool.run_until_stalled();
    fire.send(()).unwrap();
    assert_eq!(pool.run_until(handle), Ok(Ok(9)));
}

on_each_executor! {
    fn an_inner_timeout_that_outlives_its_expired_outer_keeps_its_own_outcome(ex) {
        // The outer one reports; the inner one, kept alive by `Shared`, has its own error.
        let inner = wait_for_deadline(future::pending::<()>(), future::ready(())).shared();
        let outer = wait_for_deadline(inner.clone(), future::ready(()));
        assert_eq!(ex.block_on(outer), Err(TimeoutError::new()));
        assert_eq!(ex.block_on(inner), Err(TimeoutError::new()));
    }
}

#[test]
fn a_panicking_inner_leaves_later_timeouts_working() {
    let panicking = wait_for_deadline(
        async {
            panic!("inner panic");
        },
        future::ready(()),
    );
    assert!(catch_unwind(AssertUnwindSafe(|| block_on(panicking))).is_err());
    let mut lone = wait_for_deadline(future::pending::<()>(), future::ready(()));
    let waker = futures::task::noop_waker();
    let poll = Pin::new(&mut lone).poll(&mut Context::from_waker(&waker));
    assert_eq!(poll, Poll::Ready(Err(TimeoutError::new())));
}

#[test]
fn the_deadline_passing_later_times_out_a_pending_inner() {
    let (fire, deadline) = channel_deadline();
    let log = Log::default();
    let (probe, polls) = Probe::new(&log);
    let mut job = wait_for_deadline(probe, deadline);
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut job).poll(&mut cx).is_pending());
    assert!(Pin::new(&mut job).poll(&mut cx).is_pending());
    assert!(!job.is_terminated());
    assert_eq!(polls.get(), 2);
    drop(fire); // a deadline future may complete in any way
    assert_eq!(
        Pin::new(&mut job).poll(&mut cx),
        Poll::Ready(Err(TimeoutError::new()))
    );
    assert!(job.is_terminated());
    // The poll that sees the deadline still polls the inner once (it would win if ready).
    assert_eq!(polls.get(), 3);
}

#[test]
#[should_panic(expected = "`WaitFor` polled after completion")]
fn polling_after_completion_panics() {
    let mut job = wait_for_deadline(future::ready(1), future::pending::<()>());
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(Pin::new(&mut job).poll(&mut cx), Poll::Ready(Ok(1)));
    assert!(job.is_terminated());
    let _ = Pin::new(&mut job).poll(&mut cx);
}

on_each_executor! {
    fn dropping_the_timeout_drops_the_inner_and_the_deadline(ex) {
        struct LogDrop(Log, &'static str);
        impl Drop for LogDrop {
            fn drop(&mut self) {
                self.0.borrow_mut().push(self.1);
            }
        }
        let log = Log::default();
        let (probe, _) = Probe::new(&log);
        let guard = LogDrop(log.clone(), "deadline dropped");
        let deadline = async move {
            let _guard = guard;
            future::pending::<()>().await;
        };
        let mut job = Box::pin(wait_for_deadline(probe, deadline));
        assert!(ex.block_on(future::poll_immediate(&mut job)).is_none());
        drop(job);
        let mut dropped = log.borrow().clone();
        dropped.sort_unstable();
        assert_eq!(dropped, ["deadline dropped", "inner dropped"]);
    }
}

on_each_executor! {
    fn debug_shows_the_state(ex) {
        let mut job = wait_for_deadline(future::ready(1), future::pending::<()>());
        assert_eq!(format!("{job:?}"), "WaitFor { done: false }");
        assert_eq!(ex.block_on(&mut job), Ok(1));
        assert_eq!(format!("{job:?}"), "WaitFor { done: true }");
    }
}

// ---- Duration forms on each executor ------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn duration_forms_on_tokio_paused_clock() {
    let start = tokio::time::Instant::now();
    let fast = tokio::time::sleep(Duration::from_secs(1)).map(|()| "fast");
    assert_eq!(wait_for(fast, Duration::from_secs(2)).await, Ok("fast"));
    assert_eq!(start.elapsed(), Duration::from_secs(1));

    let slow = tokio::time::sleep(Duration::from_secs(3));
    assert_eq!(
        timeout(Duration::from_secs(2), slow).await,
        Err(TimeoutError::new())
    );
    assert_eq!(start.elapsed(), Duration::from_secs(3));

    let when = start.into_std() + Duration::from_secs(10);
    let slow = tokio::time::sleep(Duration::from_secs(60));
    assert_eq!(timeout_at(when, slow).await, Err(TimeoutError::new()));
    assert_eq!(start.elapsed(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn sleep_uses_tokio_inside_a_tokio_runtime() {
    let sleep = aiokit::sleep(Duration::from_secs(1));
    assert_eq!(format!("{sleep:?}"), r#"Sleep { timer: "tokio" }"#);
    let start = tokio::time::Instant::now();
    sleep.await;
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(
        format!("{:?}", aiokit::sleep(Duration::ZERO)),
        r#"Sleep { timer: "elapsed" }"#
    );
    assert_eq!(
        format!("{:?}", aiokit::sleep(Duration::MAX)),
        r#"Sleep { timer: "never" }"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_forms_on_tokio_multi_thread() {
    let handle = tokio::spawn(wait_for(future::pending::<()>(), Duration::from_millis(1)));
    assert_eq!(handle.await.unwrap(), Err(TimeoutError::new()));
    let handle = tokio::spawn(wait_for(async { 5 }, Duration::from_secs(60)));
    assert_eq!(handle.await.unwrap(), Ok(5));
}

#[test]
fn sleep_falls_back_to_async_io_outside_tokio() {
    // The tests enable every timer feature: outside tokio, async-io wins over futures-timer.
    let sleep = aiokit::sleep(Duration::from_millis(1));
    assert_eq!(format!("{sleep:?}"), r#"Sleep { timer: "async-io" }"#);
    let start = Instant::now();
    block_on(sleep);
    assert!(start.elapsed() >= Duration::from_millis(1));
}

#[test]
fn duration_forms_on_smol() {
    smol::block_on(async {
        assert_eq!(wait_for(async { 1 }, Duration::from_secs(60)).await, Ok(1));
        let log = Log::default();
        let (probe, _) = Probe::new(&log);
        assert_eq!(
            timeout(Duration::from_millis(1), probe).await,
            Err(TimeoutError::new())
        );
        assert_eq!(*log.borrow(), ["inner dropped"]);
    });
}

#[test]
fn duration_forms_on_async_executor() {
    let ex = async_executor::LocalExecutor::new();
    let job = ex.spawn(wait_for(async { 3 }, Duration::from_secs(60)));
    assert_eq!(futures_lite::future::block_on(ex.run(job)), Ok(3));

    let when = Instant::now() + Duration::from_millis(1);
    let job = ex.spawn(timeout_at(when, timeout_at(when, future::pending::<()>())));
    // One deadline: the outer reports, whatever the timer thread's timing.
    assert_eq!(
        futures_lite::future::block_on(ex.run(job)),
        Err(TimeoutError::new())
    );
}

#[test]
fn duration_forms_on_futures_block_on() {
    assert_eq!(
        block_on(timeout(Duration::from_secs(60), async { "ok" })),
        Ok("ok")
    );
    assert_eq!(
        block_on(wait_for(future::pending::<()>(), Duration::from_millis(1))),
        Err(TimeoutError::new())
    );
}
