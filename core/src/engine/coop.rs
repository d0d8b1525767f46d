//! Tokio's cooperative budget (`tokio::task::coop`), under the `tokio` feature.
//!
//! Inside a tokio task, queued mode spends one budget unit per [`STRIDE`] never-polled children
//! (counted across polls: `fresh`) and one per `STRIDE` woken children polled in one call. Once the task's budget is spent, the drive returns `Pending`
//! before polling another child (tokio wakes the task again after its other tasks had a turn),
//! so a combinator over many always-ready children, or a consumer taking one output per poll,
//! cannot starve the runtime. Direct mode spends nothing: it polls at most `DIRECT_MAX` children
//! per poll, bounded work like any future's, and its hot path stays free of the thread-local
//! access. Outside a tokio runtime the budget is unconstrained and the check always passes;
//! without the `tokio` feature (or under loom) it compiles to nothing.

use core::task::Context;

/// Queued mode spends one budget unit per this many children polled: one unit per child would
/// put a thread-local access beside every child poll, the most frequent thing the engine does.
pub(super) const STRIDE: usize = 32;

/// Spends one unit of the current tokio task's budget; `false` when it is spent (the task is
/// then woken by tokio once its other tasks had a turn), and the caller must return `Pending`.
#[cfg(all(feature = "tokio", not(aiokit_loom)))]
#[inline]
pub(super) fn proceed(cx: &mut Context<'_>) -> bool {
    match tokio::task::coop::poll_proceed(cx) {
        core::task::Poll::Ready(restore) => {
            restore.made_progress();
            true
        }
        core::task::Poll::Pending => false,
    }
}
