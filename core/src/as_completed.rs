//! `as_completed`: the children's outputs as a stream, in completion order (asyncio's
//! `for coro in as_completed(aws)`).

use alloc::boxed::Box;
use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use crate::TimeoutError;
use crate::engine::{Drive, Step};
use crate::pending::{IntoChildren, Pending};
use crate::wait::NoDeadline;

cfg_timer! {
    use core::time::Duration;

    use crate::timer::{Sleep, sleep};
}

/// Runs `children` concurrently and yields their outputs in the order they complete (asyncio's
/// `as_completed(aws)`).
///
/// Each child's output comes out exactly once; empty input gives a stream that ends at once.
/// [`indexed`](AsCompleted::indexed) yields `(index, output)` pairs instead, the index being
/// the child's original position (asyncio 3.13 yields the original tasks).
///
/// The stream can be resumed: stop reading it (`break` out of a `while let` over `&mut
/// stream`), read it again later, and it yields the rest. `children` may also be the
/// [`Pending`] set of an earlier [`wait`](crate::wait()), taken over with no rebuild.
///
/// [`timeout`](AsCompleted::timeout) / [`deadline`](AsCompleted::deadline) bound it in time:
/// the stream then yields `Result`s, one `Err(TimeoutError)` when time is up, then ends;
/// [`into_pending`](AsCompleted::into_pending) gives back the children that did not finish,
/// never cancelled.
///
/// Children are polled in place, inside the task that polls the stream, as by
/// [`gather`](crate::gather()); each poll polls only the children that were woken.
///
/// # Examples
///
/// ```
/// use futures::{channel::oneshot, StreamExt};
/// # futures::executor::block_on(async {
/// let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel::<&str>()).unzip();
/// let mut cups = aiokit::as_completed(rxs);
/// for (tx, tea) in txs.into_iter().zip(["green", "black", "oolong"]).rev() {
///     tx.send(tea).unwrap();
///     assert_eq!(cups.next().await, Some(Ok(tea))); // in the order they were sent
/// }
/// assert_eq!(cups.next().await, None);
/// # });
/// ```
///
/// # Panics
///
/// A child's panic propagates out of `poll_next`; the other children are dropped as the stream
/// unwinds.
///
/// # Cancel safety
///
/// Each output is handed out by the `poll_next` that yields it and never held back, so
/// `next()` in a `select!` loses nothing. Dropping the stream drops every child still running,
/// reporting no never-polled [`Coroutine`](crate::Coroutine) as never awaited (they were
/// handed over on purpose, see [`set_never_awaited_hook`](crate::hooks::set_never_awaited_hook));
/// [`into_pending`](AsCompleted::into_pending) keeps them.
pub fn as_completed<C: IntoChildren>(children: C) -> AsCompleted<C::Future> {
    let mut pending = children.into_pending();
    // Outputs are taken one per poll: each poll must cost O(children woken), also for few.
    pending.engine_mut().use_queue();
    AsCompleted {
        core: Core::new(pending),
    }
}

/// The state shared by [`AsCompleted`] and [`AsCompletedIndexed`].
struct Core<F: Future, D> {
    pending: Pending<F>,
    /// Boxed, so that the streams are `Unpin` whatever the deadline: a timed stream can be
    /// polled through `&mut` and then given back by value with `into_pending`. One allocation
    /// per `timeout` / `deadline` call, none without a deadline.
    deadline: Option<Pin<Box<D>>>,
    // Set once the stream has ended: every child yielded, or the timeout yielded.
    ended: bool,
}

impl<F: Future, D> Core<F, D> {
    fn new(pending: Pending<F>) -> Self {
        Core {
            pending,
            deadline: None,
            ended: false,
        }
    }

    fn with_deadline<D2>(self, deadline: D2) -> Core<F, D2> {
        Core {
            pending: self.pending,
            deadline: Some(Box::pin(deadline)),
            ended: self.ended,
        }
    }

    fn len(&self) -> usize {
        if self.ended { 0 } else { self.pending.len() }
    }
}

/// The next completion, or the timeout, or the end.
enum Next<T> {
    Item(usize, T),
    TimedOut,
    End,
}

impl<F: Future, D> Core<F, D> {
    /// Polls for the next completion; `deadline` is `None` when there is none.
    fn poll_with<E: Future<Output = ()>>(
        pending: &mut Pending<F>,
        ended: &mut bool,
        deadline: Option<&mut Option<Pin<Box<E>>>>,
        cx: &mut Context<'_>,
    ) -> Poll<Next<F::Output>> {
        if *ended {
            return Poll::Ready(Next::End);
        }
        let mut item = None;
        // One output per call: `Stop` leaves the other woken children queued for the next.
        let drive = pending.drive("aiokit::as_completed", cx, false, |index, out| {
            item = out.take().map(|output| (index, output));
            Step::Stop
        });
        if let Some((index, output)) = item {
            return Poll::Ready(Next::Item(index, output));
        }
        if drive == Drive::AllDone {
            *ended = true;
            return Poll::Ready(Next::End);
        }
        // Children first: one completing in the deadline's poll was yielded above.
        if let Some(deadline) = deadline {
            if let Some(d) = deadline {
                if d.as_mut().poll(cx).is_ready() {
                    *deadline = None;
                    *ended = true;
                    return Poll::Ready(Next::TimedOut);
                }
            }
        }
        Poll::Pending
    }
}

impl<F: Future, D: Future<Output = ()>> Core<F, D> {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Next<F::Output>> {
        Self::poll_with(
            &mut self.pending,
            &mut self.ended,
            Some(&mut self.deadline),
            cx,
        )
    }
}

impl<F: Future> Core<F, NoDeadline> {
    fn poll_plain(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        let none = None::<&mut Option<Pin<Box<core::future::Pending<()>>>>>;
        Self::poll_with(&mut self.pending, &mut self.ended, none, cx).map(|next| match next {
            Next::Item(index, output) => Some((index, output)),
            Next::TimedOut => unreachable!("no deadline"),
            Next::End => None,
        })
    }
}

/// Stream for the [`as_completed()`] function: the children's outputs in completion order.
///
/// With no deadline it yields `F::Output`; after [`timeout`](AsCompleted::timeout) or
/// [`deadline`](AsCompleted::deadline), `Result<F::Output, TimeoutError>`.
///
/// It is `Unpin`, with or without a deadline: read it through `&mut` with its own
/// [`next`](AsCompleted::next) (or `StreamExt::next`), then take the rest back by value with
/// [`into_pending`](AsCompleted::into_pending).
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F: Future, D = NoDeadline> {
    core: Core<F, D>,
}

/// Shared by the two streams: the methods that do not depend on the item type.
macro_rules! common_methods {
    ($name:ident, $example_adapter:literal, $example_items:literal) => {
        impl<F: Future, D> $name<F, D> {
            /// How many children have not been yielded yet (0 once the stream has ended).
            ///
            /// # Examples
            ///
            /// ```
            /// let cups = aiokit::as_completed([1, 2].map(std::future::ready));
            /// assert_eq!(cups.len(), 2);
            /// ```
            pub fn len(&self) -> usize {
                self.core.len()
            }

            /// Whether the stream has nothing more to yield but, with a deadline, its timeout.
            ///
            /// # Examples
            ///
            /// ```
            /// let cups = aiokit::as_completed(Vec::<std::future::Ready<()>>::new());
            /// assert!(cups.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Gives back the children that have not completed, as a [`Pending`] set with their
            /// original indices; none is cancelled. Outputs already yielded are not in it.
            ///
            /// After a timeout, this is how to keep waiting for the rest (or drop them).
            ///
            /// # Examples
            ///
            /// ```
            /// use futures::{future, StreamExt};
            /// # futures::executor::block_on(async {
            /// let children = [future::Either::Left(future::ready(1)), future::Either::Right(future::pending())];
            /// let mut cups = aiokit::as_completed(children);
            /// assert_eq!(cups.next().await, Some(1));
            /// let rest = cups.into_pending();
            /// assert_eq!(rest.indices().collect::<Vec<_>>(), [1]);
            /// # });
            /// ```
            pub fn into_pending(self) -> Pending<F> {
                self.core.pending
            }

            /// The next item, or `None` once the stream has ended: `StreamExt::next` without
            /// the import. Cancel safe, as the stream is (see [`as_completed()`]).
            ///
            /// With `futures::StreamExt` in scope too, this inherent method is the one called;
            /// both yield the same items.
            ///
            /// # Examples
            ///
            /// ```
            /// # futures::executor::block_on(async {
            #[doc = concat!("let mut cups = aiokit::as_completed([\"green\", \"black\"].map(std::future::ready))", $example_adapter, ";")]
            /// let mut served = Vec::new();
            /// while let Some(cup) = cups.next().await {
            ///     served.push(cup);
            /// }
            #[doc = concat!("assert_eq!(served, ", $example_items, ");")]
            /// # });
            /// ```
            // The async form of `StreamExt::next`: the stream is not an `Iterator`.
            #[allow(clippy::should_implement_trait)]
            pub fn next(&mut self) -> impl Future<Output = Option<<Self as Stream>::Item>> + Unpin + '_
            where
                Self: Stream,
            {
                core::future::poll_fn(move |cx| Pin::new(&mut *self).poll_next(cx))
            }
        }

        cfg_timer! {
            impl<F: Future> $name<F> {
                /// Ends the stream after `timeout` with one `Err(`[`TimeoutError`]`)` if children
                /// are still running then (asyncio's `as_completed(aws, timeout=...)`); the items
                /// become `Result`s. Nothing is cancelled: [`into_pending`](Self::into_pending)
                /// gives the unfinished children back.
                ///
                /// The deadline is `now + timeout`, taken when this is called; the timer is a
                /// [`Sleep`], so this needs a timer feature.
                ///
                /// # Examples
                ///
                /// ```
                /// use std::time::Duration;
                /// use futures::future::{pending, ready, Either};
                /// # futures::executor::block_on(async {
                /// let children = [Either::Left(ready(1)), Either::Right(pending())];
                /// let mut cups = aiokit::as_completed(children).timeout(Duration::from_millis(1));
                /// assert_eq!(cups.next().await, Some(Ok(1)));
                /// assert_eq!(cups.next().await, Some(Err(aiokit::TimeoutError::new())));
                /// assert_eq!(cups.next().await, None);
                /// # });
                /// ```
                ///
                /// The timed stream is `Unpin` like the plain one: read some of it, stop, and take
                /// the rest back.
                ///
                /// ```
                /// use std::time::Duration;
                /// use futures::future::{pending, ready, Either};
                /// # futures::executor::block_on(async {
                /// let children = [Either::Left(ready(1)), Either::Right(pending()), Either::Left(ready(3))];
                /// let mut cups = aiokit::as_completed(children).timeout(Duration::from_secs(60));
                /// while let Some(cup) = cups.next().await {
                ///     if cup == Ok(1) {
                ///         break; // enough for now
                ///     }
                /// }
                /// let mut rest = cups.into_pending();
                /// assert_eq!(rest.indices().collect::<Vec<_>>(), [1, 2]);
                /// rest.cancel(1);
                /// assert_eq!(aiokit::gather(rest).await, [3]);
                /// # });
                /// ```
                ///
                /// # Panics
                ///
                /// As [`sleep()`](crate::sleep): with only the `tokio` timer feature, outside a
                /// Tokio runtime.
                pub fn timeout(self, timeout: Duration) -> $name<F, Sleep> {
                    self.deadline(sleep(timeout))
                }
            }
        }

        impl<F: Future> $name<F> {
            /// Ends the stream when `deadline` completes, with one `Err(`[`TimeoutError`]`)`
            /// if children are still running then; the items become `Result`s. Each poll polls
            /// the children first, so a child completing in the deadline's poll is yielded
            /// before the error. Nothing is cancelled. Needs no timer feature.
            ///
            /// # Examples
            ///
            /// ```
            /// use futures::{channel::oneshot, future, FutureExt, StreamExt};
            /// # futures::executor::block_on(async {
            /// let (fire, fired) = oneshot::channel::<()>();
            /// let mut cups = aiokit::as_completed([future::pending::<u8>()]).deadline(fired.map(drop));
            /// fire.send(()).unwrap();
            /// assert_eq!(cups.next().await, Some(Err(aiokit::TimeoutError::new())));
            /// assert_eq!(cups.next().await, None);
            /// # });
            /// ```
            pub fn deadline<D>(self, deadline: D) -> $name<F, D::IntoFuture>
            where
                D: IntoFuture<Output = ()>,
            {
                $name {
                    core: self.core.with_deadline(deadline.into_future()),
                }
            }
        }

        impl<F: Future, D> fmt::Debug for $name<F, D> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("pending", &self.core.pending)
                    .field("has_deadline", &self.core.deadline.is_some())
                    .field("ended", &self.core.ended)
                    .finish()
            }
        }

        impl<F: Future> FusedStream for $name<F> {
            fn is_terminated(&self) -> bool {
                self.core.ended
            }
        }

        impl<F: Future, D: Future<Output = ()>> FusedStream for $name<F, D> {
            fn is_terminated(&self) -> bool {
                self.core.ended
            }
        }
    };
}

common_methods!(AsCompleted, "", r#"["green", "black"]"#);
common_methods!(
    AsCompletedIndexed,
    ".indexed()",
    r#"[(0, "green"), (1, "black")]"#
);

impl<F: Future> AsCompleted<F> {
    /// Yields `(index, output)` pairs, the index being the child's original position.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// # futures::executor::block_on(async {
    /// let cups: Vec<_> = aiokit::as_completed(["green", "black"].map(std::future::ready))
    ///     .indexed()
    ///     .collect()
    ///     .await;
    /// assert_eq!(cups, [(0, "green"), (1, "black")]);
    /// # });
    /// ```
    pub fn indexed(self) -> AsCompletedIndexed<F> {
        AsCompletedIndexed { core: self.core }
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.get_mut()
            .core
            .poll_plain(cx)
            .map(|next| next.map(|(_, output)| output))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<F: Future, D: Future<Output = ()>> Stream for AsCompleted<F, D> {
    type Item = Result<F::Output, TimeoutError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().core.poll_next(cx).map(|next| match next {
            Next::Item(_, output) => Some(Ok(output)),
            Next::TimedOut => Some(Err(TimeoutError::new())),
            Next::End => None,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Plus one `Err` if time runs out first.
        let len = self.len();
        (usize::from(len > 0), Some(len + usize::from(len > 0)))
    }
}

/// Stream for [`AsCompleted::indexed`]: `(index, output)` in completion order.
///
/// With no deadline it yields `(usize, F::Output)`; after
/// [`timeout`](AsCompletedIndexed::timeout) or [`deadline`](AsCompletedIndexed::deadline),
/// `Result<(usize, F::Output), TimeoutError>`.
///
/// # Examples
///
/// ```
/// use futures::{future, StreamExt};
/// # futures::executor::block_on(async {
/// let children = [future::Either::Left(future::pending()), future::Either::Right(future::ready('b'))];
/// let mut cups = aiokit::as_completed(children).indexed();
/// assert_eq!(cups.next().await, Some((1, 'b')));
/// # });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompletedIndexed<F: Future, D = NoDeadline> {
    core: Core<F, D>,
}

impl<F: Future> Stream for AsCompletedIndexed<F> {
    type Item = (usize, F::Output);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().core.poll_plain(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<F: Future, D: Future<Output = ()>> Stream for AsCompletedIndexed<F, D> {
    type Item = Result<(usize, F::Output), TimeoutError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().core.poll_next(cx).map(|next| match next {
            Next::Item(index, output) => Some(Ok((index, output))),
            Next::TimedOut => Some(Err(TimeoutError::new())),
            Next::End => None,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.len();
        (usize::from(len > 0), Some(len + usize::from(len > 0)))
    }
}
