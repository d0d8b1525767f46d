//! Tokio's cooperative budget (`tokio::task::coop`), under the `tokio` feature.
//!
//! Inside a tokio task, queued mode spends one budget unit per [`STRIDE`] never-polled children
//! (counted across polls: `fresh`; the units are spent as children `STRIDE - 1`,
//! `2 * STRIDE - 1`, ... are reached) and one per `STRIDE` woken children polled in one call.
//! Once the task's budget is spent, the drive returns `Pending` before polling another child
//! (tokio wakes the task again after its other tasks had a turn), so a combinator over many
//! always-ready children, or a consumer taking one output per poll, cannot starve the runtime.
//! Direct mode spends nothing: it polls at most `DIRECT_MAX` children per poll, bounded work
//! like any future's, and its hot path stays free of the thread-local access. Outside a tokio
//! runtime the budget is unconstrained and the check always passes; without the `tokio`
//! feature (or under loom) it compiles to nothing.
//!
//! A spend is a thread-local access, about 70 instructions with the checks around it, paid
//! outside tokio too (no cheaper way to tell whether a runtime is entered on this thread
//! exists: `Handle::try_current` costs several hundred). At one spend per 32 children that was
//! 4% of a gather of ready children; at one per 64, first spent at the 64th child, a set of
//! up to 63 children spends nothing and larger ones pay about 1 instruction per child, under
//! 2%. Tokio's budget is 128 units per task poll, so a task still yields after at most
//! 8 192 always-ready children.

use core::task::Context;

/// Queued mode spends one budget unit per this many children polled: one unit per child would
/// put a thread-local access beside every child poll, the most frequent thing the engine does.
pub(super) const STRIDE: usize = 64;

/// Spends one unit of the current tokio task's budget; `false` when it is spent (the task is
/// then woken by tokio once its other tasks had a turn), and the caller must return `Pending`.
/// Out of line: it runs once per `STRIDE` children, and inlined it would crowd the loop that
/// polls them.
#[inline(never)]
#[cold]
pub(super) fn proceed(cx: &mut Context<'_>) -> bool {
    match tokio::task::coop::poll_proceed(cx) {
        core::task::Poll::Ready(restore) => {
            restore.made_progress();
            true
        }
        core::task::Poll::Pending => false,
    }
}
