//! Loom models of the wake and ready-queue paths. Run with
//! `RUSTFLAGS="--cfg aiokit_loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p aiokit --lib --release loom`.

use alloc::vec;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

use super::*;

/// Completes once `set` is true; keeps the latest waker for the setter.
#[derive(Default)]
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
    polls: AtomicUsize,
}

impl Flag {
    fn fire(&self) {
        self.set.store(true, Ordering::Release);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
}

struct Wait(Arc<Flag>, usize);

impl Future for Wait {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.0.polls.fetch_add(1, Ordering::Relaxed);
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.set.load(Ordering::Acquire) {
            Poll::Ready(self.1)
        } else {
            Poll::Pending
        }
    }
}

/// Drives the engine to completion on this thread, parking between polls; a lost wake-up
/// deadlocks, which loom reports.
fn run(engine: &mut Engine<Wait>) -> Vec<usize> {
    drive_to_end(engine, false)
}

/// [`run`], and with `take` each output is taken, so that its slot is free for a new child.
fn drive_to_end(engine: &mut Engine<Wait>, take: bool) -> Vec<usize> {
    let mut done = vec![];
    loom::future::block_on(core::future::poll_fn(|cx| {
        match engine.poll_drive(cx, |i, out| {
            if take {
                out.take();
            }
            done.push(i);
            Step::Continue
        }) {
            Drive::AllDone => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }));
    done
}

/// `n` flags, and an engine whose child `i` waits for flag `i`.
fn flagged_engine(n: usize) -> (Vec<Arc<Flag>>, Engine<Wait>) {
    let flags: Vec<Arc<Flag>> = (0..n).map(|_| Arc::new(Flag::default())).collect();
    let engine = Engine::from_iter(flags.iter().enumerate().map(|(i, f)| Wait(f.clone(), i)));
    (flags, engine)
}

/// An engine of two children, each released by its own thread.
fn two_children_fired_from_two_threads() -> (Engine<Wait>, Vec<thread::JoinHandle<()>>) {
    let (flags, engine) = flagged_engine(2);
    let threads = flags
        .iter()
        .map(|f| {
            let f = f.clone();
            thread::spawn(move || f.fire())
        })
        .collect();
    (engine, threads)
}

/// Checks that every child `0..n` completed once, then joins the threads that fired them.
fn assert_all_done(
    mut done: Vec<usize>,
    n: usize,
    threads: impl IntoIterator<Item = thread::JoinHandle<()>>,
) {
    done.sort_unstable();
    assert_eq!(done, (0..n).collect::<Vec<_>>());
    for t in threads {
        t.join().unwrap();
    }
}

/// Runs rounds until no child runs, each one `block_on` that ends once `drive` (which hands
/// the outputs it gets to `done`) produced an output or all ended; `drive` returns `None` when
/// it registered the waker without driving. A lost wake-up deadlocks a round, which loom
/// reports.
fn rounds(
    engine: &mut Engine<Wait>,
    mut drive: impl FnMut(&mut Engine<Wait>, &mut Context<'_>, &mut Vec<usize>) -> Option<Drive>,
) -> Vec<usize> {
    let mut done = vec![];
    while engine.running() > 0 {
        loom::future::block_on(core::future::poll_fn(|cx| {
            let before = done.len();
            let Some(drive) = drive(engine, cx, &mut done) else {
                return Poll::Pending;
            };
            if done.len() > before || drive == Drive::AllDone {
                Poll::Ready(())
            } else {
                assert_eq!(drive, Drive::Pending, "only an output ends a drive early");
                Poll::Pending
            }
        }));
    }
    done
}

#[test]
fn loom_two_children_woken_from_two_threads() {
    loom::model(|| {
        let (mut engine, threads) = two_children_fired_from_two_threads();
        let done = run(&mut engine);
        assert_all_done(done, 2, threads);
    });
}

/// A `wait(FirstCompleted)` loop: each round first asks `idle` (which registers the waker
/// when there is nothing to do), then drives with `settle`, which returns without registering
/// once a child completed. A wake from another thread landing anywhere in between must not be
/// lost (a lost one deadlocks a round, which loom reports).
#[test]
fn loom_first_completed_rounds_with_wakes_from_two_threads() {
    loom::model(|| {
        let (mut engine, threads) = two_children_fired_from_two_threads();
        let done = rounds(&mut engine, |engine, cx, done| {
            if engine.idle(cx) {
                return None;
            }
            Some(engine.poll_drive_settling(cx, true, |i, _| {
                done.push(i);
                Step::Continue
            }))
        });
        assert_all_done(done, 2, threads);
    });
}

/// An `as_completed` consumer: each poll stops at the first output (`Step::Stop`), possibly
/// leaving woken children in the queue, and returns it; the next poll drives again. A wake that
/// finds the queue non-empty wakes nobody, so the consumer must find it by itself (a lost one
/// deadlocks, which loom reports). One thread fires two children in a row, another the third.
#[test]
fn loom_one_output_per_poll_with_wakes_onto_a_queue_not_empty() {
    loom::model(|| {
        let (flags, mut engine) = flagged_engine(3);
        let (first, second, third) = (flags[0].clone(), flags[1].clone(), flags[2].clone());
        let threads = [
            thread::spawn(move || {
                first.fire();
                second.fire();
            }),
            thread::spawn(move || third.fire()),
        ];
        let done = rounds(&mut engine, |engine, cx, done| {
            Some(engine.poll_drive(cx, |i, _| {
                done.push(i);
                Step::Stop
            }))
        });
        assert_all_done(done, 3, threads);
    });
}

#[test]
fn loom_one_child_woken_twice_concurrently() {
    loom::model(|| {
        let flag = Arc::new(Flag::default());
        let mut engine = Engine::from_iter([Wait(flag.clone(), 0)]);
        let (waker, count) = noop_count();
        assert_eq!(
            engine.poll_drive(&mut Context::from_waker(&waker), |_, _| Step::Continue),
            Drive::Pending
        );
        let child_waker = flag.waker.lock().unwrap().clone().unwrap();
        flag.set.store(true, Ordering::Release);
        let other = child_waker.clone();
        let t = thread::spawn(move || other.wake());
        child_waker.wake_by_ref();
        t.join().unwrap();
        assert!(count.load(Ordering::SeqCst) >= 1, "the parent was woken");
        let mut done = vec![];
        let drive = engine.poll_drive(&mut Context::from_waker(&waker), |i, _| {
            done.push(i);
            Step::Continue
        });
        assert_eq!(drive, Drive::AllDone);
        assert_eq!(done, vec![0]);
        assert_eq!(flag.polls.load(Ordering::Relaxed), 2, "two wakes, one poll");
    });
}

#[test]
fn loom_wake_racing_with_drop() {
    loom::model(|| {
        let flag = Arc::new(Flag::default());
        let mut engine = Engine::from_iter([Wait(flag.clone(), 0)]);
        let (waker, _count) = noop_count();
        let _ = engine.poll_drive(&mut Context::from_waker(&waker), |_, _| Step::Continue);
        let f = flag.clone();
        let t = thread::spawn(move || f.fire());
        drop(engine);
        t.join().unwrap();
    });
}

#[test]
fn loom_children_added_while_another_is_woken() {
    loom::model(|| {
        let flags: Vec<Arc<Flag>> = (0..2).map(|_| Arc::new(Flag::default())).collect();
        let mut engine: Engine<Wait> = Engine::with_capacity(1);
        engine.push(Wait(flags[0].clone(), 0));
        let (waker, _count) = noop_count();
        assert_eq!(
            engine.poll_drive(&mut Context::from_waker(&waker), |_, _| Step::Continue),
            Drive::Pending
        );
        let f = flags[0].clone();
        let t = thread::spawn(move || f.fire());
        // Grows into a second segment while child 0's waker may be firing.
        engine.push(Wait(flags[1].clone(), 1));
        flags[1].fire();
        let done = run(&mut engine);
        assert_all_done(done, 2, [t]);
    });
}

/// On its first poll, a thread clones the first-poll waker while this thread wakes it: the node
/// is written once and the child is polled again.
struct SharedFirstWaker {
    polls: usize,
}

impl Future for SharedFirstWaker {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.polls > 1 {
            return Poll::Ready(self.polls);
        }
        // loom threads need 'static data: share the waker through a raw pointer, joined before
        // this poll returns, so the borrowed waker outlives the thread's use of it.
        struct Ptr(*const Waker);
        // SAFETY: test-only; `Waker` is `Sync` and the thread is joined within this poll.
        unsafe impl Send for Ptr {}
        let ptr = Ptr(cx.waker());
        let t = thread::spawn(move || {
            let ptr = ptr;
            // SAFETY: joined below, before the borrowed waker goes away.
            unsafe { (*ptr.0).clone() }
        });
        cx.waker().wake_by_ref();
        drop(t.join().unwrap());
        Poll::Pending
    }
}

#[test]
fn loom_first_poll_waker_cloned_and_woken_at_once() {
    loom::model(|| {
        let mut engine = Engine::from_iter([SharedFirstWaker { polls: 0 }]);
        let (waker, _count) = noop_count();
        let mut polls = vec![];
        let mut drive = Drive::Pending;
        // The child wakes itself during its first poll, so it is polled again within one or
        // two drives (a drive may end early when the queue is between two steps).
        for _ in 0..3 {
            drive = engine.poll_drive(&mut Context::from_waker(&waker), |_, out| {
                polls.push(out.take().unwrap());
                Step::Continue
            });
            if drive == Drive::AllDone {
                break;
            }
        }
        assert_eq!((drive, polls), (Drive::AllDone, vec![2]));
    });
}

/// A waker counting its wakes, built on loom's atomics.
fn noop_count() -> (Waker, Arc<AtomicUsize>) {
    use core::task::{RawWaker, RawWakerVTable};
    static VT: RawWakerVTable = RawWakerVTable::new(
        |p| {
            // SAFETY: `p` came from `Arc::into_raw` below.
            unsafe { Arc::increment_strong_count(p as *const AtomicUsize) };
            RawWaker::new(p, &VT)
        },
        |p| {
            // SAFETY: as above; `wake` consumes one reference.
            let a = unsafe { Arc::from_raw(p as *const AtomicUsize) };
            a.fetch_add(1, Ordering::SeqCst);
        },
        |p| {
            // SAFETY: as above.
            unsafe { &*(p as *const AtomicUsize) }.fetch_add(1, Ordering::SeqCst);
        },
        // SAFETY: as above; dropping gives up one reference.
        |p| drop(unsafe { Arc::from_raw(p as *const AtomicUsize) }),
    );
    let count = Arc::new(AtomicUsize::new(0));
    let raw = Arc::into_raw(count.clone()) as *const ();
    // SAFETY: the vtable above manages the reference `raw` owns.
    (unsafe { Waker::from_raw(RawWaker::new(raw, &VT)) }, count)
}

/// The raw task cell's reference count: handles on other threads racing with the driver's
/// poll and drop. The state holds a loom `Arc` and counts its drops, so a cell freed twice, or
/// never, or a state read after its drop, fails the model.
#[cfg(feature = "std")]
mod raw_cell {
    use super::*;
    use crate::engine::task_cell::{CellRef, new_send_cell};

    struct State {
        drops: Arc<AtomicUsize>,
        reads: AtomicUsize,
    }

    impl Drop for State {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Ready on its first poll; holds a handle to its own cell, as a TaskGroup child does.
    struct Child {
        me: CellRef<State>,
        drops: Arc<AtomicUsize>,
    }

    impl Future for Child {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            self.me.reads.fetch_add(1, Ordering::Relaxed);
            Poll::Ready(())
        }
    }

    impl Drop for Child {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn cell(
        state_drops: &Arc<AtomicUsize>,
        future_drops: &Arc<AtomicUsize>,
    ) -> (
        CellRef<State>,
        crate::engine::task_cell::SendDriver<'static, ()>,
    ) {
        let state = State {
            drops: state_drops.clone(),
            reads: AtomicUsize::new(0),
        };
        let drops = future_drops.clone();
        new_send_cell(state, move |me| Child { me, drops })
    }

    #[test]
    fn loom_raw_cell_handle_dropped_on_another_thread_while_the_driver_completes() {
        loom::model(|| {
            let state_drops = Arc::new(AtomicUsize::new(0));
            let future_drops = Arc::new(AtomicUsize::new(0));
            let (handle, mut driver) = cell(&state_drops, &future_drops);
            let other = handle.clone();
            let t = thread::spawn(move || {
                other.reads.fetch_add(1, Ordering::Relaxed);
                drop(other);
            });
            drop(handle);
            let (waker, _count) = noop_count();
            let poll = Pin::new(&mut driver).poll(&mut Context::from_waker(&waker));
            assert_eq!(poll, Poll::Ready(()));
            assert_eq!(future_drops.load(Ordering::SeqCst), 1);
            drop(driver);
            t.join().unwrap();
            assert_eq!(future_drops.load(Ordering::SeqCst), 1);
            assert_eq!(state_drops.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn loom_raw_cell_driver_dropped_on_another_thread_while_handles_go() {
        loom::model(|| {
            let state_drops = Arc::new(AtomicUsize::new(0));
            let future_drops = Arc::new(AtomicUsize::new(0));
            let (handle, driver) = cell(&state_drops, &future_drops);
            // The running future is dropped (cancelled) on the other thread.
            let t = thread::spawn(move || drop(driver));
            let clone = handle.clone();
            drop(handle);
            clone.reads.fetch_add(1, Ordering::Relaxed);
            drop(clone);
            t.join().unwrap();
            assert_eq!(future_drops.load(Ordering::SeqCst), 1);
            assert_eq!(state_drops.load(Ordering::SeqCst), 1);
        });
    }
}

// The task state's word (`engine::task_state`): the outcome published once, cancel racing
// completion, the fast awaiter racing the finish, the slow path entered racing the finish.

#[cfg(feature = "std")]
mod task_state {
    use core::task::Context;

    use loom::sync::Arc;
    use loom::sync::atomic::Ordering;
    use loom::thread;

    use super::noop_count;
    use crate::engine::task_state::{Await, Completed, TaskState};

    /// The completer's side, as `task::state::finish` does it with no callback.
    fn complete(state: &TaskState<Result<u32, ()>>, value: u32) -> Option<Result<u32, ()>> {
        match state
            .complete(Ok(value), || Err(()))
            .expect("one completer")
        {
            Completed::Finished => None,
            Completed::Published(displaced) => {
                // A value displaced by a cancel is dropped first, then the task finishes.
                if !state.try_finish_fast() {
                    state.finish_slow();
                    state.wake_awaiter();
                }
                displaced
            }
        }
    }

    #[test]
    fn loom_task_cancel_racing_completion() {
        loom::model(|| {
            let state = Arc::new(TaskState::<Result<u32, ()>>::new());
            let canceller = {
                let state = state.clone();
                thread::spawn(move || state.request_cancel())
            };
            let displaced = complete(&state, 7);
            let cancelled = canceller.join().unwrap();
            let outcome = *state.outcome().expect("published");
            if cancelled {
                // cancel() returned true: the outcome is a cancellation, the value handed back.
                assert_eq!(outcome, Err(()));
                assert_eq!(displaced, Some(Ok(7)));
            } else {
                assert_eq!(outcome, Ok(7));
                assert_eq!(displaced, None);
            }
            assert!(state.is_finished());
            assert_eq!(state.is_cancel_requested(), cancelled);
        });
    }

    #[test]
    fn loom_task_await_racing_completion() {
        loom::model(|| {
            let state = Arc::new(TaskState::<Result<u32, ()>>::new());
            let completer = {
                let state = state.clone();
                thread::spawn(move || {
                    complete(&state, 3);
                })
            };
            let (waker, count) = noop_count();
            let mut key = None;
            let first = state.poll_await(&mut key, &Context::from_waker(&waker));
            completer.join().unwrap();
            match first {
                Await::Ready => {}
                Await::Pending => {
                    // Registered before the finish: it must have been woken exactly once.
                    assert_eq!(count.load(Ordering::SeqCst), 1, "the awaiter was woken");
                }
                Await::Slow => panic!("the only awaiter owns the fast slot"),
            }
            assert_eq!(
                state.poll_await(&mut key, &Context::from_waker(&waker)),
                Await::Ready
            );
            assert_eq!(state.outcome(), Some(&Ok(3)));
        });
    }

    #[test]
    fn loom_task_cancel_wakes_a_registered_driver() {
        loom::model(|| {
            let state = Arc::new(TaskState::<Result<u32, ()>>::new());
            let (waker, count) = noop_count();
            let canceller = {
                let state = state.clone();
                thread::spawn(move || assert!(state.request_cancel()))
            };
            let seen = state.poll_cancel_requested(&Context::from_waker(&waker));
            canceller.join().unwrap();
            // Either the driver saw the request, or its registered waker was woken.
            assert!(seen || count.load(Ordering::SeqCst) == 1);
        });
    }

    #[test]
    fn loom_task_slow_path_racing_finish() {
        loom::model(|| {
            let state = Arc::new(TaskState::<Result<u32, ()>>::new());
            let finished_fast = {
                let state = state.clone();
                thread::spawn(move || match state.complete(Ok(1), || Err(())).unwrap() {
                    Completed::Finished => true,
                    Completed::Published(_) => false,
                })
            };
            // An adder: sets SLOW first; if the task had not finished, the completer must have
            // been refused the fast finish.
            let already = state.mark_slow();
            let fast = finished_fast.join().unwrap();
            assert_eq!(already, fast, "exactly one side saw the other");
            if !fast {
                state.finish_slow();
            }
            assert!(state.is_finished());
        });
    }

    /// The label (a coroutine's name), set once by the driver while another thread reads it
    /// and completes the task: a reader sees nothing or the whole label, never a torn one,
    /// and the bits of the word stay each other's.
    #[test]
    fn loom_task_label_set_racing_reads_and_completion() {
        loom::model(|| {
            let state = Arc::new(TaskState::<Result<u32, ()>>::new());
            let reader = {
                let state = state.clone();
                thread::spawn(move || {
                    let seen = state.label();
                    assert!(seen.is_none() || seen == Some("brew"));
                    complete(&state, 5);
                })
            };
            assert!(state.set_label("brew"));
            assert!(!state.set_label("steep"), "the first label stays");
            reader.join().unwrap();
            assert_eq!(state.label(), Some("brew"));
            assert_eq!(state.outcome(), Some(&Ok(5)));
            assert!(state.is_finished());
        });
    }
}

/// A slot reused while a waker of its old child is woken from another thread: the new child
/// is polled (maybe once more than needed) and finishes; nothing is lost or polled twice at once.
#[test]
fn loom_a_stale_waker_woken_while_the_slot_is_reused() {
    loom::model(|| {
        let mut engine: Engine<Wait> = Engine::with_capacity(1);
        engine.reuse_slots();
        let old = Arc::new(Flag::default());
        assert_eq!(engine.push(Wait(old.clone(), 0)), 0);
        let first = engine.poll_drive(&mut Context::from_waker(Waker::noop()), |_, _| {
            Step::Continue
        });
        assert_eq!(first, Drive::Pending);
        let stale = old.waker.lock().unwrap().clone().unwrap();
        let late = thread::spawn(move || stale.wake());
        old.fire();
        assert_eq!(drive_to_end(&mut engine, true), vec![0]);
        let new = Arc::new(Flag::default());
        assert_eq!(
            engine.push(Wait(new.clone(), 1)),
            0,
            "the ended child's slot"
        );
        let firing = {
            let new = new.clone();
            thread::spawn(move || new.fire())
        };
        assert_eq!(drive_to_end(&mut engine, true), vec![0]);
        late.join().unwrap();
        firing.join().unwrap();
        assert!(new.polls.load(Ordering::Relaxed) >= 1);
    });
}
