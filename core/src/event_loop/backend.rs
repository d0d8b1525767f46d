//! What runs the loop: smol-rs's `LocalExecutor` driven by async-io's `block_on` (the default),
//! or a current-thread tokio runtime with a `LocalSet` (`tokio` feature).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::Instant;

/// Which runtime a loop runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Smol,
    #[cfg(feature = "tokio")]
    Tokio,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Smol => "smol",
            #[cfg(feature = "tokio")]
            Kind::Tokio => "tokio",
        }
    }

    /// For `to_thread` outside a loop: tokio inside a tokio runtime, else smol-rs's pool.
    pub(crate) fn default_for_thread() -> Self {
        #[cfg(feature = "tokio")]
        if tokio::runtime::Handle::try_current().is_ok() {
            return Kind::Tokio;
        }
        Kind::Smol
    }

    /// The loop's clock: tokio's (so that a paused tokio clock is the loop's clock too) or std's.
    pub(crate) fn now(self) -> Instant {
        match self {
            Kind::Smol => Instant::now(),
            #[cfg(feature = "tokio")]
            Kind::Tokio => tokio::time::Instant::now().into_std(),
        }
    }
}

pub(crate) enum Backend {
    Smol(async_executor::LocalExecutor<'static>),
    // Field order: the LocalSet (and its tasks) is dropped before the runtime.
    #[cfg(feature = "tokio")]
    Tokio {
        local: tokio::task::LocalSet,
        /// Always `Some` until dropped (see `Drop`).
        rt: Option<tokio::runtime::Runtime>,
    },
}

#[cfg(feature = "tokio")]
impl Drop for Backend {
    fn drop(&mut self) {
        if let Backend::Tokio { local, rt } = self {
            // The tasks go first, while the runtime they may use still exists.
            drop(core::mem::take(local));
            if let Some(rt) = rt.take() {
                // Dropping a runtime waits for its blocking threads, which tokio refuses (a
                // panic) inside another runtime's async context: shut down without waiting.
                if tokio::runtime::Handle::try_current().is_ok() {
                    rt.shutdown_background();
                }
            }
        }
    }
}

impl Backend {
    pub(crate) fn smol() -> Self {
        Backend::Smol(async_executor::LocalExecutor::new())
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn tokio() -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Backend::Tokio {
            local: tokio::task::LocalSet::new(),
            rt: Some(rt),
        })
    }

    pub(crate) fn spawn<F: Future<Output = ()> + 'static>(&self, fut: F) {
        match self {
            Backend::Smol(ex) => ex.spawn(fut).detach(),
            #[cfg(feature = "tokio")]
            Backend::Tokio { local, .. } => drop(local.spawn_local(fut)),
        }
    }

    /// Runs `f` on the backend's blocking pool.
    pub(crate) fn to_thread<F, T>(&self, f: F) -> super::thread::ToThread<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Backend::Smol(_) => super::thread::ToThread::spawn(Kind::Smol, f),
            #[cfg(feature = "tokio")]
            Backend::Tokio { rt: Some(rt), .. } => {
                super::thread::ToThread::spawn_on(rt.handle(), f)
            }
            #[cfg(feature = "tokio")]
            Backend::Tokio { rt: None, .. } => super::thread::ToThread::spawn(Kind::Smol, f),
        }
    }

    /// Runs `fut` to its end on this thread, running the loop's tasks meanwhile.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        match self {
            Backend::Smol(ex) => async_io::block_on(ex.run(fut)),
            #[cfg(feature = "tokio")]
            Backend::Tokio { local, rt } => rt
                .as_ref()
                .expect("the runtime lives as long as the backend")
                .block_on(local.run_until(fut)),
        }
    }
}

/// The loop's wake-up timer for its earliest scheduled callback.
pub(crate) enum LoopTimer {
    Smol(Option<(Instant, async_io::Timer)>),
    #[cfg(feature = "tokio")]
    Tokio(Option<(Instant, Pin<Box<tokio::time::Sleep>>)>),
}

impl LoopTimer {
    pub(crate) fn new(kind: Kind) -> Self {
        match kind {
            Kind::Smol => LoopTimer::Smol(None),
            #[cfg(feature = "tokio")]
            Kind::Tokio => LoopTimer::Tokio(None),
        }
    }

    /// Polls for `when`, re-arming the timer if it was set for another instant.
    pub(crate) fn poll_at(&mut self, when: Instant, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            LoopTimer::Smol(slot) => {
                let (at, timer) = slot.get_or_insert_with(|| (when, async_io::Timer::at(when)));
                if *at != when {
                    *at = when;
                    timer.set_at(when);
                }
                Pin::new(timer).poll(cx).map(drop)
            }
            #[cfg(feature = "tokio")]
            LoopTimer::Tokio(slot) => {
                let deadline = tokio::time::Instant::from_std(when);
                let (at, sleep) = slot
                    .get_or_insert_with(|| (when, Box::pin(tokio::time::sleep_until(deadline))));
                if *at != when {
                    *at = when;
                    sleep.as_mut().reset(deadline);
                }
                sleep.as_mut().poll(cx)
            }
        }
    }
}
