//! Scripted children: futures that complete only when the test says "go", with a chosen
//! outcome, and count their polls, their drops and the drops of what they return.
//!
//! Every child of a case shares one [`Script`]. The test releases child `i` with
//! [`Script::release`] (setting its "go" flag and waking it, from this thread or another) and
//! then polls the combinator until it is quiet, so the completion order is the release order
//! and each case is deterministic.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// How a released child ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok(u32),
    Err(u32),
    /// Panics in the poll that would have completed it.
    Panic,
}

/// One child as a case describes it.
#[derive(Clone, Copy, Debug)]
pub struct ChildSpec {
    pub outcome: Outcome,
    /// Once released, wakes itself and returns `Pending` this many times before completing.
    pub self_wakes: u8,
    /// Released by a wake from another thread (joined before the combinator is polled again).
    pub other_thread: bool,
    /// Released with two wakes (a clone of the waker, then the waker): the second is redundant.
    pub double_wake: bool,
    /// Panics when dropped (unless the thread is already unwinding).
    pub panic_on_drop: bool,
    /// Panics at its n-th poll (1-based), whatever the script says.
    pub panic_at_poll: Option<u32>,
    /// Its task's done-callback (where the test adds one) panics.
    pub callback_panics: bool,
}

impl ChildSpec {
    pub fn ok(v: u32) -> Self {
        ChildSpec {
            outcome: Outcome::Ok(v),
            self_wakes: 0,
            other_thread: false,
            double_wake: false,
            panic_on_drop: false,
            panic_at_poll: None,
            callback_panics: false,
        }
    }
}

#[derive(Default, Debug)]
struct Slot {
    go: bool,
    woken_after_go: u8,
    waker: Option<Waker>,
    polls: u32,
    drops: u32,
    completed: bool,
    tokens_made: u32,
    tokens_dropped: u32,
    callbacks: u32,
}

/// The shared state of one case's children.
#[derive(Debug)]
pub struct Script {
    slots: Mutex<Vec<Slot>>,
    specs: Vec<ChildSpec>,
}

/// A child's output (inside `Ok` or `Err`): counts its own drop.
#[derive(Debug)]
pub struct Token {
    pub child: usize,
    pub value: u32,
    script: Arc<Script>,
}

impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        (self.child, self.value) == (other.child, other.value)
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        self.script.slots.lock().unwrap()[self.child].tokens_dropped += 1;
    }
}

/// The payload of every panic a scripted child raises.
#[derive(Debug, PartialEq, Eq)]
pub struct ChildPanic {
    pub child: usize,
    pub in_drop: bool,
}

/// A scripted child.
#[derive(Debug)]
pub struct Child {
    index: usize,
    script: Arc<Script>,
}

impl Script {
    pub fn new(specs: Vec<ChildSpec>) -> Arc<Script> {
        Arc::new(Script {
            slots: Mutex::new((0..specs.len()).map(|_| Slot::default()).collect()),
            specs,
        })
    }

    pub fn children(self: &Arc<Self>) -> Vec<Child> {
        (0..self.specs.len())
            .map(|index| Child {
                index,
                script: self.clone(),
            })
            .collect()
    }

    pub fn spec(&self, i: usize) -> ChildSpec {
        self.specs[i]
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// Sets child `i`'s "go" flag and wakes it as its spec says.
    pub fn release(&self, i: usize) {
        let waker = {
            let mut slots = self.slots.lock().unwrap();
            slots[i].go = true;
            slots[i].waker.take()
        };
        self.wake(i, waker);
    }

    /// Wakes child `i` without releasing it (a spurious wake).
    pub fn poke(&self, i: usize) {
        let waker = self.slots.lock().unwrap()[i].waker.clone();
        self.wake(i, waker);
    }

    fn wake(&self, i: usize, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        let spec = self.specs[i];
        let go = move || {
            if spec.double_wake {
                // On purpose: a clone of the waker, woken by value, then the waker itself.
                #[allow(clippy::waker_clone_wake)]
                waker.clone().wake();
            }
            waker.wake();
        };
        if spec.other_thread {
            on_helper_thread(go);
        } else {
            go();
        }
    }

    pub fn polls(&self, i: usize) -> u32 {
        self.slots.lock().unwrap()[i].polls
    }

    pub fn drops(&self) -> Vec<u32> {
        self.slots.lock().unwrap().iter().map(|s| s.drops).collect()
    }

    pub fn completed(&self, i: usize) -> bool {
        self.slots.lock().unwrap()[i].completed
    }

    /// A done-callback for child `i`'s task: counts its calls, panics if the spec says so.
    pub fn callback<T>(self: &Arc<Self>, i: usize) -> impl FnMut(&T) + Send + 'static {
        let script = self.clone();
        move |_| {
            script.slots.lock().unwrap()[i].callbacks += 1;
            if script.specs[i].callback_panics {
                std::panic::panic_any(ChildPanic {
                    child: i,
                    in_drop: false,
                });
            }
        }
    }

    pub fn callbacks(&self) -> Vec<u32> {
        self.slots
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.callbacks)
            .collect()
    }

    /// `(made, dropped)` of every child's output token.
    pub fn tokens(&self) -> Vec<(u32, u32)> {
        self.slots
            .lock()
            .unwrap()
            .iter()
            .map(|s| (s.tokens_made, s.tokens_dropped))
            .collect()
    }
}

impl Future for Child {
    type Output = Result<Token, Token>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let i = self.index;
        let spec = self.script.specs[i];
        let mut slots = self.script.slots.lock().unwrap();
        let slot = &mut slots[i];
        assert!(!slot.completed, "child {i} polled after it completed");
        slot.polls += 1;
        if spec.panic_at_poll == Some(slot.polls) {
            drop(slots);
            std::panic::panic_any(ChildPanic {
                child: i,
                in_drop: false,
            });
        }
        if !slot.go {
            slot.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if slot.woken_after_go < spec.self_wakes {
            slot.woken_after_go += 1;
            drop(slots);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        slot.completed = true;
        if spec.outcome == Outcome::Panic {
            drop(slots);
            std::panic::panic_any(ChildPanic {
                child: i,
                in_drop: false,
            });
        }
        slot.tokens_made += 1;
        drop(slots);
        let token = |value| Token {
            child: i,
            value,
            script: self.script.clone(),
        };
        Poll::Ready(match spec.outcome {
            Outcome::Ok(v) => Ok(token(v)),
            Outcome::Err(e) => Err(token(e)),
            Outcome::Panic => unreachable!(),
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let i = self.index;
        self.script.slots.lock().unwrap()[i].drops += 1;
        if self.script.specs[i].panic_on_drop && !std::thread::panicking() {
            std::panic::panic_any(ChildPanic {
                child: i,
                in_drop: true,
            });
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// One helper thread, shared by every test, that runs a job while the caller waits. A fresh
/// thread per job would free its own handle after the caller went on; this one hands jobs
/// over through a slot, allocating nothing but the job's box.
struct Helper {
    slot: Mutex<(Option<Job>, bool)>,
    changed: std::sync::Condvar,
}

pub fn on_helper_thread(job: impl FnOnce() + Send + 'static) {
    static HELPER: std::sync::OnceLock<Arc<Helper>> = std::sync::OnceLock::new();
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let helper = HELPER.get_or_init(|| {
        let helper = Arc::new(Helper {
            slot: Mutex::new((None, false)),
            changed: std::sync::Condvar::new(),
        });
        let h = helper.clone();
        std::thread::spawn(move || {
            let mut slot = h.slot.lock().unwrap();
            loop {
                if let Some(job) = slot.0.take() {
                    drop(slot);
                    job();
                    slot = h.slot.lock().unwrap();
                    slot.1 = true;
                    h.changed.notify_all();
                }
                slot = h.changed.wait(slot).unwrap();
            }
        });
        helper
    });
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut slot = helper.slot.lock().unwrap();
    *slot = (Some(Box::new(job)), false);
    helper.changed.notify_all();
    while !slot.1 {
        slot = helper.changed.wait(slot).unwrap();
    }
}

/// A deadline the test fires.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<(bool, Option<Waker>)>,
}

impl Gate {
    pub fn open(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub fn wait(self: &Arc<Self>) -> GateFuture {
        GateFuture(self.clone())
    }
}

/// The future of [`Gate::wait`].
#[derive(Debug)]
pub struct GateFuture(Arc<Gate>);

impl Future for GateFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.state.lock().unwrap();
        if state.0 {
            Poll::Ready(())
        } else {
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls `fut` until it is ready, or pending with no wake-up left: `None` then. Panics if it
/// is still being woken after 100 000 polls (a wake loop).
pub fn settle<F: Future + ?Sized>(mut fut: Pin<&mut F>) -> Option<F::Output> {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    for _ in 0..100_000 {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
        if !flag.0.load(Ordering::SeqCst) {
            return None;
        }
    }
    panic!("still woken after 100 000 polls");
}
