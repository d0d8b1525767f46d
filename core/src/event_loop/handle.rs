//! Callbacks and the handles that cancel them.

use std::borrow::Cow;
use std::fmt;
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

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// A callback scheduled by [`call_soon`](super::EventLoop::call_soon) or
/// [`call_soon_threadsafe`](super::LoopHandle::call_soon_threadsafe) (asyncio's `Handle`).
///
/// Dropping a handle does not cancel the callback. Handles are `Send + Sync`: a callback may be
/// cancelled from any thread.
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
    pub(crate) state: Arc<HandleState>,
}

impl Handle {
    /// Cancels the callback: it will not run if it has not run yet. Calling it again, or after
    /// the callback ran, changes nothing.
    ///
    /// asyncio drops the callback at once; aiokit drops it on the loop's thread when the loop
    /// reaches it (or closes), because a callback need not be `Send`.
    ///
    /// # Examples
    ///
    /// See [`Handle`].
    pub fn cancel(&self) {
        self.state.cancelled.store(true, Ordering::Release);
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
        self.state.is_cancelled()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cancelled = if self.cancelled() { "cancelled " } else { "" };
        write!(f, "<Handle {cancelled}{}>", self.state.name())
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
            self.handle.state.name()
        )
    }
}
