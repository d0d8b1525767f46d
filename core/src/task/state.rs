//! The shared state of one task: one reference-counted cell per task (see `engine::task_cell`),
//! completed once by whoever drives it.

use std::borrow::Cow;
use std::future::Future;
use std::mem;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};

use atomic_waker::AtomicWaker;

use super::Task;
use super::callback::{Registration, run_callback};
use crate::engine::task_cell::{CellRef, RawDriver, SendDriver, new_cell, new_send_cell};
use crate::error::CancelledError;

/// asyncio numbers tasks from 1 across the whole program ("Task-1", "Task-2", ...).
static NEXT_TASK_NUMBER: AtomicU64 = AtomicU64::new(1);

pub(crate) struct Inner<T> {
    /// Set exactly once, under `state`, by the completer. Kept outside the lock so that
    /// `result()` can hand out a plain `&T` for as long as the handle lives.
    outcome: OnceLock<Result<T, CancelledError>>,
    /// True once the outcome is set and every done-callback has run: awaiting handles return
    /// only then, so an `.await` on a task never overtakes its callbacks.
    finished: AtomicBool,
    cancel_requested: AtomicBool,
    /// The driver's waker, woken by `cancel()` so that the driver drops the future promptly.
    driver: AtomicWaker,
    number: u64,
    state: Mutex<State<T>>,
}

struct State<T> {
    /// `Cow` so that a coroutine's `&'static` name costs no allocation (TaskGroup children).
    name: Option<Cow<'static, str>>,
    callbacks: Vec<Registration<T>>,
    waiters: Waiters,
    /// Mirrors `Inner::finished`; read under the lock to decide between queueing a callback
    /// and running it at once without losing one to a concurrent completion.
    finished: bool,
}

/// The wakers of the futures awaiting a handle, one slot per awaiting future so that a
/// dropped await removes its waker instead of leaving it behind until completion.
#[derive(Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Waiters {
    fn register(&mut self, key: &mut Option<usize>, waker: &Waker) {
        if let Some(k) = *key {
            if let Some(slot) = self.slots.get_mut(k) {
                match slot {
                    Some(old) if old.will_wake(waker) => {}
                    _ => *slot = Some(waker.clone()),
                }
                return;
            }
        }
        let k = match self.free.pop() {
            Some(k) => {
                self.slots[k] = Some(waker.clone());
                k
            }
            None => {
                self.slots.push(Some(waker.clone()));
                self.slots.len() - 1
            }
        };
        *key = Some(k);
    }

    fn remove(&mut self, key: usize) {
        if let Some(slot) = self.slots.get_mut(key) {
            if slot.take().is_some() {
                self.free.push(key);
            }
        }
    }
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // User code never runs under this lock, so poisoning can only come from an allocation
        // failure; the state is consistent between statements, so keep going.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn outcome(&self) -> Option<&Result<T, CancelledError>> {
        self.outcome.get()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::Acquire)
    }

    pub(crate) fn name(&self) -> String {
        match &self.lock().name {
            Some(name) => name.to_string(),
            None => format!("Task-{}", self.number),
        }
    }

    pub(crate) fn set_name(&self, name: String) {
        self.lock().name = Some(Cow::Owned(name));
    }

    /// Names the task `name` unless a name was set already (a coroutine's name is a default
    /// that `set_name` overrides, whichever comes first).
    pub(crate) fn set_default_name(&self, name: &'static str) {
        self.lock().name.get_or_insert(Cow::Borrowed(name));
    }

    /// asyncio's `Task.cancel()`: a request, honoured by the driver at its next wake-up.
    pub(crate) fn cancel(&self) -> bool {
        {
            // Under the lock so that a completion cannot slip in between the check and the
            // request: once this returns true, the completer is bound to record a cancellation.
            let _state = self.lock();
            if self.outcome.get().is_some() {
                return false;
            }
            self.cancel_requested.store(true, Ordering::Release);
        }
        self.driver.wake();
        true
    }

    /// Polls for the end of the task (outcome set and callbacks run) on behalf of one awaiting
    /// future, identified by `key`.
    pub(crate) fn poll_finished(&self, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_finished() {
            *key = None;
            return Poll::Ready(());
        }
        let mut state = self.lock();
        if state.finished {
            *key = None;
            return Poll::Ready(());
        }
        state.waiters.register(key, cx.waker());
        Poll::Pending
    }

    pub(crate) fn remove_waiter(&self, key: usize) {
        if !self.is_finished() {
            self.lock().waiters.remove(key);
        }
    }

    /// Queues `registration` unless the task has finished, in which case it is handed back
    /// for the caller to run.
    pub(crate) fn push_callback(&self, registration: Registration<T>) -> Option<Registration<T>> {
        let mut state = self.lock();
        if state.finished {
            return Some(registration);
        }
        state.callbacks.push(registration);
        None
    }

    /// Removes the queued callbacks that `matches` selects; returns them so that they are
    /// dropped (user code) after the lock is released.
    pub(crate) fn remove_callbacks(
        &self,
        mut matches: impl FnMut(&Registration<T>) -> bool,
    ) -> Vec<Registration<T>> {
        let mut state = self.lock();
        let mut removed = Vec::new();
        let mut i = 0;
        while i < state.callbacks.len() {
            if matches(&state.callbacks[i]) {
                removed.push(state.callbacks.remove(i));
            } else {
                i += 1;
            }
        }
        removed
    }
}

impl<T> Inner<T> {
    /// The state of a task that has not ended.
    fn pending() -> Self {
        Inner {
            outcome: OnceLock::new(),
            finished: AtomicBool::new(false),
            cancel_requested: AtomicBool::new(false),
            driver: AtomicWaker::new(),
            number: NEXT_TASK_NUMBER.fetch_add(1, Ordering::Relaxed),
            state: Mutex::new(State {
                name: None,
                callbacks: Vec::new(),
                waiters: Waiters::default(),
                finished: false,
            }),
        }
    }
}

/// Creates a pending task handle and the completer that finishes it.
///
/// Any driver may complete the task: `spawn_task` wraps the future in a driver future, the
/// TaskGroup polls its children itself. A completer dropped without completing ends the task
/// as cancelled, so every task ends exactly once and nobody waits forever.
pub(crate) fn task_pair<T>() -> (Task<T>, TaskCompleter<T>) {
    let inner = CellRef::new(Inner::pending());
    (
        Task::from_inner(inner.clone()),
        TaskCompleter { inner: Some(inner) },
    )
}

/// A pending task whose future lives in the same allocation as its state (a TaskGroup child):
/// `make` builds the future from the task's completer, and the returned driver polls it in
/// place. One allocation per task.
pub(crate) fn local_task_cell<'a, T, F>(
    make: impl FnOnce(TaskCompleter<T>) -> F,
) -> (Task<T>, RawDriver<'a, F::Output>)
where
    T: 'a,
    F: Future + 'a,
{
    let (inner, driver) = new_cell(Inner::pending(), |inner| {
        make(TaskCompleter { inner: Some(inner) })
    });
    (Task::from_inner(inner), driver)
}

/// [`local_task_cell`] for a `Send` future: the driver is `Send`.
pub(crate) fn send_task_cell<'a, T, F>(
    make: impl FnOnce(TaskCompleter<T>) -> F,
) -> (Task<T>, SendDriver<'a, F::Output>)
where
    T: Send + Sync + 'a,
    F: Future + Send + 'a,
{
    let (inner, driver) = new_send_cell(Inner::pending(), |inner| {
        make(TaskCompleter { inner: Some(inner) })
    });
    (Task::from_inner(inner), driver)
}

/// The driver's side of a task: stores the outcome, observes cancel requests.
pub(crate) struct TaskCompleter<T> {
    inner: Option<CellRef<Inner<T>>>,
}

#[allow(
    dead_code,
    reason = "the driver interface; spawn and the TaskGroup each use a subset"
)]
impl<T> TaskCompleter<T> {
    /// A new handle to the task this completer finishes.
    pub(crate) fn task(&self) -> Task<T> {
        Task::from_inner(self.inner.clone().expect("completer used after completion"))
    }

    /// The task's name, as [`Task::name`] gives it.
    pub(crate) fn name(&self) -> String {
        self.inner.as_ref().map_or_else(String::new, |i| i.name())
    }

    /// Names the task after the coroutine it runs, unless it was named already.
    pub(crate) fn set_default_name(&self, name: &'static str) {
        if let Some(inner) = &self.inner {
            inner.set_default_name(name);
        }
    }

    /// Whether `cancel()` was called on a handle; no waker is registered.
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.is_cancel_requested())
    }

    /// Returns true if a cancel was requested; otherwise registers `cx`'s waker to be woken by
    /// the next `cancel()`. Call it on every poll of the driver, before polling the future.
    pub(crate) fn poll_cancel_requested(&self, cx: &mut Context<'_>) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        if inner.is_cancel_requested() {
            return true;
        }
        inner.driver.register(cx.waker());
        // A cancel between the first check and the registration found no waker to wake.
        inner.is_cancel_requested()
    }

    /// Ends the task with `value`, or as cancelled if a cancel was requested first (then
    /// `value` is dropped here). Runs the done-callbacks on this thread, then wakes the awaiters.
    pub(crate) fn complete(mut self, value: T) {
        if let Some(inner) = self.inner.take() {
            finish(inner, Ok(value));
        }
    }

    /// Ends the task as cancelled. Drop the future before calling this, so that awaiters
    /// observe the cancellation only once the future's resources are released.
    pub(crate) fn cancel(mut self) {
        if let Some(inner) = self.inner.take() {
            finish(inner, Err(CancelledError::new()));
        }
    }
}

impl<T> Drop for TaskCompleter<T> {
    fn drop(&mut self) {
        // The executor dropped the driver (shutdown) without finishing it: the future is gone,
        // which is what a cancellation is.
        if let Some(inner) = self.inner.take() {
            finish(inner, Err(CancelledError::new()));
        }
    }
}

/// Marks the task finished (every callback has run) and wakes its awaiters, outside the lock.
fn mark_finished<T>(inner: &Inner<T>, mut state: MutexGuard<'_, State<T>>) {
    state.finished = true;
    inner.finished.store(true, Ordering::Release);
    let waiters = mem::take(&mut state.waiters);
    drop(state);
    for waker in waiters.slots.into_iter().flatten() {
        waker.wake();
    }
}

fn finish<T>(inner: CellRef<Inner<T>>, outcome: Result<T, CancelledError>) {
    let mut dropped_value = None;
    {
        let state = inner.lock();
        let outcome = match outcome {
            Ok(value) if inner.is_cancel_requested() => {
                // cancel() returned true: honour it even though the value arrived.
                dropped_value = Some(value);
                Err(CancelledError::new())
            }
            other => other,
        };
        if inner.outcome.set(outcome).is_err() {
            unreachable!("a task is completed once: its completer is consumed");
        }
        if state.callbacks.is_empty() && dropped_value.is_none() {
            // Fast path (most tasks have no callback): finish under this same lock.
            mark_finished(&inner, state);
            return;
        }
    }
    // The value is user data whose drop may run arbitrary code: never under the lock.
    drop(dropped_value);

    let task = Task::from_inner(inner.clone());
    loop {
        let batch = {
            let mut state = inner.lock();
            if state.callbacks.is_empty() {
                mark_finished(&inner, state);
                return;
            }
            // Callbacks added while this batch runs (by a callback or another thread) land
            // in the emptied list and run in the next round: registration order holds.
            mem::take(&mut state.callbacks)
        };
        for registration in batch {
            run_callback(registration, &task);
        }
    }
}
