//! asyncio's synchronization primitives: [`Lock`], [`Event`], [`Condition`], [`Semaphore`],
//! [`BoundedSemaphore`] and [`Barrier`], for tasks on any executor and any thread.
//!
//! | asyncio | aiokit |
//! |---|---|
//! | `async with lock:` | `let _guard = lock.acquire().await;` ([`Lock`], released on drop) |
//! | `event.set()`, `await event.wait()` | [`Event::set`], [`Event::wait`] |
//! | `async with cond: await cond.wait()` | `let guard = cond.acquire().await; let guard = cond.wait(guard).await;` |
//! | `cond.notify(n)` | [`Condition::notify`]`(&guard, n)` |
//! | `async with sem:` | `let _permit = sem.acquire().await;` ([`Semaphore`], [`BoundedSemaphore`]) |
//! | `await sem.acquire()` ... `sem.release()` | `sem.acquire().await.forget();` ... [`Semaphore::release`] |
//! | `await barrier.wait()` | [`Barrier::wait`] → arrival index or [`BrokenBarrierError`] |
//!
//! What each is built on: every one waits on `event_listener::Event`s (smol-rs), which
//! wake waiters in the order they started waiting; [`Lock`] is a one-permit
//! [`Semaphore`]. async-lock's `Semaphore` / `Mutex` / `Barrier` are not used: its
//! semaphore can leave a waiter asleep beside a free permit and can send a woken waiter to
//! the back of the line, and its barrier has no abort, reset or arrival index.
//!
//! # Where aiokit differs from asyncio
//!
//! - "Only with the lock held" is ownership: a [`LockGuard`] is the held lock, released when
//!   it is dropped, and [`Condition::wait`] / [`Condition::notify`] take one.
//! - Cancelling an acquire or a wait is dropping its future: a dropped acquire never holds
//!   the lock or a permit, and a wakeup it had received passes on to the next waiter.
//! - Blocked acquirers are woken first come, first served, but an acquire that finds the lock
//!   (or a permit) free takes it at once, even while a woken waiter has not run yet; asyncio
//!   makes such a newcomer queue behind the waiters. The woken waiter then waits again.
//! - The methods that asyncio makes coroutines only to take an internal lock
//!   ([`Barrier::reset`], [`Barrier::abort`]) are plain methods here.

mod barrier;
mod condition;
mod event;
mod lock;
mod semaphore;

pub use barrier::{Barrier, BrokenBarrierError};
pub use condition::Condition;
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use semaphore::{BoundedSemaphore, ReleaseError, Semaphore, SemaphoreGuard};
