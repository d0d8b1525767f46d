//! Done-callbacks: the trait, their identity, and how a panicking one is reported.

use std::any::Any;
use std::boxed::Box;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use super::Task;

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
/// use aiokit::{DoneCallback, Task};
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
    for<'a> crate::Partial<F, Args>: crate::PartialFnMut<(&'a Task<T>,)>,
{
    fn call(&mut self, task: &Task<T>) {
        crate::PartialFnMut::call_mut(self, (task,));
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
trait ErasedCallback<T>: Send {
    fn call(&mut self, task: &Task<T>);
    fn as_any(&self) -> &dyn Any;
}

struct Holder<C>(C);

impl<T, C> ErasedCallback<T> for Holder<C>
where
    C: DoneCallback<T> + Send + 'static,
{
    fn call(&mut self, task: &Task<T>) {
        self.0.call(task)
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }
}

pub(crate) struct Registration<T> {
    id: CallbackId,
    callback: Box<dyn ErasedCallback<T>>,
}

impl<T> Registration<T> {
    pub(crate) fn new<C>(callback: C) -> Self
    where
        C: DoneCallback<T> + Send + 'static,
    {
        Registration {
            id: CallbackId::next(),
            callback: Box::new(Holder(callback)),
        }
    }

    pub(crate) fn id(&self) -> CallbackId {
        self.id
    }

    pub(crate) fn is<C: PartialEq + 'static>(&self, callback: &C) -> bool {
        self.callback
            .as_any()
            .downcast_ref::<C>()
            .is_some_and(|c| c == callback)
    }
}

/// Runs one callback; a panic is caught and reported so that the others still run.
pub(crate) fn run_callback<T>(mut registration: Registration<T>, task: &Task<T>) {
    let result = catch_unwind(AssertUnwindSafe(|| registration.callback.call(task)));
    // Dropping the callback is user code too (its captures); it must not stop the others.
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(registration.callback)));
    let payload = match (result, dropped) {
        (Err(payload), _) | (Ok(()), Err(payload)) => payload,
        (Ok(()), Ok(())) => return,
    };
    let name = task.name();
    let info = DoneCallbackPanic {
        task_name: &name,
        callback: registration.id,
        payload: &*payload,
    };
    // A panicking hook has already been printed by the panic hook of std; nothing else can
    // be done with it here without stopping the other callbacks.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let hook = HOOK.read().unwrap_or_else(PoisonError::into_inner);
        match &*hook {
            Some(hook) => hook(&info),
            None => default_hook(&info),
        }
    }));
}

/// What a done-callback panic hook receives: the task's name, the callback's id and the
/// panic payload (asyncio passes the exception and the callback to the loop's exception
/// handler).
///
/// # Examples
///
/// ```
/// aiokit::set_done_callback_panic_hook(Box::new(|info: &aiokit::DoneCallbackPanic<'_>| {
///     eprintln!(
///         "callback of {} panicked: {}",
///         info.task_name(),
///         info.message().unwrap_or("(no message)")
///     );
/// }));
/// # drop(aiokit::take_done_callback_panic_hook());
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
    /// aiokit::set_done_callback_panic_hook(Box::new(|info: &aiokit::DoneCallbackPanic<'_>| {
    ///     eprintln!("callback {:?} panicked", info.callback());
    /// }));
    /// # drop(aiokit::take_done_callback_panic_hook());
    /// ```
    pub fn callback(&self) -> CallbackId {
        self.callback
    }

    /// The panic payload, as `std::panic::catch_unwind` returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// aiokit::set_done_callback_panic_hook(Box::new(|info: &aiokit::DoneCallbackPanic<'_>| {
    ///     if let Some(code) = info.payload().downcast_ref::<i32>() {
    ///         eprintln!("callback panicked with code {code}");
    ///     }
    /// }));
    /// # drop(aiokit::take_done_callback_panic_hook());
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

type Hook = Box<dyn Fn(&DoneCallbackPanic<'_>) + Send + Sync + 'static>;

static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

fn default_hook(info: &DoneCallbackPanic<'_>) {
    std::eprintln!("aiokit: {info}");
}

/// Replaces the hook that reports a panicking done-callback (asyncio's loop exception
/// handler for callbacks), for the whole program.
///
/// The default hook prints one line to stderr ("aiokit: done-callback 3 of task 'Task-1'
/// panicked: ..."), after std's own panic hook printed the panic. Either way, the task's other
/// callbacks still run. The hook runs on the thread that ran the callback; it must not set or
/// take the hook itself (that would deadlock).
///
/// # Examples
///
/// ```
/// // Needs aiokit's `futures-executor` feature.
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use aiokit::Task;
///
/// static REPORTED: AtomicUsize = AtomicUsize::new(0);
/// aiokit::set_done_callback_panic_hook(Box::new(|_: &aiokit::DoneCallbackPanic<'_>| {
///     REPORTED.fetch_add(1, Ordering::SeqCst);
/// }));
///
/// let mut pool = futures::executor::LocalPool::new();
/// let task = aiokit::spawn_local_task(&pool.spawner(), async { 1 });
/// task.add_done_callback(|_: &Task<i32>| panic!("boom"));
/// pool.run();
/// assert_eq!(REPORTED.load(Ordering::SeqCst), 1);
/// # drop(aiokit::take_done_callback_panic_hook());
/// ```
pub fn set_done_callback_panic_hook(hook: Box<dyn Fn(&DoneCallbackPanic<'_>) + Send + Sync>) {
    let old = HOOK
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(hook);
    // The old hook is user data: drop it outside the lock.
    drop(old);
}

/// Removes the hook set by [`set_done_callback_panic_hook`], restoring the default one, and
/// returns it (the default hook if none was set).
///
/// # Examples
///
/// ```
/// aiokit::set_done_callback_panic_hook(Box::new(|_: &aiokit::DoneCallbackPanic<'_>| {}));
/// let previous = aiokit::take_done_callback_panic_hook();
/// drop(previous);
/// ```
pub fn take_done_callback_panic_hook() -> Box<dyn Fn(&DoneCallbackPanic<'_>) + Send + Sync> {
    let old = HOOK.write().unwrap_or_else(PoisonError::into_inner).take();
    old.unwrap_or_else(|| Box::new(default_hook))
}
