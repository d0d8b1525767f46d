//! timeout_scope / TimeoutHandle (asyncio's `Timeout`: `when`, `reschedule`, `expired`) and
//! Trio's names `move_on_after` / `move_on_at` / `fail_after` / `fail_at`.
//!
//! Time is never left to luck: Duration forms run on tokio's paused clock (elapsed times are
//! then exact), the rest use past deadlines (no timer at all) or channels the test drives.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use aiokit::{
    TimeoutError, fail_after, fail_at, move_on_after, move_on_at, timeout_scope, timeout_scope_at,
};
use futures::channel::oneshot;
use futures::executor::{LocalPool, block_on};
use futures::future::{self, FusedFuture};
use futures::task::LocalSpawnExt;

type Log = Rc<RefCell<Vec<&'static str>>>;

/// tokio's clock (paused in these tests) as a std instant.
fn tokio_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Pending once (waking itself), then ready: one suspension point.
async fn yield_now() {
    let mut yielded = false;
    future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Logs its drop.
struct DropLog(Log, &'static str);

impl Drop for DropLog {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1);
    }
}

#[tokio::test(start_paused = true)]
async fn when_reads_the_deadline() {
    let start = tokio_now();
    let scope = timeout_scope(Duration::from_secs(10), |cm| async move { cm.when() });
    assert_eq!(scope.handle().when(), Some(start + Duration::from_secs(10)));
    assert_eq!(scope.await, Ok(Some(start + Duration::from_secs(10))));

    // No delay, and a delay beyond what an Instant holds: no deadline.
    assert_eq!(timeout_scope(None, |_| async {}).handle().when(), None);
    assert_eq!(
        timeout_scope(Duration::MAX, |_| async {}).handle().when(),
        None
    );
    let at = start + Duration::from_secs(3);
    assert_eq!(timeout_scope_at(at, |_| async {}).handle().when(), Some(at));
    // An async closure is a body too.
    assert_eq!(
        timeout_scope_at(at, async |cm| cm.when()).await,
        Ok(Some(at))
    );
}

#[tokio::test(start_paused = true)]
async fn reschedule_later_keeps_the_scope_running() {
    let start = tokio::time::Instant::now();
    let scope = timeout_scope(Duration::from_secs(1), |cm| async move {
        cm.reschedule_after(Duration::from_secs(3)).unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        "finished"
    });
    let cm = scope.handle();
    assert_eq!(scope.await, Ok("finished"));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(!cm.expired());
}

#[tokio::test(start_paused = true)]
async fn reschedule_earlier_fires_at_the_new_deadline() {
    let start = tokio::time::Instant::now();
    let scope = timeout_scope(Duration::from_secs(60), |cm| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cm.reschedule_after(Duration::from_secs(1)).unwrap();
        future::pending::<()>().await;
    });
    let cm = scope.handle();
    assert_eq!(scope.await, Err(TimeoutError::new()));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(cm.expired());
}

#[tokio::test(start_paused = true)]
async fn reschedule_none_disables_the_timeout() {
    let start = tokio::time::Instant::now();
    let scope = timeout_scope(Duration::from_secs(1), |cm| async move {
        cm.reschedule(None).unwrap();
        assert_eq!(cm.when(), None);
        tokio::time::sleep(Duration::from_secs(100)).await;
    });
    let cm = scope.handle();
    assert_eq!(scope.await, Ok(()));
    assert_eq!(start.elapsed(), Duration::from_secs(100));
    assert!(!cm.expired());

    // And a scope made without a deadline gets one later.
    let scope = timeout_scope(None, |cm| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        cm.reschedule_after(Duration::from_secs(1)).unwrap();
        future::pending::<()>().await;
    });
    assert_eq!(scope.await, Err(TimeoutError::new()));
    assert_eq!(start.elapsed(), Duration::from_secs(106));
}

#[test]
fn reschedule_to_the_past_fires_at_the_next_suspension() {
    let log = Log::default();
    let body_log = log.clone();
    let scope = timeout_scope(Duration::from_secs(60), |cm| async move {
        cm.reschedule(Instant::now() - Duration::from_millis(1))
            .unwrap();
        // The body goes on until it suspends, as in asyncio.
        body_log.borrow_mut().push("still running after reschedule");
        yield_now().await;
        body_log.borrow_mut().push("not reached");
    });
    let cm = scope.handle();
    assert_eq!(block_on(scope), Err(TimeoutError::new()));
    assert_eq!(*log.borrow(), ["still running after reschedule"]);
    assert!(cm.expired());
}

#[test]
fn reschedule_to_the_past_then_completing_without_suspending_is_no_timeout() {
    let scope = timeout_scope(Duration::from_secs(60), |cm| async move {
        cm.reschedule(Instant::now() - Duration::from_millis(1))
            .unwrap();
        42
    });
    let cm = scope.handle();
    assert_eq!(block_on(scope), Ok(42));
    assert!(!cm.expired());
}

#[test]
fn reschedule_from_another_task_wakes_the_scope() {
    // No timer anywhere: the scope has no deadline until the other task gives it a past
    // one, so only the handle's wake-up can end it.
    let mut pool = LocalPool::new();
    let scope = timeout_scope(None, |_| future::pending::<()>());
    let cm = scope.handle();
    let handle = pool.spawner().spawn_local_with_handle(scope).unwrap();
    let (go, gone) = oneshot::channel::<()>();
    pool.spawner()
        .spawn_local(async move {
            gone.await.unwrap();
            cm.reschedule(Instant::now() - Duration::from_millis(1))
                .unwrap();
        })
        .unwrap();
    pool.run_until_stalled();
    go.send(()).unwrap();
    pool.run_until_stalled();
    let mut handle = handle;
    assert_eq!(
        futures::FutureExt::now_or_never(&mut handle),
        Some(Err(TimeoutError::new()))
    );
}

#[tokio::test(start_paused = true)]
async fn reschedule_from_another_tokio_task_fires_at_the_new_deadline() {
    let start = tokio::time::Instant::now();
    let scope = timeout_scope(Duration::from_secs(60), |_| future::pending::<()>());
    let cm = scope.handle();
    let mover = tokio::spawn({
        let cm = cm.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            cm.reschedule(tokio_now()).unwrap();
        }
    });
    // The scope is Send: it runs on another tokio task too.
    let result = tokio::spawn(scope).await.unwrap();
    mover.await.unwrap();
    assert_eq!(result, Err(TimeoutError::new()));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert!(cm.expired());
}

#[test]
fn reschedule_after_the_scope_ended_is_an_error() {
    // Expired.
    let scope = timeout_scope(Duration::ZERO, |_| future::pending::<()>());
    let cm = scope.handle();
    assert_eq!(block_on(scope), Err(TimeoutError::new()));
    let err = cm.reschedule(None).unwrap_err();
    assert_eq!(err.reason(), "cannot reschedule an expired timeout");
    assert!(cm.when().is_some(), "a refused reschedule changes nothing");
    assert!(cm.expired());

    // Finished: the body completed.
    let scope = timeout_scope(Duration::from_secs(60), |_| async {});
    let cm = scope.handle();
    let when = cm.when();
    assert_eq!(block_on(scope), Ok(()));
    let err = cm.reschedule_after(Duration::ZERO).unwrap_err();
    assert_eq!(err.reason(), "cannot reschedule a finished timeout");
    assert_eq!(cm.when(), when);
    assert!(!cm.expired());

    // Finished: the scope was dropped (cancelled) before it completed.
    let log = Log::default();
    let guard = DropLog(log.clone(), "body dropped");
    let scope = timeout_scope(Duration::from_secs(60), move |_| async move {
        let _guard = guard;
        future::pending::<()>().await;
    });
    let cm = scope.handle();
    assert!(cm.reschedule(None).is_ok(), "allowed before the first poll");
    drop(scope);
    assert_eq!(*log.borrow(), ["body dropped"]);
    assert!(cm.reschedule(None).is_err());
    assert!(!cm.expired());
}

#[tokio::test(start_paused = true)]
async fn expired_is_readable_after_the_scope_ends() {
    let quick = timeout_scope(Duration::from_secs(2), |_| async {
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    let quick_cm = quick.handle();
    let slow = timeout_scope(Duration::from_secs(2), |_| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
    });
    let slow_cm = slow.handle();
    assert!(
        !quick_cm.expired() && !slow_cm.expired(),
        "not while running"
    );
    assert_eq!(quick.await, Ok(()));
    assert_eq!(slow.await, Err(TimeoutError::new()));
    assert!(!quick_cm.expired());
    assert!(slow_cm.expired());
}

#[tokio::test(start_paused = true)]
async fn nested_scopes_expiring_together_both_expire_and_only_the_outer_reports() {
    // The inner scope is made by the outer's body: its handle comes out through a slot.
    let slot = Rc::new(RefCell::new(None));
    let inner_slot = slot.clone();
    let outer = timeout_scope(Duration::from_secs(1), move |_| {
        let inner = timeout_scope(Duration::from_secs(1), |_| future::pending::<()>());
        *inner_slot.borrow_mut() = Some(inner.handle());
        inner
    });
    let outer_cm = outer.handle();
    assert_eq!(outer.await, Err(TimeoutError::new()));
    let inner_cm = slot.borrow_mut().take().unwrap();
    // asyncio: both `expired()`, only the outer raises TimeoutError.
    assert!(outer_cm.expired());
    assert!(inner_cm.expired());

    // The inner deadline alone: the inner reports, the outer does not expire.
    let outer = timeout_scope(Duration::from_secs(5), |_| {
        timeout_scope(Duration::from_secs(1), |_| future::pending::<()>())
    });
    let outer_cm = outer.handle();
    assert_eq!(outer.await, Ok(Err(TimeoutError::new())));
    assert!(!outer_cm.expired());
}

#[test]
fn the_scope_drops_its_body_before_reporting_expiry() {
    let log = Log::default();
    let guard = DropLog(log.clone(), "body dropped");
    let mut scope = std::pin::pin!(timeout_scope(Duration::ZERO, move |_| async move {
        let _guard = guard;
        future::pending::<()>().await;
    }));
    assert_eq!(block_on(scope.as_mut()), Err(TimeoutError::new()));
    assert_eq!(*log.borrow(), ["body dropped"]);
    assert!(scope.is_terminated());
}

#[test]
fn debug_shows_the_state_and_deadline() {
    let when = Instant::now() + Duration::from_secs(60);
    let scope = timeout_scope_at(when, |_| async {});
    let cm = scope.handle();
    assert_eq!(
        format!("{cm:?}"),
        format!("TimeoutHandle {{ state: \"active\", when: Some({when:?}) }}")
    );
    assert!(format!("{scope:?}").starts_with("TimeoutScope { handle: TimeoutHandle"));
    block_on(scope).unwrap();
    assert_eq!(format!("{cm:?}"), "TimeoutHandle { state: \"finished\" }");
}

// ---- Trio's names ----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn move_on_after_gives_none_on_expiry_after_dropping_the_inner() {
    let start = tokio::time::Instant::now();
    let log = Log::default();
    let guard = DropLog(log.clone(), "inner dropped");
    let stuck = async move {
        let _guard = guard;
        future::pending::<u8>().await
    };
    assert_eq!(move_on_after(Duration::from_secs(2), stuck).await, None);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(*log.borrow(), ["inner dropped"]);
}

#[tokio::test(start_paused = true)]
async fn move_on_after_gives_some_when_in_time() {
    let start = tokio::time::Instant::now();
    let quick = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        7
    };
    assert_eq!(move_on_after(Duration::from_secs(2), quick).await, Some(7));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn fail_after_is_timeout_under_trios_name() {
    let start = tokio::time::Instant::now();
    let stuck = future::pending::<u8>();
    assert_eq!(
        fail_after(Duration::from_secs(3), stuck).await,
        Err(TimeoutError::new())
    );
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(fail_after(Duration::from_secs(3), async { 1 }).await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn move_on_at_and_fail_at_take_an_instant() {
    let start = tokio::time::Instant::now();
    let at = start.into_std() + Duration::from_secs(4);
    assert_eq!(move_on_at(at, future::pending::<u8>()).await, None);
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    let at = at + Duration::from_secs(1);
    assert_eq!(
        fail_at(at, future::pending::<u8>()).await,
        Err(TimeoutError::new())
    );
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    // A past instant polls the inner once.
    assert_eq!(move_on_at(start.into_std(), async { 2 }).await, Some(2));
}

#[tokio::test(start_paused = true)]
async fn move_on_after_nested_in_an_expiring_timeout_lets_the_outer_report() {
    let inner = move_on_after(Duration::from_secs(1), future::pending::<()>());
    let outer = fail_after(Duration::from_secs(1), inner);
    assert_eq!(outer.await, Err(TimeoutError::new()));
}
