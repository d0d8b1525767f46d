//! `as_completed`: one test per rule of `docs/semantics.md#as_completed`, named after the rule,
//! plus the aiokit API around it (`indexed`, deadlines, `into_pending`).
//!
//! No test depends on the wall clock: children and deadlines are channels the test fires, or
//! tokio's paused clock.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use aiokit::{ReturnWhen, TimeoutError, as_completed, gather, wait};
use aiokit_tests::on_each_executor;
use futures::channel::oneshot;
use futures::stream::FusedStream;
use futures::{FutureExt, StreamExt, future, poll};

/// `n` children; child `i` outputs what is sent on channel `i`.
#[allow(clippy::type_complexity)]
fn children(
    n: usize,
) -> (
    Vec<Option<oneshot::Sender<u32>>>,
    Vec<impl Future<Output = u32>>,
) {
    (0..n)
        .map(|_| {
            let (tx, rx) = oneshot::channel::<u32>();
            (
                Some(tx),
                rx.map(|r| r.expect("the test keeps every sender")),
            )
        })
        .unzip()
}

fn send(senders: &mut [Option<oneshot::Sender<u32>>], i: usize) {
    senders[i]
        .take()
        .expect("sent once")
        .send(i as u32)
        .unwrap();
}

fn channel_deadline() -> (oneshot::Sender<()>, impl Future<Output = ()>) {
    let (fire, fired) = oneshot::channel::<()>();
    (fire, fired.map(drop))
}

on_each_executor! {
    fn yields_in_completion_order(ex) {
        ex.block_on(async {
            let (mut senders, children) = children(5);
            let mut stream = as_completed(children);
            for i in [3, 0, 4, 1, 2] {
                send(&mut senders, i);
                assert_eq!(stream.next().await, Some(i as u32));
            }
            assert_eq!(stream.next().await, None);
        });
    }
}

on_each_executor! {
    fn yields_each_childs_outcome_exactly_once(ex) {
        ex.block_on(async {
            let n = 200;
            let (mut senders, children) = children(n);
            // Many complete between two reads, in a scrambled order.
            let mut i = 0;
            for _ in 0..n {
                send(&mut senders, i);
                i = (i + 7) % n;
            }
            let mut got: Vec<(usize, u32)> = as_completed(children).indexed().collect().await;
            assert_eq!(got.len(), n);
            got.sort_unstable();
            assert!(
                got.iter()
                    .enumerate()
                    .all(|(i, &(j, v))| i == j && v == i as u32)
            );
        });
    }
}

on_each_executor! {
    fn empty_input_yields_nothing(ex) {
        ex.block_on(async {
            let mut stream = as_completed(Vec::<future::Ready<u8>>::new());
            assert!(stream.is_empty());
            assert_eq!(stream.next().await, None);
            assert!(stream.is_terminated());
            let mut timed = as_completed(Vec::<future::Ready<u8>>::new()).deadline(future::ready(()));
            assert_eq!(
                timed.next().await,
                None,
                "no timeout error when nothing is left"
            );
        });
    }
}

on_each_executor! {
    fn indexed_yields_index_and_output(ex) {
        ex.block_on(async {
            let (mut senders, children) = children(3);
            let mut stream = as_completed(children.into_iter().map(|c| c.map(|v| v * 10))).indexed();
            send(&mut senders, 2);
            assert_eq!(stream.next().await, Some((2, 20)));
            send(&mut senders, 0);
            assert_eq!(stream.next().await, Some((0, 0)));
        });
    }
}

on_each_executor! {
    fn timeout_yields_one_timeout_error_then_ends(ex) {
        ex.block_on(async {
            let (mut senders, children) = children(3);
            let (fire, deadline) = channel_deadline();
            let mut stream = as_completed(children).deadline(deadline);
            send(&mut senders, 1);
            assert_eq!(stream.next().await, Some(Ok(1)));
            fire.send(()).unwrap();
            assert_eq!(stream.next().await, Some(Err(TimeoutError::new())));
            assert_eq!(stream.next().await, None);
            assert!(stream.is_terminated());
            // Completing later changes nothing for the ended stream.
            send(&mut senders, 0);
            assert_eq!(stream.next().await, None);
        });
    }
}

on_each_executor! {
    fn timeout_cancels_nothing_and_into_pending_gives_the_unfinished_children_back(ex) {
        ex.block_on(async {
            let (mut senders, children) = children(4);
            let (fire, deadline) = channel_deadline();
            let mut stream = as_completed(children).indexed().deadline(deadline);
            send(&mut senders, 2);
            assert_eq!(stream.next().await, Some(Ok((2, 2))));
            fire.send(()).unwrap();
            assert_eq!(stream.next().await, Some(Err(TimeoutError::new())));
            let pending = stream.into_pending();
            assert_eq!(pending.indices().collect::<Vec<_>>(), [0, 1, 3]);
            for i in [0, 1, 3] {
                send(&mut senders, i);
            }
            assert_eq!(gather(pending).await, [0, 1, 3]);
        });
    }
}

on_each_executor! {
    fn a_child_completing_in_the_deadlines_poll_is_yielded_before_the_error(ex) {
        ex.block_on(async {
            let (mut senders, children) = children(2);
            let (fire, deadline) = channel_deadline();
            let mut stream = as_completed(children).deadline(deadline);
            assert!(poll!(stream.next()).is_pending());
            send(&mut senders, 0);
            fire.send(()).unwrap();
            assert_eq!(stream.next().await, Some(Ok(0)));
            assert_eq!(stream.next().await, Some(Err(TimeoutError::new())));
            assert_eq!(stream.next().await, None);
        });
    }
}

on_each_executor! {
    fn can_be_resumed_after_a_break_and_yields_the_rest(ex) {
        ex.block_on(async {
            let (mut senders, children) = children(4);
            for i in 0..4 {
                send(&mut senders, i);
            }
            let mut stream = as_completed(children);
            let mut first = Vec::new();
            while let Some(v) = stream.next().await {
                first.push(v);
                if first.len() == 2 {
                    break;
                }
            }
            assert_eq!(stream.len(), 2);
            let rest: Vec<u32> = stream.collect().await;
            let mut all = [first, rest].concat();
            all.sort_unstable();
            assert_eq!(all, [0, 1, 2, 3]);
        });
    }
}

on_each_executor! {
    fn accepts_the_pending_set_of_a_wait(ex) {
        ex.block_on(async {
            let (mut senders, children) = children(3);
            send(&mut senders, 1);
            let (done, pending) = wait(children, ReturnWhen::FirstCompleted).await;
            assert_eq!(done[0].index, 1);
            let mut stream = as_completed(pending).indexed();
            send(&mut senders, 2);
            assert_eq!(stream.next().await, Some((2, 2)));
            send(&mut senders, 0);
            assert_eq!(stream.next().await, Some((0, 0)));
            assert_eq!(stream.next().await, None);
        });
    }
}

#[test]
fn dropping_the_stream_drops_the_children_left() {
    let (tx, rx) = oneshot::channel::<u8>();
    let stream = as_completed([rx]);
    drop(stream);
    assert!(tx.is_canceled());
}

on_each_executor! {
    fn is_fused_and_shows_its_state(ex) {
        ex.block_on(async {
            let mut stream = pin!(as_completed([future::ready(1)]));
            assert!(!stream.is_terminated());
            assert_eq!(futures::Stream::size_hint(&*stream), (1, Some(1)));
            assert_eq!(
                format!("{stream:?}"),
                "AsCompleted { pending: Pending { running: 1, children: [<future #0><pending>] }, \
                 has_deadline: false, \
                 ended: false }"
            );
            assert_eq!(stream.next().await, Some(1));
            assert!(matches!(poll!(stream.next()), Poll::Ready(None)));
            assert!(stream.is_terminated());
        });
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_duration_form_under_tokio_paused_clock() {
    // asyncio: for coro in as_completed([sleep(3), sleep(1), sleep(2)], timeout=2.5)
    let children = [3, 1, 2].map(|s| async move {
        tokio::time::sleep(Duration::from_secs(s)).await;
        s
    });
    let got: Vec<_> = as_completed(children)
        .timeout(Duration::from_millis(2_500))
        .collect()
        .await;
    assert_eq!(got, [Ok(1), Ok(2), Err(TimeoutError::new())]);
}

/// A timed stream is `Unpin`, so it can be polled through `&mut` and then give its unfinished
/// children back by value: poll, break, `into_pending`.
mod a_timed_stream_gives_back_its_unfinished_children_after_being_polled {
    use super::*;

    fn assert_unpin<T: Unpin>(_: &T) {}

    #[test]
    fn with_a_duration() {
        futures::executor::block_on(async {
            let (mut txs, rxs) = children(3);
            let mut cups = as_completed(rxs).timeout(Duration::from_secs(3600));
            assert_unpin(&cups);
            txs[1].take().unwrap().send(10).unwrap();
            let mut got = Vec::new();
            while let Some(cup) = cups.next().await {
                got.push(cup);
                if got.len() == 1 {
                    break;
                }
            }
            assert_eq!(got, [Ok(10)]);
            let rest = cups.into_pending();
            assert_eq!(rest.indices().collect::<Vec<_>>(), [0, 2]);
            txs[0].take().unwrap().send(0).unwrap();
            txs[2].take().unwrap().send(20).unwrap();
            assert_eq!(gather(rest).await, [0, 20]);
        });
    }

    #[test]
    fn with_a_deadline_future_that_is_not_unpin() {
        futures::executor::block_on(async {
            let (mut txs, rxs) = children(2);
            let (fire, fired) = oneshot::channel::<()>();
            // An `async` block is `!Unpin`; the stream is `Unpin` all the same.
            let deadline = async move {
                let _ = fired.await;
            };
            let mut cups = as_completed(rxs).indexed().deadline(deadline);
            assert_unpin(&cups);
            txs[0].take().unwrap().send(5).unwrap();
            assert_eq!(cups.next().await, Some(Ok((0, 5))));
            fire.send(()).unwrap();
            assert_eq!(cups.next().await, Some(Err(TimeoutError::new())));
            let rest = cups.into_pending();
            assert_eq!(rest.indices().collect::<Vec<_>>(), [1]);
            txs[1].take().unwrap().send(6).unwrap();
            assert_eq!(gather(rest).await, [6]);
        });
    }
}
