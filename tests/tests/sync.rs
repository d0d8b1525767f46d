//! asyncio's synchronization primitives (`aiokit::sync`), one module per rule, after
//! CPython's test_asyncio/test_locks.py.
//!
//! Ordering rules are observed with deterministic polling: futures' `LocalPool` (which runs
//! woken tasks in wake order, as asyncio's loop does) or manual polls with counting wakers.
//! Rules that involve threads run on every executor of the tests crate.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use aiokit::sync::{
    Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, ReleaseError, Semaphore,
};
use aiokit_tests::on_each_executor;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

use aiokit_tests::manual::{Log, counting, log, poll, wakes};

fn entries<T: Clone>(log: &Log<T>) -> Vec<T> {
    log.lock().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// Lock

mod lock_acquire_holds_it_until_the_guard_is_dropped {
    use super::*;

    #[test]
    fn locked_reports_it() {
        futures::executor::block_on(async {
            let lock = Lock::new();
            assert!(!lock.locked());
            let guard = lock.acquire().await;
            assert!(lock.locked());
            assert!(lock.try_acquire().is_none());
            drop(guard);
            assert!(!lock.locked());
            assert!(lock.try_acquire().is_some());
            assert!(!lock.locked(), "the try_acquire guard was dropped at once");
        });
    }
}

mod lock_waiters_acquire_in_fifo_order {
    use super::*;

    /// test_locks.py's LockTests.test_acquire: three tasks wait; each release lets the next
    /// one in, in the order they came.
    #[test]
    fn on_a_local_pool() {
        let mut pool = LocalPool::new();
        let lock = Arc::new(Lock::new());
        let order = log();
        let (releases, _) = (Arc::new(Mutex::new(Vec::new())), ());
        let first = lock.try_acquire().unwrap();
        for task in 1..=3 {
            let (lock, order, releases) = (lock.clone(), order.clone(), releases.clone());
            pool.spawner()
                .spawn_local(async move {
                    let guard = lock.acquire().await;
                    order.lock().unwrap().push(task);
                    // Hold the lock until the test says so.
                    let (tx, rx) = futures::channel::oneshot::channel::<()>();
                    releases.lock().unwrap().push(tx);
                    let _ = rx.await;
                    drop(guard);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert_eq!(entries(&order), Vec::<i32>::new());
        drop(first);
        pool.run_until_stalled();
        assert_eq!(entries(&order), [1]);
        for expected in [vec![1, 2], vec![1, 2, 3]] {
            let release = releases.lock().unwrap().remove(0);
            release.send(()).unwrap();
            pool.run_until_stalled();
            assert_eq!(entries(&order), expected);
        }
    }
}

mod a_cancelled_lock_acquire_never_holds_the_lock {
    use super::*;

    #[test]
    fn dropped_while_waiting() {
        let lock = Lock::new();
        let guard = lock.try_acquire().unwrap();
        let (_, waker) = counting();
        let mut acquire = Box::pin(lock.acquire());
        assert!(poll(acquire.as_mut(), &waker).is_pending());
        drop(acquire);
        drop(guard);
        assert!(!lock.locked());
    }

    #[test]
    fn dropped_after_being_woken_passes_the_wakeup_on() {
        let lock = Lock::new();
        let guard = lock.try_acquire().unwrap();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut acquire1 = Box::pin(lock.acquire());
        let mut acquire2 = pin!(lock.acquire());
        assert!(poll(acquire1.as_mut(), &first_waker).is_pending());
        assert!(poll(acquire2.as_mut(), &second_waker).is_pending());
        drop(guard);
        assert_eq!((wakes(&first), wakes(&second)), (1, 0));
        drop(acquire1);
        assert!(
            !lock.locked(),
            "the cancelled waiter does not hold the lock"
        );
        assert_eq!(wakes(&second), 1);
        let Poll::Ready(_guard) = poll(acquire2.as_mut(), &second_waker) else {
            panic!("the second waiter gets the lock")
        };
        assert!(lock.locked());
    }
}

on_each_executor! {
    /// Tasks on every thread of the executor: never two inside the lock at once.
    fn lock_excludes_across_tasks_and_threads(ex) {
        let lock = Arc::new(Lock::new());
        let inside = Arc::new(AtomicBool::new(false));
        let entered = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (lock, inside, entered) = (lock.clone(), inside.clone(), entered.clone());
                ex.spawn(async move {
                    for _ in 0..50 {
                        let _guard = lock.acquire().await;
                        assert!(!inside.swap(true, Ordering::SeqCst), "two tasks in the lock");
                        futures_lite::future::yield_now().await;
                        inside.store(false, Ordering::SeqCst);
                        entered.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        ex.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(entered.load(Ordering::SeqCst), 400);
        assert!(!lock.locked());
    }
}

// ---------------------------------------------------------------------------------------------
// Event

mod event_wait_returns_at_once_when_set {
    use super::*;

    #[test]
    fn set_then_wait() {
        let event = Event::new();
        event.set();
        assert!(event.is_set());
        let (_, waker) = counting();
        assert_eq!(poll(pin!(event.wait()), &waker), Poll::Ready(()));
    }
}

mod event_set_wakes_every_waiter {
    use super::*;

    /// test_locks.py's EventTests.test_wait: three waiters, one set, all return.
    #[test]
    fn on_a_local_pool() {
        let mut pool = LocalPool::new();
        let event = Arc::new(Event::new());
        let woken = log();
        for task in 1..=3 {
            let (event, woken) = (event.clone(), woken.clone());
            pool.spawner()
                .spawn_local(async move {
                    event.wait().await;
                    woken.lock().unwrap().push(task);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert_eq!(entries(&woken), Vec::<i32>::new());
        event.set();
        pool.run_until_stalled();
        assert_eq!(entries(&woken), [1, 2, 3]);
    }
}

mod event_waiter_woken_by_set_returns_even_if_clear_follows_at_once {
    use super::*;

    /// test_locks.py's EventTests.test_clear_with_waiters.
    #[test]
    fn set_then_clear_before_the_waiter_runs() {
        let event = Event::new();
        let (counter, waker) = counting();
        let mut wait = pin!(event.wait());
        assert!(poll(wait.as_mut(), &waker).is_pending());
        event.set();
        event.clear();
        assert!(!event.is_set());
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll(wait.as_mut(), &waker), Poll::Ready(()));
    }
}

mod event_clear_makes_later_waits_wait {
    use super::*;

    #[test]
    fn wait_after_clear_is_pending() {
        let event = Event::new();
        event.set();
        event.clear();
        let (counter, waker) = counting();
        let mut wait = pin!(event.wait());
        assert!(poll(wait.as_mut(), &waker).is_pending());
        event.set();
        assert_eq!(wakes(&counter), 1);
        assert_eq!(poll(wait.as_mut(), &waker), Poll::Ready(()));
    }
}

// ---------------------------------------------------------------------------------------------
// Condition

mod condition_wait_releases_the_lock_and_holds_it_again_on_return {
    use super::*;

    #[test]
    fn lock_free_while_waiting() {
        let cond = Condition::new();
        let (counter, waker) = counting();
        let guard = cond.lock().try_acquire().unwrap();
        let mut wait = pin!(cond.wait(guard));
        assert!(poll(wait.as_mut(), &waker).is_pending());
        assert!(!cond.locked(), "released while waiting");
        let notifier = cond.lock().try_acquire().unwrap();
        cond.notify(&notifier, 1);
        assert_eq!(wakes(&counter), 1);
        assert!(
            poll(wait.as_mut(), &waker).is_pending(),
            "the notifier still holds the lock"
        );
        drop(notifier);
        let Poll::Ready(guard) = poll(wait.as_mut(), &waker) else {
            panic!("the lock is free again")
        };
        assert!(cond.locked());
        drop(guard);
        assert!(!cond.locked());
    }
}

mod condition_notify_wakes_n_waiters_in_fifo_order {
    use super::*;

    /// test_locks.py's ConditionTests.test_notify: notify(1) then notify(2) wakes the
    /// waiters in the order they waited.
    #[test]
    fn on_a_local_pool() {
        let mut pool = LocalPool::new();
        let cond = Arc::new(Condition::new());
        let woken = log();
        for task in 1..=3 {
            let (cond, woken) = (cond.clone(), woken.clone());
            pool.spawner()
                .spawn_local(async move {
                    let guard = cond.acquire().await;
                    let _guard = cond.wait(guard).await;
                    woken.lock().unwrap().push(task);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert_eq!(entries(&woken), Vec::<i32>::new());
        {
            let guard = cond.lock().try_acquire().unwrap();
            cond.notify(&guard, 1);
        }
        pool.run_until_stalled();
        assert_eq!(entries(&woken), [1]);
        {
            let guard = cond.lock().try_acquire().unwrap();
            cond.notify(&guard, 2048);
        }
        pool.run_until_stalled();
        assert_eq!(entries(&woken), [1, 2, 3]);
    }

    /// Two notify(1) before the first woken waiter runs wake two waiters.
    #[test]
    fn counts_only_waiters_not_yet_notified() {
        let cond = Condition::new();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut wait1 = pin!(cond.wait(cond.lock().try_acquire().unwrap()));
        assert!(poll(wait1.as_mut(), &first_waker).is_pending());
        let mut wait2 = pin!(cond.wait(cond.lock().try_acquire().unwrap()));
        assert!(poll(wait2.as_mut(), &second_waker).is_pending());
        let guard = cond.lock().try_acquire().unwrap();
        cond.notify(&guard, 1);
        cond.notify(&guard, 1);
        assert_eq!((wakes(&first), wakes(&second)), (1, 1));
    }
}

mod condition_notify_all_wakes_every_waiter {
    use super::*;

    #[test]
    fn on_a_local_pool() {
        let mut pool = LocalPool::new();
        let cond = Arc::new(Condition::new());
        let woken = log();
        for task in 1..=3 {
            let (cond, woken) = (cond.clone(), woken.clone());
            pool.spawner()
                .spawn_local(async move {
                    let guard = cond.acquire().await;
                    let _guard = cond.wait(guard).await;
                    woken.lock().unwrap().push(task);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        {
            let guard = cond.lock().try_acquire().unwrap();
            cond.notify_all(&guard);
        }
        pool.run_until_stalled();
        assert_eq!(entries(&woken), [1, 2, 3]);
    }
}

mod condition_wait_for_waits_until_the_predicate_holds {
    use super::*;

    /// test_locks.py's ConditionTests.test_wait_for: a notify with the predicate false does
    /// not return.
    #[test]
    fn notified_twice_returns_once_true() {
        let cond = Condition::new();
        let presult = AtomicBool::new(false);
        let calls = AtomicUsize::new(0);
        let (_, waker) = counting();
        let mut wait = pin!(cond.wait_for(cond.lock().try_acquire().unwrap(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            presult.load(Ordering::SeqCst)
        }));
        assert!(poll(wait.as_mut(), &waker).is_pending());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cond.notify(&cond.lock().try_acquire().unwrap(), 1);
        assert!(poll(wait.as_mut(), &waker).is_pending());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        presult.store(true, Ordering::SeqCst);
        cond.notify(&cond.lock().try_acquire().unwrap(), 1);
        assert!(matches!(poll(wait.as_mut(), &waker), Poll::Ready(_)));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn true_at_once_does_not_wait() {
        let cond = Condition::new();
        let (_, waker) = counting();
        let wait = pin!(cond.wait_for(cond.lock().try_acquire().unwrap(), || true));
        assert!(matches!(poll(wait, &waker), Poll::Ready(_)));
    }
}

mod condition_notification_passes_on_when_the_notified_waiter_is_cancelled {
    use super::*;

    #[test]
    fn the_next_waiter_is_woken() {
        let cond = Condition::new();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut wait1 = Box::pin(cond.wait(cond.lock().try_acquire().unwrap()));
        assert!(poll(wait1.as_mut(), &first_waker).is_pending());
        let mut wait2 = pin!(cond.wait(cond.lock().try_acquire().unwrap()));
        assert!(poll(wait2.as_mut(), &second_waker).is_pending());
        cond.notify(&cond.lock().try_acquire().unwrap(), 1);
        assert_eq!((wakes(&first), wakes(&second)), (1, 0));
        drop(wait1);
        assert_eq!(wakes(&second), 1);
        assert!(matches!(
            poll(wait2.as_mut(), &second_waker),
            Poll::Ready(_)
        ));
    }
}

mod condition_with_a_guard_of_another_lock_panics {
    use super::*;

    #[test]
    #[should_panic(expected = "Condition::notify was given the guard of another lock")]
    fn notify() {
        let cond = Condition::new();
        let other = Lock::new();
        cond.notify(&other.try_acquire().unwrap(), 1);
    }

    #[test]
    #[should_panic(expected = "Condition::wait was given the guard of another lock")]
    fn wait() {
        let cond = Condition::new();
        let other = Lock::new();
        let (_, waker) = counting();
        let _ = poll(pin!(cond.wait(other.try_acquire().unwrap())), &waker);
    }

    #[test]
    fn a_shared_lock_is_the_same_lock() {
        let lock = Arc::new(Lock::new());
        let cond = Condition::with_lock(lock.clone());
        let other_cond = Condition::with_lock(lock.clone());
        let guard = lock.try_acquire().unwrap();
        cond.notify(&guard, 1);
        other_cond.notify_all(&guard);
        assert!(cond.locked() && other_cond.locked());
    }
}

// ---------------------------------------------------------------------------------------------
// Semaphore / BoundedSemaphore

mod semaphore_acquire_waits_at_zero_and_locked_reports_it {
    use super::*;

    #[test]
    fn two_permits() {
        let sem = Semaphore::new(2);
        assert!(!sem.locked());
        let a = sem.try_acquire().unwrap();
        let b = sem.try_acquire().unwrap();
        assert!(sem.locked());
        assert!(sem.try_acquire().is_none());
        assert_eq!(
            sem.available_permits(),
            0,
            "a failed try_acquire takes nothing"
        );
        let (counter, waker) = counting();
        let mut acquire = pin!(sem.acquire());
        assert!(poll(acquire.as_mut(), &waker).is_pending());
        drop(a);
        assert_eq!(wakes(&counter), 1);
        let Poll::Ready(c) = poll(acquire.as_mut(), &waker) else {
            panic!("a permit came back")
        };
        drop(b);
        assert_eq!(sem.available_permits(), 1);
        drop(c);
        assert_eq!(sem.available_permits(), 2);
    }
}

mod semaphore_each_release_wakes_one_more_waiter {
    use super::*;

    /// Two permits given back before the first woken waiter runs wake two waiters.
    #[test]
    fn two_releases_two_waiters() {
        let sem = Semaphore::new(2);
        let a = sem.try_acquire().unwrap();
        let b = sem.try_acquire().unwrap();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut acquire1 = pin!(sem.acquire());
        let mut acquire2 = pin!(sem.acquire());
        assert!(poll(acquire1.as_mut(), &first_waker).is_pending());
        assert!(poll(acquire2.as_mut(), &second_waker).is_pending());
        drop(a);
        drop(b);
        assert_eq!((wakes(&first), wakes(&second)), (1, 1));
        assert!(matches!(
            poll(acquire1.as_mut(), &first_waker),
            Poll::Ready(_)
        ));
        assert!(matches!(
            poll(acquire2.as_mut(), &second_waker),
            Poll::Ready(_)
        ));
    }
}

mod semaphore_waiters_acquire_in_fifo_order {
    use super::*;

    /// test_locks.py's SemaphoreTests.test_acquire: waiters enter in order as permits come
    /// back.
    #[test]
    fn on_a_local_pool() {
        let mut pool = LocalPool::new();
        let sem = Arc::new(Semaphore::new(1));
        let order = log();
        sem.try_acquire().unwrap().forget();
        for task in 1..=3 {
            let (sem, order) = (sem.clone(), order.clone());
            pool.spawner()
                .spawn_local(async move {
                    sem.acquire().await.forget();
                    order.lock().unwrap().push(task);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert_eq!(entries(&order), Vec::<i32>::new());
        sem.release();
        pool.run_until_stalled();
        assert_eq!(entries(&order), [1]);
        sem.release();
        sem.release();
        pool.run_until_stalled();
        assert_eq!(entries(&order), [1, 2, 3]);
        assert!(sem.locked());
    }
}

mod a_cancelled_semaphore_acquire_never_holds_a_permit {
    use super::*;

    #[test]
    fn dropped_after_being_woken_passes_the_wakeup_on() {
        let sem = Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut acquire1 = Box::pin(sem.acquire());
        let mut acquire2 = pin!(sem.acquire());
        assert!(poll(acquire1.as_mut(), &first_waker).is_pending());
        assert!(poll(acquire2.as_mut(), &second_waker).is_pending());
        drop(held);
        assert_eq!((wakes(&first), wakes(&second)), (1, 0));
        drop(acquire1);
        assert_eq!(
            sem.available_permits(),
            1,
            "the cancelled acquire took nothing"
        );
        assert_eq!(wakes(&second), 1);
        assert!(matches!(
            poll(acquire2.as_mut(), &second_waker),
            Poll::Ready(_)
        ));
    }
}

mod semaphore_release_without_a_guard_adds_a_permit {
    use super::*;

    #[test]
    fn above_the_initial_value() {
        let sem = Semaphore::new(1);
        sem.release();
        assert_eq!(sem.available_permits(), 2);
        sem.try_acquire().unwrap().forget();
        sem.try_acquire().unwrap().forget();
        assert!(sem.locked());
        sem.release();
        assert!(!sem.locked());
    }
}

mod bounded_semaphore_refuses_a_release_beyond_its_initial_value {
    use super::*;

    /// test_locks.py's BoundedSemaphoreTests: release() beyond the bound raises ValueError.
    #[test]
    fn error_and_nothing_changes() {
        let sem = BoundedSemaphore::new(2);
        assert_eq!(sem.release(), Err(ReleaseError));
        assert_eq!(
            ReleaseError.to_string(),
            "BoundedSemaphore released too many times"
        );
        sem.try_acquire().unwrap().forget();
        assert_eq!(sem.available_permits(), 1);
        assert_eq!(sem.release(), Ok(()));
        assert_eq!(sem.release(), Err(ReleaseError));
        assert_eq!(sem.available_permits(), 2);
        // Guards give back exactly what they took.
        let a = sem.try_acquire().unwrap();
        let b = sem.try_acquire().unwrap();
        assert!(sem.locked());
        drop((a, b));
        assert_eq!(sem.available_permits(), 2);
    }

    #[test]
    fn a_release_wakes_a_waiter() {
        let sem = BoundedSemaphore::new(1);
        sem.try_acquire().unwrap().forget();
        let (counter, waker) = counting();
        let mut acquire = pin!(sem.acquire());
        assert!(poll(acquire.as_mut(), &waker).is_pending());
        sem.release().unwrap();
        assert_eq!(wakes(&counter), 1);
        assert!(matches!(poll(acquire.as_mut(), &waker), Poll::Ready(_)));
    }
}

on_each_executor! {
    /// Never more holders than permits, across the executor's threads.
    fn semaphore_bounds_concurrent_holders(ex) {
        let sem = Arc::new(Semaphore::new(3));
        let holders = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (sem, holders, most) = (sem.clone(), holders.clone(), most.clone());
                ex.spawn(async move {
                    for _ in 0..50 {
                        let _permit = sem.acquire().await;
                        let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        futures_lite::future::yield_now().await;
                        holders.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        ex.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert_eq!(sem.available_permits(), 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Barrier

mod barrier_releases_every_party_with_its_arrival_index {
    use super::*;

    /// test_locks.py's BarrierTests.test_wait_more / test_wait_task_multi: arrival indices
    /// 0..parties, the last arrival releases everyone.
    #[test]
    fn on_a_local_pool() {
        let mut pool = LocalPool::new();
        let barrier = Arc::new(Barrier::new(3));
        let results = log();
        for task in 0..3 {
            let (shared, log) = (barrier.clone(), results.clone());
            pool.spawner()
                .spawn_local(async move {
                    let index = shared.wait().await.unwrap();
                    log.lock().unwrap().push((task, index));
                })
                .unwrap();
            pool.run_until_stalled();
            if task < 2 {
                assert_eq!(barrier.n_waiting(), task + 1);
                assert_eq!(entries(&results), []);
            }
        }
        let mut results = entries(&results);
        results.sort_unstable();
        assert_eq!(results, [(0, 0), (1, 1), (2, 2)]);
        assert_eq!(barrier.n_waiting(), 0);
        assert_eq!(barrier.parties(), 3);
        assert!(!barrier.broken());
    }

    #[test]
    fn one_party_passes_at_once() {
        let barrier = Barrier::new(1);
        let (_, waker) = counting();
        assert_eq!(poll(pin!(barrier.wait()), &waker), Poll::Ready(Ok(0)));
        assert_eq!(poll(pin!(barrier.wait()), &waker), Poll::Ready(Ok(0)));
    }

    #[test]
    #[should_panic(expected = "a Barrier needs at least one party")]
    fn zero_parties_is_refused() {
        let _ = Barrier::new(0);
    }
}

mod barrier_can_be_used_again_after_it_drains {
    use super::*;

    #[test]
    fn three_rounds() {
        let barrier = Barrier::new(2);
        futures::executor::block_on(async {
            for _ in 0..3 {
                let (a, b) = aiokit::gather!(barrier.wait(), barrier.wait()).await;
                let mut indices = [a.unwrap(), b.unwrap()];
                indices.sort_unstable();
                assert_eq!(indices, [0, 1]);
            }
        });
    }
}

mod barrier_newcomer_waits_while_the_barrier_drains {
    use super::*;

    #[test]
    fn counts_in_the_next_round() {
        let barrier = Barrier::new(2);
        let (_, waker) = counting();
        let mut first = pin!(barrier.wait());
        assert!(poll(first.as_mut(), &waker).is_pending());
        let mut last = pin!(barrier.wait());
        assert_eq!(poll(last.as_mut(), &waker), Poll::Ready(Ok(1)));
        // `first` was released but has not left yet: the barrier drains.
        assert_eq!(barrier.n_waiting(), 0);
        let mut newcomer = pin!(barrier.wait());
        assert!(poll(newcomer.as_mut(), &waker).is_pending());
        assert_eq!(poll(first.as_mut(), &waker), Poll::Ready(Ok(0)));
        // Drained: the newcomer enters the next round as its first arrival.
        assert!(poll(newcomer.as_mut(), &waker).is_pending());
        assert_eq!(barrier.n_waiting(), 1);
        let mut partner = pin!(barrier.wait());
        assert_eq!(poll(partner.as_mut(), &waker), Poll::Ready(Ok(1)));
        assert_eq!(poll(newcomer.as_mut(), &waker), Poll::Ready(Ok(0)));
    }
}

mod barrier_abort_breaks_waiting_and_later_waits {
    use super::*;

    /// test_locks.py's BarrierTests.test_abort_barrier.
    #[test]
    fn until_reset() {
        let barrier = Barrier::new(3);
        let (counter, waker) = counting();
        let mut waiting = pin!(barrier.wait());
        assert!(poll(waiting.as_mut(), &waker).is_pending());
        barrier.abort();
        assert!(barrier.broken());
        assert_eq!(wakes(&counter), 1);
        assert_eq!(
            poll(waiting.as_mut(), &waker),
            Poll::Ready(Err(BrokenBarrierError))
        );
        assert_eq!(
            poll(pin!(barrier.wait()), &waker),
            Poll::Ready(Err(BrokenBarrierError))
        );
        assert_eq!(barrier.n_waiting(), 0);
        barrier.reset();
        assert!(!barrier.broken());
        assert!(poll(pin!(barrier.wait()), &waker).is_pending());
    }
}

mod barrier_reset_fails_the_waiters_and_empties_the_barrier {
    use super::*;

    /// test_locks.py's BarrierTests.test_reset_barrier_while_tasks_waiting.
    #[test]
    fn waiters_get_the_error_then_the_barrier_fills_again() {
        let barrier = Barrier::new(3);
        let (_, waker) = counting();
        let mut a = pin!(barrier.wait());
        let mut b = pin!(barrier.wait());
        assert!(poll(a.as_mut(), &waker).is_pending());
        assert!(poll(b.as_mut(), &waker).is_pending());
        assert_eq!(barrier.n_waiting(), 2);
        barrier.reset();
        assert_eq!(barrier.n_waiting(), 0);
        // A newcomer waits for the reset to complete.
        let mut newcomer = pin!(barrier.wait());
        assert!(poll(newcomer.as_mut(), &waker).is_pending());
        assert_eq!(
            poll(a.as_mut(), &waker),
            Poll::Ready(Err(BrokenBarrierError))
        );
        assert_eq!(
            poll(b.as_mut(), &waker),
            Poll::Ready(Err(BrokenBarrierError))
        );
        assert!(!barrier.broken());
        assert!(poll(newcomer.as_mut(), &waker).is_pending());
        assert_eq!(barrier.n_waiting(), 1);
    }
}

mod a_cancelled_barrier_wait_no_longer_counts {
    use super::*;

    #[test]
    fn dropped_while_filling() {
        let barrier = Barrier::new(2);
        let (_, waker) = counting();
        let mut gone = Box::pin(barrier.wait());
        assert!(poll(gone.as_mut(), &waker).is_pending());
        assert_eq!(barrier.n_waiting(), 1);
        drop(gone);
        assert_eq!(barrier.n_waiting(), 0);
        let mut first = pin!(barrier.wait());
        assert!(
            poll(first.as_mut(), &waker).is_pending(),
            "one party is not enough"
        );
        let mut second = pin!(barrier.wait());
        assert_eq!(poll(second.as_mut(), &waker), Poll::Ready(Ok(1)));
        assert_eq!(poll(first.as_mut(), &waker), Poll::Ready(Ok(0)));
    }

    #[test]
    fn dropped_while_draining_lets_the_barrier_drain() {
        let barrier = Barrier::new(2);
        let (_, waker) = counting();
        let mut released = Box::pin(barrier.wait());
        assert!(poll(released.as_mut(), &waker).is_pending());
        assert_eq!(poll(pin!(barrier.wait()), &waker), Poll::Ready(Ok(1)));
        drop(released); // released, but dropped before it left
        assert_eq!(barrier.n_waiting(), 0);
        let mut next = pin!(barrier.wait());
        assert!(poll(next.as_mut(), &waker).is_pending());
        assert_eq!(
            barrier.n_waiting(),
            1,
            "the barrier drained and fills again"
        );
    }
}

on_each_executor! {
    /// Four tasks on the executor's threads pass a barrier of four together, twice.
    fn barrier_releases_parties_across_threads(ex) {
        let barrier = Arc::new(Barrier::new(4));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let barrier = barrier.clone();
                ex.spawn(async move {
                    let first = barrier.wait().await.unwrap();
                    let second = barrier.wait().await.unwrap();
                    (first, second)
                })
            })
            .collect();
        let mut indices = ex.block_on(async {
            let mut indices = Vec::new();
            for task in tasks {
                indices.push(task.await.unwrap());
            }
            indices
        });
        let mut firsts: Vec<_> = indices.iter().map(|i| i.0).collect();
        firsts.sort_unstable();
        indices.sort_unstable_by_key(|i| i.1);
        assert_eq!(firsts, [0, 1, 2, 3]);
        assert_eq!(indices.iter().map(|i| i.1).collect::<Vec<_>>(), [0, 1, 2, 3]);
    }
}
