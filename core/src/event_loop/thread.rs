//! Blocking functions on a thread pool: `to_thread` / `run_in_executor`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::backend::Kind;
use super::running_loop;

enum Inner<T> {
    Blocking(blocking::Task<std::thread::Result<T>>),
    #[cfg(feature = "tokio")]
    Tokio(tokio::task::JoinHandle<std::thread::Result<T>>),
}

/// The future of [`to_thread`] and [`EventLoop::run_in_executor`](crate::EventLoop::run_in_executor):
/// the output of a blocking function running on a thread pool.
///
/// Dropping it does not stop a function that has started (a thread cannot be interrupted):
/// its output is dropped when it returns. One that has not started yet may never run: the
/// `blocking` crate's pool drops it, as asyncio cancels an executor job not started; tokio's
/// pool runs it anyway. If the function panics, awaiting this resumes the panic.
#[must_use = "futures do nothing unless polled"]
pub struct ToThread<T> {
    inner: Inner<T>,
}

fn catching<F, T>(f: F) -> impl FnOnce() -> std::thread::Result<T>
where
    F: FnOnce() -> T,
{
    move || catch_unwind(AssertUnwindSafe(f))
}

impl<T: Send + 'static> ToThread<T> {
    pub(crate) fn spawn<F>(kind: Kind, f: F) -> Self
    where
        F: FnOnce() -> T + Send + 'static,
    {
        match kind {
            Kind::Smol => ToThread {
                inner: Inner::Blocking(blocking::unblock(catching(f))),
            },
            #[cfg(feature = "tokio")]
            Kind::Tokio => match tokio::runtime::Handle::try_current() {
                Ok(rt) => ToThread {
                    inner: Inner::Tokio(rt.spawn_blocking(catching(f))),
                },
                Err(_) => ToThread {
                    inner: Inner::Blocking(blocking::unblock(catching(f))),
                },
            },
        }
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn spawn_on(
        rt: &tokio::runtime::Handle,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        ToThread {
            inner: Inner::Tokio(rt.spawn_blocking(catching(f))),
        }
    }
}

impl<T> Future for ToThread<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let outcome = match &mut self.get_mut().inner {
            Inner::Blocking(task) => match Pin::new(task).poll(cx) {
                Poll::Ready(outcome) => outcome,
                Poll::Pending => return Poll::Pending,
            },
            #[cfg(feature = "tokio")]
            Inner::Tokio(handle) => match Pin::new(handle).poll(cx) {
                Poll::Ready(Ok(outcome)) => outcome,
                Poll::Ready(Err(e)) => {
                    panic!("aiokit::to_thread: the blocking pool dropped the function: {e}")
                }
                Poll::Pending => return Poll::Pending,
            },
        };
        match outcome {
            Ok(value) => Poll::Ready(value),
            Err(payload) => resume_unwind(payload),
        }
    }
}

impl<T> fmt::Debug for ToThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pool = match self.inner {
            Inner::Blocking(_) => "blocking",
            #[cfg(feature = "tokio")]
            Inner::Tokio(_) => "tokio",
        };
        f.debug_struct("ToThread").field("pool", &pool).finish()
    }
}

/// Runs the blocking function `f` on a thread pool and returns a future of its output
/// (asyncio's `asyncio.to_thread`), so that the loop goes on running its callbacks and tasks
/// meanwhile.
///
/// The pool is tokio's blocking pool inside a tokio loop or runtime, else the `blocking`
/// crate's (smol-rs). Unlike asyncio's, it works outside a running loop too, and takes a
/// closure (asyncio passes `func, *args`: bind them with a closure or
/// [`partial!`](macro@crate::partial): `move || p.call_once(())`).
///
/// # Panics
///
/// Awaiting the future resumes the panic of `f`, if it panicked.
///
/// # Examples
///
/// ```
/// let total = aiokit::run(async {
///     let work = aiokit::to_thread(|| {
///         std::thread::sleep(std::time::Duration::from_millis(5));
///         (1..=100u32).sum::<u32>()
///     });
///     let other = aiokit::create_task(async { "the loop is not blocked" });
///     assert_eq!(other.await.unwrap(), "the loop is not blocked");
///     work.await
/// });
/// assert_eq!(total, 5050);
/// ```
pub fn to_thread<F, T>(f: F) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match running_loop() {
        // Counted by the loop, for `shutdown_default_executor`.
        Some(lp) => lp.run_in_executor(f),
        None => ToThread::spawn(Kind::default_for_thread(), f),
    }
}
