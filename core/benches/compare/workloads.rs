//! The workloads: the children, their drivers, and for each workload one line per
//! contestant (aiokit, its peers, a floor).

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use futures::StreamExt as _;
use futures::channel::oneshot;
use futures::executor::block_on;
use futures::future::{join_all, poll_fn, select_all};
use futures::stream::{FuturesOrdered, FuturesUnordered, Stream};

use crate::harness::{Workload, aiokit, floor, peer};

// ---------------------------------------------------------------------------------------------
// Children and drivers
// ---------------------------------------------------------------------------------------------

/// Returns `Pending` once, waking itself, then `Ready`: one scheduler turn.
#[derive(Default)]
struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// `ready`: `async move { i }`.
fn ready_children(n: usize) -> impl Iterator<Item = impl Future<Output = u64> + Send> + Send {
    (0..n as u64).map(|i| async move { i })
}

/// `yield1`: returns Pending once (waking itself), then `i`.
fn yield1_children(n: usize) -> impl Iterator<Item = impl Future<Output = u64> + Send> + Send {
    (0..n as u64).map(|i| async move {
        YieldNow::default().await;
        i
    })
}

/// Step between two sends of the `oneshot` driver: a prime, so `i += STRIDE mod N` visits
/// every index for N = 10^k, and in an order no combinator can exploit.
const STRIDE: usize = 7919;

/// `oneshot`: child `i` awaits the receiver of channel `i`; the driver, to be joined with the
/// combinator in the same task, sends `i` on channel `i` one channel per scheduler turn, in the
/// scrambled order `i += 7919 mod N`.
#[allow(clippy::type_complexity)]
fn oneshot_children(
    n: usize,
) -> (
    impl Future<Output = ()> + Send,
    impl Iterator<Item = impl Future<Output = u64> + Send> + Send,
) {
    let mut senders = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = oneshot::channel::<u64>();
        senders.push(Some(tx));
        receivers.push(rx);
    }
    let driver = async move {
        let mut i = 0;
        for _ in 0..n {
            let tx = senders[i]
                .take()
                .expect("the stride must be coprime with N so each channel is sent once");
            tx.send(i as u64)
                .expect("a child was dropped before its value arrived");
            i = (i + STRIDE) % n;
            YieldNow::default().await;
        }
    };
    let children = receivers
        .into_iter()
        .map(|rx| async move { rx.await.expect("the driver sends on every channel") });
    (driver, children)
}

/// `threads`: child `i` awaits the receiver of channel `i`; the senders run as two tasks on a
/// tokio multi-thread runtime with 2 workers (`tokio_mt`), each sending on half the channels
/// in the scrambled order of `oneshot`, so every wake comes from another thread. The returned
/// closure spawns them; the driver calls it inside the consuming task, just before the
/// combinator's first poll.
///
/// Not `gated` (the `threads` rows), the senders race with the first polls: a child whose value
/// was sent before its first poll finishes at once and is never woken. `gated` (the
/// `threads_woken` rows), they start only once every child has been polled once (the child
/// whose first poll is the last releases them), so every child waits for its value and is woken
/// from another thread, however long a contestant takes before its first polls.
#[allow(clippy::type_complexity)]
fn threads_children(
    n: usize,
    gated: bool,
) -> (
    impl FnOnce() + Send,
    impl Iterator<Item = impl Future<Output = u64> + Send> + Send,
) {
    let (order, receivers) = scrambled_channels(n);
    let (gate, gates) = if gated {
        let (go_first, first) = oneshot::channel::<()>();
        let (go_second, second) = oneshot::channel::<()>();
        let gate = Arc::new(Gate {
            unpolled: AtomicUsize::new(n),
            release: Mutex::new(vec![go_first, go_second]),
        });
        (Some(gate), [Some(first), Some(second)])
    } else {
        (None, [None, None])
    };
    let spawn = move || spawn_senders(order, gates);
    let children = receivers.into_iter().map(move |mut rx| {
        // Taken at the first poll.
        let mut gate = gate.clone();
        poll_fn(move |cx| {
            let poll = Pin::new(&mut rx).poll(cx);
            if let Some(gate) = gate.take() {
                gate.polled();
            }
            poll.map(|value| value.expect("the senders send on every channel"))
        })
    });
    (spawn, children)
}

/// Releases the senders of `threads_woken` once every child had its first poll.
struct Gate {
    unpolled: AtomicUsize,
    release: Mutex<Vec<oneshot::Sender<()>>>,
}

impl Gate {
    fn polled(&self) {
        if self.unpolled.fetch_sub(1, Ordering::AcqRel) == 1 {
            let release = std::mem::take(&mut *self.release.lock().expect("not poisoned"));
            for go in release {
                go.send(()).expect("the senders wait for the gate");
            }
        }
    }
}

/// N oneshot channels: the senders with their values in the scrambled order of `oneshot`, and
/// the receivers in index order.
#[allow(clippy::type_complexity)]
fn scrambled_channels(
    n: usize,
) -> (
    Vec<(u64, oneshot::Sender<u64>)>,
    Vec<oneshot::Receiver<u64>>,
) {
    let mut senders: Vec<Option<oneshot::Sender<u64>>> = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = oneshot::channel::<u64>();
        senders.push(Some(tx));
        receivers.push(rx);
    }
    let mut order = Vec::with_capacity(n);
    let mut i = 0;
    for _ in 0..n {
        order.push(senders[i].take().map(|tx| (i as u64, tx)));
        i = (i + STRIDE) % n;
    }
    let order = order
        .into_iter()
        .map(|sender| sender.expect("the stride must be coprime with N"))
        .collect();
    (order, receivers)
}

/// Spawns two sender tasks on `tokio_mt`, one per half of `order`; each first awaits its gate,
/// if any.
fn spawn_senders(
    mut order: Vec<(u64, oneshot::Sender<u64>)>,
    gates: [Option<oneshot::Receiver<()>>; 2],
) {
    let second = order.split_off(order.len() / 2);
    for (half, gate) in [order, second].into_iter().zip(gates) {
        tokio_mt().spawn(async move {
            if let Some(gate) = gate {
                gate.await.expect("the last first poll opens the gate");
            }
            for (i, tx) in half {
                tx.send(i)
                    .expect("a child was dropped before its value arrived");
            }
        });
    }
}

/// Iterations of [`cpu_work`]: about 20 us of one core's time on the machine the figures of
/// `taskgroup_cpu` were taken on (4.5 ns per iteration, measured as thread CPU time).
const CPU_WORK_ITERS: u64 = 4_500;

/// `taskgroup_cpu`'s child: a fixed amount of CPU work (a multiply-add chain through
/// `black_box`, which the optimizer can neither remove nor shorten), then `i`.
fn cpu_work(i: u64) -> u64 {
    let mut acc = i;
    for k in 0..CPU_WORK_ITERS {
        acc = black_box(acc.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(k));
    }
    black_box(acc);
    i
}

/// Runs `$consume` (an expression that may `.await`, with the children bound to `$ch`) on
/// `futures::executor::block_on`; for `oneshot`, joined with the driver in the same task.
macro_rules! run {
    (ready, $n:expr, |$ch:ident| $consume:expr) => {{
        let $ch = ready_children($n);
        block_on(async move { $consume })
    }};
    (yield1, $n:expr, |$ch:ident| $consume:expr) => {{
        let $ch = yield1_children($n);
        block_on(async move { $consume })
    }};
    (threads, $n:expr, |$ch:ident| $consume:expr) => {
        run!(@threads $n, false, |$ch| $consume)
    };
    (threads_woken, $n:expr, |$ch:ident| $consume:expr) => {
        run!(@threads $n, true, |$ch| $consume)
    };
    (@threads $n:expr, $gated:expr, |$ch:ident| $consume:expr) => {{
        let (spawn, $ch) = threads_children($n, $gated);
        block_on(async move {
            spawn();
            $consume
        })
    }};
    (ready_tokio, $n:expr, |$ch:ident| $consume:expr) => {{
        let $ch = ready_children($n);
        tokio_rt().block_on(async move { $consume })
    }};
    (oneshot, $n:expr, |$ch:ident| $consume:expr) => {{
        let (driver, $ch) = oneshot_children($n);
        block_on(async move {
            let ((), sum) = futures::join!(driver, async move { $consume });
            sum
        })
    }};
}

fn sum(outputs: Vec<u64>) -> u64 {
    outputs.iter().sum()
}

async fn sum_stream(stream: impl Stream<Item = u64>) -> u64 {
    let mut stream = pin!(stream);
    let mut sum = 0;
    while let Some(v) = stream.next().await {
        sum += v;
    }
    sum
}

fn ok(result: Result<u64, Infallible>) -> u64 {
    match result {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// The floor for `ready`: the children collected into a Vec (as every combinator does), then
/// each polled once by a plain loop. Each is moved out of the Vec, unpolled (which is allowed),
/// and pinned on the stack: the same work as polling in place, without `unsafe`.
async fn poll_loop_floor<F: Future<Output = u64>>(children: impl Iterator<Item = F>) -> u64 {
    // `black_box`: the Vec must exist, as it does in every combinator.
    let mut children: Vec<F> = black_box(children.collect());
    poll_fn(move |cx| {
        let mut sum = 0;
        for child in children.drain(..) {
            match pin!(child).poll(cx) {
                Poll::Ready(v) => sum += v,
                Poll::Pending => unreachable!("`ready` children complete on their first poll"),
            }
        }
        Poll::Ready(sum)
    })
    .await
}

fn tokio_rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio current-thread runtime")
    })
}

/// The runtime the `threads` senders run on: multi-thread, 2 workers.
fn tokio_mt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("tokio multi-thread runtime")
    })
}

// ---------------------------------------------------------------------------------------------
// Workload tables: one line per contestant
// ---------------------------------------------------------------------------------------------

pub(crate) fn workloads() -> Vec<Workload> {
    use futures_concurrency::prelude::*;
    vec![
        Workload {
            name: "ready",
            contestants: vec![
                aiokit("aiokit::gather", |n| {
                    run!(ready, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("futures::join_all", |n| {
                    run!(ready, n, |ch| sum(join_all(ch).await))
                }),
                peer("FuturesOrdered", |n| {
                    run!(ready, n, |ch| sum(ch
                        .collect::<FuturesOrdered<_>>()
                        .collect()
                        .await))
                }),
                peer("futures_buffered::join_all", |n| {
                    run!(ready, n, |ch| sum(futures_buffered::join_all(ch).await))
                }),
                peer("futures_concurrency Vec::join", |n| {
                    run!(ready, n, |ch| sum(ch.collect::<Vec<_>>().join().await))
                }),
                floor("floor: poll loop", |n| {
                    run!(ready, n, |ch| poll_loop_floor(ch).await)
                }),
            ],
        },
        Workload {
            // `ready` inside a tokio task, which spends tokio's cooperative budget (one unit per
            // 64 children) and yields to the runtime when it is spent. Its one peer is the same
            // gather with the budget lifted (`coop::unconstrained`): the ratio is what the
            // budget costs.
            name: "ready_tokio",
            contestants: vec![
                aiokit("aiokit::gather (tokio budget)", |n| {
                    run!(ready_tokio, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("aiokit::gather in coop::unconstrained", |n| {
                    run!(ready_tokio, n, |ch| sum(tokio::task::coop::unconstrained(
                        aiokit::gather(ch)
                    )
                    .await))
                }),
                floor("floor: poll loop", |n| {
                    run!(ready_tokio, n, |ch| poll_loop_floor(ch).await)
                }),
            ],
        },
        Workload {
            name: "yield1",
            contestants: vec![
                aiokit("aiokit::gather", |n| {
                    run!(yield1, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("futures::join_all", |n| {
                    run!(yield1, n, |ch| sum(join_all(ch).await))
                }),
                peer("FuturesOrdered", |n| {
                    run!(yield1, n, |ch| sum(ch
                        .collect::<FuturesOrdered<_>>()
                        .collect()
                        .await))
                }),
                peer("futures_buffered::join_all", |n| {
                    run!(yield1, n, |ch| sum(futures_buffered::join_all(ch).await))
                }),
                peer("futures_concurrency Vec::join", |n| {
                    run!(yield1, n, |ch| sum(ch.collect::<Vec<_>>().join().await))
                }),
            ],
        },
        Workload {
            name: "oneshot",
            contestants: vec![
                aiokit("aiokit::gather", |n| {
                    run!(oneshot, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("futures::join_all", |n| {
                    run!(oneshot, n, |ch| sum(join_all(ch).await))
                }),
                peer("FuturesOrdered", |n| {
                    run!(oneshot, n, |ch| sum(ch
                        .collect::<FuturesOrdered<_>>()
                        .collect()
                        .await))
                }),
                peer("futures_buffered::join_all", |n| {
                    run!(oneshot, n, |ch| sum(futures_buffered::join_all(ch).await))
                }),
                peer("futures_concurrency Vec::join", |n| {
                    run!(oneshot, n, |ch| sum(ch.collect::<Vec<_>>().join().await))
                }),
            ],
        },
        Workload {
            name: "as_completed",
            contestants: vec![
                aiokit("aiokit::as_completed", |n| {
                    run!(oneshot, n, |ch| sum_stream(aiokit::as_completed(ch)).await)
                }),
                peer("futures::FuturesUnordered", |n| {
                    run!(oneshot, n, |ch| sum_stream(
                        ch.collect::<FuturesUnordered<_>>()
                    )
                    .await)
                }),
                peer("futures_buffered::FuturesUnordered", |n| {
                    run!(oneshot, n, |ch| sum_stream(
                        ch.collect::<futures_buffered::FuturesUnordered<_>>()
                    )
                    .await)
                }),
            ],
        },
        Workload {
            // `oneshot` with the senders on other threads (`threads_children`).
            name: "gather_threads",
            contestants: vec![
                aiokit("aiokit::gather", |n| {
                    run!(threads, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("futures::join_all", |n| {
                    run!(threads, n, |ch| sum(join_all(ch).await))
                }),
                peer("futures_buffered::join_all", |n| {
                    run!(threads, n, |ch| sum(futures_buffered::join_all(ch).await))
                }),
            ],
        },
        Workload {
            name: "as_completed_threads",
            contestants: vec![
                aiokit("aiokit::as_completed", |n| {
                    run!(threads, n, |ch| sum_stream(aiokit::as_completed(ch)).await)
                }),
                peer("futures::FuturesUnordered", |n| {
                    run!(threads, n, |ch| sum_stream(
                        ch.collect::<FuturesUnordered<_>>()
                    )
                    .await)
                }),
                peer("futures_buffered::FuturesUnordered", |n| {
                    run!(threads, n, |ch| sum_stream(
                        ch.collect::<futures_buffered::FuturesUnordered<_>>()
                    )
                    .await)
                }),
            ],
        },
        Workload {
            // `threads` with the senders held back until every child was polled once
            // (`threads_children`, gated): every child is woken from another thread.
            name: "gather_threads_woken",
            contestants: vec![
                aiokit("aiokit::gather", |n| {
                    run!(threads_woken, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("futures::join_all", |n| {
                    run!(threads_woken, n, |ch| sum(join_all(ch).await))
                }),
                peer("futures_buffered::join_all", |n| {
                    run!(threads_woken, n, |ch| sum(
                        futures_buffered::join_all(ch).await
                    ))
                }),
            ],
        },
        Workload {
            name: "as_completed_threads_woken",
            contestants: vec![
                aiokit("aiokit::as_completed", |n| {
                    run!(threads_woken, n, |ch| sum_stream(aiokit::as_completed(ch))
                        .await)
                }),
                peer("futures::FuturesUnordered", |n| {
                    run!(threads_woken, n, |ch| sum_stream(
                        ch.collect::<FuturesUnordered<_>>()
                    )
                    .await)
                }),
                peer("futures_buffered::FuturesUnordered", |n| {
                    run!(threads_woken, n, |ch| sum_stream(
                        ch.collect::<futures_buffered::FuturesUnordered<_>>()
                    )
                    .await)
                }),
            ],
        },
        Workload {
            name: "wait_first",
            contestants: vec![
                aiokit("aiokit::wait(FirstCompleted) loop", |n| {
                    run!(oneshot, n, |ch| {
                        use aiokit::ReturnWhen;
                        let (mut done, mut pending) =
                            aiokit::wait(ch, ReturnWhen::FirstCompleted).await;
                        let mut sum = 0;
                        loop {
                            sum += done.into_iter().map(|d| d.output).sum::<u64>();
                            if pending.is_empty() {
                                break sum;
                            }
                            (done, pending) =
                                aiokit::wait(pending, ReturnWhen::FirstCompleted).await;
                        }
                    })
                }),
                peer("select_all loop", |n| {
                    run!(oneshot, n, |ch| {
                        let mut pending: Vec<_> = ch.map(Box::pin).collect();
                        let mut sum = 0;
                        while !pending.is_empty() {
                            let (v, _index, rest) = select_all(pending).await;
                            sum += v;
                            pending = rest;
                        }
                        sum
                    })
                }),
                peer("FuturesUnordered::next loop", |n| {
                    run!(oneshot, n, |ch| {
                        let mut pending = ch.collect::<FuturesUnordered<_>>();
                        let mut sum = 0;
                        while let Some(v) = pending.next().await {
                            sum += v;
                        }
                        sum
                    })
                }),
            ],
        },
        Workload {
            // N CPU-bound children (`cpu_work`, about 20 us each) on a tokio multi-thread
            // runtime with 2 workers (`tokio_mt`), the group's future on the calling thread.
            // The in-place group (a peer here, as the yardstick) runs them all on that one
            // thread: with C cores free, the spawning group should take about 1/C of its time,
            // and about JoinSet's.
            name: "taskgroup_cpu",
            contestants: vec![
                aiokit("aiokit TaskGroup::on(tokio 2 workers)", |n| {
                    tokio_mt()
                        .block_on(aiokit::TaskGroup::on(tokio_mt()).run(async |tg| {
                            let handles: Vec<_> = (0..n as u64)
                                .map(|i| {
                                    tg.create_task(
                                        async move { Ok::<u64, Infallible>(cpu_work(i)) },
                                    )
                                })
                                .collect();
                            let mut sum = 0;
                            for handle in &handles {
                                sum += *handle.await.expect("no child is cancelled");
                            }
                            Ok(sum)
                        }))
                        .expect("no child fails")
                }),
                peer("aiokit::TaskGroup (in place)", |n| {
                    block_on(aiokit::TaskGroup::run(async |tg| {
                        let handles: Vec<_> = (0..n as u64)
                            .map(|i| {
                                tg.create_task(async move { Ok::<u64, Infallible>(cpu_work(i)) })
                            })
                            .collect();
                        let mut sum = 0;
                        for handle in &handles {
                            sum += *handle.await.expect("no child is cancelled");
                        }
                        Ok(sum)
                    }))
                    .expect("no child fails")
                }),
                peer("tokio::JoinSet (2 workers)", |n| {
                    tokio_mt().block_on(async move {
                        let mut set = tokio::task::JoinSet::new();
                        for i in 0..n as u64 {
                            set.spawn(async move { Ok::<u64, Infallible>(cpu_work(i)) });
                        }
                        let mut sum = 0;
                        while let Some(joined) = set.join_next().await {
                            sum += ok(joined.expect("a JoinSet task panicked"));
                        }
                        sum
                    })
                }),
            ],
        },
        Workload {
            name: "taskgroup",
            contestants: vec![
                aiokit("aiokit::TaskGroup", |n| {
                    block_on(aiokit::TaskGroup::run(async |tg| {
                        let handles: Vec<_> = (0..n as u64)
                            .map(|i| tg.create_task(async move { Ok::<u64, Infallible>(i) }))
                            .collect();
                        // The body's first `.await` is where the children run.
                        let mut sum = 0;
                        for handle in &handles {
                            sum += *handle.await.expect("no child is cancelled");
                        }
                        Ok(sum)
                    }))
                    .expect("no child fails")
                }),
                peer("tokio::JoinSet", |n| {
                    tokio_rt().block_on(async move {
                        let mut set = tokio::task::JoinSet::new();
                        for i in 0..n as u64 {
                            set.spawn(async move { Ok::<u64, Infallible>(i) });
                        }
                        let mut sum = 0;
                        while let Some(joined) = set.join_next().await {
                            sum += ok(joined.expect("a JoinSet task panicked"));
                        }
                        sum
                    })
                }),
                peer("moro::async_scope!", |n| {
                    block_on(moro::async_scope!(|scope| -> u64 {
                        let handles: Vec<_> = (0..n as u64)
                            .map(|i| scope.spawn(async move { Ok::<u64, Infallible>(i) }))
                            .collect();
                        let mut sum = 0;
                        for handle in handles {
                            sum += ok(handle.await);
                        }
                        sum
                    }))
                }),
            ],
        },
    ]
}
