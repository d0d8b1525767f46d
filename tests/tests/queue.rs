//! asyncio's queues (`Queue`, `PriorityQueue`, `LifoQueue`), one module per rule, after
//! CPython's test_asyncio/test_queues.py and the Python 3.13 docs for `shutdown`.
//!
//! Ordering rules are observed with deterministic polling: futures' `LocalPool` (which runs
//! woken tasks in wake order, as asyncio's loop does) or manual polls with counting wakers.
//! Rules that involve threads run on every executor of the tests crate.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use aiokit::queue::{GetNowaitError, PutNowaitError, TaskDoneError};
use aiokit::{LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull, QueueShutDown};
use aiokit_tests::on_each_executor;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

use aiokit_tests::manual::{Log, counting, log, poll, wakes};

mod items_come_out_in_fifo_order {
    use super::*;

    #[test]
    fn put_nowait_then_get_nowait() {
        let queue = Queue::new(0);
        for item in 0..5 {
            queue.put_nowait(item).unwrap();
        }
        let out: Vec<i32> = (0..5).map(|_| queue.get_nowait().unwrap()).collect();
        assert_eq!(out, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn put_then_get() {
        futures::executor::block_on(async {
            let queue = Queue::new(3);
            for item in ["a", "b", "c"] {
                queue.put(item).await.unwrap();
            }
            assert_eq!(queue.get().await, Ok("a"));
            assert_eq!(queue.get().await, Ok("b"));
            assert_eq!(queue.get().await, Ok("c"));
        });
    }
}

mod get_nowait_on_an_empty_queue_is_queue_empty {
    use super::*;

    #[test]
    fn empty_then_not() {
        let queue = Queue::new(0);
        assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty(QueueEmpty)));
        queue.put_nowait(1).unwrap();
        assert_eq!(queue.get_nowait(), Ok(1));
        assert_eq!(queue.get_nowait(), Err(QueueEmpty.into()));
    }
}

mod put_nowait_on_a_full_queue_is_queue_full_with_the_item {
    use super::*;

    #[test]
    fn the_item_comes_back_and_nothing_changes() {
        let queue = Queue::new(2);
        queue.put_nowait(String::from("a")).unwrap();
        queue.put_nowait(String::from("b")).unwrap();
        let err = queue.put_nowait(String::from("c")).unwrap_err();
        assert_eq!(err.to_string(), "the queue is full");
        assert!(matches!(&err, PutNowaitError::Full(QueueFull(item)) if item == "c"));
        assert_eq!(err.into_inner(), "c");
        assert_eq!(queue.qsize(), 2);
        assert_eq!(queue.unfinished_tasks(), 2);
        assert_eq!(queue.get_nowait().unwrap(), "a");
        assert_eq!(queue.get_nowait().unwrap(), "b");
    }

    #[test]
    fn for_every_order() {
        let lifo = LifoQueue::new(1);
        lifo.put_nowait(1).unwrap();
        assert_eq!(lifo.put_nowait(2), Err(QueueFull(2).into()));
        let heap = PriorityQueue::new(1);
        heap.put_nowait(1).unwrap();
        assert_eq!(heap.put_nowait(0), Err(QueueFull(0).into()));
    }
}

mod qsize_empty_full_and_maxsize_report_the_state {
    use super::*;

    #[test]
    fn bounded() {
        let queue = Queue::new(2);
        assert_eq!(queue.maxsize(), 2);
        assert!(queue.empty() && !queue.full());
        queue.put_nowait(1).unwrap();
        assert_eq!(queue.qsize(), 1);
        assert!(!queue.empty() && !queue.full());
        queue.put_nowait(2).unwrap();
        assert!(queue.full());
        queue.get_nowait().unwrap();
        assert!(!queue.full());
    }

    #[test]
    fn unbounded_is_never_full() {
        let queue = Queue::new(0);
        for item in 0..1000 {
            queue.put_nowait(item).unwrap();
        }
        assert_eq!(queue.qsize(), 1000);
        assert!(!queue.full());
        assert_eq!(queue.maxsize(), 0);
    }

    #[test]
    fn debug_shows_the_state_without_the_items() {
        let queue = Queue::new(4);
        queue.put_nowait(7).unwrap();
        assert_eq!(
            format!("{queue:?}"),
            "Queue { maxsize: 4, qsize: 1, unfinished_tasks: 1, shut_down: false }"
        );
    }
}

mod get_waits_until_an_item_is_put {
    use super::*;

    #[test]
    fn pending_then_woken_once_with_the_item() {
        let queue = Queue::new(0);
        let (counter, waker) = counting();
        let mut get = pin!(queue.get());
        assert!(poll(get.as_mut(), &waker).is_pending());
        assert!(poll(get.as_mut(), &waker).is_pending());
        assert_eq!(wakes(&counter), 0);
        queue.put_nowait("bar").unwrap();
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll(get.as_mut(), &waker), Poll::Ready(Ok("bar")));
    }
}

mod put_on_a_full_queue_waits_until_a_get_makes_room {
    use super::*;

    #[test]
    fn the_item_goes_in_after_the_get() {
        let queue = Queue::new(1);
        queue.put_nowait(1).unwrap();
        let (counter, waker) = counting();
        let mut put = pin!(queue.put(2));
        assert!(poll(put.as_mut(), &waker).is_pending());
        assert_eq!(queue.qsize(), 1);
        assert_eq!(wakes(&counter), 0);
        assert_eq!(queue.get_nowait(), Ok(1));
        assert_eq!(wakes(&counter), 1);
        assert_eq!(queue.qsize(), 0, "the put has not run yet");
        assert_eq!(poll(put.as_mut(), &waker), Poll::Ready(Ok(())));
        assert_eq!(queue.get_nowait(), Ok(2));
    }
}

mod blocked_getters_are_served_in_arrival_order {
    use super::*;

    #[test]
    fn on_a_local_pool() {
        let mut pool = LocalPool::new();
        let queue = Queue::new(0);
        let got = log();
        for getter in 0..3 {
            let (queue, got) = (queue.clone(), got.clone());
            pool.spawner()
                .spawn_local(async move {
                    let item = queue.get().await.unwrap();
                    got.lock().unwrap().push((getter, item));
                })
                .unwrap();
        }
        pool.run_until_stalled();
        for item in ["a", "b", "c"] {
            queue.put_nowait(item).unwrap();
        }
        pool.run_until_stalled();
        assert_eq!(*got.lock().unwrap(), [(0, "a"), (1, "b"), (2, "c")]);
    }

    #[test]
    fn each_put_wakes_the_oldest_getter_not_yet_woken() {
        let queue = Queue::new(0);
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut get1 = pin!(queue.get());
        let mut get2 = pin!(queue.get());
        assert!(poll(get1.as_mut(), &first_waker).is_pending());
        assert!(poll(get2.as_mut(), &second_waker).is_pending());
        queue.put_nowait(1).unwrap();
        assert_eq!((wakes(&first), wakes(&second)), (1, 0));
        queue.put_nowait(2).unwrap();
        assert_eq!((wakes(&first), wakes(&second)), (1, 1));
        assert_eq!(poll(get1.as_mut(), &first_waker), Poll::Ready(Ok(1)));
        assert_eq!(poll(get2.as_mut(), &second_waker), Poll::Ready(Ok(2)));
    }
}

mod blocked_putters_are_served_in_arrival_order {
    use super::*;

    #[test]
    fn on_a_local_pool() {
        let mut pool = LocalPool::new();
        let queue = Queue::new(1);
        queue.put_nowait(0).unwrap();
        for item in 1..=3 {
            let queue = queue.clone();
            pool.spawner()
                .spawn_local(async move { queue.put(item).await.unwrap() })
                .unwrap();
        }
        pool.run_until_stalled();
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(queue.get_nowait().unwrap());
            pool.run_until_stalled();
        }
        assert_eq!(out, [0, 1, 2, 3]);
        assert!(queue.empty());
    }
}

mod a_cancelled_get_never_loses_an_item {
    use super::*;

    #[test]
    fn dropped_before_any_item() {
        let queue = Queue::new(0);
        let (_, waker) = counting();
        let mut get = Box::pin(queue.get());
        assert!(poll(get.as_mut(), &waker).is_pending());
        drop(get);
        queue.put_nowait(1).unwrap();
        assert_eq!(queue.get_nowait(), Ok(1));
    }

    #[test]
    fn dropped_after_being_woken_passes_the_wakeup_on() {
        let queue = Queue::new(0);
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut get1 = Box::pin(queue.get());
        let mut get2 = pin!(queue.get());
        assert!(poll(get1.as_mut(), &first_waker).is_pending());
        assert!(poll(get2.as_mut(), &second_waker).is_pending());
        queue.put_nowait("item").unwrap();
        assert_eq!((wakes(&first), wakes(&second)), (1, 0));
        drop(get1); // cancelled after its wakeup, before it ran
        assert_eq!(queue.qsize(), 1, "the item is still queued");
        assert_eq!(wakes(&second), 1, "the wakeup went to the next getter");
        assert_eq!(poll(get2.as_mut(), &second_waker), Poll::Ready(Ok("item")));
    }

    #[test]
    fn on_a_local_pool_with_a_cancelled_task() {
        let mut pool = LocalPool::new();
        let queue = Queue::new(0);
        let got = log();
        let (cancel, cancelled) = futures::channel::oneshot::channel::<()>();
        {
            let queue = queue.clone();
            pool.spawner()
                .spawn_local(async move {
                    // asyncio: a get task cancelled after its wakeup, before it ran; here a
                    // select that looks at the cancellation first and drops the get.
                    let get = pin!(queue.get());
                    let _ = futures::future::select(cancelled, get).await;
                })
                .unwrap();
        }
        {
            let (queue, got) = (queue.clone(), got.clone());
            pool.spawner()
                .spawn_local(async move {
                    let item = queue.get().await.unwrap();
                    got.lock().unwrap().push(item);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        queue.put_nowait(1).unwrap();
        cancel.send(()).unwrap();
        pool.run_until_stalled();
        assert_eq!(*got.lock().unwrap(), [1]);
    }
}

mod a_cancelled_put_never_inserts_its_item {
    use super::*;

    #[test]
    fn dropped_after_room_was_made() {
        let queue = Queue::new(1);
        queue.put_nowait(0).unwrap();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut put1 = Box::pin(queue.put(1));
        let mut put2 = pin!(queue.put(2));
        assert!(poll(put1.as_mut(), &first_waker).is_pending());
        assert!(poll(put2.as_mut(), &second_waker).is_pending());
        assert_eq!(queue.get_nowait(), Ok(0));
        assert_eq!((wakes(&first), wakes(&second)), (1, 0));
        drop(put1);
        assert!(queue.empty(), "the dropped put inserted nothing");
        assert_eq!(
            queue.unfinished_tasks(),
            1,
            "only the item put first is counted"
        );
        assert_eq!(wakes(&second), 1, "the room went to the next putter");
        assert_eq!(poll(put2.as_mut(), &second_waker), Poll::Ready(Ok(())));
        assert_eq!(queue.get_nowait(), Ok(2));
    }
}

mod priority_queue_gives_the_smallest_first {
    use super::*;

    #[test]
    fn in_order_of_ord() {
        let queue = PriorityQueue::new(0);
        for item in [(3, "c"), (1, "a"), (4, "d"), (2, "b")] {
            queue.put_nowait(item).unwrap();
        }
        let out: Vec<_> = (0..4).map(|_| queue.get_nowait().unwrap().1).collect();
        assert_eq!(out, ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_blocked_getter_gets_the_smallest() {
        futures::executor::block_on(async {
            let queue = PriorityQueue::new(3);
            for item in [5, 1, 3] {
                queue.put(item).await.unwrap();
            }
            assert_eq!(queue.get().await, Ok(1));
            assert_eq!(queue.get().await, Ok(3));
            assert_eq!(queue.get().await, Ok(5));
        });
    }
}

mod lifo_queue_gives_the_newest_first {
    use super::*;

    #[test]
    fn in_reverse_order_of_puts() {
        let queue = LifoQueue::new(0);
        for item in [2, 0, 1] {
            queue.put_nowait(item).unwrap();
        }
        let out: Vec<_> = (0..3).map(|_| queue.get_nowait().unwrap()).collect();
        assert_eq!(out, [1, 0, 2]);
    }
}

mod task_done_more_times_than_items_is_an_error {
    use super::*;

    #[test]
    fn and_changes_nothing() {
        let queue = Queue::new(0);
        assert_eq!(queue.task_done(), Err(TaskDoneError));
        assert_eq!(
            TaskDoneError.to_string(),
            "task_done() called too many times"
        );
        queue.put_nowait(1).unwrap();
        queue.get_nowait().unwrap();
        assert_eq!(queue.task_done(), Ok(()));
        assert_eq!(queue.task_done(), Err(TaskDoneError));
        assert_eq!(queue.unfinished_tasks(), 0);
    }
}

mod join_waits_until_every_item_is_marked_done {
    use super::*;

    #[test]
    fn pending_until_the_last_task_done() {
        let queue = Queue::new(0);
        for item in 0..3 {
            queue.put_nowait(item).unwrap();
        }
        let (counter, waker) = counting();
        let mut join = pin!(queue.join());
        assert!(poll(join.as_mut(), &waker).is_pending());
        for _ in 0..3 {
            queue.get_nowait().unwrap();
        }
        assert!(
            poll(join.as_mut(), &waker).is_pending(),
            "taken is not done"
        );
        queue.task_done().unwrap();
        queue.task_done().unwrap();
        assert_eq!(wakes(&counter), 0);
        queue.task_done().unwrap();
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll(join.as_mut(), &waker), Poll::Ready(()));
    }

    #[test]
    fn at_once_when_nothing_is_unfinished() {
        let queue = Queue::<i32>::new(0);
        let (_, waker) = counting();
        assert_eq!(poll(pin!(queue.join()), &waker), Poll::Ready(()));
    }

    #[test]
    fn workers_on_a_local_pool() {
        // test_queues.py's test_task_done: workers take items and mark them done; join
        // returns once all are done, with the sum of the items.
        let mut pool = LocalPool::new();
        let queue = Queue::new(0);
        let sum = Arc::new(AtomicUsize::new(0));
        for item in 0..100 {
            queue.put_nowait(item).unwrap();
        }
        for _ in 0..2 {
            let (queue, sum) = (queue.clone(), sum.clone());
            pool.spawner()
                .spawn_local(async move {
                    while let Ok(item) = queue.get().await {
                        sum.fetch_add(item, Ordering::SeqCst);
                        queue.task_done().unwrap();
                    }
                })
                .unwrap();
        }
        pool.run_until(queue.join());
        assert_eq!(sum.load(Ordering::SeqCst), (0..100).sum());
    }
}

mod shutdown_fails_puts_at_once_and_gives_the_item_back {
    use super::*;

    #[test]
    fn put_nowait_and_put() {
        let queue = Queue::new(0);
        queue.shutdown(false);
        assert!(queue.is_shut_down());
        assert_eq!(
            queue.put_nowait("a"),
            Err(PutNowaitError::ShutDown(QueueShutDown("a")))
        );
        futures::executor::block_on(async {
            assert_eq!(queue.put("b").await, Err(QueueShutDown("b")));
        });
        assert_eq!(queue.unfinished_tasks(), 0);
    }

    #[test]
    fn a_blocked_putter_is_woken_with_its_item() {
        let queue = Queue::new(1);
        queue.put_nowait(0).unwrap();
        let (counter, waker) = counting();
        let mut put = pin!(queue.put(1));
        assert!(poll(put.as_mut(), &waker).is_pending());
        queue.shutdown(false);
        assert_eq!(wakes(&counter), 1);
        assert_eq!(
            poll(put.as_mut(), &waker),
            Poll::Ready(Err(QueueShutDown(1)))
        );
        assert_eq!(queue.get_nowait(), Ok(0));
    }
}

mod shutdown_lets_gets_drain_the_queue_then_fails_them {
    use super::*;

    #[test]
    fn items_first_then_queue_shut_down() {
        let queue = Queue::new(0);
        queue.put_nowait(1).unwrap();
        queue.put_nowait(2).unwrap();
        queue.shutdown(false);
        assert_eq!(queue.get_nowait(), Ok(1));
        futures::executor::block_on(async {
            assert_eq!(queue.get().await, Ok(2));
            assert_eq!(queue.get().await, Err(QueueShutDown(())));
        });
        assert_eq!(
            queue.get_nowait(),
            Err(GetNowaitError::ShutDown(QueueShutDown(())))
        );
        // Items taken before are still marked done as usual.
        queue.task_done().unwrap();
        queue.task_done().unwrap();
        assert_eq!(queue.task_done(), Err(TaskDoneError));
    }

    #[test]
    fn a_blocked_getter_is_woken_with_the_error() {
        let queue = Queue::<i32>::new(0);
        let (counter, waker) = counting();
        let mut get = pin!(queue.get());
        assert!(poll(get.as_mut(), &waker).is_pending());
        queue.shutdown(false);
        assert_eq!(wakes(&counter), 1);
        assert_eq!(
            poll(get.as_mut(), &waker),
            Poll::Ready(Err(QueueShutDown(())))
        );
    }
}

mod immediate_shutdown_empties_the_queue_and_releases_join {
    use super::*;

    #[test]
    fn items_dropped_and_counted_done() {
        let queue = Queue::new(0);
        let dropped = Arc::new(());
        for _ in 0..3 {
            queue.put_nowait(dropped.clone()).unwrap();
        }
        let taken = queue.get_nowait().unwrap(); // taken, not yet done
        let (counter, waker) = counting();
        let mut join = pin!(queue.join());
        assert!(poll(join.as_mut(), &waker).is_pending());
        queue.shutdown(true);
        assert_eq!(
            Arc::strong_count(&dropped),
            2,
            "two queued items were dropped"
        );
        assert!(queue.empty());
        assert_eq!(queue.unfinished_tasks(), 1);
        assert!(poll(join.as_mut(), &waker).is_pending());
        drop(taken);
        queue.task_done().unwrap();
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll(join.as_mut(), &waker), Poll::Ready(()));
    }

    #[test]
    fn join_released_when_nothing_was_taken() {
        let queue = Queue::new(0);
        queue.put_nowait(1).unwrap();
        let (counter, waker) = counting();
        let mut join = pin!(queue.join());
        assert!(poll(join.as_mut(), &waker).is_pending());
        queue.shutdown(true);
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll(join.as_mut(), &waker), Poll::Ready(()));
    }

    #[test]
    fn blocked_getters_fail_at_once() {
        let queue = Queue::<i32>::new(0);
        let (_, waker) = counting();
        let mut get = pin!(queue.get());
        assert!(poll(get.as_mut(), &waker).is_pending());
        queue.shutdown(true);
        assert_eq!(
            poll(get.as_mut(), &waker),
            Poll::Ready(Err(QueueShutDown(())))
        );
    }
}

mod no_user_code_runs_under_the_queue_lock {
    use super::*;

    /// An item whose drop uses the queue that held it: run under the queue's lock, this
    /// would deadlock.
    struct Reentrant<Q> {
        #[allow(dead_code)] // tells the items apart when debugging
        rank: u32,
        queue: Arc<Mutex<Option<Q>>>,
        seen: Log<usize>,
    }

    struct LifoItem(Reentrant<LifoQueue<LifoItem>>);
    struct FifoItem(Reentrant<Queue<FifoItem>>);

    impl Drop for LifoItem {
        fn drop(&mut self) {
            if let Some(queue) = self.0.queue.lock().unwrap().take() {
                self.0.seen.lock().unwrap().push(queue.qsize());
                // Putting into a shut-down queue gives the item back: dropped here again,
                // with its handle already taken.
                let _ = queue.put_nowait(LifoItem(Reentrant {
                    rank: 0,
                    queue: Arc::new(Mutex::new(None)),
                    seen: self.0.seen.clone(),
                }));
            }
        }
    }

    impl Drop for FifoItem {
        fn drop(&mut self) {
            if let Some(queue) = self.0.queue.lock().unwrap().take() {
                self.0.seen.lock().unwrap().push(queue.qsize());
            }
        }
    }

    #[test]
    fn items_dropped_by_an_immediate_shutdown_of_a_lifo_queue() {
        let queue = LifoQueue::new(0);
        let seen = log();
        for rank in 0..2 {
            let handle = Arc::new(Mutex::new(None));
            queue
                .put_nowait(LifoItem(Reentrant {
                    rank,
                    queue: handle.clone(),
                    seen: seen.clone(),
                }))
                .unwrap();
            *handle.lock().unwrap() = Some(queue.clone());
        }
        queue.shutdown(true);
        assert_eq!(*seen.lock().unwrap(), [1, 0]);
    }

    #[test]
    fn items_dropped_by_an_immediate_shutdown_of_a_fifo_queue() {
        let queue = Queue::new(0);
        let seen = log();
        for rank in 0..2 {
            let handle = Arc::new(Mutex::new(None));
            queue
                .put_nowait(FifoItem(Reentrant {
                    rank,
                    queue: handle.clone(),
                    seen: seen.clone(),
                }))
                .unwrap();
            *handle.lock().unwrap() = Some(queue.clone());
        }
        queue.shutdown(true);
        assert_eq!(*seen.lock().unwrap(), [1, 0]);
    }
}

mod queues_are_send_and_sync_when_items_are_send {
    use super::*;

    fn send_sync<T: Send + Sync>(_: &T) {}

    #[test]
    fn every_order_and_every_future() {
        let queue = Queue::<String>::new(0);
        send_sync(&queue);
        send_sync(&LifoQueue::<String>::new(0));
        send_sync(&PriorityQueue::<String>::new(0));
        send_sync(&queue.get());
        send_sync(&queue.put(String::new()));
        send_sync(&queue.join());
    }
}

on_each_executor! {
    /// 4 producers and 4 consumers over a bounded queue: every item arrives exactly once, and
    /// `join` returns after the last `task_done`.
    fn producers_and_consumers_pass_every_item_exactly_once(ex) {
        let queue = Queue::new(8);
        let received = Arc::new(Mutex::new(Vec::new()));
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let queue = queue.clone();
                ex.spawn(async move {
                    for i in 0..250 {
                        queue.put(p * 1000 + i).await.unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (queue, received) = (queue.clone(), received.clone());
                ex.spawn(async move {
                    while let Ok(item) = queue.get().await {
                        received.lock().unwrap().push(item);
                        queue.task_done().unwrap();
                    }
                })
            })
            .collect();
        ex.block_on(async {
            for producer in producers {
                producer.await.unwrap();
            }
            queue.join().await;
            queue.shutdown(false);
            for consumer in consumers {
                consumer.await.unwrap();
            }
        });
        let mut received = received.lock().unwrap().clone();
        received.sort_unstable();
        let expected: Vec<_> = (0..4).flat_map(|p| (0..250).map(move |i| p * 1000 + i)).collect();
        assert_eq!(received, expected);
    }
}

on_each_executor! {
    /// One producer, one consumer: the consumer sees the items in the order they were put.
    fn one_producer_one_consumer_keeps_fifo_order(ex) {
        let queue = Queue::new(4);
        let producer = {
            let queue = queue.clone();
            ex.spawn(async move {
                for i in 0..500u32 {
                    queue.put(i).await.unwrap();
                }
            })
        };
        let consumer = {
            let queue = queue.clone();
            ex.spawn(async move {
                let mut out = Vec::new();
                for _ in 0..500 {
                    out.push(queue.get().await.unwrap());
                }
                out
            })
        };
        let out = ex.block_on(async {
            producer.await.unwrap();
            consumer.await.unwrap()
        });
        assert_eq!(out, (0..500).collect::<Vec<_>>());
    }
}

mod a_panic_in_ord_loses_no_item {
    use super::*;
    use std::cmp::Ordering as CmpOrdering;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::atomic::AtomicBool;

    static PANIC_IN_CMP: AtomicBool = AtomicBool::new(false);

    #[derive(Debug, PartialEq, Eq)]
    struct Touchy(u32);

    impl PartialOrd for Touchy {
        fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
            Some(self.cmp(other))
        }
    }

    impl Ord for Touchy {
        fn cmp(&self, other: &Self) -> CmpOrdering {
            assert!(!PANIC_IN_CMP.load(Ordering::SeqCst), "cmp panics");
            self.0.cmp(&other.0)
        }
    }

    #[test]
    fn the_queue_goes_on_with_every_item() {
        let queue = PriorityQueue::new(0);
        for rank in [3, 1, 2] {
            queue.put_nowait(Touchy(rank)).unwrap();
        }
        PANIC_IN_CMP.store(true, Ordering::SeqCst);
        let put = catch_unwind(AssertUnwindSafe(|| queue.put_nowait(Touchy(0))));
        PANIC_IN_CMP.store(false, Ordering::SeqCst);
        assert!(put.is_err(), "the panic reached the caller");
        assert_eq!(
            queue.qsize(),
            4,
            "the item was stored before the comparison panicked"
        );
        let mut out: Vec<u32> = (0..4).map(|_| queue.get_nowait().unwrap().0).collect();
        out.sort_unstable();
        assert_eq!(out, [0, 1, 2, 3]);
        assert_eq!(queue.get_nowait(), Err(QueueEmpty.into()));
    }
}
