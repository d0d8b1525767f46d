//! `staggered_race`: attempts started one after another, the first success wins (asyncio's
//! `asyncio.staggered.staggered_race`, the core of Happy Eyeballs).

use alloc::vec::Vec;
use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::Duration;

use futures_core::future::FusedFuture;
use pin_project_lite::pin_project;

use crate::engine::{Engine, Step};
use crate::timer::{Sleep, sleep};

/// Runs `attempts` with staggered starts and takes the first to succeed (asyncio's
/// `staggered_race(coro_fns, delay)`, the Happy Eyeballs algorithm of RFC 8305).
///
/// The first attempt starts at the first poll. From then on, the next attempt starts as soon
/// as the attempt started last fails (returns `Err`) or `delay` has passed since it started,
/// whichever comes first; with `delay = None` an attempt starts only when the one before it
/// has failed, so they run one after another. The race ends with the first attempt that
/// returns `Ok`: every other attempt still running is dropped (cancelled) and no further one
/// is started. If every attempt fails, the race ends once the last has failed.
///
/// `attempts` is advanced only when an attempt starts, so an iterator such as
/// `addrs.iter().map(|addr| connect(addr))` builds each attempt at its start time, as asyncio
/// calls its coroutine functions; attempts are polled in place, in the task that awaits the
/// race (nothing is spawned).
///
/// The output is a [`RaceOutcome`]: the winner's index and value (asyncio's `winner_index`
/// and `winner_result`), one error slot per attempt started (asyncio's `exceptions`), and the
/// values of attempts that succeeded in the same poll as the winner.
///
/// Where aiokit differs from asyncio:
/// - Ties: when several attempts succeed during the same poll of the race, the one that
///   started first wins (the preferred one, in Happy Eyeballs terms) and the others' values
///   are handed back in [`RaceOutcome::extra`] instead of being thrown away, so a connection
///   that opened too late can still be closed or pooled. asyncio cancels such an attempt
///   and loses its value.
/// - A loser dropped because another attempt won has `None` in
///   [`errors`](RaceOutcome::errors) (asyncio stores a `CancelledError` there).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// async fn connect(addr: &str) -> Result<String, String> {
///     match addr {
///         "[::1]:80" => Err("network unreachable".to_string()),
///         _ => Ok(format!("connected to {addr}")),
///     }
/// }
///
/// # futures::executor::block_on(async {
/// let addrs = ["[::1]:80", "127.0.0.1:80", "10.0.0.1:80"];
/// let race = aiokit::staggered_race(addrs.map(connect), Duration::from_millis(250)).await;
/// // The IPv6 attempt failed at once, which started the IPv4 one; the third never started.
/// assert_eq!(race.winner, Some((1, "connected to 127.0.0.1:80".to_string())));
/// assert_eq!(race.errors, [Some("network unreachable".to_string()), None]);
/// assert!(race.extra.is_empty());
/// # });
/// ```
///
/// # Panics
///
/// As [`sleep()`](crate::sleep) when `delay` is `Some`: with only the `tokio` timer feature,
/// outside a Tokio runtime. A panicking attempt unwinds through the race, which drops every
/// other attempt on the way.
///
/// # Cancel safety
///
/// Dropping the race drops every attempt still running; attempts not started yet are never
/// built.
pub fn staggered_race<I, T, E>(
    attempts: I,
    delay: impl Into<Option<Duration>>,
) -> StaggeredRace<I::IntoIter, T, E>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    let attempts = attempts.into_iter();
    let running = Engine::with_capacity(attempts.size_hint().0.min(crate::engine::DIRECT_MAX));
    StaggeredRace {
        attempts: Some(attempts),
        running,
        delay: delay.into(),
        timer: None,
        start_next: true,
        latest: None,
        errors: Vec::new(),
        done: false,
    }
}

/// The outcome of a [`staggered_race`] (asyncio's `(winner_result, winner_index,
/// exceptions)`).
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let attempts = [Err("refused"), Err("timed out")].map(std::future::ready::<Result<(), _>>);
/// let race = aiokit::staggered_race(attempts, None).await;
/// assert_eq!(race.winner, None);
/// assert_eq!(race.errors, [Some("refused"), Some("timed out")]);
/// assert_eq!(race.into_errors().collect::<Vec<_>>(), ["refused", "timed out"]);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaceOutcome<T, E> {
    /// The index of the winning attempt and its value; `None` if no attempt succeeded.
    pub winner: Option<(usize, T)>,
    /// One slot per attempt started, in start order: the attempt's error if it failed, `None`
    /// for the winner, for an attempt that succeeded too late (in [`extra`](Self::extra)) and
    /// for an attempt dropped because another won.
    pub errors: Vec<Option<E>>,
    /// Attempts that succeeded in the same poll as the winner but started after it, with
    /// their index, in index order: their values, to clean up. Usually empty.
    pub extra: Vec<(usize, T)>,
}

impl<T, E> RaceOutcome<T, E> {
    /// The errors of the attempts that failed, in start order.
    ///
    /// # Examples
    ///
    /// See [`RaceOutcome`].
    pub fn into_errors(self) -> impl Iterator<Item = E> {
        self.errors.into_iter().flatten()
    }
}

pin_project! {
    /// Future for the [`staggered_race()`] function.
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
    /// let attempts = [std::future::ready(Ok::<_, ()>(1))];
    /// let mut race = std::pin::pin!(aiokit::staggered_race(attempts, None));
    /// assert_eq!(race.as_mut().await.winner, Some((0, 1)));
    /// assert!(race.is_terminated());
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct StaggeredRace<I, T, E>
    where
        I: Iterator<Item: IntoFuture<Output = Result<T, E>>>,
    {
        // `None` once exhausted, so it is never advanced past its end.
        attempts: Option<I>,
        running: Engine<<I::Item as IntoFuture>::IntoFuture>,
        delay: Option<Duration>,
        // Fires `delay` after the latest start; `None` without a delay or attempts to start.
        #[pin]
        timer: Option<Sleep>,
        // The latest attempt failed or its delay passed: start the next one.
        start_next: bool,
        // Index of the attempt started last.
        latest: Option<usize>,
        errors: Vec<Option<E>>,
        done: bool,
    }
}

impl<I, T, E> Future for StaggeredRace<I, T, E>
where
    I: Iterator<Item: IntoFuture<Output = Result<T, E>>>,
{
    type Output = RaceOutcome<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(!*this.done, "`StaggeredRace` polled after completion");
        loop {
            // One pass over the attempts that need a poll. Every success of the pass is kept:
            // the earliest-started one wins, the others are extra.
            let mut winner: Option<(usize, T)> = None;
            let mut extra = Vec::new();
            let latest = *this.latest;
            let (errors, start_next) = (&mut *this.errors, &mut *this.start_next);
            this.running.poll_drive(cx, |index, output| {
                match output.take().expect("the engine hands over each output") {
                    Ok(value) => match &winner {
                        Some((best, _)) if *best < index => extra.push((index, value)),
                        _ => {
                            if let Some(beaten) = winner.replace((index, value)) {
                                extra.push(beaten);
                            }
                        }
                    },
                    Err(error) => {
                        errors[index] = Some(error);
                        if Some(index) == latest {
                            *start_next = true;
                        }
                    }
                }
                Step::Continue
            });
            if winner.is_some() {
                // The losers go now, before the winner is handed out.
                this.running.cancel_all();
                *this.done = true;
                this.timer.set(None);
                this.attempts.take();
                extra.sort_unstable_by_key(|(index, _)| *index);
                return Poll::Ready(RaceOutcome {
                    winner,
                    errors: core::mem::take(this.errors),
                    extra,
                });
            }
            if !*this.start_next {
                if let Some(timer) = this.timer.as_mut().as_pin_mut() {
                    *this.start_next = timer.poll(cx).is_ready();
                }
            }
            if *this.start_next {
                *this.start_next = false;
                match this.attempts.as_mut().and_then(Iterator::next) {
                    Some(attempt) => {
                        let index = this.running.push(attempt.into_future());
                        this.errors.push(None);
                        *this.latest = Some(index);
                        this.timer.set(this.delay.map(sleep));
                        // Polled at once, in the next pass.
                        continue;
                    }
                    None => {
                        this.attempts.take();
                        this.timer.set(None);
                    }
                }
            }
            if this.running.running() == 0 && this.attempts.is_none() {
                *this.done = true;
                return Poll::Ready(RaceOutcome {
                    winner: None,
                    errors: core::mem::take(this.errors),
                    extra: Vec::new(),
                });
            }
            return Poll::Pending;
        }
    }
}

impl<I, T, E> FusedFuture for StaggeredRace<I, T, E>
where
    I: Iterator<Item: IntoFuture<Output = Result<T, E>>>,
{
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<I, T, E> fmt::Debug for StaggeredRace<I, T, E>
where
    I: Iterator<Item: IntoFuture<Output = Result<T, E>>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaggeredRace")
            .field("started", &self.errors.len())
            .field("running", &self.running.running())
            .field(
                "failed",
                &self.errors.iter().filter(|e| e.is_some()).count(),
            )
            .field("done", &self.done)
            .finish()
    }
}
