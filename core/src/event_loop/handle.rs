//! Callbacks and the handles that cancel them.

use std::any::Any;
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::partial::{Partial, PartialFnOnce};

/// A callback for [`EventLoop::call_soon`](super::EventLoop::call_soon) and the other
/// scheduling methods: called once, with no argument.
///
/// Every `FnOnce()` closure or function is a callback, and so is a [`Partial`] with every
/// argument bound (`partial!(print, "Hello")`, Python's `functools.partial(print, "Hello")`).
/// A callback's name shows in the loop's panic reports and in its [`Handle`]'s `Debug`: a
/// closure's type name, or a partial's `partial(f, args..)`.
///
/// # Examples
///
/// ```
/// fn greet(name: &str) {
///     println!("Hello {name}!");
/// }
///
/// let lp = aiokit::EventLoop::new();
/// lp.call_soon(|| println!("a closure")).unwrap();
/// let handle = lp.call_soon(aiokit::partial!(greet, "world")).unwrap();
/// assert_eq!(format!("{handle:?}"), r#"<Handle partial(greet, "world")>"#);
/// lp.stop();
/// lp.run_forever().unwrap();
/// ```
pub trait Callback: 'static {
    /// Runs the callback.
    fn call(self);

    /// The name reports and `Debug` show.
    fn name(&self) -> Cow<'static, str>;
}

impl<F: FnOnce() + 'static> Callback for F {
    fn call(self) {
        self()
    }

    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(core::any::type_name::<F>())
    }
}

impl<F: 'static, Args: 'static> Callback for Partial<F, Args>
where
    Partial<F, Args>: PartialFnOnce<()>,
{
    fn call(self) {
        PartialFnOnce::call_once(self, ());
    }

    fn name(&self) -> Cow<'static, str> {
        Cow::Owned(format!("{self:?}"))
    }
}

/// The state of a callback scheduled from another thread: shared with its handle, on that
/// thread.
pub(crate) struct HandleState {
    cancelled: AtomicBool,
    name: Cow<'static, str>,
}

impl HandleState {
    pub(crate) fn new(name: Cow<'static, str>) -> Arc<Self> {
        Arc::new(HandleState {
            cancelled: AtomicBool::new(false),
            name,
        })
    }
}

/// A callback scheduled on the loop's own thread: the callback and its cancel flag in one
/// allocation, shared by the loop's queue and the handle (neither leaves the thread).
struct LocalCell<C> {
    cancelled: Cell<bool>,
    callback: Cell<Option<C>>,
    name: Cow<'static, str>,
}

pub(crate) trait Scheduled {
    fn is_cancelled(&self) -> bool;
    fn cancel(&self);
    fn name(&self) -> &str;
    /// Takes the callback out and runs it; does nothing if it was taken already.
    fn run(&self);
    /// Takes the callback out and drops it.
    fn discard(&self);
}

impl<C: Callback> Scheduled for LocalCell<C> {
    fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }
    fn cancel(&self) {
        self.cancelled.set(true);
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn run(&self) {
        if let Some(callback) = self.callback.take() {
            callback.call();
        }
    }
    fn discard(&self) {
        drop(self.callback.take());
    }
}

/// A callback from another thread: `Send`, unlike [`Ready`], until the loop takes it in.
pub(crate) type RemoteCall = (Box<dyn FnOnce() + Send>, Arc<HandleState>);

/// One callback in the loop's ready queue or among its timers.
pub(crate) enum Ready {
    Local(Rc<dyn Scheduled>),
    Remote(Box<dyn FnOnce() + Send>, Arc<HandleState>),
}

impl Ready {
    /// A callback of the loop's own thread, and its handle.
    pub(crate) fn local<C: Callback>(callback: C) -> (Ready, Handle) {
        let cell: Rc<dyn Scheduled> = Rc::new(LocalCell {
            cancelled: Cell::new(false),
            name: callback.name(),
            callback: Cell::new(Some(callback)),
        });
        (
            Ready::Local(cell.clone()),
            Handle {
                inner: HandleRef::Local(cell),
            },
        )
    }

    /// A callback from another thread, as the remote queue keeps it, and its handle.
    pub(crate) fn remote<C: Callback + Send>(callback: C) -> (RemoteCall, Handle) {
        let state = HandleState::new(callback.name());
        (
            (Box::new(move || callback.call()), state.clone()),
            Handle {
                inner: HandleRef::Shared(state),
            },
        )
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        match self {
            Ready::Local(cell) => cell.is_cancelled(),
            Ready::Remote(_, state) => state.cancelled.load(Ordering::Acquire),
        }
    }

    /// Runs the callback; a panic is caught and handed back with the callback's name.
    pub(crate) fn run(self) -> Result<(), (Box<dyn Any + Send>, String)> {
        match self {
            Ready::Local(cell) => catch_unwind(AssertUnwindSafe(|| cell.run()))
                .map_err(|payload| (payload, cell.name().to_owned())),
            Ready::Remote(callback, state) => catch_unwind(AssertUnwindSafe(callback))
                .map_err(|payload| (payload, state.name.to_string())),
        }
    }

    /// Drops the callback without running it.
    pub(crate) fn discard(self) {
        match self {
            Ready::Local(cell) => cell.discard(),
            Ready::Remote(callback, _) => drop(callback),
        }
    }
}

#[derive(Clone)]
enum HandleRef {
    Local(Rc<dyn Scheduled>),
    Shared(Arc<HandleState>),
}

/// A callback scheduled by [`call_soon`](super::EventLoop::call_soon) or
/// [`call_soon_threadsafe`](super::LoopHandle::call_soon_threadsafe) (asyncio's `Handle`).
///
/// Dropping a handle does not cancel the callback. A handle stays on the thread that scheduled
/// its callback (it is not `Send`): a callback of the loop's thread shares one allocation with
/// its handle, without atomics; one scheduled by
/// [`call_soon_threadsafe`](super::LoopHandle::call_soon_threadsafe) is cancelled from the
/// thread that scheduled it.
///
/// # Examples
///
/// ```
/// let lp = aiokit::EventLoop::new();
/// let handle = lp.call_soon(|| unreachable!("cancelled")).unwrap();
/// handle.cancel();
/// assert!(handle.cancelled());
/// lp.stop();
/// lp.run_forever().unwrap();
/// ```
#[derive(Clone)]
pub struct Handle {
    inner: HandleRef,
}

impl Handle {
    /// Cancels the callback: it will not run if it has not run yet. Calling it again, or after
    /// the callback ran, changes nothing.
    ///
    /// asyncio drops the callback at once; aiokit drops it when the loop reaches it (or
    /// closes), on the loop's thread.
    ///
    /// # Examples
    ///
    /// See [`Handle`].
    pub fn cancel(&self) {
        match &self.inner {
            HandleRef::Local(cell) => cell.cancel(),
            HandleRef::Shared(state) => state.cancelled.store(true, Ordering::Release),
        }
    }

    /// Whether [`cancel`](Handle::cancel) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let lp = aiokit::EventLoop::new();
    /// let handle = lp.call_soon(|| {}).unwrap();
    /// assert!(!handle.cancelled());
    /// # lp.close().unwrap();
    /// ```
    pub fn cancelled(&self) -> bool {
        match &self.inner {
            HandleRef::Local(cell) => cell.is_cancelled(),
            HandleRef::Shared(state) => state.cancelled.load(Ordering::Acquire),
        }
    }

    fn name(&self) -> &str {
        match &self.inner {
            HandleRef::Local(cell) => cell.name(),
            HandleRef::Shared(state) => &state.name,
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cancelled = if self.cancelled() { "cancelled " } else { "" };
        write!(f, "<Handle {cancelled}{}>", self.name())
    }
}

/// A callback scheduled by [`call_later`](super::EventLoop::call_later) or
/// [`call_at`](super::EventLoop::call_at) (asyncio's `TimerHandle`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let lp = aiokit::EventLoop::new();
/// let before = lp.time();
/// let timer = lp.call_later(Duration::from_millis(5), || {}).unwrap();
/// assert!(timer.when() >= before + Duration::from_millis(5));
/// timer.cancel();
/// assert!(timer.cancelled());
/// # lp.close().unwrap();
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    pub(crate) handle: Handle,
    pub(crate) when: Instant,
}

impl TimerHandle {
    /// The loop time ([`EventLoop::time`](super::EventLoop::time)) the callback was scheduled
    /// for.
    ///
    /// # Examples
    ///
    /// See [`TimerHandle`].
    pub fn when(&self) -> Instant {
        self.when
    }

    /// Cancels the callback; see [`Handle::cancel`].
    ///
    /// # Examples
    ///
    /// See [`TimerHandle`].
    pub fn cancel(&self) {
        self.handle.cancel()
    }

    /// Whether [`cancel`](TimerHandle::cancel) was called.
    ///
    /// # Examples
    ///
    /// See [`TimerHandle`].
    pub fn cancelled(&self) -> bool {
        self.handle.cancelled()
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cancelled = if self.cancelled() { "cancelled " } else { "" };
        write!(
            f,
            "<TimerHandle {cancelled}when={:?} {}>",
            self.when,
            self.handle.name()
        )
    }
}
