//! `Pending`, the live set of children that `wait` hands back, and `IntoChildren`, which lets
//! `gather`, `wait` and `as_completed` take either an iterator of futures or such a set.

use core::fmt;
use core::future::Future;

use crate::engine::{Drive, Engine, State, Step};
use crate::names::ChildNames;

/// The children still running after a [`wait`](crate::wait()) (asyncio's `pending` set), or
/// given back by [`AsCompleted::into_pending`](crate::AsCompleted::into_pending).
///
/// It is the live set itself, not a copy: the children stay where they are, keep their
/// original indices and keep the wake-ups they already received. Passing it to
/// [`wait`](crate::wait()), [`gather`](crate::gather()) or [`as_completed`](crate::as_completed())
/// again rebuilds nothing, so a loop of `wait(.., ReturnWhen::FirstCompleted)` over N children
/// costs O(N) in total.
///
/// A `Pending` does not poll its children by itself: they make progress only while a `wait`,
/// `gather` or `as_completed` drives them (what they were woken for is remembered meanwhile).
///
/// Dropping it drops (cancels) every child still in it. Those children were handed to aiokit
/// on purpose, so a never-polled [`Coroutine`](crate::Coroutine) among them is not reported as
/// never awaited.
///
/// # Examples
///
/// ```
/// use aiokit::{wait, ReturnWhen};
/// use futures::future;
/// # futures::executor::block_on(async {
/// let children = vec![future::Either::Left(future::ready(1)), future::Either::Right(future::pending())];
/// let (done, pending) = wait(children, ReturnWhen::FirstCompleted).await;
/// assert_eq!((done[0].index, done[0].output), (0, 1));
/// assert_eq!(pending.len(), 1);
/// assert_eq!(pending.indices().collect::<Vec<_>>(), [1]);
/// drop(pending); // cancels child 1
/// # });
/// ```
pub struct Pending<F: Future> {
    engine: Engine<F>,
    /// The names of the children heard so far (see `names`).
    names: ChildNames,
}

impl<F: Future> Pending<F> {
    pub(crate) fn from_engine(engine: Engine<F>) -> Self {
        Pending {
            engine,
            names: ChildNames::new(),
        }
    }

    pub(crate) fn into_parts(self) -> (Engine<F>, ChildNames) {
        (self.engine, self.names)
    }

    pub(crate) fn engine_mut(&mut self) -> &mut Engine<F> {
        &mut self.engine
    }

    /// Drives the children, learning their names (see [`Engine::poll_drive`], and
    /// [`Engine::poll_drive_settling`] for `settle`).
    #[inline]
    pub(crate) fn drive<C>(
        &mut self,
        combinator: &'static str,
        cx: &mut core::task::Context<'_>,
        settle: bool,
        on_done: C,
    ) -> Drive
    where
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        self.names
            .drive(combinator, &mut self.engine, cx, settle, on_done)
    }

    /// See [`Engine::idle`].
    #[inline]
    pub(crate) fn idle(&self, cx: &mut core::task::Context<'_>) -> bool {
        self.engine.idle(cx)
    }

    /// The name of child `index`, if one was heard.
    #[cfg(feature = "inspect")]
    pub(crate) fn name(&self, index: usize) -> Option<&'static str> {
        self.names.get(index)
    }

    /// How many children are still running (asyncio's `len(pending)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pending = aiokit::wait::IntoChildren::into_pending([1, 2].map(std::future::ready));
    /// assert_eq!(pending.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.engine.running()
    }

    /// Whether no child is running any more.
    ///
    /// # Examples
    ///
    /// ```
    /// let pending = aiokit::wait::IntoChildren::into_pending(Vec::<std::future::Ready<()>>::new());
    /// assert!(pending.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.engine.running() == 0
    }

    /// The original indices of the children still running, in increasing order.
    ///
    /// This scans every index ever given out, so it costs O(total children); `len` is O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut pending = aiokit::wait::IntoChildren::into_pending([1, 2, 3].map(std::future::ready));
    /// pending.cancel(1);
    /// assert_eq!(pending.indices().collect::<Vec<_>>(), [0, 2]);
    /// ```
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.engine.len()).filter(|&i| self.engine.state(i) == State::Running)
    }

    /// The child of original index `index`, if it is still running (to inspect it, for
    /// example its name through [`Coroutine::name`](crate::Coroutine::name)).
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::Coroutine;
    /// let pending = aiokit::wait::IntoChildren::into_pending([Coroutine::new("brew", async {})]);
    /// assert_eq!(pending.get(0).map(Coroutine::name), Some("brew"));
    /// assert!(pending.get(1).is_none());
    /// # aiokit::coroutine::suppress_never_awaited(|| drop(pending));
    /// ```
    pub fn get(&self, index: usize) -> Option<&F> {
        if index < self.engine.len() {
            self.engine.child(index)
        } else {
            None
        }
    }

    /// Drops (cancels) the child of original index `index` if it is still running, and returns
    /// whether it was. A cancelled child never shows up in a later `done` or stream, and is not
    /// a failure for [`ReturnWhen::FirstException`](crate::ReturnWhen::FirstException).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut pending = aiokit::wait::IntoChildren::into_pending([1, 2].map(std::future::ready));
    /// assert!(pending.cancel(0));
    /// assert!(!pending.cancel(0));
    /// assert!(!pending.cancel(7));
    /// # futures::executor::block_on(async {
    /// assert_eq!(aiokit::gather(pending).await, [2]);
    /// # });
    /// ```
    pub fn cancel(&mut self, index: usize) -> bool {
        // The engine's cancel is on purpose: it does not report never-awaited coroutines.
        index < self.engine.len() && self.engine.cancel(index)
    }
}

/// Lists the children by name and state, as every combinator does (see
/// `docs/semantics.md#debug-output-of-the-combinators`): `Pending { running: 1, children:
/// [make_tea<pending>, <future #1><done>] }`.
impl<F: Future> fmt::Debug for Pending<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("running", &self.engine.running())
            .field("children", &self.names.debug_children(&self.engine))
            .finish()
    }
}

/// Children for [`gather`](crate::gather()), [`wait`](crate::wait()) and
/// [`as_completed`](crate::as_completed()): any `IntoIterator` of futures (indexed in iteration
/// order), or a [`Pending`] set that an earlier `wait` returned (which keeps its indices and is
/// taken over as it is, with no rebuild).
///
/// # Examples
///
/// ```
/// use aiokit::wait::IntoChildren;
/// # futures::executor::block_on(async {
/// // An iterator, once collected, is a `Pending` set like any other.
/// let pending = (1..=3).map(|i| async move { i * 10 }).into_pending();
/// assert_eq!(aiokit::gather(pending).await, [10, 20, 30]);
/// # });
/// ```
pub trait IntoChildren {
    /// The children's future type.
    type Future: Future;

    /// The children as a live set; nothing is polled yet.
    fn into_pending(self) -> Pending<Self::Future>;
}

impl<I> IntoChildren for I
where
    I: IntoIterator,
    I::Item: Future,
{
    type Future = I::Item;

    fn into_pending(self) -> Pending<I::Item> {
        Pending::from_engine(Engine::from_iter(self))
    }
}

impl<F: Future> IntoChildren for Pending<F> {
    type Future = F;

    fn into_pending(self) -> Pending<F> {
        self
    }
}
