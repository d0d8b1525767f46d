//! Named, lazy futures: [`Coroutine`], what `#[aiokit::coroutine]` makes, its
//! [`CoroutineState`], and [`suppress_never_awaited`], which drops never-polled coroutines
//! without the "coroutine was never awaited" report (see
//! [`hooks::set_never_awaited_hook`](crate::hooks::set_never_awaited_hook)).

pub(crate) mod never_awaited;
#[cfg(feature = "std")]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod probe;

use never_awaited::report_never_awaited;
pub use never_awaited::suppress_never_awaited;

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

/// Where a [`Coroutine`] is in its life, as shown by its `Debug` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CoroutineState {
    /// Created and never polled: its body has not started (`pending`).
    Pending,
    /// Polled at least once and not finished (`running`).
    Running,
    /// Its body returned (`done`).
    Done,
}

impl CoroutineState {
    fn as_str(self) -> &'static str {
        match self {
            CoroutineState::Pending => "pending",
            CoroutineState::Running => "running",
            CoroutineState::Done => "done",
        }
    }
}

pin_project! {
    /// A named, lazy future: what a `#[aiokit::coroutine]` function returns.
    ///
    /// Creating it runs nothing; the wrapped future starts on the first poll. Its
    /// [`name`](Coroutine::name) is the function's path inside its crate (Python's
    /// `__qualname__`), and its `Debug` output shows the name and the state:
    /// `<coroutine make_tea pending>`.
    ///
    /// Dropping a coroutine that was never polled is reported like asyncio's "coroutine 'x' was
    /// never awaited", through the hook set with [`set_never_awaited_hook`], unless it was
    /// handed to a combinator (`gather`, `wait`, `as_completed`, ...): dropping a combinator
    /// reports none of its children. See [`suppress_never_awaited`] to do the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::Coroutine;
    ///
    /// let coro = Coroutine::new("make_tea", async { "tea" });
    /// assert_eq!(coro.name(), "make_tea");
    /// assert_eq!(format!("{coro:?}"), "<coroutine make_tea pending>");
    /// assert_eq!(futures::executor::block_on(coro), "tea");
    /// ```
    ///
    /// # Panics
    ///
    /// Polling it again after it returned `Ready` panics with "cannot reuse already awaited
    /// coroutine", as asyncio raises `RuntimeError`.
    #[doc(alias("iscoroutine", "iscoroutinefunction"))]
    #[must_use = "futures do nothing unless polled"]
    pub struct Coroutine<F> {
        name: &'static str,
        state: CoroutineState,
        report_never_awaited: bool,
        #[pin]
        future: F,
    }

    impl<F> PinnedDrop for Coroutine<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.state == CoroutineState::Pending && *this.report_never_awaited {
                report_never_awaited(this.name);
            }
        }
    }
}

impl<F: Future> Coroutine<F> {
    /// Names `future`; this is what `#[aiokit::coroutine]` expands to around the body.
    ///
    /// # Examples
    ///
    /// ```
    /// let coro = aiokit::Coroutine::new("answer", async { 42 });
    /// assert_eq!(futures::executor::block_on(coro), 42);
    /// ```
    pub const fn new(name: &'static str, future: F) -> Self {
        Coroutine {
            name,
            state: CoroutineState::Pending,
            report_never_awaited: true,
            future,
        }
    }
}

impl<F> Coroutine<F> {
    /// The name: the function's path inside its crate (`make_tea`, `kitchen::Kettle<_>::boil`),
    /// or the one given with `#[aiokit::coroutine(name = "...")]`.
    ///
    /// # Examples
    ///
    /// ```
    /// #[aiokit::coroutine]
    /// async fn make_tea() {}
    ///
    /// let coro = make_tea();
    /// assert!(coro.name().ends_with("make_tea"));
    /// # futures::executor::block_on(coro);
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Where the coroutine is in its life.
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::Coroutine;
    /// use aiokit::coroutine::CoroutineState;
    ///
    /// let mut coro = Box::pin(Coroutine::new("one", async { 1 }));
    /// assert_eq!(coro.state(), CoroutineState::Pending);
    /// futures::executor::block_on(coro.as_mut());
    /// assert_eq!(coro.state(), CoroutineState::Done);
    /// ```
    pub fn state(&self) -> CoroutineState {
        self.state
    }

    /// Chooses whether dropping this coroutine unpolled is reported (it is by default).
    ///
    /// Turn it off for a coroutine you create on purpose and may not run, like asyncio code
    /// that calls `coro.close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let coro = aiokit::Coroutine::new("maybe", async {}).set_never_awaited_report(false);
    /// drop(coro); // nothing reported
    /// ```
    pub fn set_never_awaited_report(mut self, report: bool) -> Self {
        self.report_never_awaited = report;
        self
    }

    /// The same as [`set_never_awaited_report(false)`](Coroutine::set_never_awaited_report),
    /// on a coroutine that is already pinned (inside a combinator).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut coro = Box::pin(aiokit::Coroutine::new("pinned", async {}));
    /// coro.as_mut().defuse();
    /// drop(coro); // nothing reported
    /// ```
    pub fn defuse(self: Pin<&mut Self>) {
        *self.project().report_never_awaited = false;
    }
}

impl<F: Future> Future for Coroutine<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let addr = &*self as *const Self as usize;
        let this = self.project();
        match *this.state {
            CoroutineState::Done => {
                panic!("cannot reuse already awaited coroutine `{}`", this.name)
            }
            // Marked before polling so that a body panicking on its first poll is not also
            // reported as never awaited.
            CoroutineState::Pending => {
                *this.state = CoroutineState::Running;
                first_poll(this.name, addr);
            }
            CoroutineState::Running => {}
        }
        // The frame `capture_call_graph` reads, for the duration of the body's poll.
        #[cfg(feature = "inspect")]
        let _frame = crate::graph::Frame::enter(this.name, crate::graph::FrameKind::Coroutine);
        let out = this.future.poll(cx);
        if out.is_ready() {
            *this.state = CoroutineState::Done;
        }
        out
    }
}

/// What a coroutine's first poll tells the listeners: the task naming itself after it, and the
/// combinator holding it (its `addr`). Out of line, so the poll itself stays small.
#[cold]
#[inline(never)]
fn first_poll(name: &'static str, addr: usize) {
    #[cfg(feature = "std")]
    probe::offer(name);
    crate::names::announce(addr, name);
}

impl<F: Future> FusedFuture for Coroutine<F> {
    fn is_terminated(&self) -> bool {
        self.state == CoroutineState::Done
    }
}

impl<F> fmt::Debug for Coroutine<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<coroutine {} {}>", self.name, self.state.as_str())
    }
}

/// Turns the type name of a marker `fn` declared inside the coroutine function into the
/// function's path inside its crate. Used by the macro expansion only.
#[doc(hidden)]
pub fn __qualname(marker: &'static str, module_path: &'static str) -> &'static str {
    let path = marker.strip_suffix("::__aiokit_name").unwrap_or(marker);
    let krate = module_path.split("::").next().unwrap_or(module_path);
    path.strip_prefix(krate)
        .and_then(|rest| rest.strip_prefix("::"))
        .unwrap_or(path)
}

/// Private, so that the error names the check by its one public path,
/// `aiokit::__private::__coroutine_send_check`.
pub(crate) mod send_check {
    /// `#[aiokit::coroutine(send)]`'s check, where the error names the function.
    pub fn __coroutine_send_check<T: Send>(_: &T) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use core::task::Waker;

    #[test]
    fn probe_hears_the_outermost_coroutine_polled_first() {
        let inner = Coroutine::new("inner", async { 1 });
        let mut outer = Box::pin(Coroutine::new("outer", async move { inner.await + 1 }));
        let mut cx = Context::from_waker(Waker::noop());
        let (out, name) = probe::listen(|| outer.as_mut().poll(&mut cx));
        assert_eq!(out, Poll::Ready(2));
        assert_eq!(name, Some("outer"));
        let (_, none) = probe::listen(|| ());
        assert_eq!(none, None);
    }

    #[test]
    fn state_moves_pending_running_done() {
        let (tx, rx) = futures::channel::oneshot::channel::<u8>();
        let mut coro = Box::pin(Coroutine::new("wait", async move { rx.await.unwrap() }));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(format!("{coro:?}"), "<coroutine wait pending>");
        assert!(coro.as_mut().poll(&mut cx).is_pending());
        assert_eq!(format!("{coro:?}"), "<coroutine wait running>");
        tx.send(3).unwrap();
        assert_eq!(coro.as_mut().poll(&mut cx), Poll::Ready(3));
        assert_eq!(format!("{coro:?}"), "<coroutine wait done>");
        assert!(coro.is_terminated());
    }

    use alloc::format;
}
