//! The shared state of one task: one reference-counted cell per task (see `engine::task_cell`),
//! completed once by whoever drives it.
//!
//! The common path (no done-callback, one awaiting handle, maybe a cancel) takes no lock and
//! allocates nothing beyond the cell: it is the atomic word of `engine::task_state`. What is
//! rare (callbacks, a second awaiting handle, a name) lives in a `Slow` part, allocated and
//! locked only when used.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use once_cell::race::OnceBox;

use super::Task;
#[cfg(feature = "event-loop")]
use super::TaskView;
use super::callback::{
    CallbackId, Erased, LocalCallback, SendCallback, is_equal, is_type, local, run_callback,
};
#[cfg(feature = "event-loop")]
use crate::engine::task_cell::DynCellRef;
use crate::engine::task_cell::{CellRef, RawDriver, SendDriver, new_cell, new_send_cell};
use crate::engine::task_state::{Await, Completed, FAST_WAITER, TaskState};
use crate::error::CancelledError;

/// asyncio numbers tasks from 1 across the whole program ("Task-1", "Task-2", ...).
static NEXT_TASK_NUMBER: AtomicU64 = AtomicU64::new(1);

pub(crate) struct Inner<T> {
    /// The outcome (set once, read as a plain `&T` for as long as the handle lives), the
    /// cancel request, whether the task finished (outcome set and every done-callback run:
    /// awaiting handles return only then, so an `.await` never overtakes its callbacks), the
    /// driver's waker and one awaiting handle's waker: all lock-free. Its label is the name of
    /// the `#[aiokit::coroutine]` the task runs, if any: the default name, which a name given
    /// by `set_name` overrides (kept there, no lock and no allocation, because every task that
    /// runs a coroutine gets one).
    core: TaskState<Result<T, CancelledError>>,
    /// The task's number; on 64-bit targets it is the tag of `core`'s word.
    #[cfg(not(target_pointer_width = "64"))]
    number: u64,
    /// Callbacks, further waiters, a name given by `set_name` and a local task's callback
    /// store: allocated on first use.
    ///
    /// Everything a task that is only created, awaited and maybe cancelled does not use is
    /// there, so that with its cell's header the state of a task with a small output fits in
    /// 120 bytes: the largest request glibc serves from its fast bins, which matters when many
    /// tasks end together.
    slow: OnceBox<Slow<T>>,
}

// With its cell's two-word header, the state of a task whose output is up to three words
// (`String`, `Vec`) takes 120 bytes: glibc's fast bins (see `Inner::slow`). Loom's atomics,
// which the engine uses when model-checked, are larger.
#[cfg(all(target_pointer_width = "64", not(aiokit_loom)))]
const _: () = assert!(size_of::<Inner<String>>() + 2 * size_of::<usize>() <= 120);

/// The rarely used part of a task's state, behind a lock.
struct Slow<T> {
    state: Mutex<State<T>>,
    /// Signalled whenever callbacks lent to a `remove_done_callback` comparison come back.
    returned: Condvar,
}

impl<T> Slow<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // User code never runs under this lock, so poisoning can only come from an allocation
        // failure; the state is consistent between statements, so keep going.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How to reach a local task's `!Send` callbacks in a thread's store: function pointers made
/// where `T: 'static` is known (by [`LocalTask`](super::LocalTask), which hands them to
/// [`Inner::push_local`]), so that the rest of the state needs no bound.
pub(crate) struct LocalFns<T> {
    take: fn(CallbackId) -> Option<LocalCallback<T>>,
    put: fn(CallbackId, LocalCallback<T>) -> Result<(), LocalCallback<T>>,
}

impl<T: 'static> LocalFns<T> {
    pub(crate) fn new() -> Self {
        LocalFns {
            take: local::take::<T>,
            put: local::put::<T>,
        }
    }
}

impl<T> Clone for LocalFns<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for LocalFns<T> {}

/// Where a local task keeps its `!Send` callbacks: the thread-local store of `owner`, the
/// task's thread (where its first local callback was added: a `LocalTask` never leaves it).
struct LocalStore<T> {
    owner: ThreadId,
    fns: LocalFns<T>,
}

impl<T> Clone for LocalStore<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for LocalStore<T> {}

impl<T> LocalStore<T> {
    fn on_this_thread(&self) -> bool {
        self.owner == thread::current().id()
    }

    fn take(&self, id: CallbackId) -> Option<LocalCallback<T>> {
        (self.fns.take)(id)
    }

    fn put(&self, id: CallbackId, callback: LocalCallback<T>) -> Result<(), LocalCallback<T>> {
        (self.fns.put)(id, callback)
    }
}

struct State<T> {
    /// The name given by `set_name`, which wins over the coroutine's.
    name: Option<String>,
    /// Pending callbacks, in registration order.
    callbacks: VecDeque<Slot<T>>,
    /// The awaiting handles beyond the one in the lock-free slot.
    waiters: Waiters,
    /// Set by a completer that found the next callback lent to a comparison running on its own
    /// thread (an `eq` that drove the task's executor): that thread's `remove_done_callback`
    /// goes on running the callbacks when it gives the callback back.
    parked: Option<ThreadId>,
    /// A local task's callback store, set by its first local callback (`Held::Local` slots
    /// exist only once it is set).
    local: Option<LocalStore<T>>,
}

/// One pending registration.
struct Slot<T> {
    id: CallbackId,
    held: Held<T>,
    /// Removed by id while lent out, or (for a local callback) from another thread: the
    /// callback is dropped, never run, by whoever holds it next.
    removed: bool,
}

enum Held<T> {
    /// A `Send` callback, here.
    Here(SendCallback<T>),
    /// A local task's callback, in the thread-local store of the task's thread.
    Local,
    /// Lent to a `remove_done_callback` comparison on this thread; comes back (or is removed)
    /// when the comparison ends.
    Lent(ThreadId),
}

/// A callback lent to a comparison, as it came out of its slot.
enum Lent<T> {
    Send(SendCallback<T>),
    Local(LocalCallback<T>),
}

impl<T> Lent<T> {
    fn as_erased(&self) -> &dyn Erased<T> {
        match self {
            Lent::Send(callback) => &**callback,
            Lent::Local(callback) => &**callback,
        }
    }
}

/// The wakers of the futures awaiting a handle, one slot per awaiting future so that a
/// dropped await removes its waker instead of leaving it behind until completion.
#[derive(Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Waiters {
    /// Whether `key`'s slot already holds a waker that wakes the same task as `waker`
    /// (`will_wake` compares pointers: no executor code runs).
    fn is_current(&self, key: Option<usize>, waker: &Waker) -> bool {
        key.and_then(|k| self.slots.get(k))
            .is_some_and(|slot| slot.as_ref().is_some_and(|old| old.will_wake(waker)))
    }

    /// Stores `waker` (already cloned, outside the lock); returns the waker it replaced, to be
    /// dropped outside the lock (a waker's drop is executor code).
    fn register(&mut self, key: &mut Option<usize>, waker: Waker) -> Option<Waker> {
        if let Some(k) = *key {
            if let Some(slot) = self.slots.get_mut(k) {
                return slot.replace(waker);
            }
        }
        let k = match self.free.pop() {
            Some(k) => {
                self.slots[k] = Some(waker);
                k
            }
            None => {
                self.slots.push(Some(waker));
                self.slots.len() - 1
            }
        };
        *key = Some(k);
        None
    }

    fn remove(&mut self, key: usize) -> Option<Waker> {
        let waker = self.slots.get_mut(key)?.take()?;
        self.free.push(key);
        Some(waker)
    }
}

impl<T> Inner<T> {
    /// The slow part, allocated on first use (no user code runs in its initialization).
    fn slow(&self) -> &Slow<T> {
        self.slow.get_or_init(|| {
            Box::new(Slow {
                state: Mutex::new(State {
                    name: None,
                    callbacks: VecDeque::new(),
                    waiters: Waiters::default(),
                    parked: None,
                    local: None,
                }),
                returned: Condvar::new(),
            })
        })
    }

    pub(crate) fn outcome(&self) -> Option<&Result<T, CancelledError>> {
        self.core.outcome()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.core.is_finished()
    }

    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.core.is_cancel_requested()
    }

    pub(crate) fn name(&self) -> String {
        if let Some(slow) = self.slow.get() {
            if let Some(name) = &slow.lock().name {
                return name.clone();
            }
        }
        match self.core.label() {
            Some(name) => name.to_owned(),
            None => format!("Task-{}", self.number()),
        }
    }

    /// The task's number, unique in the program ("Task-N"'s N, whatever the name).
    pub(crate) fn number(&self) -> u64 {
        #[cfg(target_pointer_width = "64")]
        return self.core.tag();
        #[cfg(not(target_pointer_width = "64"))]
        return self.number;
    }

    pub(crate) fn set_name(&self, name: String) {
        let old = self.slow().lock().name.replace(name);
        drop(old);
    }

    /// Names the task `name` unless a name was set already (a coroutine's name is a default
    /// that `set_name` overrides, whichever comes first).
    pub(crate) fn set_default_name(&self, name: &'static str) {
        // The first coroutine's name stays; a name from `set_name` wins either way.
        let _ = self.core.set_label(name);
    }

    /// asyncio's `Task.cancel()`: a request, honoured by the driver at its next wake-up. Once
    /// this returned true, the completer is bound to record a cancellation.
    pub(crate) fn cancel(&self) -> bool {
        self.core.request_cancel()
    }

    /// Polls for the end of the task (outcome set and callbacks run) on behalf of one awaiting
    /// future, identified by `key`. The first awaiting handle waits in the lock-free slot;
    /// further ones in the slow part.
    pub(crate) fn poll_finished(&self, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        match self.core.poll_await(key, cx) {
            Await::Ready => {
                *key = None;
                return Poll::Ready(());
            }
            Await::Pending => return Poll::Pending,
            // `SLOW` is set: the completer finishes under the slow part's lock.
            Await::Slow => {}
        }
        let slow = self.slow();
        {
            let state = slow.lock();
            if self.is_finished() {
                *key = None;
                return Poll::Ready(());
            }
            if state.waiters.is_current(*key, cx.waker()) {
                return Poll::Pending;
            }
        }
        // Cloning a waker is executor code: outside the lock, then checked again.
        let waker = cx.waker().clone();
        let mut state = slow.lock();
        if self.is_finished() {
            drop(state);
            *key = None;
            return Poll::Ready(());
        }
        let old = state.waiters.register(key, waker);
        drop(state);
        drop(old);
        Poll::Pending
    }

    pub(crate) fn remove_waiter(&self, key: usize) {
        if self.is_finished() {
            return;
        }
        if key == FAST_WAITER {
            self.core.release_fast_waiter();
        } else if let Some(slow) = self.slow.get() {
            let old = slow.lock().waiters.remove(key);
            drop(old);
        }
    }

    /// Queues a `Send` callback unless the task has finished, in which case it is handed back
    /// for the caller to run.
    pub(crate) fn push_send(
        &self,
        id: CallbackId,
        callback: SendCallback<T>,
    ) -> Option<SendCallback<T>> {
        if self.is_finished() {
            // No need to allocate the slow part.
            return Some(callback);
        }
        let slow = self.slow();
        if self.core.mark_slow() {
            return Some(callback);
        }
        let mut state = slow.lock();
        if self.is_finished() {
            return Some(callback);
        }
        state.callbacks.push_back(Slot {
            id,
            held: Held::Here(callback),
            removed: false,
        });
        None
    }

    /// Queues a local task's callback (in the store of this thread, which must be the task's,
    /// reached through `fns`); hands it back if the task has finished.
    pub(crate) fn push_local(
        &self,
        id: CallbackId,
        callback: LocalCallback<T>,
        fns: LocalFns<T>,
    ) -> Option<LocalCallback<T>> {
        let store = LocalStore {
            owner: thread::current().id(),
            fns,
        };
        if self.is_finished() {
            return Some(callback);
        }
        let slow = self.slow();
        if self.core.mark_slow() {
            return Some(callback);
        }
        // Stored before its slot exists: the task's completer runs on this very thread, so it
        // cannot look for it in between.
        if let Err(callback) = store.put(id, callback) {
            // This thread is being torn down: nowhere to keep it.
            return Some(callback);
        }
        let mut state = slow.lock();
        if self.is_finished() {
            drop(state);
            return store.take(id);
        }
        debug_assert!(
            state.local.is_none_or(|s| s.owner == store.owner),
            "a local task's callbacks are added on its thread"
        );
        state.local = Some(store);
        state.callbacks.push_back(Slot {
            id,
            held: Held::Local,
            removed: false,
        });
        None
    }

    /// Removes the pending registration `id`; returns how many were removed (0 or 1).
    pub(crate) fn remove_id(&self, id: CallbackId) -> usize {
        let Some(slow) = self.slow.get() else {
            return 0;
        };
        let mut state = slow.lock();
        let Some(pos) = state
            .callbacks
            .iter()
            .position(|s| s.id == id && !s.removed)
        else {
            return 0;
        };
        let removed = match state.callbacks[pos].held {
            Held::Here(_) => match state.callbacks.remove(pos) {
                Some(Slot {
                    held: Held::Here(callback),
                    ..
                }) => Some(Lent::Send(callback)),
                _ => None,
            },
            Held::Local if state.local.is_some_and(|store| store.on_this_thread()) => {
                state.callbacks.remove(pos);
                state
                    .local
                    .and_then(|store| store.take(id))
                    .map(Lent::Local)
            }
            // Lent to a comparison, or a local callback seen from another thread: whoever holds
            // it next drops it instead of running it.
            Held::Local | Held::Lent(_) => {
                state.callbacks[pos].removed = true;
                None
            }
        };
        drop(state);
        // User data (the callback's captures): dropped outside the lock.
        drop(removed);
        1
    }

    /// Removes every pending callback of type `C` equal to `callback`; returns how many.
    ///
    /// The comparisons are user code, so they run with no lock held, on callbacks lent out of
    /// their slots: a completer that reaches a lent callback waits for it to come back (or,
    /// if the comparison runs on its own thread, leaves the rest of the callbacks to it), so
    /// that every callback still runs once, in registration order.
    pub(crate) fn remove_equal<C: PartialEq + 'static>(
        &self,
        task: &CellRef<Inner<T>>,
        callback: &C,
    ) -> usize {
        let Some(slow) = self.slow.get() else {
            return 0;
        };
        let me = thread::current().id();
        let mut lent: Vec<(CallbackId, Lent<T>)> = Vec::new();
        let local_here;
        {
            let mut state = slow.lock();
            local_here = state.local.filter(|store| store.on_this_thread());
            for slot in state.callbacks.iter_mut().filter(|s| !s.removed) {
                match &slot.held {
                    Held::Here(held) if is_type::<T, C>(&**held) => {
                        if let Held::Here(held) = mem::replace(&mut slot.held, Held::Lent(me)) {
                            lent.push((slot.id, Lent::Send(held)));
                        }
                    }
                    Held::Local => {
                        // Only on the task's thread; elsewhere its callbacks cannot be reached.
                        let Some(store) = local_here else { continue };
                        let Some(held) = store.take(slot.id) else {
                            continue;
                        };
                        if is_type::<T, C>(&*held) {
                            slot.held = Held::Lent(me);
                            lent.push((slot.id, Lent::Local(held)));
                        } else if let Err(held) = store.put(slot.id, held) {
                            // Cannot happen: it was just taken from this same store.
                            slot.removed = true;
                            lent.push((slot.id, Lent::Local(held)));
                        }
                    }
                    Held::Here(_) | Held::Lent(_) => {}
                }
            }
        }
        if lent.is_empty() {
            return 0;
        }
        // No lock held: `eq` may look at the task, add or remove callbacks, even panic.
        let mut panic = None;
        let equal: Vec<bool> = lent
            .iter()
            .map(|(_, held)| {
                panic.is_none()
                    && match catch_unwind(AssertUnwindSafe(|| is_equal(held.as_erased(), callback)))
                    {
                        Ok(equal) => equal,
                        Err(payload) => {
                            panic = Some(payload);
                            false
                        }
                    }
            })
            .collect();
        let mut count = 0;
        let mut dropped = Vec::new();
        let resume = {
            let mut state = slow.lock();
            for ((id, held), equal) in lent.into_iter().zip(equal) {
                let Some(pos) = state.callbacks.iter().position(|s| s.id == id) else {
                    // Cannot happen: a lent slot stays until its callback comes back.
                    dropped.push(held);
                    continue;
                };
                let removed_meanwhile = state.callbacks[pos].removed;
                if equal || removed_meanwhile {
                    count += usize::from(!removed_meanwhile);
                    state.callbacks.remove(pos);
                    dropped.push(held);
                    continue;
                }
                state.callbacks[pos].held = match held {
                    Lent::Send(held) => Held::Here(held),
                    Lent::Local(held) => match local_here.map(|store| store.put(id, held)) {
                        Some(Ok(())) => Held::Local,
                        Some(Err(held)) => {
                            state.callbacks[pos].removed = true;
                            dropped.push(Lent::Local(held));
                            Held::Local
                        }
                        None => unreachable!("local callbacks are only lent on their thread"),
                    },
                };
            }
            let resume = state.parked == Some(me)
                && !state
                    .callbacks
                    .iter()
                    .any(|s| matches!(s.held, Held::Lent(t) if t == me));
            if resume {
                state.parked = None;
            }
            resume
        };
        slow.returned.notify_all();
        // The removed callbacks are user data: dropped with no lock held; a panicking one is
        // handed on once the task's callbacks ran.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(dropped))) {
            panic.get_or_insert(payload);
        }
        if resume {
            run_callbacks(task);
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        count
    }
}

impl<T> Inner<T> {
    /// The state of a task that has not ended.
    fn pending() -> Self {
        let number = NEXT_TASK_NUMBER.fetch_add(1, Ordering::Relaxed);
        Inner {
            #[cfg(target_pointer_width = "64")]
            core: TaskState::tagged(number),
            #[cfg(not(target_pointer_width = "64"))]
            core: TaskState::new(),
            #[cfg(not(target_pointer_width = "64"))]
            number,
            slow: OnceBox::new(),
        }
    }
}

/// Creates a pending task handle and the completer that finishes it.
///
/// Any driver may complete the task: `spawn_task` wraps the future in a driver future, the
/// TaskGroup polls its children itself. A completer dropped without completing ends the task
/// as cancelled, so every task ends exactly once and nobody waits forever.
pub(crate) fn task_pair<T>() -> (Task<T>, TaskCompleter<T>) {
    let [task, completer] = CellRef::new_many(Inner::pending());
    (
        Task::from_inner(task),
        TaskCompleter {
            inner: Some(completer),
        },
    )
}

/// [`task_pair`] and a handle that does not name the output type (an event loop's record of
/// its task), made together: the three counts are set up front.
#[cfg(feature = "event-loop")]
pub(crate) fn task_trio<T: 'static>() -> (Task<T>, DynCellRef<dyn TaskView>, TaskCompleter<T>) {
    let [task, erased, completer] = CellRef::new_many(Inner::pending());
    (
        Task::from_inner(task),
        super::erase(erased),
        TaskCompleter {
            inner: Some(completer),
        },
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
    /// A handle to the task that does not name its output type (an event loop's record of
    /// its task), sharing the task's allocation.
    #[cfg(feature = "event-loop")]
    pub(crate) fn erased(&self) -> DynCellRef<dyn TaskView>
    where
        T: 'static,
    {
        super::erase(self.inner.clone().expect("the task has not ended"))
    }

    /// Moves the completer out, leaving a spent one (which does nothing, and ends nothing when
    /// dropped); `None` if this one was spent already.
    pub(crate) fn take(&mut self) -> Option<Self> {
        self.inner
            .take()
            .map(|inner| TaskCompleter { inner: Some(inner) })
    }

    /// Whether the completer was taken out ([`take`](Self::take)): the task has ended.
    pub(crate) fn is_spent(&self) -> bool {
        self.inner.is_none()
    }

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
        inner.core.poll_cancel_requested(cx)
    }

    /// Ends the task with `value`, or as cancelled if a cancel was requested first (then
    /// `value` is dropped here). Runs the done-callbacks on this thread, then wakes the awaiters.
    ///
    /// # Panics
    ///
    /// If dropping the discarded `value` panics, once the task has ended (callbacks run,
    /// awaiters woken): the panic goes on to the caller, the task's driver.
    pub(crate) fn complete(self, value: T) {
        if let Err(payload) = self.try_complete(value) {
            resume_unwind(payload);
        }
    }

    /// [`complete`](Self::complete), handing back the panic of the discarded value's drop
    /// instead of resuming it.
    pub(crate) fn try_complete(mut self, value: T) -> Result<(), Payload> {
        match self.inner.take() {
            Some(inner) => finish(inner, Ok(value)),
            None => Ok(()),
        }
    }

    /// Ends the task as cancelled. Drop the future before calling this, so that awaiters
    /// observe the cancellation only once the future's resources are released.
    pub(crate) fn cancel(mut self) {
        if let Some(inner) = self.inner.take() {
            // No value to drop: nothing can panic.
            let _ = finish(inner, Err(CancelledError::new()));
        }
    }
}

impl<T> Drop for TaskCompleter<T> {
    fn drop(&mut self) {
        // The executor dropped the driver (shutdown) without finishing it: the future is gone,
        // which is what a cancellation is.
        if let Some(inner) = self.inner.take() {
            let _ = finish(inner, Err(CancelledError::new()));
        }
    }
}

/// A panic payload, as `catch_unwind` gives it.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// Marks the task finished (every callback has run) under the slow part's lock, then wakes its
/// awaiters outside it.
fn mark_finished<T>(inner: &Inner<T>, mut state: MutexGuard<'_, State<T>>) {
    inner.core.finish_slow();
    let waiters = mem::take(&mut state.waiters);
    drop(state);
    inner.core.wake_awaiter();
    for waker in waiters.slots.into_iter().flatten() {
        waker.wake();
    }
}

/// Sets the outcome, runs the callbacks and wakes the awaiters: the task ends, exactly once,
/// whatever user code does meanwhile. A panic of the discarded value's drop is handed back
/// once the task has ended.
fn finish<T>(inner: CellRef<Inner<T>>, outcome: Result<T, CancelledError>) -> Result<(), Payload> {
    // A cancel requested before the outcome is published wins: the value is handed back.
    let displaced = match inner.core.complete(outcome, || Err(CancelledError::new())) {
        // Fast path (most tasks have no callback): finished in one step, no lock.
        Ok(Completed::Finished) => return Ok(()),
        Ok(Completed::Published(displaced)) => displaced,
        Err(_) => unreachable!("a task is completed once: its completer is consumed"),
    };
    // The value is user data whose drop may run arbitrary code, even panic: never under the
    // lock, and never in the way of the task's end.
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(displaced)));
    run_callbacks(&inner);
    dropped
}

/// Runs the pending callbacks in order, one at a time and with no lock held, then marks the
/// task finished. Callbacks added meanwhile (by a callback or another thread) are queued
/// behind and run too.
fn run_callbacks<T>(inner: &CellRef<Inner<T>>) {
    if inner.core.try_finish_fast() {
        // No callback or slow waiter was ever added.
        return;
    }
    // `SLOW` is set, so the slow part exists.
    let slow = inner.slow();
    let me = thread::current().id();
    let task = Task::from_inner(inner.clone());
    loop {
        let (slot, local) = {
            let mut state = slow.lock();
            loop {
                match state.callbacks.front().map(|s| &s.held) {
                    None => {
                        mark_finished(inner, state);
                        return;
                    }
                    Some(Held::Lent(thread)) if *thread == me => {
                        // Lent to a comparison further up this thread's stack: it resumes.
                        state.parked = Some(me);
                        return;
                    }
                    // Lent to a comparison on another thread: one `eq` call away.
                    Some(Held::Lent(_)) => {
                        state = slow
                            .returned
                            .wait(state)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                    Some(Held::Here(_) | Held::Local) => break,
                }
            }
            (
                state.callbacks.pop_front().expect("checked above"),
                state.local,
            )
        };
        let callback: Option<LocalCallback<T>> = match slot.held {
            Held::Here(callback) => Some(callback),
            // Run on the task's thread (where its completer runs); an unreachable store (the
            // thread is being torn down) has dropped it already.
            Held::Local => local.and_then(|store| store.take(slot.id)),
            Held::Lent(_) => unreachable!("lent callbacks are waited for"),
        };
        match callback {
            Some(callback) if !slot.removed => run_callback(slot.id, callback, &task),
            Some(callback) => {
                let _ = catch_unwind(AssertUnwindSafe(move || drop(callback)));
            }
            None => {}
        }
    }
}
