//! Done-callbacks: the trait, their identity, and how a panicking one is reported.

use std::any::Any;
use std::boxed::Box;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Task;
use crate::hooks::HookCell;

/// A done-callback of a [`Task`]: called once, with the task as its only argument, after the
/// task completed (asyncio's `add_done_callback(fn)`).
///
/// Every `FnMut(&Task<T>)` closure or function is a `DoneCallback<T>`. Because the impl is a
/// blanket one, Rust cannot infer a closure's argument type from it: write the argument type,
/// `|task: &Task<_>| ...`. `partial!(f, a, b)` values are done-callbacks too: the task is
/// appended as the last argument, as with `functools.partial` in asyncio.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature and the futures-executor crate.
/// use aiokit::Task;
/// use aiokit::task::DoneCallback;
///
/// /// A callback type of one's own: counts the tasks that were cancelled.
/// struct CountCancelled(usize);
///
/// impl<T> DoneCallback<T> for CountCancelled {
///     fn call(&mut self, task: &Task<T>) {
///         if task.cancelled() {
///             self.0 += 1;
///         }
///     }
/// }
///
/// let pool = futures_executor::ThreadPool::new().unwrap();
/// let task = aiokit::spawn_task(&pool, async { 1 });
/// task.add_done_callback(CountCancelled(0));
/// task.add_done_callback(|task: &Task<i32>| assert_eq!(task.result(), Ok(&1)));
/// # futures::executor::block_on(task).unwrap();
/// ```
pub trait DoneCallback<T> {
    /// Called once the task is done; `task.done()` is true.
    fn call(&mut self, task: &Task<T>);
}

impl<T, F> DoneCallback<T> for F
where
    F: FnMut(&Task<T>),
{
    fn call(&mut self, task: &Task<T>) {
        self(task)
    }
}

/// `partial!(f, a, b)` as a done-callback: called as `f(a, b, task)`, the task last, as
/// `functools.partial` is in asyncio. Bound arguments are cloned for each call.
impl<T, F, Args> DoneCallback<T> for crate::Partial<F, Args>
where
    for<'a> crate::Partial<F, Args>: crate::partial::PartialFnMut<(&'a Task<T>,)>,
{
    fn call(&mut self, task: &Task<T>) {
        crate::partial::PartialFnMut::call_mut(self, (task,));
    }
}

/// Identifies one registration of a done-callback, for
/// [`Task::remove_done_callback_id`]. Ids are unique across all tasks of the program.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature.
/// use aiokit::Task;
///
/// let mut pool = futures::executor::LocalPool::new();
/// let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
/// let a = task.add_done_callback(|_: &Task<i32>| {});
/// let b = task.add_done_callback(|_: &Task<i32>| {});
/// assert_ne!(a, b);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallbackId(u64);

static NEXT_CALLBACK_ID: AtomicU64 = AtomicU64::new(1);

impl CallbackId {
    fn next() -> Self {
        CallbackId(NEXT_CALLBACK_ID.fetch_add(1, Ordering::Relaxed))
    }
}

/// Type-erased callback, kept `Any` so that `remove_done_callback` can find equal ones.
/// `Send` callbacks are boxed as `dyn Erased<T> + Send`; a local task's may be `!Send` and then
/// never leave the thread-local store of their task's thread (see [`local`]).
pub(crate) trait Erased<T> {
    fn call(&mut self, task: &Task<T>);
    fn as_any(&self) -> &dyn Any;
}

struct Holder<C>(C);

impl<T, C> Erased<T> for Holder<C>
where
    C: DoneCallback<T> + 'static,
{
    fn call(&mut self, task: &Task<T>) {
        self.0.call(task)
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }
}

/// A `Send` callback, as the task's shared state holds it.
pub(crate) type SendCallback<T> = Box<dyn Erased<T> + Send>;
/// A callback that may be `!Send`, held by the thread-local store of its task's thread.
pub(crate) type LocalCallback<T> = Box<dyn Erased<T>>;

pub(crate) fn boxed_send<T, C>(callback: C) -> SendCallback<T>
where
    C: DoneCallback<T> + Send + 'static,
{
    Box::new(Holder(callback))
}

pub(crate) fn boxed_local<T, C>(callback: C) -> LocalCallback<T>
where
    C: DoneCallback<T> + 'static,
{
    Box::new(Holder(callback))
}

/// Whether `callback` is a `C` equal to `other`. Runs `C::eq` (user code): never under a lock.
pub(crate) fn is_equal<T, C: PartialEq + 'static>(callback: &dyn Erased<T>, other: &C) -> bool {
    callback
        .as_any()
        .downcast_ref::<C>()
        .is_some_and(|c| c == other)
}

/// Whether `callback` is of type `C` (no user code: a type check only).
pub(crate) fn is_type<T, C: 'static>(callback: &dyn Erased<T>) -> bool {
    callback.as_any().is::<C>()
}

pub(crate) fn next_id() -> CallbackId {
    CallbackId::next()
}

/// The callbacks of local tasks, which may be `!Send`: kept in a thread-local map of the thread
/// that spawned the task (where its driver runs too), keyed by registration. The task's shared
/// state only holds their ids, so a `!Send` callback never leaves its thread: a handle on
/// another thread cannot reach it.
pub(crate) mod local {
    use super::{CallbackId, LocalCallback};
    use std::any::Any;
    use std::boxed::Box;
    use std::cell::RefCell;
    use std::collections::HashMap;

    std::thread_local! {
        static CALLBACKS: RefCell<HashMap<CallbackId, Box<dyn Any>>> = RefCell::new(HashMap::new());
    }

    /// Stores `callback` on this thread. Returns it if the thread is being torn down.
    pub(crate) fn put<T: 'static>(
        id: CallbackId,
        callback: LocalCallback<T>,
    ) -> Result<(), LocalCallback<T>> {
        let mut callback = Some(callback);
        let stored = CALLBACKS.try_with(|map| {
            if let Ok(mut map) = map.try_borrow_mut() {
                let boxed: Box<dyn Any> = Box::new(callback.take());
                // Nothing is dropped here: ids are unique, so the slot was empty.
                let previous = map.insert(id, boxed);
                debug_assert!(previous.is_none());
            }
        });
        match (stored, callback) {
            (Ok(()), None) => Ok(()),
            (_, Some(callback)) => Err(callback),
            (Err(_), None) => unreachable!("stored only when the map was reachable"),
        }
    }

    /// Takes the callback `id` out of this thread's store (to run, compare or drop it with
    /// no borrow of the store held). `None` if it is not on this thread.
    pub(crate) fn take<T: 'static>(id: CallbackId) -> Option<LocalCallback<T>> {
        let boxed = CALLBACKS
            .try_with(|map| map.try_borrow_mut().ok()?.remove(&id))
            .ok()
            .flatten()?;
        boxed
            .downcast::<Option<LocalCallback<T>>>()
            .ok()
            .and_then(|b| *b)
    }
}

/// Runs one callback; a panic is caught and reported so that the others still run.
pub(crate) fn run_callback<T>(id: CallbackId, mut callback: LocalCallback<T>, task: &Task<T>) {
    let result = catch_unwind(AssertUnwindSafe(|| callback.call(task)));
    // Dropping the callback is user code too (its captures); it must not stop the others.
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(callback)));
    let payload = match (result, dropped) {
        (Err(payload), _) | (Ok(()), Err(payload)) => payload,
        (Ok(()), Ok(())) => return,
    };
    let name = task.name();
    let info = DoneCallbackPanic {
        task_name: &name,
        callback: id,
        payload: &*payload,
    };
    // Cloned out of the lock, so that the hook runs with no lock held (it may set or take the
    // hook itself). A panicking hook has already been printed by the panic hook of std;
    // nothing else can be done with it here without stopping the other callbacks.
    let hook = HOOK.get();
    let _ = catch_unwind(AssertUnwindSafe(|| match &hook {
        Some(hook) => hook(&info),
        None => default_hook(&info),
    }));
    // The hook is user data: if it was replaced meanwhile, this is its last owner.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(hook)));
}

/// What a done-callback panic hook receives: the task's name, the callback's id and the
/// panic payload (asyncio passes the exception and the callback to the loop's exception
/// handler).
///
/// # Examples
///
/// ```
/// aiokit::hooks::set_done_callback_panic_hook(|info: &aiokit::hooks::DoneCallbackPanic<'_>| {
///     eprintln!(
///         "callback of {} panicked: {}",
///         info.task_name(),
///         info.message().unwrap_or("(no message)")
///     );
/// });
/// # drop(aiokit::hooks::take_done_callback_panic_hook());
/// ```
pub struct DoneCallbackPanic<'a> {
    task_name: &'a str,
    callback: CallbackId,
    payload: &'a (dyn Any + Send),
}

impl<'a> DoneCallbackPanic<'a> {
    /// The name of the task whose callback panicked.
    ///
    /// # Examples
    ///
    /// See [`DoneCallbackPanic`].
    pub fn task_name(&self) -> &'a str {
        self.task_name
    }

    /// The registration that panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::hooks::set_done_callback_panic_hook(|info: &aiokit::hooks::DoneCallbackPanic<'_>| {
    ///     eprintln!("callback {:?} panicked", info.callback());
    /// });
    /// # drop(aiokit::hooks::take_done_callback_panic_hook());
    /// ```
    pub fn callback(&self) -> CallbackId {
        self.callback
    }

    /// The panic payload, as `std::panic::catch_unwind` returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::hooks::set_done_callback_panic_hook(|info: &aiokit::hooks::DoneCallbackPanic<'_>| {
    ///     if let Some(code) = info.payload().downcast_ref::<i32>() {
    ///         eprintln!("callback panicked with code {code}");
    ///     }
    /// });
    /// # drop(aiokit::hooks::take_done_callback_panic_hook());
    /// ```
    pub fn payload(&self) -> &'a (dyn Any + Send) {
        self.payload
    }

    /// The panic message, if the payload is a string (as `panic!("...")` makes).
    ///
    /// # Examples
    ///
    /// See [`DoneCallbackPanic`].
    pub fn message(&self) -> Option<&'a str> {
        let payload = self.payload;
        payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Debug for DoneCallbackPanic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoneCallbackPanic")
            .field("task_name", &self.task_name)
            .field("callback", &self.callback)
            .field("message", &self.message())
            .finish()
    }
}

impl fmt::Display for DoneCallbackPanic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "done-callback {} of task '{}' panicked",
            self.callback.0, self.task_name
        )?;
        if let Some(message) = self.message() {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// The hook a panicking callback's reporter clones out and runs with no lock held.
static HOOK: HookCell<dyn Fn(&DoneCallbackPanic<'_>) + Send + Sync> = HookCell::new();

fn default_hook(info: &DoneCallbackPanic<'_>) {
    std::eprintln!("aiokit: {info}");
}

/// Replaces the hook that reports a panicking done-callback (asyncio's loop exception
/// handler for callbacks), for the whole program (shaped like `std::panic::set_hook`).
///
/// The default hook prints one line to stderr ("aiokit: done-callback 3 of task 'Task-1'
/// panicked: ..."), after std's own panic hook printed the panic. Either way, the task's other
/// callbacks still run. The hook runs on the thread that ran the callback, with no lock of
/// aiokit held: it may itself set or take the hook.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature.
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use aiokit::Task;
///
/// static REPORTED: AtomicUsize = AtomicUsize::new(0);
/// aiokit::hooks::set_done_callback_panic_hook(|_: &aiokit::hooks::DoneCallbackPanic<'_>| {
///     REPORTED.fetch_add(1, Ordering::SeqCst);
/// });
///
/// let mut pool = futures::executor::LocalPool::new();
/// let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
/// task.add_done_callback(|_: &Task<i32>| panic!("boom"));
/// pool.run();
/// assert_eq!(REPORTED.load(Ordering::SeqCst), 1);
/// # drop(aiokit::hooks::take_done_callback_panic_hook());
/// ```
pub fn set_done_callback_panic_hook(hook: impl Fn(&DoneCallbackPanic<'_>) + Send + Sync + 'static) {
    HOOK.set(Box::new(hook));
}

/// Removes the hook set by [`set_done_callback_panic_hook`], restoring the default one, and
/// returns it (the default hook if none was set), as `std::panic::take_hook` does.
///
/// # Examples
///
/// ```
/// aiokit::hooks::set_done_callback_panic_hook(|_: &aiokit::hooks::DoneCallbackPanic<'_>| {});
/// let previous = aiokit::hooks::take_done_callback_panic_hook();
/// drop(previous);
/// ```
pub fn take_done_callback_panic_hook() -> Box<dyn Fn(&DoneCallbackPanic<'_>) + Send + Sync> {
    match HOOK.take() {
        None => Box::new(default_hook),
        Some(Ok(hook)) => hook,
        // A callback's reporter is running it right now: hand back a hook that shares it.
        Some(Err(shared)) => Box::new(move |info: &DoneCallbackPanic<'_>| shared(info)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// No user code runs under a lock: the panic hook runs with none held, so it may replace
    /// the hook itself (it used to deadlock on the hook's lock).
    #[test]
    fn no_user_code_runs_under_a_lock_the_panic_hook_may_replace_itself() {
        static REPLACED: AtomicUsize = AtomicUsize::new(0);
        set_done_callback_panic_hook(Box::new(|_: &DoneCallbackPanic<'_>| {
            set_done_callback_panic_hook(Box::new(|_: &DoneCallbackPanic<'_>| {
                REPLACED.fetch_add(1, Ordering::SeqCst);
            }));
        }));
        let mut pool = futures::executor::LocalPool::new();
        let task = crate::spawn_local_task(&pool.spawner(), async { 1 });
        task.add_done_callback(|_: &Task<i32>| panic!("first"));
        task.add_done_callback(|_: &Task<i32>| panic!("second"));
        pool.run();
        assert_eq!(
            REPLACED.load(Ordering::SeqCst),
            1,
            "the second panic met the new hook"
        );
        drop(take_done_callback_panic_hook());
    }
}
