//! `timeout_scope` / `timeout_scope_at` and [`TimeoutHandle`]: asyncio's `Timeout` object, a
//! timeout whose deadline can be read, moved or removed while the guarded work runs.

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;

use crate::timeout::{WaitFor, wait_for_deadline};
use crate::timer::{Sleep, sleep_until};
use crate::{InvalidStateError, TimeoutError};

/// Runs the future `body` builds until it completes or the scope's deadline passes, where the
/// deadline can be moved while it runs (asyncio's `async with asyncio.timeout(delay) as cm:`).
///
/// `body` is called at once with a [`TimeoutHandle`], asyncio's `cm`: the guarded future reads
/// the deadline with [`when`](TimeoutHandle::when), moves it with
/// [`reschedule`](TimeoutHandle::reschedule) (earlier, later, or `None` for never) and, once the
/// scope has ended, tells with [`expired`](TimeoutHandle::expired) whether the deadline fired.
/// The handle is `Clone + Send + Sync`: other tasks may move the deadline too.
///
/// `delay` is a [`Duration`] or `None` (no deadline until one is set); the deadline is
/// `now + delay`, taken when `timeout_scope` is called, on the timer's clock (tokio's, which
/// tests may pause, inside a Tokio runtime). A delay too large for [`Instant`] means no
/// deadline.
///
/// The output follows [`wait_for`](crate::wait_for()): `Ok(output)` if the body completes
/// first (or in the poll where the deadline passes), else the body is dropped (cancelled) and
/// `Err(`[`TimeoutError`]`)` is returned. Scopes nest as timeouts do: when an inner and an
/// outer one expire in the same poll, only the outer one reports, and both say
/// [`expired`](TimeoutHandle::expired), as in asyncio.
///
/// Where aiokit differs from asyncio: the deadline is in force from the call (there is no
/// "not entered yet" state, so `reschedule` before the first poll is allowed); a rescheduled
/// deadline takes effect at the scope's next poll, which the handle's wake-up brings at once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use aiokit::timeout_scope;
///
/// # futures::executor::block_on(async {
/// // Extend the deadline once the slow part is known to be making progress.
/// let scope = timeout_scope(Duration::from_millis(1), |cm| async move {
///     cm.reschedule(None).unwrap(); // no deadline any more
///     aiokit::sleep(Duration::from_millis(5)).await;
///     "done"
/// });
/// let cm = scope.handle();
/// assert_eq!(scope.await, Ok("done"));
/// assert!(!cm.expired());
///
/// // Pull the deadline in: the body is cancelled at its next suspension point.
/// let cm = timeout_scope(Duration::from_secs(60), |cm| async move {
///     cm.reschedule(std::time::Instant::now()).unwrap();
///     futures::future::pending::<()>().await;
/// });
/// let handle = cm.handle();
/// assert_eq!(cm.await, Err(aiokit::TimeoutError::new()));
/// assert!(handle.expired());
/// # });
/// ```
///
/// # Panics
///
/// As [`sleep()`](crate::sleep): with only the `tokio` timer feature, outside a Tokio runtime.
///
/// # Cancel safety
///
/// As [`wait_for`](crate::wait_for()). Dropping the scope ends it: its handle then refuses
/// to reschedule, and [`expired`](TimeoutHandle::expired) stays `false`.
pub fn timeout_scope<B, F>(
    delay: impl Into<Option<Duration>>,
    body: B,
) -> TimeoutScope<F::IntoFuture>
where
    B: FnOnce(TimeoutHandle) -> F,
    F: IntoFuture,
{
    let when = delay.into().and_then(|delay| now().checked_add(delay));
    timeout_scope_at(when, body)
}

/// [`timeout_scope`] with an absolute deadline, or `None` for no deadline until one is set
/// (asyncio's `async with asyncio.timeout_at(when) as cm:`).
///
/// Under tokio's paused test clock, take the deadline from tokio's clock
/// (`tokio::time::Instant::now().into_std() + delay`).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// # futures::executor::block_on(async {
/// let when = Instant::now() + Duration::from_secs(60);
/// let scope = aiokit::timeout_scope_at(when, |cm| async move {
///     assert_eq!(cm.when(), Some(when));
///     // asyncio's `cm.reschedule(cm.when() + 10)`
///     cm.reschedule(cm.when().map(|w| w + Duration::from_secs(10))).unwrap();
///     cm.when()
/// });
/// assert_eq!(scope.await, Ok(Some(when + Duration::from_secs(10))));
/// # });
/// ```
///
/// # Panics
///
/// As [`timeout_scope`].
///
/// # Cancel safety
///
/// As [`timeout_scope`].
pub fn timeout_scope_at<B, F>(
    when: impl Into<Option<Instant>>,
    body: B,
) -> TimeoutScope<F::IntoFuture>
where
    B: FnOnce(TimeoutHandle) -> F,
    F: IntoFuture,
{
    let handle = TimeoutHandle {
        shared: Arc::new(Shared {
            state: Mutex::new(ScopeState {
                when: when.into(),
                generation: 0,
                phase: Phase::Active,
            }),
            waker: AtomicWaker::new(),
        }),
    };
    let deadline = ScopeDeadline {
        sleep: None,
        seen: None,
        guard: EndOnDrop(handle.shared.clone()),
    };
    let fut = body(handle.clone());
    TimeoutScope {
        inner: wait_for_deadline(fut, deadline),
        handle,
    }
}

/// The current time on the clock the timer layer uses: tokio's (which may be paused) inside a
/// Tokio runtime with the `tokio` feature, else the std clock.
fn now() -> Instant {
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        return tokio::time::Instant::now().into_std();
    }
    Instant::now()
}

pin_project! {
    /// Future for the [`timeout_scope()`] and [`timeout_scope_at()`] functions.
    ///
    /// Output: `Ok` with the body's output, or `Err(TimeoutError)` once the (possibly moved)
    /// deadline has passed; the body has then already been dropped. Each poll polls the body,
    /// then (if it is still pending) the deadline, as [`WaitFor`] does.
    ///
    /// # Panics
    ///
    /// Polling it again after it has completed panics; [`FusedFuture::is_terminated`] tells
    /// whether it has.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::future::FusedFuture;
    /// # futures::executor::block_on(async {
    /// let mut scope = std::pin::pin!(aiokit::timeout_scope(None, |_cm| async { 7 }));
    /// assert_eq!(scope.as_mut().await, Ok(7));
    /// assert!(scope.is_terminated());
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct TimeoutScope<F> {
        #[pin]
        inner: WaitFor<F, ScopeDeadline>,
        handle: TimeoutHandle,
    }
}

impl<F> TimeoutScope<F> {
    /// A handle on this scope's deadline, the same the body was given: keep one to read
    /// [`expired`](TimeoutHandle::expired) once the scope has ended.
    ///
    /// # Examples
    ///
    /// See [`timeout_scope`].
    pub fn handle(&self) -> TimeoutHandle {
        self.handle.clone()
    }
}

impl<F: Future> Future for TimeoutScope<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

impl<F: Future> FusedFuture for TimeoutScope<F> {
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<F> fmt::Debug for TimeoutScope<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutScope")
            .field("handle", &self.handle)
            .finish()
    }
}

/// The deadline of a [`timeout_scope`], to read and move while the scope runs (asyncio's
/// `asyncio.Timeout`, the `cm` of `async with asyncio.timeout(delay) as cm`).
///
/// Cloning it is cheap (a reference count); every clone speaks of the same scope, from any
/// thread. A scope is *active* from its creation until it ends: *expired* when its deadline
/// fired (it returned `Err(TimeoutError)`), *finished* when its body completed first or the
/// scope was dropped.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # futures::executor::block_on(async {
/// let scope = aiokit::timeout_scope(Duration::ZERO, |_cm| futures::future::pending::<()>());
/// let cm = scope.handle();
/// assert!(scope.await.is_err());
/// assert!(cm.expired());
/// assert_eq!(
///     cm.reschedule(None).unwrap_err().reason(),
///     "cannot reschedule an expired timeout"
/// );
/// assert_eq!(format!("{cm:?}"), "TimeoutHandle { state: \"expired\" }");
/// # });
/// ```
#[derive(Clone)]
pub struct TimeoutHandle {
    shared: Arc<Shared>,
}

struct Shared {
    // Holds plain data only: no waker, no user value is touched while it is locked.
    state: Mutex<ScopeState>,
    // The scope's task, woken when the deadline moves.
    waker: AtomicWaker,
}

struct ScopeState {
    when: Option<Instant>,
    // Bumped by each reschedule, so the deadline future knows its timer is stale.
    generation: u64,
    phase: Phase,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Active,
    Expired,
    Finished,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ScopeState> {
        // Nothing that can panic runs under the lock, so poisoning cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TimeoutHandle {
    /// The current deadline, `None` for none (asyncio's `Timeout.when()`).
    ///
    /// It is an instant on the timer's clock; under tokio's paused clock, compare it with
    /// `tokio::time::Instant::now().into_std()`.
    ///
    /// # Examples
    ///
    /// See [`timeout_scope_at`].
    pub fn when(&self) -> Option<Instant> {
        self.shared.lock().when
    }

    /// Moves the deadline to `when`, or removes it with `None` (asyncio's
    /// `Timeout.reschedule(when)`).
    ///
    /// The scope's task is woken, so the new deadline is in force at once: an earlier one
    /// fires as soon as it is due, a later one keeps the scope running, a past one fires at
    /// the scope's next poll that finds the body still pending (in asyncio: at the body's next
    /// suspension point). A body that reschedules to the past and then completes without
    /// suspending completes normally, as in asyncio.
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] once the scope has ended (asyncio's `RuntimeError`): "cannot
    /// reschedule an expired timeout" or "cannot reschedule a finished timeout". Nothing
    /// changes then.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # futures::executor::block_on(async {
    /// let scope = aiokit::timeout_scope(Duration::from_secs(60), |cm| async move {
    ///     cm.reschedule(None).unwrap();
    ///     cm.when()
    /// });
    /// let cm = scope.handle();
    /// assert_eq!(scope.await, Ok(None));
    /// let err = cm.reschedule(None).unwrap_err();
    /// assert_eq!(err.reason(), "cannot reschedule a finished timeout");
    /// # });
    /// ```
    pub fn reschedule(&self, when: impl Into<Option<Instant>>) -> Result<(), InvalidStateError> {
        {
            let mut state = self.shared.lock();
            match state.phase {
                Phase::Active => {}
                Phase::Expired => {
                    return Err(InvalidStateError::new(
                        "cannot reschedule an expired timeout",
                    ));
                }
                Phase::Finished => {
                    return Err(InvalidStateError::new(
                        "cannot reschedule a finished timeout",
                    ));
                }
            }
            state.when = when.into();
            state.generation = state.generation.wrapping_add(1);
        }
        self.shared.waker.wake();
        Ok(())
    }

    /// Moves the deadline to `delay` from now on the timer's clock (tokio's, which tests may
    /// pause, inside a Tokio runtime), or removes it with `None`: asyncio's
    /// `cm.reschedule(loop.time() + delay)`. A delay too large for [`Instant`] removes it.
    ///
    /// # Errors
    ///
    /// As [`reschedule`](Self::reschedule).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # futures::executor::block_on(async {
    /// let scope = aiokit::timeout_scope(None, |cm| async move {
    ///     cm.reschedule_after(Duration::from_millis(1)).unwrap();
    ///     futures::future::pending::<()>().await
    /// });
    /// assert!(scope.await.is_err());
    /// # });
    /// ```
    pub fn reschedule_after(
        &self,
        delay: impl Into<Option<Duration>>,
    ) -> Result<(), InvalidStateError> {
        self.reschedule(delay.into().and_then(|delay| now().checked_add(delay)))
    }

    /// Whether the deadline fired, so that the scope returned `Err(TimeoutError)` (asyncio's
    /// `Timeout.expired()`). It stays `false` for a scope whose body completed first or that
    /// was dropped.
    ///
    /// # Examples
    ///
    /// See [`TimeoutHandle`].
    pub fn expired(&self) -> bool {
        self.shared.lock().phase == Phase::Expired
    }
}

impl fmt::Debug for TimeoutHandle {
    /// `TimeoutHandle { state: "active", when: Some(..) }` while the scope runs (asyncio's
    /// `<Timeout [active] when=..>`), `TimeoutHandle { state: "expired" }` or `"finished"`
    /// once it has ended.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (phase, when) = {
            let state = self.shared.lock();
            (state.phase, state.when)
        };
        let mut out = f.debug_struct("TimeoutHandle");
        match phase {
            Phase::Active => out.field("state", &"active").field("when", &when),
            Phase::Expired => out.field("state", &"expired"),
            Phase::Finished => out.field("state", &"finished"),
        };
        out.finish()
    }
}

pin_project! {
    /// The deadline a scope's `WaitFor` waits on: a timer remade whenever the deadline moves.
    pub(crate) struct ScopeDeadline {
        #[pin]
        sleep: Option<Sleep>,
        // The generation `sleep` was made for; `None` before the first poll.
        seen: Option<u64>,
        guard: EndOnDrop,
    }
}

/// Ends the scope when its deadline future goes, which `WaitFor` drops as soon as it
/// completes either way (or when the scope itself is dropped).
struct EndOnDrop(Arc<Shared>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        {
            let mut state = self.0.lock();
            if state.phase == Phase::Active {
                state.phase = Phase::Finished;
            }
        }
        // A handle kept to read `expired()` must not keep the scope's task alive through its
        // waker.
        drop(self.0.waker.take());
    }
}

impl Future for ScopeDeadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let shared = &this.guard.0;
        // Registered before the deadline is read, so a reschedule after the read wakes us.
        shared.waker.register(cx.waker());
        loop {
            let (when, generation) = {
                let state = shared.lock();
                (state.when, state.generation)
            };
            if *this.seen != Some(generation) {
                this.sleep.set(when.map(sleep_until));
                *this.seen = Some(generation);
            }
            let Some(sleep) = this.sleep.as_mut().as_pin_mut() else {
                return Poll::Pending;
            };
            if sleep.poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The timer fired; it counts only if the deadline did not move meanwhile.
            let mut state = shared.lock();
            if state.generation == generation {
                state.phase = Phase::Expired;
                return Poll::Ready(());
            }
        }
    }
}
