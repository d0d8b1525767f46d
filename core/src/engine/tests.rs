use alloc::rc::Rc;
use alloc::sync::Arc as StdArc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering as O};
use core::task::{Context, Poll, Waker};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Wake;

use super::*;

/// A waker that counts its wakes.
struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: StdArc<Self>) {
        self.0.fetch_add(1, O::SeqCst);
    }
    fn wake_by_ref(self: &StdArc<Self>) {
        self.0.fetch_add(1, O::SeqCst);
    }
}

fn counting() -> (StdArc<CountWaker>, Waker) {
    let c = StdArc::new(CountWaker(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

/// A child that records its polls, keeps its last waker, and completes when told to.
#[derive(Default)]
struct Probe {
    polls: Cell<usize>,
    waker: RefCell<Option<Waker>>,
    ready: Cell<bool>,
    drops: Cell<usize>,
}

struct Child {
    probe: Rc<Probe>,
    value: usize,
}

impl Future for Child {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.probe.polls.set(self.probe.polls.get() + 1);
        if self.probe.ready.get() {
            Poll::Ready(self.value)
        } else {
            *self.probe.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.probe.drops.set(self.probe.drops.get() + 1);
    }
}

fn probes(n: usize) -> (Vec<Rc<Probe>>, Engine<Child>) {
    let probes: Vec<Rc<Probe>> = (0..n).map(|_| Rc::new(Probe::default())).collect();
    let engine = Engine::from_iter(probes.iter().enumerate().map(|(value, p)| Child {
        probe: p.clone(),
        value,
    }));
    (probes, engine)
}

fn drive(engine: &mut Engine<Child>, waker: &Waker) -> (Drive, Vec<usize>) {
    let mut done = vec![];
    let d = engine.poll_drive(&mut Context::from_waker(waker), |i, _| {
        done.push(i);
        Step::Continue
    });
    (d, done)
}

#[test]
fn first_poll_polls_every_child_then_only_the_woken() {
    let (probes, mut engine) = probes(100);
    let (count, waker) = counting();
    assert_eq!(drive(&mut engine, &waker).0, Drive::Pending);
    assert!(probes.iter().all(|p| p.polls.get() == 1));
    probes[7].ready.set(true);
    probes[42].waker.borrow_mut().take().unwrap().wake();
    probes[7].waker.borrow().as_ref().unwrap().wake_by_ref();
    assert_eq!(
        count.0.load(O::SeqCst),
        1,
        "a child wake wakes the parent (once per registration)"
    );
    let (d, done) = drive(&mut engine, &waker);
    assert_eq!(d, Drive::Pending);
    assert_eq!(done, vec![7]);
    let polled: Vec<usize> = (0..100).filter(|&i| probes[i].polls.get() == 2).collect();
    assert_eq!(
        polled,
        vec![7, 42],
        "only the woken children are polled again"
    );
    assert_eq!(engine.take(7), Some(7));
    assert_eq!(engine.running(), 99);
}

#[test]
fn a_child_woken_twice_is_polled_once() {
    let (probes, mut engine) = probes(DIRECT_MAX + 1);
    let (_, waker) = counting();
    drive(&mut engine, &waker);
    let w = probes[1].waker.borrow().clone().unwrap();
    w.wake_by_ref();
    w.wake_by_ref();
    w.wake();
    drive(&mut engine, &waker);
    assert_eq!(probes[1].polls.get(), 2);
}

#[test]
fn direct_mode_polls_every_running_child_with_the_callers_waker() {
    let (probes, mut engine) = probes(DIRECT_MAX);
    let (count, waker) = counting();
    assert_eq!(drive(&mut engine, &waker).0, Drive::Pending);
    probes[3].ready.set(true);
    probes[3].waker.borrow().as_ref().unwrap().wake_by_ref();
    assert_eq!(
        count.0.load(O::SeqCst),
        1,
        "children hold the caller's waker itself"
    );
    let (d, done) = drive(&mut engine, &waker);
    assert_eq!((d, done), (Drive::Pending, vec![3]));
    assert!(probes.iter().all(|p| p.polls.get() == 2));
    drive(&mut engine, &waker);
    assert_eq!(
        probes[3].polls.get(),
        2,
        "a finished child is not polled again"
    );
}

#[test]
fn all_done_outputs_stay_in_place_in_index_order() {
    let (probes, mut engine) = probes(5);
    for p in &probes {
        p.ready.set(true);
    }
    let (_, waker) = counting();
    let (d, done) = drive(&mut engine, &waker);
    assert_eq!(d, Drive::AllDone);
    assert_eq!(done, vec![0, 1, 2, 3, 4]);
    let outs: Vec<_> = engine.drain_outputs().collect();
    assert_eq!(outs, vec![(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]);
    assert!(
        probes.iter().all(|p| p.drops.get() == 1),
        "a finished child is dropped at once"
    );
}

#[test]
fn stop_returns_early_and_keeps_the_rest_for_later() {
    let (probes, mut engine) = probes(4);
    for p in &probes {
        p.ready.set(true);
    }
    let (_, waker) = counting();
    let mut seen = vec![];
    let d = engine.poll_drive(&mut Context::from_waker(&waker), |i, out| {
        seen.push(out.take().unwrap());
        let _ = i;
        Step::Stop
    });
    assert_eq!(d, Drive::Stopped);
    assert_eq!(seen, vec![0]);
    assert_eq!(engine.take(0), None, "a taken output leaves the slot empty");
    assert_eq!(probes[1].polls.get(), 0);
    let (d, done) = drive(&mut engine, &waker);
    assert_eq!((d, done), (Drive::AllDone, vec![1, 2, 3]));
}

/// A child that wakes itself every time and never finishes.
struct Spinner(Rc<Cell<usize>>);

impl Future for Spinner {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.0.set(self.0.get() + 1);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_self_waking_child_cannot_starve_the_executor() {
    let polls = Rc::new(Cell::new(0));
    let mut engine = Engine::from_iter([Spinner(polls.clone())]);
    let (count, waker) = counting();
    for round in 1..=3 {
        let d = engine.poll_drive(&mut Context::from_waker(&waker), |_, _| Step::Continue);
        assert_eq!(d, Drive::Pending);
        assert!(
            polls.get() <= round * (YIELD_LIMIT + 1),
            "bounded polls per call"
        );
    }
    assert!(
        count.0.load(O::SeqCst) >= 3,
        "the engine wakes its task when it yields"
    );
}

#[test]
fn many_self_waking_children_are_each_polled_at_most_twice_in_the_first_call() {
    let polls: Vec<_> = (0..1000).map(|_| Rc::new(Cell::new(0))).collect();
    let mut engine = Engine::from_iter(polls.iter().map(|p| Spinner(p.clone())));
    let (_, waker) = counting();
    let d = engine.poll_drive(&mut Context::from_waker(&waker), |_, _| Step::Continue);
    assert_eq!(d, Drive::Pending);
    let total: usize = polls.iter().map(|p| p.get()).sum();
    assert!(
        total <= 2000,
        "a call polls the new children once and at most len woken ones, polled {total}"
    );
    let d = engine.poll_drive(&mut Context::from_waker(&waker), |_, _| Step::Continue);
    assert_eq!(d, Drive::Pending);
    let total: usize = polls.iter().map(|p| p.get()).sum::<usize>() - total;
    assert!(
        total <= 1000,
        "a later call polls at most len children, polled {total}"
    );
}

#[test]
fn drop_mid_flight_drops_each_child_exactly_once() {
    let (probes, mut engine) = probes(10);
    probes[3].ready.set(true);
    let (_, waker) = counting();
    drive(&mut engine, &waker);
    assert_eq!(probes[3].drops.get(), 1);
    drop(engine);
    assert!(probes.iter().all(|p| p.drops.get() == 1));
}

#[test]
fn wakes_after_the_engine_is_gone_are_harmless() {
    let (probes, mut engine) = probes(DIRECT_MAX + 3);
    let (count, waker) = counting();
    drive(&mut engine, &waker);
    let kept: Vec<Waker> = probes
        .iter()
        .map(|p| p.waker.borrow().clone().unwrap())
        .collect();
    drop(engine);
    for w in &kept {
        w.wake_by_ref();
    }
    assert_eq!(
        count.0.load(O::SeqCst),
        0,
        "the parent waker was released with the engine"
    );
    drop(kept);
}

#[test]
fn wakers_are_send_and_sync_and_work_from_other_threads() {
    let (probes, mut engine) = probes(64);
    let (count, waker) = counting();
    drive(&mut engine, &waker);
    for p in &probes {
        p.ready.set(true);
    }
    let wakers: Vec<Waker> = probes
        .iter()
        .map(|p| p.waker.borrow().clone().unwrap())
        .collect();
    let handles: Vec<_> = wakers
        .chunks(16)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            std::thread::spawn(move || chunk.iter().for_each(Waker::wake_by_ref))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(count.0.load(O::SeqCst) >= 1);
    let (d, done) = drive(&mut engine, &waker);
    assert_eq!(d, Drive::AllDone);
    assert_eq!(done.len(), 64);
}

#[test]
fn children_pushed_later_grow_in_segments_and_keep_their_indices() {
    let mut engine: Engine<Child> = Engine::with_capacity(0);
    let probes: Vec<Rc<Probe>> = (0..1000).map(|_| Rc::new(Probe::default())).collect();
    let (_, waker) = counting();
    for (i, p) in probes.iter().enumerate() {
        let index = engine.push(Child {
            probe: p.clone(),
            value: i,
        });
        assert_eq!(index, i);
        if i % 100 == 0 {
            drive(&mut engine, &waker);
        }
    }
    drive(&mut engine, &waker);
    // Children polled in direct mode are polled once more when the engine leaves it.
    assert!(probes.iter().all(|p| (1..=2).contains(&p.polls.get())));
    assert!(probes[DIRECT_MAX + 1..].iter().all(|p| p.polls.get() == 1));
    for &i in &[0usize, 8, 9, 23, 500, 999] {
        probes[i].ready.set(true);
        probes[i].waker.borrow().as_ref().unwrap().wake_by_ref();
    }
    let (_, mut done) = drive(&mut engine, &waker);
    done.sort_unstable();
    assert_eq!(done, vec![0, 8, 9, 23, 500, 999]);
    for &i in &done {
        assert_eq!(engine.take(i), Some(i));
    }
}

#[test]
fn cancel_drops_the_child_in_place_once() {
    let (probes, mut engine) = probes(4);
    let (_, waker) = counting();
    drive(&mut engine, &waker);
    assert!(engine.cancel(2));
    assert!(!engine.cancel(2));
    assert_eq!(probes[2].drops.get(), 1);
    assert_eq!(engine.state(2), State::Empty);
    probes[2].waker.borrow().as_ref().unwrap().wake_by_ref();
    drive(&mut engine, &waker);
    assert_eq!(
        probes[2].polls.get(),
        1,
        "a cancelled child is never polled again"
    );
    engine.cancel_all();
    assert_eq!(engine.running(), 0);
    assert!(probes.iter().all(|p| p.drops.get() == 1));
}

struct Bomb;

impl Future for Bomb {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<usize> {
        panic!("boom")
    }
}

enum Either {
    Probe(Child),
    Bomb(Bomb),
}

impl Future for Either {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        // Both variants are `Unpin`: no unsafe projection needed.
        match self.get_mut() {
            Either::Probe(c) => Pin::new(c).poll(cx),
            Either::Bomb(b) => Pin::new(b).poll(cx),
        }
    }
}

#[test]
fn a_panicking_child_leaves_every_other_child_dropped_exactly_once() {
    let probes: Vec<Rc<Probe>> = (0..4).map(|_| Rc::new(Probe::default())).collect();
    let mut children: Vec<Either> = probes
        .iter()
        .map(|p| {
            Either::Probe(Child {
                probe: p.clone(),
                value: 0,
            })
        })
        .collect();
    children.insert(2, Either::Bomb(Bomb));
    let mut engine = Engine::from_iter(children);
    let (_, waker) = counting();
    let result = catch_unwind(AssertUnwindSafe(|| {
        engine.poll_drive(&mut Context::from_waker(&waker), |_, _| Step::Continue)
    }));
    assert!(result.is_err());
    drop(engine);
    assert!(probes.iter().all(|p| p.drops.get() == 1));
}

#[test]
fn a_child_panicking_in_the_first_sweep_leaves_the_counts_of_the_children_before_it() {
    // Queued mode (more than `DIRECT_MAX` children): the first drive sweeps them in one loop.
    // Children before the bomb complete, those after it are not reached.
    let n = DIRECT_MAX + 8;
    let bomb_at = DIRECT_MAX + 2;
    let probes: Vec<Rc<Probe>> = (0..n).map(|_| Rc::new(Probe::default())).collect();
    let children = probes.iter().enumerate().map(|(value, p)| {
        p.ready.set(true);
        if value == bomb_at {
            Either::Bomb(Bomb)
        } else {
            Either::Probe(Child {
                probe: p.clone(),
                value,
            })
        }
    });
    let mut engine = Engine::from_iter(children);
    let (_, waker) = counting();
    let mut done = vec![];
    let result = catch_unwind(AssertUnwindSafe(|| {
        engine.poll_drive(&mut Context::from_waker(&waker), |i, _| {
            done.push(i);
            Step::Continue
        })
    }));
    assert!(result.is_err());
    assert_eq!(done, (0..bomb_at).collect::<Vec<_>>());
    assert_eq!(
        engine.running(),
        n - bomb_at,
        "the counts of the sweep are kept when a child panics"
    );
    // The next drive goes on after the bomb (never polled again: it has no waker).
    done.clear();
    let drive = engine.poll_drive(&mut Context::from_waker(&waker), |i, _| {
        done.push(i);
        Step::Continue
    });
    assert_eq!(drive, Drive::Pending);
    assert_eq!(done, (bomb_at + 1..n).collect::<Vec<_>>());
    assert_eq!(engine.running(), 1);
    drop(engine);
    assert!(
        probes
            .iter()
            .enumerate()
            .all(|(i, p)| p.drops.get() == usize::from(i != bomb_at))
    );
}

#[test]
fn children_that_keep_their_waker_are_woken_through_it_past_the_sample() {
    // More children than the sample: once the sample kept their wakers, the rest's nodes are
    // written before their first poll; a wake through any of them polls that child.
    let n = DIRECT_MAX + 40;
    let (probes, mut engine) = probes(n);
    let (_, waker) = counting();
    assert_eq!(drive(&mut engine, &waker).0, Drive::Pending);
    for i in [0, 7, 8, 30, n - 1] {
        probes[i].ready.set(true);
        probes[i].waker.borrow_mut().take().unwrap().wake();
    }
    let (d, mut done) = drive(&mut engine, &waker);
    assert_eq!(d, Drive::Pending);
    done.sort_unstable();
    assert_eq!(done, vec![0, 7, 8, 30, n - 1]);
    assert_eq!(engine.running(), n - 5);
}

/// A small deterministic generator (xorshift), so the randomized test needs no dependency and
/// replays the same sequences everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random pushes, wakes (spurious or after making a child ready), cancels and drives with
/// early stops, checked against a model: every finished child is reported exactly once with
/// its own output, a cancelled child is never polled again, a ready and woken child finishes
/// within a few drives, and every child is dropped exactly once.
#[test]
fn randomized_operations_match_the_model() {
    let rounds = if cfg!(miri) { 3 } else { 200 };
    for seed in 1..=rounds {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let start = rng.below(40);
        let (mut probes, mut engine) = probes(start);
        let (_, waker) = counting();
        #[derive(Clone, Copy, PartialEq, Debug)]
        enum M {
            Running,
            Reported,
            Cancelled,
        }
        let mut model = vec![M::Running; start];
        let mut cancelled_polls: Vec<Option<usize>> = vec![None; start];
        let steps = if cfg!(miri) { 60 } else { 400 };
        for _ in 0..steps {
            match rng.below(6) {
                0 => {
                    let p = Rc::new(Probe::default());
                    let index = engine.push(Child {
                        probe: p.clone(),
                        value: probes.len(),
                    });
                    assert_eq!(index, probes.len());
                    probes.push(p);
                    model.push(M::Running);
                    cancelled_polls.push(None);
                }
                1 | 2 if !probes.is_empty() => {
                    let i = rng.below(probes.len());
                    if rng.below(2) == 0 {
                        probes[i].ready.set(true);
                    }
                    if let Some(w) = probes[i].waker.borrow().as_ref() {
                        w.wake_by_ref();
                    }
                }
                3 if !probes.is_empty() => {
                    let i = rng.below(probes.len());
                    let was_running = model[i] == M::Running;
                    assert_eq!(
                        engine.cancel(i),
                        was_running,
                        "cancel({i}) on {:?}",
                        model[i]
                    );
                    if was_running {
                        model[i] = M::Cancelled;
                        cancelled_polls[i] = Some(probes[i].polls.get());
                    }
                }
                _ => {
                    let stop_early = rng.below(3) == 0;
                    let mut reported = vec![];
                    engine.poll_drive(&mut Context::from_waker(&waker), |i, out| {
                        reported.push((i, out.take()));
                        if stop_early {
                            Step::Stop
                        } else {
                            Step::Continue
                        }
                    });
                    for (i, out) in reported {
                        assert_eq!(
                            model[i],
                            M::Running,
                            "child {i} reported twice or after cancel"
                        );
                        assert_eq!(out, Some(i), "child {i} reported its own output");
                        assert!(probes[i].ready.get(), "child {i} finished only when ready");
                        model[i] = M::Reported;
                    }
                }
            }
            for (i, polls) in cancelled_polls.iter().enumerate() {
                if let Some(polls) = polls {
                    assert_eq!(
                        probes[i].polls.get(),
                        *polls,
                        "cancelled child {i} was polled"
                    );
                }
            }
            let running = model.iter().filter(|m| **m == M::Running).count();
            assert_eq!(engine.running(), running);
        }
        // Make everything ready and wake it: a few drives finish every running child.
        for p in &probes {
            p.ready.set(true);
            if let Some(w) = p.waker.borrow().as_ref() {
                w.wake_by_ref();
            }
        }
        for _ in 0..4 {
            engine.poll_drive(&mut Context::from_waker(&waker), |i, _| {
                assert_eq!(model[i], M::Running);
                model[i] = M::Reported;
                Step::Continue
            });
        }
        assert!(
            model.iter().all(|m| *m != M::Running),
            "seed {seed}: {model:?}"
        );
        drop(engine);
        assert!(
            probes.iter().all(|p| p.drops.get() == 1),
            "seed {seed}: drops"
        );
    }
}

/// On its first poll, hands the waker to two scoped threads that clone and wake it at once;
/// finishes on its second poll.
struct SharesItsFirstWaker {
    polls: usize,
    kept: Vec<Waker>,
}

impl Future for SharesItsFirstWaker {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.polls > 1 {
            return Poll::Ready(self.polls);
        }
        let waker = cx.waker();
        let kept = std::thread::scope(|s| {
            let a = s.spawn(|| {
                let w = waker.clone();
                w.wake_by_ref();
                w
            });
            let b = s.spawn(|| {
                waker.wake_by_ref();
                waker.clone()
            });
            [a.join().unwrap(), b.join().unwrap()]
        });
        self.kept.extend(kept);
        Poll::Pending
    }
}

#[test]
fn a_first_poll_waker_shared_with_threads_writes_its_node_once() {
    let children = (0..DIRECT_MAX + 2).map(|_| SharesItsFirstWaker {
        polls: 0,
        kept: vec![],
    });
    let mut engine = Engine::from_iter(children);
    let (count, waker) = counting();
    let mut done = vec![];
    let drive = engine.poll_drive(&mut Context::from_waker(&waker), |i, out| {
        done.push((i, out.take().unwrap()));
        Step::Continue
    });
    done.sort_unstable();
    let expected: Vec<(usize, usize)> = (0..DIRECT_MAX + 2).map(|i| (i, 2)).collect();
    assert_eq!(done, expected, "each child polled exactly twice");
    // The wakes came during the drive, which polled the woken children itself: the waker is
    // registered only when a drive returns `Pending`, so none was woken for nothing.
    assert_eq!(drive, Drive::AllDone);
    assert_eq!(count.0.load(O::SeqCst), 0);
}

/// An output that counts its drops in a shared counter.
struct Counted<'a> {
    value: usize,
    drops: &'a Cell<usize>,
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

/// Just enough children that their slots reach `IN_PLACE_MIN_BYTES`, so the outputs are written
/// over the slots.
const IN_PLACE_N: usize = super::slots::IN_PLACE_MIN_BYTES
    / core::mem::size_of::<super::slots::Slot<core::future::Ready<Counted<'static>>>>()
    + 1;

#[test]
fn outputs_written_over_the_slots_come_back_in_order_with_exact_capacity() {
    let drops = Cell::new(0);
    let mut engine = all_done_counted(IN_PLACE_N, &drops);
    let outputs = engine.take_outputs(|output| output);
    assert_eq!(outputs.len(), IN_PLACE_N);
    assert_eq!(outputs.capacity(), IN_PLACE_N);
    assert!(outputs.iter().enumerate().all(|(i, o)| o.value == i));
    assert_eq!(drops.get(), 0);
    drop(outputs);
    assert_eq!(drops.get(), IN_PLACE_N);
    drop(engine);
    assert_eq!(drops.get(), IN_PLACE_N);
}

#[test]
fn a_panicking_map_over_outputs_in_place_drops_every_output_once() {
    assert_a_panicking_map_drops_every_output_once(
        IN_PLACE_N,
        &[0, 1, IN_PLACE_N / 2, IN_PLACE_N - 1],
    );
}

/// A few children whose slots fit in `KEEP_MAX_BYTES`: the outputs are written over the slots
/// and the allocation is handed out unshrunk, its spare capacity bounded.
#[test]
fn small_outputs_written_over_the_slots_keep_the_allocation_with_bounded_capacity() {
    type S = super::slots::Slot<core::future::Ready<Counted<'static>>>;
    let (slot, output) = (
        core::mem::size_of::<S>(),
        core::mem::size_of::<Counted<'static>>(),
    );
    // Sets whose slots are a whole number of outputs (the others get a fresh allocation).
    let sizes: Vec<usize> = (1..=DIRECT_MAX)
        .filter(|n| n * slot % output == 0 && n * slot <= super::slots::KEEP_MAX_BYTES)
        .collect();
    assert!(sizes.len() >= 2, "{sizes:?}");
    for n in sizes {
        let drops = Cell::new(0);
        let mut engine = all_done_counted(n, &drops);
        let slots_at = engine.span();
        let outputs = engine.take_outputs(|output| output);
        assert_eq!(outputs.len(), n);
        // The slots' own allocation, as many outputs as fit in it.
        assert_eq!(
            slots_at.index_of(outputs.as_ptr() as usize),
            Some(0),
            "n = {n}"
        );
        assert_eq!(outputs.capacity() * output, n * slot, "n = {n}");
        assert!(outputs.iter().enumerate().all(|(i, o)| o.value == i));
        assert_eq!(drops.get(), 0);
        drop(outputs);
        assert_eq!(drops.get(), n);
        drop(engine);
        assert_eq!(drops.get(), n);
    }
}

#[test]
fn a_panicking_map_over_small_outputs_in_place_drops_every_output_once() {
    assert_a_panicking_map_drops_every_output_once(10, &[0, 1, 5, 9]);
}

/// An engine of `n` ready children (child `i` outputs a `Counted` of value `i`), driven until
/// every child is done, the outputs kept in place.
fn all_done_counted(n: usize, drops: &Cell<usize>) -> Engine<core::future::Ready<Counted<'_>>> {
    let mut engine =
        Engine::from_iter((0..n).map(|value| core::future::ready(Counted { value, drops })));
    let (_, waker) = counting();
    let drive = engine.poll_drive(&mut Context::from_waker(&waker), |_, _| Step::Continue);
    assert_eq!(drive, Drive::AllDone);
    engine
}

/// For each of `panic_ats`, a map over `n` outputs that panics at that output: every output is
/// dropped exactly once, by the unwinding map, and the engine drops none again.
fn assert_a_panicking_map_drops_every_output_once(n: usize, panic_ats: &[usize]) {
    for &panic_at in panic_ats {
        let drops = Cell::new(0);
        let mut engine = all_done_counted(n, &drops);
        let result = catch_unwind(AssertUnwindSafe(|| {
            engine.take_outputs(|output| {
                assert_ne!(output.value, panic_at, "the map panics here");
                output
            })
        }));
        assert!(result.is_err());
        assert_eq!(drops.get(), n, "panic at {panic_at}");
        drop(engine);
        assert_eq!(drops.get(), n, "panic at {panic_at}");
    }
}

/// An engine with slot reuse, its children taking their outputs (nothing kept in place).
fn drive_taking(engine: &mut Engine<Child>, waker: &Waker) -> (Drive, Vec<usize>) {
    let mut done = vec![];
    let d = engine.poll_drive(&mut Context::from_waker(waker), |i, out| {
        done.push(i);
        out.take();
        Step::Continue
    });
    (d, done)
}

fn push_probe(engine: &mut Engine<Child>, value: usize) -> (Rc<Probe>, usize) {
    let probe = Rc::new(Probe::default());
    let index = engine.push(Child {
        probe: probe.clone(),
        value,
    });
    (probe, index)
}

#[test]
fn reused_slots_keep_the_engine_as_large_as_the_children_running_at_once() {
    let mut engine: Engine<Child> = Engine::with_capacity(DIRECT_MAX);
    engine.reuse_slots();
    let (_, waker) = counting();
    // Past direct mode: 40 children stay running.
    let long: Vec<_> = (0..40).map(|v| push_probe(&mut engine, v)).collect();
    drive_taking(&mut engine, &waker);
    let len = engine.len() + 1; // the first short child needs a slot of its own
    for round in 0..1000 {
        let (probe, index) = push_probe(&mut engine, round);
        probe.ready.set(true);
        let (_, done) = drive_taking(&mut engine, &waker);
        assert_eq!(done, [index]);
        assert_eq!(probe.polls.get(), 1);
        assert_eq!(probe.drops.get(), 1);
    }
    assert_eq!(engine.len(), len, "no slot added");
    assert_eq!(engine.running(), 40);
    assert!(
        long.iter()
            .all(|(p, _)| p.polls.get() <= 2 && p.drops.get() == 0)
    );
}

#[test]
fn children_in_reused_slots_are_first_polled_in_the_order_pushed() {
    let mut engine: Engine<Child> = Engine::with_capacity(DIRECT_MAX);
    engine.reuse_slots();
    let (_, waker) = counting();
    let first: Vec<_> = (0..30).map(|v| push_probe(&mut engine, v)).collect();
    drive_taking(&mut engine, &waker);
    // Five end, freeing their slots.
    for (probe, _) in &first[10..15] {
        probe.ready.set(true);
        probe.waker.borrow().as_ref().unwrap().wake_by_ref();
    }
    drive_taking(&mut engine, &waker);
    // Eight new ones: five take freed slots, three get new ones; all finish on their first
    // poll, which comes in the order they were pushed.
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut indices = Vec::new();
    for value in 100..108 {
        let (probe, index) = push_probe(&mut engine, value);
        probe.ready.set(true);
        indices.push(index);
    }
    let mut done = vec![];
    engine.poll_drive(&mut Context::from_waker(&waker), |_, out| {
        order.borrow_mut().push(out.take().unwrap());
        done.push(());
        Step::Continue
    });
    assert_eq!(*order.borrow(), (100..108).collect::<Vec<_>>());
    let mut reused: Vec<usize> = indices[..5].to_vec();
    reused.sort_unstable();
    assert_eq!(reused, [10, 11, 12, 13, 14]);
}

#[test]
fn a_stale_waker_of_a_slots_old_child_only_polls_the_new_one_again() {
    let mut engine: Engine<Child> = Engine::with_capacity(DIRECT_MAX);
    engine.reuse_slots();
    let (_, waker) = counting();
    let first: Vec<_> = (0..20).map(|v| push_probe(&mut engine, v)).collect();
    drive_taking(&mut engine, &waker);
    let (old, old_index) = &first[19];
    let stale = old.waker.borrow().clone().unwrap();
    old.ready.set(true);
    stale.wake_by_ref();
    drive_taking(&mut engine, &waker);
    let (new, index) = push_probe(&mut engine, 7);
    assert_eq!(index, *old_index);
    drive_taking(&mut engine, &waker);
    assert_eq!(new.polls.get(), 1);
    stale.wake_by_ref(); // the old child's waker: a spurious wake of the new one
    drive_taking(&mut engine, &waker);
    assert_eq!(new.polls.get(), 2);
    assert_eq!(old.drops.get(), 1);
    new.ready.set(true);
    new.waker.borrow().as_ref().unwrap().wake_by_ref();
    let (_, done) = drive_taking(&mut engine, &waker);
    assert_eq!(done, [index]);
}

/// A combinator is moved at least once before its first poll, and a `wait(FirstCompleted)` loop
/// moves its `Pending` several times a round: the engine stays small enough (10 words) that
/// those moves (a `Gather`, a `wait`'s `(done, pending)` output) stay within 128 bytes, which is
/// copied inline rather than by a call to `memcpy`.
#[test]
fn an_engine_is_at_most_ten_words() {
    assert!(
        core::mem::size_of::<Engine<core::future::Ready<u64>>>()
            <= 10 * core::mem::size_of::<usize>(),
        "{}",
        core::mem::size_of::<Engine<core::future::Ready<u64>>>()
    );
}

/// A settling drive (a `wait(FirstCompleted)` round) that hands over an output returns
/// `Stopped` with the other woken children polled too, and registers nothing: a later wake goes
/// to no waker of the finished round. `idle` registers the waker when there is nothing to do.
#[test]
fn a_settling_drive_polls_every_woken_child_and_registers_no_waker() {
    let (probes, mut engine) = probes(3);
    engine.use_queue();
    let (first, first_waker) = counting();
    let mut cx = Context::from_waker(&first_waker);
    assert_eq!(
        engine.poll_drive_settling(&mut cx, true, |_, _| Step::Continue),
        Drive::Pending
    );
    assert!(
        engine.idle(&mut cx),
        "nothing woken: idle, waker registered"
    );
    for p in &probes[..2] {
        p.ready.set(true);
        p.waker.borrow_mut().take().unwrap().wake();
    }
    assert_eq!(
        first.0.load(O::SeqCst),
        1,
        "the registered waker was woken once"
    );
    let (second, second_waker) = counting();
    let mut cx = Context::from_waker(&second_waker);
    assert!(!engine.idle(&mut cx), "two children woken");
    let mut done = vec![];
    let drive = engine.poll_drive_settling(&mut cx, true, |i, _| {
        done.push(i);
        Step::Continue
    });
    assert_eq!((drive, done), (Drive::Stopped, vec![0, 1]));
    probes[2].ready.set(true);
    probes[2].waker.borrow_mut().take().unwrap().wake();
    assert_eq!(
        second.0.load(O::SeqCst),
        0,
        "the settled drive registered no waker"
    );
    assert_eq!(first.0.load(O::SeqCst), 1);
    assert_eq!(
        drive_settling_all(&mut engine, &second_waker),
        (Drive::AllDone, vec![2])
    );
}

fn drive_settling_all(engine: &mut Engine<Child>, waker: &Waker) -> (Drive, Vec<usize>) {
    let mut done = vec![];
    let d = engine.poll_drive_settling(&mut Context::from_waker(waker), true, |i, _| {
        done.push(i);
        Step::Continue
    });
    (d, done)
}

/// The ready queue's pushes ask for a wake of the consumer only when they find the queue empty:
/// after a push onto a non-empty queue, the node before it is still to be popped, so the
/// consumer comes back and finds the new one.
#[test]
fn only_a_push_onto_an_empty_ready_queue_asks_for_a_wake() {
    use super::queue::{Dequeue, Node, ReadyQueue};
    let queue = alloc::boxed::Box::new(ReadyQueue::new());
    queue.init();
    let nodes: alloc::boxed::Box<[Node]> =
        (0..4).map(|i| Node::new(core::ptr::null(), i)).collect();
    let push = |i: usize| {
        // SAFETY: the nodes outlive the queue's use here, and the test pushes each once.
        unsafe { queue.push(&nodes[i]) }
    };
    let pop = || {
        // SAFETY: this thread is the only consumer.
        match unsafe { queue.pop() } {
            // SAFETY: a popped node is one of `nodes`, alive.
            Dequeue::Data(node) => Some(unsafe { (*node).index }),
            Dequeue::Empty => None,
            Dequeue::Inconsistent => unreachable!("one thread: no push is ever half done"),
        }
    };
    assert!(push(0), "the queue was empty");
    assert!(!push(1), "node 0 is still queued");
    assert_eq!(pop(), Some(0));
    assert!(
        !push(2),
        "node 1 is still queued: the consumer, which pops until the queue is empty, gets to 2"
    );
    assert_eq!((pop(), pop(), pop()), (Some(1), Some(2), None));
    assert!(
        push(3),
        "drained: the consumer may be asleep, so this push asks for a wake"
    );
    assert_eq!((pop(), pop()), (Some(3), None));
}
