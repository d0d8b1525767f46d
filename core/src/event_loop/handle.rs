//! Callbacks and the handles that cancel them.

use std::any::Any;
use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use smallbox::space::S2;
use smallbox::{SmallBox, smallbox};

use super::inner::LoopInner;
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
    /// Taken out (and run or dropped) by the loop, on its thread; no user code runs under
    /// this lock.
    callback: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl HandleState {
    fn take(&self) -> Option<Box<dyn FnOnce() + Send>> {
        self.callback
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// A callback of the loop's own thread, type-erased: runs it once (later calls do nothing).
pub(crate) trait LocalCall {
    /// Runs the callback (once: later calls do nothing); gives its name, and the payload of
    /// its panic if it panicked.
    fn run(&mut self) -> (Cow<'static, str>, Result<(), Box<dyn Any + Send>>);
}

struct Slot<C>(Option<C>);

impl<C: Callback> LocalCall for Slot<C> {
    fn run(&mut self) -> (Cow<'static, str>, Result<(), Box<dyn Any + Send>>) {
        let Some(callback) = self.0.take() else {
            return (Cow::Borrowed(""), Ok(()));
        };
        // A closure's name is its type's (nothing to compute); a partial's is formatted again
        // here rather than kept in the queue, whose entries stay small.
        let name = callback.name();
        (
            name,
            catch_unwind(AssertUnwindSafe(move || callback.call())),
        )
    }
}

/// A callback kept inline in the loop's ready queue or table of timers when it fits in two
/// words (a closure that captures one or two references or `Rc`s, a partial of a function
/// with small arguments), boxed otherwise.
pub(crate) type CallBox = SmallBox<dyn LocalCall, S2>;

/// A timer's callback waiting in the loop's table of timers: its sequence number tells it
/// from a later timer that reuses its slot.
pub(crate) struct Pending {
    /// The sequence number, shifted left once; the low bit tells that the callback is among
    /// the loop's timers (not yet moved to the ready queue).
    tag: u64,
    pub(crate) call: CallBox,
}

impl Pending {
    pub(crate) fn new<C: Callback>(
        seq: u64,
        callback: C,
        in_heap: bool,
    ) -> (Pending, Cow<'static, str>) {
        let name = callback.name();
        let call: CallBox = smallbox!(Slot(Some(callback)));
        (
            Pending {
                tag: seq << 1 | u64::from(in_heap),
                call,
            },
            name,
        )
    }

    pub(crate) fn seq(&self) -> u64 {
        self.tag >> 1
    }

    pub(crate) fn in_heap(&self) -> bool {
        self.tag & 1 == 1
    }

    pub(crate) fn leave_heap(&mut self) {
        self.tag &= !1;
    }
}

/// A callback from another thread, as the loop's queues hold it: dropping the entry drops the
/// callback (if it has not run), outside the state's lock.
pub(crate) struct RemoteCall(Arc<HandleState>);

impl Drop for RemoteCall {
    fn drop(&mut self) {
        drop(self.0.take());
    }
}

/// One entry of the loop's ready queue (32 bytes: a `call_soon` callback waits here, inline).
pub(crate) enum Ready {
    /// A `call_soon` callback of the loop's thread.
    Soon(CallBox),
    /// A due timer: its callback is in the loop's table of timers under `key` if the low 32
    /// bits of its sequence number are `seq` (it is gone from there if it was cancelled; an
    /// entry lives one turn, far less than 2^32 timers).
    Timer {
        key: u32,
        seq: u32,
    },
    Remote(RemoteCall),
    /// A `call_soon` callback cancelled (and dropped) before the loop reached it.
    Cancelled,
}

/// The key a [`Handle`] of a `call_soon` callback has: its "sequence number" is then its
/// position in the ready queue.
pub(crate) const SOON: usize = usize::MAX;

/// A `call_soon` callback as the ready queue keeps it, and its name for the handle.
pub(crate) fn soon<C: Callback>(callback: C) -> (Ready, Cow<'static, str>) {
    let name = callback.name();
    let call: CallBox = smallbox!(Slot(Some(callback)));
    (Ready::Soon(call), name)
}

impl Ready {
    /// A callback from another thread, as the remote queue keeps it, and its handle.
    pub(crate) fn remote<C: Callback + Send>(callback: C) -> (RemoteCall, Handle) {
        let state = Arc::new(HandleState {
            cancelled: AtomicBool::new(false),
            name: callback.name(),
            callback: Mutex::new(Some(Box::new(move || callback.call()))),
        });
        (
            RemoteCall(state.clone()),
            Handle {
                inner: HandleRef::Shared(state),
            },
        )
    }
}

/// Runs a remote callback unless it was cancelled (then drops it); a panic is caught and
/// handed back.
pub(crate) fn run_remote(call: &RemoteCall) -> Result<(), Box<dyn Any + Send>> {
    let Some(callback) = call.0.take() else {
        return Ok(());
    };
    if call.0.cancelled.load(Ordering::Acquire) {
        drop(callback);
        return Ok(());
    }
    catch_unwind(AssertUnwindSafe(callback))
}

impl RemoteCall {
    pub(crate) fn name(&self) -> &str {
        &self.0.name
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }
}

/// Runs a local callback; a panic is caught and handed back.
pub(crate) fn run_timer(
    pending: &mut Pending,
) -> (Cow<'static, str>, Result<(), Box<dyn Any + Send>>) {
    pending.call.run()
}

/// A handle on a callback of the loop's thread: where the loop keeps it, and the cancel flag.
/// The flag is the handle's own until the handle is cloned; clones share one then.
struct LocalHandle {
    lp: Weak<LoopInner>,
    key: usize,
    seq: u64,
    name: Cow<'static, str>,
    cancelled: Cell<bool>,
    shared: OnceCell<Rc<Cell<bool>>>,
}

impl LocalHandle {
    fn cancelled(&self) -> bool {
        match self.shared.get() {
            Some(flag) => flag.get(),
            None => self.cancelled.get(),
        }
    }

    fn cancel(&self) {
        self.cancelled.set(true);
        if let Some(flag) = self.shared.get() {
            flag.set(true);
        }
        if let Some(lp) = self.lp.upgrade() {
            lp.cancel_local(self.key, self.seq);
        }
    }
}

impl Clone for LocalHandle {
    fn clone(&self) -> Self {
        let flag = self
            .shared
            .get_or_init(|| Rc::new(Cell::new(self.cancelled.get())))
            .clone();
        LocalHandle {
            lp: self.lp.clone(),
            key: self.key,
            seq: self.seq,
            name: self.name.clone(),
            cancelled: Cell::new(flag.get()),
            shared: OnceCell::from(flag),
        }
    }
}

#[derive(Clone)]
enum HandleRef {
    Local(LocalHandle),
    Shared(Arc<HandleState>),
}

/// A callback scheduled by [`call_soon`](super::EventLoop::call_soon) or
/// [`call_soon_threadsafe`](super::LoopHandle::call_soon_threadsafe) (asyncio's `Handle`).
///
/// Dropping a handle does not cancel the callback. A handle stays on the thread that scheduled
/// its callback (it is not `Send`): a callback of the loop's thread is cancelled without
/// atomics, and [`cancel`](Handle::cancel) drops it at once, as asyncio does; one scheduled by
/// [`call_soon_threadsafe`](super::LoopHandle::call_soon_threadsafe) is cancelled from the
/// thread that scheduled it, and dropped when the loop reaches it.
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
    pub(crate) fn local(
        lp: Weak<LoopInner>,
        key: usize,
        seq: u64,
        name: Cow<'static, str>,
    ) -> Self {
        Handle {
            inner: HandleRef::Local(LocalHandle {
                lp,
                key,
                seq,
                name,
                cancelled: Cell::new(false),
                shared: OnceCell::new(),
            }),
        }
    }

    /// Cancels the callback: it will not run if it has not run yet. Calling it again, or after
    /// the callback ran, changes nothing.
    ///
    /// A callback of the loop's thread is dropped at once, as asyncio drops it (a timer's
    /// place in the loop's heap is reclaimed as asyncio does: see
    /// [`EventLoop::call_at`](super::EventLoop::call_at)); one scheduled by
    /// [`call_soon_threadsafe`](super::LoopHandle::call_soon_threadsafe) is dropped when the
    /// loop reaches it (or closes), on the loop's thread.
    ///
    /// # Examples
    ///
    /// See [`Handle`].
    pub fn cancel(&self) {
        match &self.inner {
            HandleRef::Local(local) => local.cancel(),
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
            HandleRef::Local(local) => local.cancelled(),
            HandleRef::Shared(state) => state.cancelled.load(Ordering::Acquire),
        }
    }

    fn name(&self) -> &str {
        match &self.inner {
            HandleRef::Local(local) => &local.name,
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
