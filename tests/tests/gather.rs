//! gather / try_gather / gather! / try_gather!: every rule of `docs/semantics.md#gather`, each run on
//! every executor of the tests crate where an executor is involved, plus aiokit's own rules
//! (drops, panics, cross-thread wakes, a million children).
//!
//! Completion order is forced with channels fired by a spawned task in a chosen order; nothing
//! sleeps.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use aiokit::{Task, gather, try_gather};
use aiokit_tests::{Exec, on_each_executor};
use futures::channel::oneshot;
use futures::future::FusedFuture;
use futures::task::noop_waker;

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Lets one child finish, then waits until the combinator has seen it finish.
struct Gate {
    go: oneshot::Sender<()>,
    seen: oneshot::Receiver<()>,
}

/// Child `name` finishes when its gate opens, logging its completion; it acknowledges from
/// inside its last poll, so the acknowledgement arrives once the combinator holds its output.
fn child(
    name: &'static str,
    log: &Log,
) -> (
    Gate,
    impl std::future::Future<Output = &'static str> + Send + 'static,
) {
    let (gate, opened) = gate();
    let log = log.clone();
    (gate, async move {
        let ack = opened.await;
        log.lock().unwrap().push(format!("{name} done"));
        let _ = ack.send(());
        name
    })
}

/// A gate and the future its child awaits, which gives the acknowledgement sender.
fn gate() -> (
    Gate,
    impl std::future::Future<Output = oneshot::Sender<()>> + Send + 'static,
) {
    let (go, rx) = oneshot::channel::<()>();
    let (ack, seen) = oneshot::channel::<()>();
    (Gate { go, seen }, async move {
        rx.await.unwrap();
        ack
    })
}

/// Opens the gates in the given order from a task spawned on the executor (a worker thread on
/// multi-threaded executors), each only after the previous child was seen finishing (or was
/// dropped), so the completion order is exactly this order on every executor.
fn fire_in_order<E: Exec>(ex: &E, gates: Vec<Gate>) -> Task<()> {
    ex.spawn(async move {
        for gate in gates {
            if gate.go.send(()).is_ok() {
                let _ = gate.seen.await;
            }
        }
    })
}

// docs/semantics.md#results-come-back-in-argument-order
// Results come back in argument order, never completion order.
on_each_executor! {
    fn results_come_back_in_argument_order_never_completion_order(ex) {
        let log = log();
        let (ta, a) = child("a", &log);
        let (tb, b) = child("b", &log);
        let (tc, c) = child("c", &log);
        // Finishing at .03 / .01 / .02 in the tutorial: b, then c, then a.
        let driver = fire_in_order(ex, vec![tb, tc, ta]);
        let results = ex.block_on(gather([a, b, c]));
        assert_eq!(results, ["a", "b", "c"]);
        assert_eq!(entries(&log), ["b done", "c done", "a done"]);
        ex.block_on(driver).unwrap();
    }
}

// The same with enough children for the engine's queued mode (more than 16).
on_each_executor! {
    fn results_come_back_in_argument_order_with_many_children(ex) {
        let log = log();
        let (senders, children): (Vec<_>, Vec<_>) = ["a", "b", "c", "d", "e", "f", "g", "h", "i",
            "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t"]
            .into_iter()
            .map(|name| child(name, &log))
            .unzip();
        let mut senders: Vec<_> = senders.into_iter().collect();
        senders.reverse();
        let driver = fire_in_order(ex, senders);
        let results = ex.block_on(gather(children));
        assert_eq!(results.concat(), "abcdefghijklmnopqrst");
        assert_eq!(entries(&log).first().map(String::as_str), Some("t done"));
        ex.block_on(driver).unwrap();
    }
}

// docs/semantics.md#empty-input-gives-an-empty-result
// Empty input gives an already-complete result, `[]`.
#[test]
fn empty_input_is_an_already_complete_result() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut g = pin!(gather(Vec::<std::future::Ready<u8>>::new()));
    assert_eq!(g.as_mut().poll(&mut cx), Poll::Ready(vec![]));
    assert!(g.is_terminated());
    let mut t = pin!(try_gather(Vec::<std::future::Ready<Result<u8, ()>>>::new()));
    assert_eq!(t.as_mut().poll(&mut cx), Poll::Ready(Ok(vec![])));
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// docs/semantics.md#the-first-error-wins-and-the-rest-are-dropped
// A child raises: gather fails with that exception at once; aiokit's try_gather
// returns the first Err in completion order and drops (cancels) the rest before returning.
on_each_executor! {
    fn a_child_raises_try_gather_fails_with_the_first_err_and_drops_the_rest(ex) {
        let drops = Arc::new(AtomicUsize::new(0));
        let (gate1, opened1) = gate();
        let (gate2, opened2) = gate();
        let (_keep, rx_never) = oneshot::channel::<()>();
        let guard = DropCount(drops.clone());
        let forever = async move {
            let _guard = guard;
            let _ = rx_never.await;
            Ok::<&str, String>("never")
        };
        let guard = DropCount(drops.clone());
        let fail1 = async move {
            let _guard = guard;
            let _ack = opened1.await;
            Err::<&str, String>("first".into())
        };
        let fail2 = async move {
            let _ack = opened2.await;
            Err::<&str, String>("second".into())
        };
        let ok = async { Ok::<&str, String>("fine") };
        let children: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>> =
            vec![Box::pin(forever), Box::pin(fail2), Box::pin(ok), Box::pin(fail1)];
        // fail1 (index 3) fails first in completion order, though fail2 comes first in input.
        let driver = fire_in_order(ex, vec![gate1, gate2]);
        let result = ex.block_on(async {
            let r = try_gather(children).await;
            // Every other child was dropped before the error came back.
            assert_eq!(drops.load(Ordering::SeqCst), 2);
            r
        });
        assert_eq!(result, Err("first".to_string()));
        ex.block_on(driver).unwrap();
    }
}

// docs/semantics.md#return_exceptions-is-gather-over-result-futures
// Asyncio's return_exceptions=True is plain gather over Result futures: every
// outcome, in argument order.
on_each_executor! {
    fn gather_over_results_is_return_exceptions_true(ex) {
        let (gate, opened) = gate();
        let late_ok = async move {
            let _ack = opened.await;
            Ok::<u8, String>(1)
        };
        let children: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>> = vec![
            Box::pin(late_ok),
            Box::pin(async { Err::<u8, String>("bad".into()) }),
            Box::pin(async { Ok::<u8, String>(3) }),
        ];
        let driver = fire_in_order(ex, vec![gate]);
        let results = ex.block_on(gather(children));
        assert_eq!(results, [Ok(1), Err("bad".to_string()), Ok(3)]);
        ex.block_on(driver).unwrap();
    }
}

// docs/semantics.md#dropping-gather-drops-every-child
// Cancelling gather cancels every child; aiokit: dropping it drops every child,
// exactly once, whether it already finished or not.
#[test]
fn cancelling_gather_cancels_every_child() {
    for n in [5usize, 100] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (senders, children): (Vec<_>, Vec<_>) = (0..n)
            .map(|i| {
                let (tx, rx) = oneshot::channel::<()>();
                let guard = DropCount(drops.clone());
                (tx, async move {
                    let _guard = guard;
                    rx.await.unwrap();
                    i
                })
            })
            .unzip();
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut g = Box::pin(gather(children));
        assert!(g.as_mut().poll(&mut cx).is_pending());
        // Half of them finish (and are dropped at once); the others are still running.
        let mut kept = vec![];
        for (i, tx) in senders.into_iter().enumerate() {
            if i % 2 == 0 {
                tx.send(()).unwrap();
            } else {
                kept.push(tx);
            }
        }
        assert!(g.as_mut().poll(&mut cx).is_pending());
        assert_eq!(drops.load(Ordering::SeqCst), n.div_ceil(2));
        drop(g);
        assert_eq!(drops.load(Ordering::SeqCst), n, "n = {n}");
    }
}

// docs/semantics.md#a-done-callback-on-gather-runs-once-after-the-last-child
// A done-callback on the gather runs once, after the last child.
on_each_executor! {
    fn a_done_callback_on_the_gather_runs_once_after_the_last_child(ex) {
        let log = log();
        let (ta, a) = child("a", &log);
        let (tb, b) = child("b", &log);
        let task = ex.spawn(gather([a, b]));
        let calls = Arc::new(AtomicUsize::new(0));
        let (calls2, log2) = (calls.clone(), log.clone());
        task.add_done_callback(move |t: &Task<Vec<&'static str>>| {
            calls2.fetch_add(1, Ordering::SeqCst);
            log2.lock().unwrap().push(format!("callback {:?}", t.result().unwrap()));
        });
        let driver = fire_in_order(ex, vec![tb, ta]);
        assert_eq!(ex.block_on(task.clone()), Ok(vec!["a", "b"]));
        ex.block_on(driver).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(entries(&log), ["b done", "a done", r#"callback ["a", "b"]"#]);
    }
}

// docs/semantics.md#a-childs-panic-drops-the-siblings-then-unwinds
// A child's panic unwinds out of the gather after every other child is dropped exactly once.
#[test]
fn a_child_panic_unwinds_after_every_other_child_is_dropped_exactly_once() {
    for n in [4usize, 64] {
        let drops = Arc::new(AtomicUsize::new(0));
        let children: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = usize>>>> = (0..n)
            .map(|i| {
                let guard = DropCount(drops.clone());
                let fut: std::pin::Pin<Box<dyn std::future::Future<Output = usize>>> =
                    Box::pin(async move {
                        let _guard = guard;
                        futures_lite::future::yield_now().await;
                        if i == n / 2 {
                            panic!("child {i} panicked");
                        }
                        futures::future::pending::<()>().await;
                        i
                    });
                fut
            })
            .collect();
        let result = catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(gather(children))
        }));
        let payload = result.expect_err("the panic comes out of the gather");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some(format!("child {} panicked", n / 2).as_str())
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            n,
            "every child dropped exactly once"
        );
    }
}

// Wakes from other threads: children woken by tokio worker threads complete.
#[test]
#[cfg_attr(miri, ignore)] // a runtime, threads or a large N: too slow or out of reach under miri
fn wakes_from_other_threads_complete() {
    let rt = aiokit_tests::tokio_multi_thread();
    let n = 2000u64;
    let (senders, children): (Vec<_>, Vec<_>) = (0..n)
        .map(|i| {
            let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
            (tx, async move { rx.await.unwrap() + i })
        })
        .unzip();
    let fire = rt.0.spawn(async move {
        for (i, tx) in senders.into_iter().enumerate().rev() {
            tx.send(i as u64).unwrap();
            if i % 64 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    let sum: u64 = rt.0.block_on(async { gather(children).await.iter().sum() });
    assert_eq!(sum, n * (n - 1));
    rt.0.block_on(fire).unwrap();
}

// A million children complete (each pending once, so each is woken and polled twice).
#[test]
#[cfg_attr(miri, ignore)] // a runtime, threads or a large N: too slow or out of reach under miri
fn one_million_children_complete() {
    let n = 1_000_000u64;
    let children = (0..n).map(|i| async move {
        futures_lite::future::yield_now().await;
        i
    });
    let outputs = futures::executor::block_on(gather(children));
    assert_eq!(outputs.len(), n as usize);
    assert!(outputs.iter().enumerate().all(|(i, &o)| o == i as u64));
}

#[test]
fn polling_a_gather_after_it_returned_panics() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut g = pin!(gather([async { 1 }]));
    assert_eq!(g.as_mut().poll(&mut cx), Poll::Ready(vec![1]));
    let again = catch_unwind(AssertUnwindSafe(|| g.as_mut().poll(&mut cx)));
    let payload = again.expect_err("a second poll panics");
    assert!(
        payload
            .downcast_ref::<&str>()
            .is_some_and(|m| m.contains("polled after"))
    );
}

#[test]
fn gather_debug_shows_progress() {
    let g = gather((0..3).map(|i| async move { i }));
    assert_eq!(
        format!("{g:?}"),
        "Gather { running: 3, done: false, \
         children: [<future #0><pending>, <future #1><pending>, <future #2><pending>] }"
    );
}

// gather! / try_gather!: tuples of different types, same rules.
on_each_executor! {
    fn gather_macro_results_come_back_in_argument_order(ex) {
        let log = log();
        let (ta, a) = child("a", &log);
        let (tb, b) = child("b", &log);
        let driver = fire_in_order(ex, vec![tb, ta]);
        let (x, y, z) = ex.block_on(aiokit::gather!(a, b, async { 3u8 }));
        assert_eq!((x, y, z), ("a", "b", 3));
        assert_eq!(entries(&log), ["b done", "a done"]);
        ex.block_on(driver).unwrap();
    }
}

#[test]
fn try_gather_macro_returns_the_first_err_and_drops_the_rest() {
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let (_keep, rx) = oneshot::channel::<()>();
    let forever = async move {
        let _guard = guard;
        let _ = rx.await;
        Ok::<u8, &str>(1)
    };
    let result = futures::executor::block_on(async {
        let r = aiokit::try_gather!(forever, async { Err::<&str, &str>("no milk") }).await;
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "dropped before the error returns"
        );
        r
    });
    assert_eq!(result, Err("no milk"));
}

// try_gather drops the children it abandons on purpose: coroutines among them that were never
// polled are not reported as "never awaited"; one dropped by hand is.
#[test]
fn try_gather_short_circuit_does_not_report_never_awaited() {
    type Boxed = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u8, &'static str>>>>;
    let reported = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = reported.clone();
    aiokit::hooks::set_never_awaited_hook(move |info: &aiokit::hooks::NeverAwaited<'_>| {
        sink.lock().unwrap().push(info.name().to_string())
    });
    let children: Vec<aiokit::Coroutine<Boxed>> = vec![
        aiokit::Coroutine::new("fails", Box::pin(async { Err("boom") })),
        aiokit::Coroutine::new("abandoned", Box::pin(async { Ok(1) })),
    ];
    let result = futures::executor::block_on(try_gather(children));
    assert_eq!(result, Err("boom"));
    assert!(
        reported.lock().unwrap().is_empty(),
        "{:?}",
        reported.lock().unwrap()
    );
    drop(aiokit::Coroutine::new("forgotten", async {}));
    assert_eq!(*reported.lock().unwrap(), ["forgotten"]);
    let _ = aiokit::hooks::take_never_awaited_hook();
}

// The output Vec is sized for the outputs, not for the children's slots (which std's in-place
// collect would reuse, keeping up to size_of::<slot>() / size_of::<output>() times the memory).
// (Only a small set whose slots hold a whole number of outputs of the slots' alignment hands
// its slots' allocation out as it is, under 1 KiB: see the next test.)
#[test]
fn the_output_vec_holds_no_more_capacity_than_outputs() {
    for n in [3usize, 17, 1000] {
        let big = [0u8; 64];
        let outputs = futures::executor::block_on(gather((0..n).map(|i| async move {
            std::hint::black_box(&big);
            i as u8
        })));
        assert_eq!(outputs.len(), n);
        assert_eq!(outputs.capacity(), n, "n = {n}");
    }
}

// A small gather whose outputs fit over its children's slots hands their allocation out as the
// output Vec (no allocation of its own); its spare capacity stays under 1 KiB.
#[test]
fn a_small_gather_output_vec_keeps_under_1_kib_of_spare_capacity() {
    for n in [1usize, 2, 10, 16] {
        let outputs = futures::executor::block_on(gather((0..n as u64).map(|i| async move { i })));
        assert_eq!(outputs, (0..n as u64).collect::<Vec<_>>());
        assert!(outputs.capacity() >= n);
        assert!(
            outputs.capacity() * 8 <= 1024,
            "n = {n}: {}",
            outputs.capacity()
        );
    }
}
