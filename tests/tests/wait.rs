//! `wait`: one test per rule of `docs/semantics.md#wait`, named after the rule, plus the aiokit
//! API around it (`Done`, `Pending`, deadlines).
//!
//! No test depends on the wall clock: children and deadlines are channels the test fires, or
//! tokio's paused clock.

use std::cell::Cell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use aiokit::wait::IntoChildren;
use aiokit::{CancelledError, Done, ReturnWhen, as_completed, gather, wait};
use aiokit_tests::on_each_executor;
use futures::channel::oneshot;
use futures::future::{self, FusedFuture};
use futures::{FutureExt, poll};

/// `n` children; child `i` outputs what is sent on channel `i`.
fn children<T>(n: usize) -> (Vec<oneshot::Sender<T>>, Vec<impl Future<Output = T>>) {
    (0..n)
        .map(|_| {
            let (tx, rx) = oneshot::channel::<T>();
            (tx, rx.map(|r| r.expect("the test keeps every sender")))
        })
        .unzip()
}

/// A deadline the test fires by sending on the returned sender.
fn channel_deadline() -> (oneshot::Sender<()>, impl Future<Output = ()>) {
    let (fire, fired) = oneshot::channel::<()>();
    (fire, fired.map(drop))
}

/// A child that counts its polls and drops, and completes once `rx` has a value.
struct Probe {
    rx: oneshot::Receiver<u32>,
    polls: Rc<Cell<usize>>,
    drops: Rc<Cell<usize>>,
}

impl Future for Probe {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls.set(self.polls.get() + 1);
        Pin::new(&mut self.rx).poll(cx).map(|r| r.expect("sent"))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

struct Probes {
    senders: Vec<Option<oneshot::Sender<u32>>>,
    polls: Rc<Cell<usize>>,
    drops: Rc<Cell<usize>>,
}

fn probes(n: usize) -> (Probes, Vec<Probe>) {
    let polls = Rc::new(Cell::new(0));
    let drops = Rc::new(Cell::new(0));
    let (senders, children) = (0..n)
        .map(|_| {
            let (tx, rx) = oneshot::channel();
            let probe = Probe {
                rx,
                polls: polls.clone(),
                drops: drops.clone(),
            };
            (Some(tx), probe)
        })
        .unzip();
    (
        Probes {
            senders,
            polls,
            drops,
        },
        children,
    )
}

impl Probes {
    fn send(&mut self, i: usize) {
        let tx = self.senders[i].take().expect("sent once");
        tx.send(i as u32).expect("the child is alive");
    }
}

fn indices<T>(done: &[Done<T>]) -> Vec<usize> {
    done.iter().map(|d| d.index).collect()
}

on_each_executor! {
    fn never_raises_for_a_childs_failure(ex) {
        ex.block_on(async {
            let children = [
                future::ready(Ok(1)),
                future::ready(Err("burnt")),
                future::ready(Ok(3)),
            ];
            let (done, pending) = wait(children, ReturnWhen::AllCompleted).await;
            assert!(pending.is_empty());
            let outputs: Vec<_> = done.into_iter().map(Done::into_output).collect();
            assert_eq!(outputs, [Ok(1), Err("burnt"), Ok(3)]);
        });
    }
}

on_each_executor! {
    fn never_cancels_anything_also_not_on_timeout(ex) {
        ex.block_on(async {
            let (mut probes, children) = probes(3);
            probes.send(0);
            let (done, pending) = wait(children, ReturnWhen::FirstCompleted).await;
            assert_eq!(indices(&done), [0]);
            // Child 0 finished (and its future was dropped then); the others are untouched.
            assert_eq!((probes.drops.get(), pending.len()), (1, 2));

            let (fire, deadline) = channel_deadline();
            fire.send(()).unwrap();
            let (done, pending) = wait(pending, ReturnWhen::AllCompleted)
                .deadline(deadline)
                .await;
            assert!(done.is_empty());
            assert_eq!((probes.drops.get(), pending.len()), (1, 2));
            // Still runnable.
            probes.send(1);
            probes.send(2);
            assert_eq!(gather(pending).await, [1, 2]);
        });
    }
}

on_each_executor! {
    fn first_completed_returns_when_at_least_one_child_is_done(ex) {
        ex.block_on(async {
            let (senders, children) = children::<u32>(3);
            let mut waiting = pin!(wait(children, ReturnWhen::FirstCompleted));
            assert!(poll!(waiting.as_mut()).is_pending());
            let mut senders = senders.into_iter();
            let _s0 = senders.next();
            senders.next().unwrap().send(10).unwrap();
            let Poll::Ready((done, pending)) = poll!(waiting.as_mut()) else {
                panic!("child 1 is done");
            };
            assert_eq!(
                done,
                [Done::new(1, 10)]
            );
            assert_eq!(pending.indices().collect::<Vec<_>>(), [0, 2]);
        });
    }
}

on_each_executor! {
    fn first_completed_done_holds_every_child_that_completed_by_then(ex) {
        ex.block_on(async {
            let (senders, children) = children::<u32>(4);
            let mut waiting = pin!(wait(children, ReturnWhen::FirstCompleted));
            assert!(poll!(waiting.as_mut()).is_pending());
            let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
            // Two complete before the next poll: both are in `done`.
            senders[3].take().unwrap().send(3).unwrap();
            senders[1].take().unwrap().send(1).unwrap();
            let Poll::Ready((done, pending)) = poll!(waiting.as_mut()) else {
                panic!("children are done");
            };
            let mut got = indices(&done);
            got.sort_unstable();
            assert_eq!(got, [1, 3]);
            assert_eq!(pending.len(), 2);
        });
    }
}

on_each_executor! {
    fn first_exception_returns_at_the_first_child_that_failed(ex) {
        ex.block_on(async {
            let (senders, children) = children::<Result<u32, &str>>(3);
            let mut senders = senders.into_iter();
            let (s0, s1, _s2) = (
                senders.next().unwrap(),
                senders.next().unwrap(),
                senders.next().unwrap(),
            );
            let mut waiting = pin!(wait(children, ReturnWhen::FirstException));
            s0.send(Ok(0)).unwrap();
            // A success does not end a FirstException wait.
            assert!(poll!(waiting.as_mut()).is_pending());
            s1.send(Err("burnt")).unwrap();
            let Poll::Ready((done, pending)) = poll!(waiting.as_mut()) else {
                panic!("child 1 failed");
            };
            assert_eq!(
                done,
                [
                    Done::new(0, Ok(0)),
                    Done::new(1, Err("burnt"))
                ]
            );
            assert_eq!(pending.indices().collect::<Vec<_>>(), [2]);
        });
    }
}

on_each_executor! {
    fn first_exception_with_no_failure_is_all_completed(ex) {
        ex.block_on(async {
            let (senders, children) = children::<Result<u32, &str>>(3);
            let mut waiting = pin!(wait(children, ReturnWhen::FirstException));
            let mut senders = senders.into_iter().enumerate();
            for (i, tx) in senders.by_ref().take(2) {
                tx.send(Ok(i as u32)).unwrap();
                assert!(poll!(waiting.as_mut()).is_pending());
            }
            let (i, tx) = senders.next().unwrap();
            tx.send(Ok(i as u32)).unwrap();
            let Poll::Ready((done, pending)) = poll!(waiting.as_mut()) else {
                panic!("all done");
            };
            assert_eq!(indices(&done), [0, 1, 2]);
            assert!(pending.is_empty());
        });
    }
}

on_each_executor! {
    fn a_cancelled_child_is_not_a_failure(ex) {
        ex.block_on(async {
            // A child cancelled through the pending set...
            let (senders, children) = children::<Result<u32, CancelledError>>(3);
            let mut pending = children.into_pending();
            assert!(pending.cancel(1));
            // ...and a child whose output says it was cancelled (a cancelled `Task` handle).
            let mut senders = senders.into_iter();
            senders
                .next()
                .unwrap()
                .send(Err(CancelledError::new()))
                .unwrap();
            let _s1 = senders.next();
            let s2 = senders.next().unwrap();
            let mut waiting = pin!(wait(pending, ReturnWhen::FirstException));
            assert!(poll!(waiting.as_mut()).is_pending());
            s2.send(Ok(2)).unwrap();
            let (done, pending) = waiting.await;
            assert_eq!(indices(&done), [0, 2]);
            assert!(pending.is_empty());
        });
    }
}

on_each_executor! {
    fn timeout_returns_what_is_done_by_then_the_rest_stay_pending_untouched_still_runnable(ex) {
        ex.block_on(async {
            let (mut probes, children) = probes(3);
            let (fire, deadline) = channel_deadline();
            let mut waiting = pin!(wait(children, ReturnWhen::AllCompleted).deadline(deadline));
            probes.send(2);
            assert!(poll!(waiting.as_mut()).is_pending());
            fire.send(()).unwrap();
            let Poll::Ready((done, pending)) = poll!(waiting.as_mut()) else {
                panic!("the deadline fired");
            };
            assert_eq!(
                done,
                [Done::new(2, 2)]
            );
            assert_eq!(pending.indices().collect::<Vec<_>>(), [0, 1]);
            let polls = probes.polls.get();
            assert_eq!(probes.drops.get(), 1, "only the finished child was dropped");
            probes.send(0);
            probes.send(1);
            let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
            assert_eq!(indices(&done), [0, 1]);
            assert!(pending.is_empty());
            assert_eq!(probes.polls.get(), polls + 2);
        });
    }
}

on_each_executor! {
    fn a_child_finishing_exactly_at_the_deadline_counts_as_done(ex) {
        ex.block_on(async {
            let (mut probes, children) = probes(2);
            let (fire, deadline) = channel_deadline();
            let mut waiting = pin!(wait(children, ReturnWhen::AllCompleted).deadline(deadline));
            assert!(poll!(waiting.as_mut()).is_pending());
            // The child and the deadline become ready together, before the same poll.
            probes.send(1);
            fire.send(()).unwrap();
            let Poll::Ready((done, pending)) = poll!(waiting.as_mut()) else {
                panic!("the deadline fired");
            };
            assert_eq!(
                done,
                [Done::new(1, 1)]
            );
            assert_eq!(pending.len(), 1);
        });
    }
}

on_each_executor! {
    fn a_deadline_ready_at_once_still_gives_every_child_one_poll(ex) {
        ex.block_on(async {
            let children = [
                future::Either::Left(future::ready(1)),
                future::Either::Right(future::pending()),
            ];
            let (done, pending) = wait(children, ReturnWhen::AllCompleted)
                .deadline(future::ready(()))
                .await;
            assert_eq!(
                done,
                [Done::new(0, 1)]
            );
            assert_eq!(pending.len(), 1);
        });
    }
}

#[test]
fn empty_input_is_ready_at_once_with_nothing_done_and_nothing_pending() {
    // aiokit's choice (asyncio raises ValueError): an empty result, in every mode.
    fn check<K: aiokit::wait::ReturnCondition<Result<u8, ()>>>(return_when: ReturnWhen<K>) {
        let mut waiting = pin!(wait(
            Vec::<future::Ready<Result<u8, ()>>>::new(),
            return_when
        ));
        let Poll::Ready((done, pending)) = waiting
            .as_mut()
            .poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
        else {
            panic!("ready at once");
        };
        assert!(done.is_empty() && pending.is_empty());
        assert!(waiting.is_terminated());
    }
    check(ReturnWhen::AllCompleted);
    check(ReturnWhen::FirstCompleted);
    check(ReturnWhen::FirstException);
}

on_each_executor! {
    fn done_carries_each_childs_original_index(ex) {
        ex.block_on(async {
            let (mut probes, children) = probes(40);
            let mut seen = Vec::new();
            let mut pending = children.into_pending();
            for i in [17, 3, 39, 0] {
                probes.send(i);
                let (done, rest) = wait(pending, ReturnWhen::FirstCompleted).await;
                seen.extend(done.into_iter().map(|d| (d.index, d.output)));
                pending = rest;
            }
            assert_eq!(seen, [(17, 17), (3, 3), (39, 39), (0, 0)]);
            assert_eq!(pending.len(), 36);
            assert_eq!(pending.indices().take(4).collect::<Vec<_>>(), [1, 2, 4, 5]);
        });
    }
}

// Polls per child when a FirstCompleted loop (then `f`) runs over `n` children: each child is
// polled once when first seen and once when woken, whatever `n` is, so nothing is rebuilt or
// re-polled between the waits.
on_each_executor! {
    fn pending_is_accepted_again_by_wait_gather_and_as_completed_without_rebuilding(ex) {
        for n in [10, 1_000] {
            ex.block_on(async {
                let (mut probes, children) = probes(n);
                let mut pending = children.into_pending();
                // A third of the children through a FirstCompleted loop...
                for i in (0..n).step_by(3) {
                    probes.send(i);
                    let (done, rest) = wait(pending, ReturnWhen::FirstCompleted).await;
                    assert_eq!(indices(&done), [i]);
                    pending = rest;
                }
                // ...a third through as_completed...
                let mut stream = as_completed(pending).indexed();
                for i in (1..n).step_by(3) {
                    probes.send(i);
                    assert_eq!(stream.next().await, Some((i, i as u32)));
                }
                // ...and the rest through gather, in index order.
                let pending = stream.into_pending();
                for i in (2..n).step_by(3).rev() {
                    probes.send(i);
                }
                let outputs = gather(pending).await;
                assert_eq!(outputs, (2..n as u32).step_by(3).collect::<Vec<_>>());
                // Child 0 was sent before its first poll, so it needed just one. (Up to 16
                // children too: a FirstCompleted wait switches the engine to its ready queue.)
                assert_eq!(probes.polls.get(), 2 * n - 1, "N = {n}");
                assert_eq!(probes.drops.get(), n);
            });
        }
    }
}

on_each_executor! {
    fn dropping_pending_cancels_its_children(ex) {
        ex.block_on(async {
            let (mut probes, children) = probes(3);
            probes.send(0);
            let (_, pending) = wait(children, ReturnWhen::FirstCompleted).await;
            assert_eq!(probes.drops.get(), 1);
            drop(pending);
            assert_eq!(probes.drops.get(), 3);
        });
    }
}

#[test]
fn dropping_pending_does_not_report_never_awaited_coroutines() {
    let reported = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = reported.clone();
    aiokit::hooks::set_never_awaited_hook(move |info: &aiokit::hooks::NeverAwaited<'_>| {
        log.lock().unwrap().push(info.name().to_owned())
    });
    // Never polled: the set was made but no wait drove it.
    let pending = [aiokit::Coroutine::new("steep", async {})].into_pending();
    drop(pending);
    drop(aiokit::hooks::take_never_awaited_hook());
    assert!(reported.lock().unwrap().iter().all(|n| n != "steep"));
}

on_each_executor! {
    fn wait_is_fused_and_shows_its_state(ex) {
        ex.block_on(async {
            let mut waiting = wait([future::ready(1)], ReturnWhen::AllCompleted);
            assert!(!waiting.is_terminated());
            assert_eq!(
                format!("{waiting:?}"),
                "Wait { return_when: AllCompleted, pending: Some(Pending { running: 1, \
                 children: [<future #0><pending>] }), \
                 done: 0, has_deadline: false }"
            );
            let (done, _) = (&mut waiting).await;
            assert_eq!(done.len(), 1);
            assert!(waiting.is_terminated());
        });
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_duration_form_counts_a_child_done_at_the_deadline() {
    // asyncio: wait([sleep(1), sleep(2), sleep(3)], timeout=2): the first two are done.
    let children = [1, 2, 3].map(|s| async move {
        tokio::time::sleep(Duration::from_secs(s)).await;
        s
    });
    let (done, pending) = wait(children, ReturnWhen::AllCompleted)
        .timeout(Duration::from_secs(2))
        .await;
    assert_eq!(done, [Done::new(0, 1), Done::new(1, 2)]);
    assert_eq!(pending.indices().collect::<Vec<_>>(), [2]);
    assert_eq!(gather(pending).await, [3]);
}

/// A `Wait` with a deadline is `Unpin`: it can be polled through `&mut` (in a `select!`, with
/// `poll!`) without pinning it first, whatever the deadline's type.
mod a_wait_with_a_deadline_is_unpin {
    use super::*;

    fn assert_unpin<T: Unpin>(_: &T) {}

    #[test]
    fn polled_through_a_reference_then_awaited() {
        futures::executor::block_on(async {
            let (tx, rx) = futures::channel::oneshot::channel::<u8>();
            let (fire, fired) = futures::channel::oneshot::channel::<()>();
            let deadline = async move {
                let _ = fired.await;
            };
            let mut waiting = wait([rx], ReturnWhen::AllCompleted).deadline(deadline);
            assert_unpin(&waiting);
            assert!(poll!(&mut waiting).is_pending());
            fire.send(()).unwrap();
            let (done, pending) = waiting.await;
            assert!(done.is_empty());
            tx.send(1).unwrap();
            assert_eq!(aiokit::gather(pending).await, [Ok(1)]);
        });
    }

    #[test]
    fn with_a_duration() {
        futures::executor::block_on(async {
            let mut waiting = wait([future::ready(1)], ReturnWhen::AllCompleted)
                .timeout(std::time::Duration::from_secs(3600));
            assert_unpin(&waiting);
            let (done, pending) = (&mut waiting).await;
            assert_eq!(done.len(), 1);
            assert!(pending.is_empty());
        });
    }
}
