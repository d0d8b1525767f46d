//! Allocation counts of aiokit's combinators (`docs/benchmarks.md#allocations`): gather, wait and
//! as_completed over N children make a constant number of allocations, at most 4, for any N;
//! a TaskGroup at most 1 per child.
//!
//! It also checks that a TaskGroup frees everything it allocated once its future is dropped.
//!
//! This test binary installs a counting `#[global_allocator]`. Counting is per thread and only
//! inside [`count_allocations`] (or [`live_bytes_left_by`]), so tests running in parallel on
//! other threads, and the test harness itself, are not counted. Children are built lazily from iterators (and, for
//! `oneshot`, the channels are made before counting starts), so what is counted is the
//! combinator's own work, plus the output `Vec` it returns.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aiokit_tests::counting_alloc::{CountingAllocator, measure};
use futures::channel::oneshot;
use futures::executor::block_on;
use futures_lite::future::{YieldNow, yield_now};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result and the number of allocations (including reallocations)
/// it made on this thread. The result is dropped by the caller, outside the count.
fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (result, measured) = measure(f);
    (result, measured.allocations)
}

/// Runs `f`, which must drop whatever it makes, and returns the bytes it allocated on this
/// thread and did not free (0 when nothing is left behind).
fn live_bytes_left_by(f: impl FnOnce()) -> isize {
    measure(f).1.live
}

const NS: [usize; 3] = [10, 1_000, 100_000];
const MAX_ALLOCATIONS: usize = 4;

fn expected_sum(n: usize) -> u64 {
    (n as u64) * (n as u64 - 1) / 2
}

/// The children kinds of the benchmarks. `consume` gets the children and must return the sum
/// of their outputs; it runs under `block_on`, joined with a driver for `oneshot`. Returns the
/// allocation count of each kind.
fn counts_per_kind<C, F>(n: usize, consume: C) -> [(&'static str, usize); 3]
where
    C: Fn(Children) -> F,
    F: Future<Output = u64>,
{
    let check = |kind: &str, (sum, count): (u64, usize)| {
        assert_eq!(sum, expected_sum(n), "{kind} children, N = {n}");
        count
    };
    let ready = check("ready", {
        let children = ready_children(n);
        count_allocations(|| block_on(consume(children)))
    });
    let yield1 = check("yield1", {
        let children = yield1_children(n);
        count_allocations(|| block_on(consume(children)))
    });
    let (driver, children) = oneshot_children(n);
    let oneshot = check(
        "oneshot",
        count_allocations(|| {
            block_on(async {
                let ((), sum) = futures::join!(driver, consume(children));
                sum
            })
        }),
    );
    [("ready", ready), ("yield1", yield1), ("oneshot", oneshot)]
}

/// One child type for every kind, so that one `consume` closure serves them all.
enum Child {
    Ready(u64),
    Yield1(YieldNow, u64),
    Oneshot(oneshot::Receiver<u64>),
}

impl Future for Child {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        match self.get_mut() {
            Child::Ready(i) => Poll::Ready(*i),
            Child::Yield1(yield_now, i) => Pin::new(yield_now).poll(cx).map(|()| *i),
            Child::Oneshot(rx) => Pin::new(rx)
                .poll(cx)
                .map(|r| r.expect("the driver sends on every channel")),
        }
    }
}

/// The children, already built: iterating them does not allocate.
type Children = std::vec::IntoIter<Child>;

fn ready_children(n: usize) -> Children {
    (0..n as u64)
        .map(Child::Ready)
        .collect::<Vec<_>>()
        .into_iter()
}

fn yield1_children(n: usize) -> Children {
    (0..n as u64)
        .map(|i| Child::Yield1(yield_now(), i))
        .collect::<Vec<_>>()
        .into_iter()
}

/// The children and a driver that sends `i` on channel `i`, one channel per scheduler turn.
fn oneshot_children(n: usize) -> (impl Future<Output = ()>, Children) {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| oneshot::channel::<u64>()).unzip();
    let driver = async move {
        for (i, tx) in senders.into_iter().enumerate() {
            tx.send(i as u64).expect("the child is alive");
            yield_now().await;
        }
    };
    let children = receivers
        .into_iter()
        .map(Child::Oneshot)
        .collect::<Vec<_>>()
        .into_iter();
    (driver, children)
}

/// For each kind of children: at most 4 allocations at every N, and the same number at every N
/// from 1 000 up. Small N may use fewer (the engine stores up to 16 children without its
/// queue), which is still a constant bound; what must never happen is a count growing with N.
fn assert_constant_and_small(what: &str, counts: &[(usize, [(&'static str, usize); 3])]) {
    eprintln!("{what}: (N, [(children, allocations)]) {counts:?}");
    for kind in 0..3 {
        let large: Vec<usize> = counts
            .iter()
            .filter(|(n, _)| *n >= 1_000)
            .map(|(_, per_kind)| per_kind[kind].1)
            .collect();
        let small_enough = counts
            .iter()
            .all(|(_, per_kind)| per_kind[kind].1 <= MAX_ALLOCATIONS);
        let constant = large.windows(2).all(|w| w[0] == w[1]);
        assert!(
            small_enough && constant,
            "{what}: allocations must be at most {MAX_ALLOCATIONS} for every N and the same for \
             every N >= 1 000, got (N, [(children, allocations)]) {counts:?}"
        );
    }
}

#[test]
fn counting_allocator_counts_this_threads_allocations() {
    let (boxed, count) = count_allocations(|| Box::new(7_u64));
    assert_eq!((*boxed, count), (7, 1));
    let (v, count) = count_allocations(|| {
        let mut v = Vec::with_capacity(1);
        v.extend([1_u8, 2]); // one allocation, then one reallocation
        v
    });
    assert_eq!((v.len(), count), (2, 2));
}

#[test]
fn live_bytes_count_what_is_not_freed() {
    assert_eq!(live_bytes_left_by(|| drop(vec![0_u64; 4])), 0);
    let mut kept = None;
    let live = live_bytes_left_by(|| {
        let mut v = Vec::with_capacity(1);
        v.extend([1_u32, 2, 3]); // grown by reallocation
        v.shrink_to_fit();
        kept = Some(v);
    });
    assert_eq!(live, 12);
    drop(kept);
}

#[test]
fn children_and_driver_allocate_nothing_so_counts_are_the_combinators() {
    for n in NS {
        let counts = counts_per_kind(n, |children| async move {
            let mut sum = 0;
            for child in children {
                sum += child.await;
            }
            sum
        });
        assert_eq!(
            counts,
            [("ready", 0), ("yield1", 0), ("oneshot", 0)],
            "N = {n}"
        );
    }
}

#[test]
fn counting_sees_per_child_allocations_of_a_peer() {
    // futures' FuturesUnordered allocates one task per child: the counts must show it, or the
    // bounds asserted below would prove nothing.
    use futures::StreamExt as _;
    for n in [1_000, 100_000] {
        let counts = counts_per_kind(n, |children| async move {
            let unordered: futures::stream::FuturesUnordered<_> = children.collect();
            unordered.fold(0, |sum, v| async move { sum + v }).await
        });
        for (kind, count) in counts {
            assert!(
                count >= n,
                "{kind} children, N = {n}: only {count} allocations"
            );
        }
    }
}

// --- aiokit::gather / aiokit::try_gather ------------------------------------------------------

#[test]
fn gather_allocates_at_most_4_and_does_not_grow_with_n() {
    let counts: Vec<_> = NS
        .iter()
        .map(|&n| {
            let per_kind = counts_per_kind(n, |children| async move {
                aiokit::gather(children).await.iter().sum()
            });
            (n, per_kind)
        })
        .collect();
    assert_constant_and_small("gather", &counts);
}

/// The wakers' nodes (one per child) are made only when a first child needs one: a gather of
/// children that all finish at their first poll allocates one time fewer than a gather whose
/// children keep their waker, from the size on where the engine uses its ready queue.
#[test]
fn a_gather_of_children_ready_at_their_first_poll_makes_no_wake_nodes() {
    for n in [1_000, 100_000] {
        let [(_, ready), (_, yield1), (_, oneshot)] = counts_per_kind(n, |children| async move {
            aiokit::gather(children).await.iter().sum()
        });
        assert_eq!(
            (ready + 1, ready + 1),
            (yield1, oneshot),
            "N = {n}: ready {ready}, yield1 {yield1}, oneshot {oneshot}"
        );
    }
}

#[test]
fn try_gather_allocates_at_most_4_and_does_not_grow_with_n() {
    let counts: Vec<_> = NS
        .iter()
        .map(|&n| {
            let per_kind = counts_per_kind(n, |children| async move {
                let children =
                    children.map(|child| async move { Ok::<u64, Infallible>(child.await) });
                match aiokit::try_gather(children).await {
                    Ok(outputs) => outputs.iter().sum(),
                    Err(never) => match never {},
                }
            });
            (n, per_kind)
        })
        .collect();
    assert_constant_and_small("try_gather", &counts);
}

#[test]
fn try_gather_that_fails_allocates_at_most_4_and_does_not_grow_with_n() {
    // The last child fails, so every other child has completed and been stored first.
    let counts: Vec<_> = NS
        .iter()
        .map(|&n| {
            let per_kind = counts_per_kind(n, |children| async move {
                let last = n as u64 - 1;
                let children = children.map(|child| async move {
                    let i = child.await;
                    if i == last { Err(i) } else { Ok(i) }
                });
                match aiokit::try_gather(children).await {
                    Ok(_) => panic!("child {last} fails"),
                    // The sum the counting helper checks, from the error alone.
                    Err(last) => last * (last + 1) / 2,
                }
            });
            (n, per_kind)
        })
        .collect();
    assert_constant_and_small("try_gather (failing)", &counts);
}

// --- aiokit::wait ----------------------------------------------------------------------------

#[test]
fn wait_all_completed_allocates_at_most_4_and_does_not_grow_with_n() {
    let counts: Vec<_> = NS
        .iter()
        .map(|&n| {
            let per_kind = counts_per_kind(n, |children| async move {
                let (done, pending) =
                    aiokit::wait(children, aiokit::ReturnWhen::AllCompleted).await;
                assert!(pending.is_empty());
                done.into_iter().map(|d| d.output).sum::<u64>()
            });
            (n, per_kind)
        })
        .collect();
    assert_constant_and_small("wait(AllCompleted)", &counts);
}

#[test]
fn wait_first_completed_loop_allocates_at_most_one_done_vec_per_wait() {
    // Each wait returns its own `done` Vec, so a loop of W waits may make W allocations; what
    // must not happen is a rebuild of the set, which would allocate (and cost) O(N) per wait.
    for n in NS {
        let (driver, children) = oneshot_children(n);
        let ((sum, waits), count) = count_allocations(|| {
            block_on(async {
                let ((), out) = futures::join!(driver, async {
                    const FIRST: aiokit::ReturnWhen<aiokit::wait::OnCompletion> =
                        aiokit::ReturnWhen::FirstCompleted;
                    let (mut done, mut pending) = aiokit::wait(children, FIRST).await;
                    let (mut sum, mut waits) = (0, 1);
                    loop {
                        sum += done.into_iter().map(|d| d.output).sum::<u64>();
                        if pending.is_empty() {
                            break (sum, waits);
                        }
                        (done, pending) = aiokit::wait(pending, FIRST).await;
                        waits += 1;
                    }
                });
                out
            })
        });
        assert_eq!(sum, expected_sum(n));
        assert!(
            count <= waits + MAX_ALLOCATIONS,
            "wait(FirstCompleted) loop, N = {n}: {count} allocations for {waits} waits"
        );
    }
}

// --- aiokit::as_completed ---------------------------------------------------------------------

#[test]
fn as_completed_allocates_at_most_4_and_does_not_grow_with_n() {
    use futures::StreamExt as _;
    let counts: Vec<_> = NS
        .iter()
        .map(|&n| {
            let per_kind = counts_per_kind(n, |children| async move {
                aiokit::as_completed(children)
                    .fold(0, |sum, v| async move { sum + v })
                    .await
            });
            (n, per_kind)
        })
        .collect();
    assert_constant_and_small("as_completed", &counts);
}

// --- aiokit::TaskGroup ------------------------------------------------------------------------
// The target is at most 1 allocation per child, and that is what a child costs: one
// raw task cell (the engine's `raw` module) holds both the child's future and its handle's
// shared state. On top come O(log N) allocations for the engine's segments and the creation
// queue, and one for the body's box; with the `inspect` feature (this crate enables it), the
// list of the children's handles the group keeps for its `Debug`, grown by doubling: one more
// per bit of N.

fn taskgroup_allocations(n: usize) -> usize {
    let (sum, count) = count_allocations(|| {
        block_on(aiokit::TaskGroup::run(async |tg| {
            for i in 0..n as u64 {
                tg.create_task(async move { Ok::<u64, Infallible>(i) });
            }
            Ok(())
        }))
        .map(|()| expected_sum(n))
        .unwrap()
    });
    assert_eq!(sum, expected_sum(n));
    count
}

/// Checks that `what` made at most `per_child` allocations per child of N, plus `per_bit` per
/// bit of N (the buffers grown by doubling), plus `constant`.
fn assert_per_child_plus_log_n(
    what: &str,
    n: usize,
    count: usize,
    (per_child, per_bit, constant): (usize, usize, usize),
) {
    let log_n = usize::BITS as usize - n.leading_zeros() as usize;
    let bound = per_child * n + per_bit * log_n + constant;
    eprintln!("{what}, N = {n}: {count} allocations (bound {bound})");
    assert!(
        count <= bound,
        "{what}, N = {n}: {count} allocations, more than {per_child} per child + O(log N) ({bound})"
    );
}

#[test]
fn taskgroup_allocates_at_most_1_per_child_plus_log_n() {
    for n in NS {
        let count = taskgroup_allocations(n);
        assert_per_child_plus_log_n("TaskGroup", n, count, (1, 5, MAX_ALLOCATIONS));
    }
}

// --- aiokit::TaskGroup::on --------------------------------------------------------------------
// A spawned child costs the executor's task and two allocations of aiokit's: its task cell
// (future and handle state) and the boxed future the `Spawn` trait hands the executor. The
// group's registry of its children lives in the group (grown by doubling), not in an allocation
// per child. The executor here is a list the test polls by hand, its room made before counting:
// what is counted is aiokit's own work.

mod a_spawning_taskgroup_allocates_2_per_child_beside_the_executors_task {
    use std::pin::pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll};

    use aiokit::spawn::SpawnFuture;

    use super::*;

    fn spawning_taskgroup_allocations(n: usize) -> usize {
        let spawned: Mutex<Vec<SpawnFuture>> = Mutex::new(Vec::with_capacity(n));
        let spawner = |fut: SpawnFuture| spawned.lock().unwrap().push(fut);
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        let (sum, count) = count_allocations(|| {
            let mut run = pin!(aiokit::TaskGroup::on(&spawner).run(async |tg| {
                let handles: Vec<_> = (0..n as u64)
                    .map(|i| tg.create_task(async move { Ok::<u64, Infallible>(i) }))
                    .collect();
                Ok(handles)
            }));
            // The body makes every child and returns; the group waits for the children.
            assert!(run.as_mut().poll(&mut cx).is_pending());
            let children = std::mem::take(&mut *spawned.lock().unwrap());
            assert_eq!(children.len(), n);
            for mut child in children {
                assert!(child.as_mut().poll(&mut cx).is_ready());
            }
            let Poll::Ready(handles) = run.as_mut().poll(&mut cx) else {
                panic!("every child has ended")
            };
            handles
                .unwrap()
                .iter()
                .map(|handle| *handle.result().unwrap())
                .sum::<u64>()
        });
        assert_eq!(sum, expected_sum(n));
        count
    }

    #[test]
    fn for_10_1000_and_100000_children() {
        for n in NS {
            let count = spawning_taskgroup_allocations(n);
            assert_per_child_plus_log_n("TaskGroup::on", n, count, (2, 3, 2 * MAX_ALLOCATIONS));
        }
    }
}

// Once `run` has returned and its future is dropped, nothing it allocated remains: the children's
// cells, the engine, the body's box and waker, and the buffers of the queue that `create_task`
// fills (swapped with a spare at each pass) are all freed, however many passes ran, for both
// kinds of group, whether the group finished, failed or was dropped before it finished.

mod once_run_has_returned_and_its_future_is_dropped_nothing_it_allocated_remains {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A child that yields `yields` times, then returns `Ok`.
    async fn yielding(yields: usize) -> Result<usize, &'static str> {
        for _ in 0..yields {
            yield_now().await;
        }
        Ok(yields)
    }

    /// A child that yields once, then fails.
    async fn failing() -> Result<usize, &'static str> {
        yield_now().await;
        Err("failed")
    }

    /// Polls `group` up to `passes` times (one drive pass each, with a waker that does nothing),
    /// then drops it; returns whether it finished.
    fn drive<F: Future>(group: F, passes: usize) -> bool {
        let mut group = pin!(group);
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        (0..passes).any(|_| match group.as_mut().poll(&mut cx) {
            Poll::Ready(output) => {
                drop(output);
                true
            }
            Poll::Pending => false,
        })
    }

    /// The bytes that `scenario` leaves behind, measured after a first run (thread-locals that
    /// allocate on first use are then in place).
    fn left_by(mut scenario: impl FnMut()) -> isize {
        scenario();
        live_bytes_left_by(scenario)
    }

    /// A body that creates a child, yields, creates another child and returns: the group
    /// finishes on its third pass, after two flushes of the queue.
    macro_rules! three_passes {
        ($group:ident) => {
            aiokit::$group::run(async |tg| {
                tg.create_task(yielding(1));
                yield_now().await;
                tg.create_task(yielding(1));
                Ok(())
            })
        };
    }

    /// Children that yield `yields` times; one fails if `fail` is set.
    macro_rules! children {
        ($group:ident, $yields:expr, $fail:expr) => {
            aiokit::$group::run(async |tg| {
                let first = tg.create_task(yielding($yields));
                if $fail {
                    tg.create_task(failing());
                }
                for _ in 0..$yields {
                    yield_now().await;
                    tg.create_task(yielding($yields));
                }
                Ok(first)
            })
        };
    }

    macro_rules! check {
        ($group:ident) => {
            for passes in 0..=3 {
                let mut finished = false;
                let live = left_by(|| finished = drive(three_passes!($group), passes));
                assert_eq!(finished, passes == 3, "{} passes", passes);
                assert_eq!(
                    live,
                    0,
                    "{}, {} passes: bytes left behind",
                    stringify!($group),
                    passes
                );
            }
            for yields in 0..=3 {
                for fail in [false, true] {
                    let live = left_by(|| {
                        let outcome = block_on(children!($group, yields, fail));
                        assert_eq!(outcome.is_err(), fail);
                    });
                    assert_eq!(
                        live,
                        0,
                        "{}, children yielding {} times, failing: {}: bytes left behind",
                        stringify!($group),
                        yields,
                        fail
                    );
                }
            }
        };
    }

    #[test]
    fn task_group() {
        check!(TaskGroup);
    }

    #[test]
    fn local_task_group() {
        check!(LocalTaskGroup);
    }
}

/// Allocations of one `run_until_complete` on `lp` that creates N trivial tasks with
/// `create_task` and awaits each (the loop itself is made outside the count).
fn loop_create_task_allocations(lp: &aiokit::EventLoop, n: usize) -> usize {
    let (sum, count) = count_allocations(|| {
        lp.run_until_complete(async move {
            let tasks: Vec<_> = (0..n as u64)
                .map(|i| aiokit::create_task(async move { i }))
                .collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await.unwrap();
            }
            sum
        })
        .unwrap()
    });
    assert_eq!(sum, expected_sum(n));
    count
}

/// The loop polls its tasks itself: a task is one allocation (its state and its future in one
/// cell), plus O(log N) for the buffers that grow by doubling (the body's `Vec` of handles,
/// the loop's queue of new tasks, its registry of tasks, the engine's slots), plus the run's
/// own constant (`run_until_complete`'s task, the executor's and the runtime's set-up).
mod the_loops_create_task_allocates_at_most_1_per_task_plus_log_n {
    use super::*;

    const RUN_CONSTANT: usize = 32;

    fn check(kind: &str, lp: &aiokit::EventLoop) {
        // A first run makes what the loop keeps between runs (timers, the runtime's parts).
        loop_create_task_allocations(lp, 1);
        for n in NS {
            let count = loop_create_task_allocations(lp, n);
            assert_per_child_plus_log_n(&format!("{kind} loop"), n, count, (1, 5, RUN_CONSTANT));
        }
    }

    #[test]
    fn smol() {
        check("smol", &aiokit::EventLoop::smol());
    }

    #[test]
    fn tokio() {
        check("tokio", &aiokit::EventLoop::tokio());
    }
}
