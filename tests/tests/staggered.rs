//! staggered_race (asyncio's `asyncio.staggered.staggered_race`).
//!
//! Start times are read on tokio's paused clock, where they are exact; ties and wake-ups
//! are ordered by channels the test fires between polls.

use std::cell::{Cell, RefCell};
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use aiokit::{RaceOutcome, staggered_race};
use futures::FutureExt;
use futures::channel::oneshot;
use futures::executor::block_on;
use futures::future::{self, FusedFuture, LocalBoxFuture};

type Log = Rc<RefCell<Vec<String>>>;

const MS: Duration = Duration::from_millis(1);

/// What an attempt does once started: sleep for `ms`, then succeed or fail with its index.
#[derive(Clone, Copy)]
struct Plan {
    ms: u64,
    ok: bool,
}

const fn ok(ms: u64) -> Plan {
    Plan { ms, ok: true }
}

const fn fail(ms: u64) -> Plan {
    Plan { ms, ok: false }
}

/// Attempts following `plans`: each logs "start i @ t" (t in ms on the paused clock), and
/// "drop i" if it is dropped before it ends.
fn attempts(
    plans: &[Plan],
    log: &Log,
) -> impl Iterator<Item = LocalBoxFuture<'static, Result<usize, usize>>> + use<> {
    let start = tokio::time::Instant::now();
    let plans = plans.to_vec();
    let log = log.clone();
    plans.into_iter().enumerate().map(move |(i, plan)| {
        let log = log.clone();
        async move {
            let t = start.elapsed().as_millis();
            log.borrow_mut().push(format!("start {i} @ {t}"));
            let armed = DropLog(log.clone(), format!("drop {i}"));
            tokio::time::sleep(Duration::from_millis(plan.ms)).await;
            std::mem::forget(armed);
            if plan.ok { Ok(i) } else { Err(i) }
        }
        .boxed_local()
    })
}

struct DropLog(Log, String);

impl Drop for DropLog {
    fn drop(&mut self) {
        self.0.borrow_mut().push(std::mem::take(&mut self.1));
    }
}

fn entries(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

#[test]
fn empty_attempts_give_no_winner_and_no_errors() {
    let none = Vec::<future::Ready<Result<(), ()>>>::new();
    let race = block_on(staggered_race(none, None));
    assert_eq!(
        race,
        RaceOutcome {
            winner: None,
            errors: vec![],
            extra: vec![],
        }
    );
}

#[tokio::test(start_paused = true)]
async fn the_first_success_wins_and_no_later_attempt_starts() {
    let log = Log::default();
    let race = staggered_race(attempts(&[ok(0), ok(0)], &log), None).await;
    assert_eq!(race.winner, Some((0, 0)));
    assert_eq!(race.errors, [None]);
    assert_eq!(entries(&log), ["start 0 @ 0"]);
}

#[tokio::test(start_paused = true)]
async fn the_next_attempt_starts_when_the_latest_fails() {
    let log = Log::default();
    let race = staggered_race(attempts(&[fail(5), ok(1)], &log), Duration::from_secs(60)).await;
    assert_eq!(race.winner, Some((1, 1)));
    assert_eq!(race.errors, [Some(0), None]);
    assert_eq!(entries(&log), ["start 0 @ 0", "start 1 @ 5"]);
}

#[tokio::test(start_paused = true)]
async fn the_next_attempt_starts_when_the_delay_passes() {
    let log = Log::default();
    let start = tokio::time::Instant::now();
    let race = staggered_race(attempts(&[ok(10_000), ok(20)], &log), 100 * MS).await;
    assert_eq!(race.winner, Some((1, 1)));
    // The loser was dropped, not failed: no error in its slot (asyncio: CancelledError).
    assert_eq!(race.errors, [None, None]);
    assert_eq!(entries(&log), ["start 0 @ 0", "start 1 @ 100", "drop 0"]);
    assert_eq!(start.elapsed(), 120 * MS);
}

#[tokio::test(start_paused = true)]
async fn only_the_latest_attempts_failure_starts_the_next() {
    // asyncio 3.11 on the same plan starts at 0, 100 and 200 ms: attempt 0 failing at 150 ms
    // does not start attempt 2, which waits for attempt 1's delay.
    let log = Log::default();
    let plan = [fail(150), fail(1000), ok(50)];
    let race = staggered_race(attempts(&plan, &log), 100 * MS).await;
    assert_eq!(race.winner, Some((2, 2)));
    assert_eq!(race.errors, [Some(0), None, None]);
    assert_eq!(
        entries(&log),
        ["start 0 @ 0", "start 1 @ 100", "start 2 @ 200", "drop 1"]
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_delay_attempts_run_one_after_another() {
    let log = Log::default();
    let race = staggered_race(attempts(&[fail(10), fail(20), ok(5)], &log), None).await;
    assert_eq!(race.winner, Some((2, 2)));
    assert_eq!(
        entries(&log),
        ["start 0 @ 0", "start 1 @ 10", "start 2 @ 30"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_zero_delay_starts_every_attempt_at_once() {
    let log = Log::default();
    let race = staggered_race(attempts(&[ok(30), ok(10), ok(20)], &log), Duration::ZERO).await;
    assert_eq!(race.winner, Some((1, 1)));
    assert_eq!(race.errors, [None, None, None]);
    assert_eq!(
        entries(&log),
        [
            "start 0 @ 0",
            "start 1 @ 0",
            "start 2 @ 0",
            "drop 0",
            "drop 2"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn no_success_gives_every_error_in_start_order() {
    let log = Log::default();
    let race = staggered_race(attempts(&[fail(30), fail(5), fail(1)], &log), 10 * MS).await;
    assert_eq!(race.winner, None);
    // Started at 0, 10 and 15 ms (attempt 1 failed at 15), failed at 30, 15 and 16 ms: the
    // slots follow start order, not failure order.
    assert_eq!(race.errors, [Some(0), Some(1), Some(2)]);
    assert_eq!(race.into_errors().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(
        entries(&log),
        ["start 0 @ 0", "start 1 @ 10", "start 2 @ 15"]
    );
}

#[tokio::test(start_paused = true)]
async fn losers_are_dropped_before_the_winner_is_returned() {
    let log = Log::default();
    let race = staggered_race(attempts(&[ok(1000), ok(1000), ok(5)], &log), 10 * MS);
    let race = race.await;
    log.borrow_mut().push("returned".to_string());
    assert_eq!(race.winner, Some((2, 2)));
    assert_eq!(
        entries(&log),
        [
            "start 0 @ 0",
            "start 1 @ 10",
            "start 2 @ 20",
            "drop 0",
            "drop 1",
            "returned"
        ]
    );
}

/// An attempt that waits for `signal`, then succeeds with `value`.
fn waits_for(
    signal: &future::Shared<oneshot::Receiver<()>>,
    value: usize,
) -> LocalBoxFuture<'static, Result<usize, ()>> {
    let signal = signal.clone();
    async move {
        signal.await.unwrap();
        Ok(value)
    }
    .boxed_local()
}

#[tokio::test(start_paused = true)]
async fn two_successes_in_one_pass_hand_the_later_one_to_extra() {
    // CPython's test_multiple_winners: attempts 0 and 1 wait for one event, attempt 2 sets it.
    // asyncio cancels attempt 1 and loses its value; here it comes back in `extra`.
    let (set, event) = oneshot::channel::<()>();
    let event = event.shared();
    let set = Cell::new(Some(set));
    let do_set = async {
        set.take().unwrap().send(()).unwrap();
        future::pending::<Result<usize, ()>>().await
    }
    .boxed_local();
    let race = staggered_race(
        [waits_for(&event, 0), waits_for(&event, 1), do_set],
        100 * MS,
    )
    .await;
    assert_eq!(race.winner, Some((0, 0)));
    assert_eq!(race.extra, [(1, 1)]);
    assert_eq!(race.errors, [None, None, None]);
}

#[test]
fn ties_go_to_the_earliest_started_attempt_whatever_the_wake_order() {
    // More attempts than the engine's direct mode holds, so only woken attempts are polled,
    // in wake order: attempt 19 is woken before attempt 3, yet attempt 3 wins.
    let mut senders = Vec::new();
    let mut children = Vec::new();
    for i in 0..20 {
        let (tx, rx) = oneshot::channel::<()>();
        senders.push(Some(tx));
        children.push(
            async move {
                rx.await.unwrap();
                Ok::<usize, ()>(i)
            }
            .boxed_local(),
        );
    }
    let mut race = pin!(staggered_race(children, Duration::ZERO));
    block_on(async {
        assert!(futures::poll!(race.as_mut()).is_pending());
        senders[19].take().unwrap().send(()).unwrap();
        senders[3].take().unwrap().send(()).unwrap();
        let outcome = race.as_mut().await;
        assert_eq!(outcome.winner, Some((3, 3)));
        assert_eq!(outcome.extra, [(19, 19)]);
        assert_eq!(outcome.errors.len(), 20);
        assert!(race.is_terminated());
    });
}

#[test]
fn attempts_are_built_only_when_they_start() {
    let built = Cell::new(0);
    let (fail_first, first_failed) = oneshot::channel::<()>();
    let mut first_failed = Some(first_failed);
    let attempts = (0..3).map(|i| {
        built.set(built.get() + 1);
        let wait = first_failed.take();
        async move {
            match wait {
                Some(rx) => {
                    rx.await.unwrap();
                    Err(i)
                }
                None => Ok(i),
            }
        }
        .boxed_local()
    });
    let mut race = pin!(staggered_race(attempts, None));
    block_on(async {
        assert!(futures::poll!(race.as_mut()).is_pending());
        assert_eq!(built.get(), 1);
        fail_first.send(()).unwrap();
        let outcome = race.as_mut().await;
        assert_eq!(outcome.winner, Some((1, 1)));
        assert_eq!(outcome.errors, [Some(0), None]);
    });
    assert_eq!(built.get(), 2, "the third attempt was never built");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_race_drops_every_running_attempt() {
    let log = Log::default();
    let race = staggered_race(attempts(&[ok(1000), ok(1000), ok(1000)], &log), 10 * MS);
    // Cancelled at 15 ms, with two attempts running and the third never built.
    assert!(aiokit::move_on_after(15 * MS, race).await.is_none());
    assert_eq!(
        entries(&log),
        ["start 0 @ 0", "start 1 @ 10", "drop 0", "drop 1"]
    );
}

#[test]
#[should_panic(expected = "`StaggeredRace` polled after completion")]
fn polling_after_completion_panics() {
    let mut race = pin!(staggered_race([future::ready(Ok::<_, ()>(()))], None));
    block_on(race.as_mut());
    let _ = block_on(race.as_mut());
}

#[test]
fn debug_shows_progress() {
    let race = staggered_race([future::ready(Err::<(), _>(1))], None);
    assert_eq!(
        format!("{race:?}"),
        "StaggeredRace { started: 0, running: 0, failed: 0, done: false }"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_race_of_send_attempts_runs_on_another_thread() {
    let attempts = (0..3).map(|i| async move {
        if i < 2 {
            Err(format!("attempt {i} refused"))
        } else {
            Ok(i)
        }
    });
    let race = tokio::spawn(staggered_race(attempts, Duration::from_secs(60)));
    let race = race.await.unwrap();
    assert_eq!(race.winner, Some((2, 2)));
    assert_eq!(
        race.into_errors().collect::<Vec<_>>(),
        ["attempt 0 refused", "attempt 1 refused"]
    );
}

#[test]
fn a_race_runs_on_smol_with_its_timer() {
    // Outside tokio the delay uses async-io's timer; attempt 0 never ends, so attempt 1 can
    // only start once the delay has passed.
    let attempts = [
        future::pending::<Result<u8, ()>>().boxed(),
        future::ready(Ok(1)).boxed(),
    ];
    let race = smol::block_on(staggered_race(attempts, MS));
    assert_eq!(race.winner, Some((1, 1)));
    assert_eq!(race.errors, [None, None]);
}
