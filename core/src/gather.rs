//! `gather` and `try_gather`: run many futures at once, results in input order.

use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::{FusedFuture, TryFuture};

use crate::engine::{Drive, Engine, Step};
use crate::names::ChildNames;
use crate::pending::IntoChildren;

/// Runs every future of `iter` concurrently and returns their outputs in input order
/// (asyncio's `gather(*aws)`).
///
/// The children are polled in place, inside the task that awaits the `Gather`: nothing is
/// spawned, so they may borrow from the caller and need not be `Send`. Each poll of the
/// `Gather` polls only the children that were woken (all of them on the first poll).
///
/// asyncio's `return_exceptions=True` is this function over futures whose output is a
/// `Result`: every outcome comes back, in order. To stop at the first error instead, use
/// [`try_gather`]. For a fixed set of futures of different types, use [`gather!`](crate::gather!).
///
/// Empty input gives a future that is ready at once with `vec![]`.
///
/// `iter` may also be the [`Pending`](crate::Pending) set of an earlier
/// [`wait`](crate::wait()): the `Gather` takes it over as it is and returns the outputs of the
/// children still running in it, in the order of their original indices.
///
/// # Cancellation
///
/// Dropping the `Gather` drops every child it still holds (asyncio cancels them). Polled or not,
/// that reports no never-polled [`Coroutine`](crate::Coroutine) as never awaited: the children
/// were handed over on purpose (see [`set_never_awaited_hook`](crate::hooks::set_never_awaited_hook)).
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let teas = ["green", "black", "oolong"].map(|name| async move { format!("{name} tea") });
/// let cups = aiokit::gather(teas).await;
/// assert_eq!(cups, ["green tea", "black tea", "oolong tea"]);
/// # });
/// ```
///
/// asyncio's `gather(...)` is a Future that is already scheduled, with `add_done_callback`.
/// A `Gather` is a plain future that runs when awaited; make it a [`Task`](crate::Task) to
/// get the callbacks: [`create_task`](crate::create_task)`(gather(..))` on the running loop
/// (feature `event-loop`), or [`spawn_task`](crate::spawn_task)`(&spawner, gather(..))` on any
/// executor. The callback runs once every child is done and sees the outputs in input order:
///
/// ```
/// use aiokit::{Task, gather};
///
/// // asyncio: def mix(future): print('Mixing the %s together.' % ' and '.join(future.result()))
/// fn mix(future: &Task<Vec<String>>) {
///     println!("Mixing the {} together.", future.result().unwrap().join(" and "));
/// }
///
/// async fn make_tea(variety: &str) -> String {
///     format!("{variety} tea")
/// }
///
/// // asyncio: meta_task = asyncio.gather(make_tea('herbal'), make_tea('green'))
/// //          meta_task.add_done_callback(mix)
/// let teas = aiokit::run(async {
///     let meta_task = aiokit::create_task(gather([make_tea("herbal"), make_tea("green")]));
///     meta_task.add_done_callback(mix);
///     meta_task.await
/// });
/// assert_eq!(teas.unwrap(), ["herbal tea", "green tea"]);
///
/// // The same on any executor, here futures' `LocalPool` (feature `futures-executor`):
/// let mut pool = futures::executor::LocalPool::new();
/// let meta_task = aiokit::spawn_local_task(&pool.spawner(), gather([make_tea("mint"), make_tea("black")]));
/// meta_task.add_done_callback(mix);
/// pool.run();
/// assert!(meta_task.done());
/// ```
///
/// # Panics
///
/// A child's panic propagates out of `poll`; the other children are dropped as the `Gather`
/// unwinds. Polling the `Gather` again after it returned its output panics.
///
/// # See also
///
/// [`try_gather`], [`gather!`](crate::gather!), [`wait`](crate::wait()).
pub fn gather<I: IntoChildren>(iter: I) -> Gather<I::Future> {
    let (engine, names) = iter.into_pending().into_parts();
    Gather {
        engine,
        names,
        done: false,
    }
}

/// Future for the [`gather()`] function.
#[must_use = "futures do nothing unless polled"]
pub struct Gather<F: Future> {
    engine: Engine<F>,
    names: ChildNames,
    done: bool,
}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "`Gather` polled after it returned its output");
        match this
            .names
            .drive("aiokit::gather", &mut this.engine, cx, false, |_, _| {
                Step::Continue
            }) {
            Drive::AllDone => {
                this.done = true;
                Poll::Ready(this.engine.take_outputs(|output| output))
            }
            Drive::Pending | Drive::Stopped => Poll::Pending,
        }
    }
}

impl<F: Future> FusedFuture for Gather<F> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_progress(f, "Gather", &self.engine, &self.names, self.done)
    }
}

/// `Name { running, done, children: [name<state>, ...] }`, shared by both gathers (see
/// `docs/semantics.md#debug-output-of-the-combinators`).
fn fmt_progress<F: Future>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    engine: &Engine<F>,
    names: &ChildNames,
    done: bool,
) -> fmt::Result {
    f.debug_struct(name)
        .field("running", &engine.running())
        .field("done", &done)
        .field("children", &names.debug_children(engine))
        .finish()
}

/// Runs every future of `iter` concurrently and returns their `Ok` values in input order, or
/// the first `Err` in completion order (asyncio's `gather(*aws)` when a child raises).
///
/// On the first `Err`, every other child is dropped (cancelled) before the `TryGather` returns
/// the error. asyncio would leave the other children running; Rust has no one to hand them to,
/// so they are cancelled.
///
/// Empty input gives a future that is ready at once with `Ok(vec![])`.
///
/// # Cancellation
///
/// Dropping the `TryGather` drops every child it still holds. Polled or not,
/// that reports no never-polled [`Coroutine`](crate::Coroutine) as never awaited: the children
/// were handed over on purpose (see [`set_never_awaited_hook`](crate::hooks::set_never_awaited_hook)).
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// async fn brew(tea: &str) -> Result<String, String> {
///     if tea == "earl grey" { Err(format!("out of {tea}")) } else { Ok(format!("{tea} tea")) }
/// }
///
/// let ok = aiokit::try_gather([brew("green"), brew("black")]).await;
/// assert_eq!(ok, Ok(vec!["green tea".to_string(), "black tea".to_string()]));
///
/// let err = aiokit::try_gather([brew("green"), brew("earl grey")]).await;
/// assert_eq!(err, Err("out of earl grey".to_string()));
/// # });
/// ```
///
/// # Panics
///
/// As [`gather`]: a child's panic propagates; polling after completion panics.
///
/// # See also
///
/// [`gather`], [`try_gather!`](crate::try_gather!).
pub fn try_gather<I>(iter: I) -> TryGather<I::Item>
where
    I: IntoIterator,
    I::Item: TryFuture,
{
    TryGather {
        engine: Engine::from_iter(iter.into_iter().map(|fut| TryChild { fut })),
        names: ChildNames::new(),
        done: false,
    }
}

pin_project_lite::pin_project! {
    /// A `TryFuture` seen as a `Future` of its `Result`.
    pub(crate) struct TryChild<F> {
        #[pin]
        pub(crate) fut: F,
    }
}

impl<F: TryFuture> Future for TryChild<F> {
    type Output = Result<F::Ok, F::Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().fut.try_poll(cx)
    }
}

/// Future for the [`try_gather()`] function.
#[must_use = "futures do nothing unless polled"]
pub struct TryGather<F: TryFuture> {
    engine: Engine<TryChild<F>>,
    names: ChildNames,
    done: bool,
}

impl<F: TryFuture> Future for TryGather<F> {
    type Output = Result<Vec<F::Ok>, F::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.done,
            "`TryGather` polled after it returned its output"
        );
        let mut error = None;
        let drive = this.names.drive(
            "aiokit::try_gather",
            &mut this.engine,
            cx,
            false,
            |_, out| {
                if matches!(out, Some(Err(_))) {
                    if let Some(Err(e)) = out.take() {
                        error = Some(e);
                    }
                    Step::Stop
                } else {
                    Step::Continue
                }
            },
        );
        if let Some(e) = error {
            this.done = true;
            this.engine.cancel_all();
            return Poll::Ready(Err(e));
        }
        match drive {
            Drive::AllDone => {
                this.done = true;
                Poll::Ready(Ok(this.engine.take_outputs(|output| match output {
                    Ok(value) => value,
                    Err(_) => unreachable!("an error stops the drive"),
                })))
            }
            Drive::Pending | Drive::Stopped => Poll::Pending,
        }
    }
}

impl<F: TryFuture> FusedFuture for TryGather<F> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<F: TryFuture> fmt::Debug for TryGather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_progress(f, "TryGather", &self.engine, &self.names, self.done)
    }
}
