//! The engine shared by gather, wait, as_completed and TaskGroup: a set of children polled in
//! place, with a waker per child and a ready queue, so a poll costs O(children woken).
//!
//! Layout: children live in segments of slots (a single segment when the number of children
//! is known up front, more segments of doubling size when children are added later), each
//! slot holding the running child and then its output in place. The wakers' side lives in one
//! `Arc<Header>`: the ready queue, the combinator's own waker and one node per child. A
//! child's waker is a pointer to its node, so making a waker allocates nothing, and a wake pushes
//! the node on the queue at most once until the engine pops it.
//!
//! Driving: [`Engine::poll_drive`] first polls every child that was never polled (in index
//! order), then the children whose wakers fired. It polls at most `len` woken children per call
//! (on top of the never-polled ones, each polled once) and stops early once `YIELD_LIMIT`
//! children woke themselves while being polled, waking the caller's task before it returns
//! `Pending`, so a child that always wakes itself cannot starve the executor (the same yield
//! rule as futures' `FuturesUnordered`).
//!
//! Children added while the engine is driven: `poll_drive` holds `&mut self`, so callers that
//! let children add siblings (TaskGroup) queue them and [`push`](Engine::push) them between
//! calls; a pushed child counts as never polled and is polled on the next call.
//!
//! Panic safety: a child that panics while polled stays in its slot untouched; unwinding drops
//! the engine, which drops every slot, so every child is dropped exactly once.
//!
//! Files:
//! - `api.rs`: [`Engine`], what the combinators call.
//! - `slots.rs`: where the children live (segments, `locate`, outputs, cancelling).
//! - `drive.rs`: polling them (`poll_direct`, `poll_queued`).
//! - `inspect.rs`: read-only views for `Debug` and the children's names (no polling).
//! - `coop.rs`: tokio's cooperative budget, spent by the drives under the `tokio` feature.
//! - `waker.rs`, `queue.rs`: the shared header, the child wakers and the ready queue.
//! - `task_cell.rs`: a task's shared state and its future in one allocation (TaskGroup).
//! - `task_state.rs`: the lock-free core of a task's state (atomic word, outcome, wakers).
//! - `send_cell_ref.rs`: a type-erased task handle that may cross threads (`TaskGroup::on`).
//! - `atomic.rs`: atomics from core or from loom.

mod api;
pub(crate) mod atomic;
#[cfg(all(feature = "tokio", not(aiokit_loom)))]
mod coop;
mod drive;
mod inspect;
mod queue;
#[cfg(feature = "std")]
pub(crate) mod send_cell_ref;
mod slots;
#[cfg(feature = "std")]
pub(crate) mod task_cell;
#[cfg(feature = "std")]
pub(crate) mod task_state;
mod waker;

#[cfg(all(test, aiokit_loom))]
mod loom_tests;
#[cfg(all(test, not(aiokit_loom)))]
mod tests;

#[cfg(any(feature = "std", test))]
pub(crate) use self::api::DIRECT_MAX;
pub(crate) use self::api::{Drive, Engine, State, Step};
#[cfg(all(test, not(aiokit_loom)))]
pub(crate) use self::drive::YIELD_LIMIT;
#[cfg(feature = "inspect")]
pub(crate) use self::inspect::ChildViews;
#[cfg_attr(not(feature = "inspect"), allow(unused_imports))]
pub(crate) use self::inspect::Span;
