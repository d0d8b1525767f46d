//! Python asyncio's coordination toolkit for every Rust executor.
//!
//! aiokit gives Rust the tools an asyncio programmer reaches for when running many things at
//! once, under the names they know. The combinators are plain futures and streams that poll
//! their children in place, inside the task that awaits them: they work on tokio, smol,
//! async-executor and futures' executors, with `!Send` futures and with futures that borrow,
//! and nothing is spawned unless you hand over a spawner.
//!
//! | asyncio | aiokit |
//! |---|---|
//! | `await asyncio.gather(a, b, c)` | [`gather()`]`([a, b, c]).await` (one type), [`gather!`]`(a, b, c).await` (any types) |
//! | `gather(..., return_exceptions=True)` | [`gather()`] over futures of `Result` |
//! | `gather(...)` failing at the first exception | [`try_gather()`], [`try_gather!`] |
//! | `done, pending = await asyncio.wait(aws, return_when=FIRST_COMPLETED)` | [`wait()`]`(aws, ReturnWhen::FirstCompleted).await` → ([`Done`]s, [`Pending`]) |
//! | `asyncio.wait(..., timeout=t)` | [`wait()`]`(..).timeout(t)` / `.deadline(fut)` |
//! | `for coro in asyncio.as_completed(aws)` | [`as_completed`]`(aws)`, a `Stream`; `.indexed()`, `.timeout(t)` |
//! | `await asyncio.wait_for(aw, timeout)` | [`wait_for`]`(fut, duration).await` |
//! | `async with asyncio.timeout(delay)` / `timeout_at(when)` | [`timeout`], [`timeout_at`] |
//! | any awaitable as the deadline | [`wait_for_deadline`] |
//! | `async with asyncio.timeout(delay) as cm: cm.reschedule(when)` | [`timeout_scope`]`(delay, \|cm\| ..)`, [`TimeoutHandle`] |
//! | Trio's `move_on_after` / `fail_after` | [`move_on_after`], [`fail_after`] |
//! | `asyncio.staggered.staggered_race(coro_fns, delay)` | [`staggered_race`] → [`RaceOutcome`] |
//! | `await asyncio.sleep(delay)` | [`sleep`] |
//! | `async with asyncio.TaskGroup() as tg: tg.create_task(coro)` | [`TaskGroup::run`]`(async \|tg\| { tg.create_task(fut); .. })` |
//! | `ExceptionGroup`, `except*` | [`ExceptionGroup`], `.split(..)`, `.contains(..)` |
//! | `asyncio.run(main())` | `aiokit::run(main())` (feature `event-loop`, on by default) |
//! | `asyncio.create_task(coro)` | `aiokit::create_task(fut)` on the running loop; [`spawn_task`]`(&spawner, fut)` → [`Task`] on any executor |
//! | `loop.call_soon(cb)`, `call_later`, `run_forever`, `run_until_complete`, `call_soon_threadsafe` | `EventLoop` and `LoopHandle` (see the `event_loop` module) |
//! | `asyncio.get_running_loop()`, `current_task()`, `all_tasks()`, `to_thread(f)`, `run_coroutine_threadsafe` | the functions of the same names |
//! | `asyncio.capture_call_graph()`, `capture_call_graph(task)`, `print_call_graph()`, `format_call_graph(g)` | [`capture_call_graph`], [`capture_call_graph_of`], [`print_call_graph`], [`format_call_graph`]: the coroutines and combinators being polled, and the tasks awaiting a task handle (see [`graph`]) (feature `inspect`) |
//! | `task.add_done_callback(cb)` | [`Task::add_done_callback`] |
//! | `await asyncio.shield(task)` | [`shield`]`(&task).await` |
//! | `async def` / `@asyncio.coroutine` | `#[aiokit::coroutine]` → [`Coroutine`] |
//! | `functools.partial(f, a)` | [`partial!`]`(f, a)` → [`Partial`] |
//! | `await asyncio.open_connection(host, port)` | [`open_connection`]`(host, port).await` → ([`StreamReader`], [`StreamWriter`]) (feature `streams`) |
//! | `await asyncio.start_server(cb, host, port)`, `server.serve_forever()` | [`start_server`]`(cb, host, port).await` → [`streams::Server`]; awaited on the running loop, it serves at once (asyncio's `start_serving=True`); see [`streams`] |
//! | `asyncio.Queue(maxsize)`, `PriorityQueue`, `LifoQueue` | [`Queue`], [`PriorityQueue`], [`LifoQueue`] (`std`) |
//! | `asyncio.Lock`, `Event`, `Condition`, `Semaphore`, `BoundedSemaphore`, `Barrier` | [`sync`] (`std`) |
//!
//! Rust differs from asyncio where ownership decides: dropping a combinator drops (cancels)
//! every child it still holds; a child's `Err` is asyncio's exception, and a child's panic is
//! like `KeyboardInterrupt`: it cancels the siblings, then goes on unwinding. Each API's docs
//! say where it differs.
//!
//! The crate root holds asyncio's vocabulary; the helper types and plumbing live in modules:
//! [`wait`](mod@wait) (the kinds of `ReturnWhen`, `Outcome`, `IntoChildren`), [`partial`](mod@partial) (the
//! `PartialFn*` traits), [`spawn`] (the boxed futures spawners take), [`task`] (`CallbackId`,
//! `DoneCallback`, `TaskStateError`, `SendBody`), [`coroutine`](mod@coroutine) (`CoroutineState`,
//! `suppress_never_awaited`), [`hooks`] (the program-wide report hooks), [`graph`] (the call graph's types), [`event_loop`]
//! (`Handle`, `LoopHandle`, `EventLoopError`, `try_run`), [`streams`] (`Server`, `ReadError`),
//! [`queue`], [`sync`] and [`tuple`](mod@tuple).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! async fn make_tea(tea: &str) -> String {
//!     aiokit::sleep(Duration::from_millis(5)).await;
//!     format!("{tea} tea")
//! }
//!
//! async fn brew(tea: &str) -> Result<String, String> {
//!     if tea == "earl grey" { Err(format!("out of {tea}")) } else { Ok(make_tea(tea).await) }
//! }
//!
//! # futures::executor::block_on(async {
//! // asyncio.gather: results in argument order, whatever order they finish in.
//! let teas = aiokit::gather(["green", "black", "oolong"].map(make_tea)).await;
//! assert_eq!(teas, ["green tea", "black tea", "oolong tea"]);
//!
//! // Different types at once.
//! let (tea, biscuits) = aiokit::gather!(make_tea("mint"), async { 3 }).await;
//! assert_eq!((tea.as_str(), biscuits), ("mint tea", 3));
//!
//! // The first error wins, and the other children are dropped.
//! let failed = aiokit::try_gather(["green", "earl grey"].map(brew)).await;
//! assert_eq!(failed, Err("out of earl grey".to_string()));
//!
//! // asyncio.wait(FIRST_COMPLETED) in a loop: the pending set is the live set of children,
//! // waited on again, never rebuilt.
//! use aiokit::ReturnWhen;
//! let teas = ["green", "black", "oolong"].map(make_tea);
//! let (mut done, mut pending) = aiokit::wait(teas, ReturnWhen::FirstCompleted).await;
//! let mut served = done.len();
//! while !pending.is_empty() {
//!     (done, pending) = aiokit::wait(pending, ReturnWhen::FirstCompleted).await;
//!     served += done.len();
//! }
//! assert_eq!(served, 3);
//!
//! // asyncio.as_completed: outputs in completion order (its own `next`, no import needed).
//! let mut teas = aiokit::as_completed(["green", "black"].map(make_tea));
//! while let Some(tea) = teas.next().await {
//!     assert!(tea.ends_with(" tea"));
//! }
//!
//! // asyncio.wait_for: the slow tea is dropped when the timeout expires.
//! let slow = aiokit::wait_for(make_tea("pu-erh"), Duration::from_millis(1)).await;
//! assert_eq!(slow, Err(aiokit::TimeoutError::new()));
//! # });
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
// docs.rs (`--cfg docsrs`, nightly rustdoc): each item shows the cargo feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
// `unsafe` lives in the engine only, where it buys measured speed and is checked by loom and
// miri; everywhere else the compiler refuses it.
#![deny(unsafe_code)]

extern crate alloc;

/// Compiles the items inside only with a timer feature (`futures-timer`, `tokio` or
/// `async-io`): the `Duration` forms of the timeout APIs and the timer itself.
macro_rules! cfg_timer {
    ($($item:item)*) => {
        $(
            #[cfg(any(feature = "futures-timer", feature = "tokio", feature = "async-io"))]
            $item
        )*
    };
}

mod as_completed;
pub mod boxed;
pub mod coroutine;
#[allow(unsafe_code)]
mod engine;
mod error;
#[cfg(feature = "event-loop")]
pub mod event_loop;
mod gather;
mod gather_tuple;
#[cfg(feature = "inspect")]
pub mod graph;
#[cfg(feature = "std")]
pub mod hooks;
mod names;
pub mod partial;
mod pending;
#[cfg(feature = "std")]
pub mod queue;
#[cfg(feature = "std")]
pub mod spawn;
#[cfg(feature = "streams")]
pub mod streams;
#[cfg(feature = "std")]
pub mod sync;
#[cfg(feature = "std")]
pub mod task;
#[cfg(feature = "std")]
mod task_group;
mod timeout;
#[cfg(feature = "std")]
mod trace;
cfg_timer! {
    mod timer;
}
pub mod wait;
// Timeouts and races that need a timer: the deadline scope, Trio's names, staggered_race.
cfg_timer! {
    mod move_on;
    mod staggered;
    mod timeout_scope;
}

pub use as_completed::{AsCompleted, AsCompletedIndexed, as_completed};
pub use coroutine::Coroutine;
#[cfg(feature = "std")]
pub use error::ExceptionGroup;
pub use error::{CancelledError, InvalidStateError, TimeoutError};
#[cfg(feature = "event-loop")]
pub use event_loop::{
    EventLoop, all_tasks, create_task, current_task, get_running_loop, run,
    run_coroutine_threadsafe, to_thread,
};
pub use gather::{Gather, TryGather, gather, try_gather};
#[cfg(feature = "inspect")]
pub use graph::{capture_call_graph, capture_call_graph_of, format_call_graph, print_call_graph};
pub use partial::Partial;
pub use pending::Pending;
#[cfg(feature = "std")]
pub use queue::{LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull, QueueShutDown};
#[cfg(feature = "std")]
pub use spawn::{LocalSpawn, Spawn, spawn_local_task, spawn_task};
#[cfg(feature = "streams")]
pub use streams::{
    IncompleteReadError, LimitOverrunError, StreamReader, StreamWriter, open_connection,
    start_server,
};
#[cfg(feature = "std")]
pub use task::{LocalTask, Shield, Task, shield};
#[cfg(feature = "std")]
pub use task_group::{LocalTaskGroup, TaskGroup};
pub use timeout::{WaitFor, wait_for_deadline};
cfg_timer! {
    pub use timeout::{timeout, timeout_at, wait_for};
    pub use timer::{Sleep, sleep, sleep_until};
    pub use move_on::{MoveOn, fail_after, fail_at, move_on_after, move_on_at};
    pub use staggered::{RaceOutcome, StaggeredRace, staggered_race};
    pub use timeout_scope::{TimeoutHandle, TimeoutScope, timeout_scope, timeout_scope_at};
}

pub use wait::{Done, ReturnWhen, Wait, wait};

#[cfg(feature = "macros")]
pub use aiokit_macros::{coroutine, partial};

/// The futures of [`gather!`] and [`try_gather!`], one type per number of children. They are
/// rarely named: `let joined = aiokit::gather!(a, b);` infers them.
pub mod tuple {
    pub use crate::gather_tuple::{
        Gather1, Gather2, Gather3, Gather4, Gather5, Gather6, Gather7, Gather8, Gather9, Gather10,
        Gather11, Gather12, TryGather1, TryGather2, TryGather3, TryGather4, TryGather5, TryGather6,
        TryGather7, TryGather8, TryGather9, TryGather10, TryGather11, TryGather12,
    };
}

/// Items the macro expansions name; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::boxed::{BoxProbe, BoxViaCoroutine, BoxViaFuture};
    pub use crate::coroutine::send_check::__coroutine_send_check;
    pub use crate::coroutine::{__qualname as qualname, Coroutine};
    pub use crate::gather_tuple::{IntoGather, IntoTryGather, MaybeDone};
    pub use crate::partial::{DebugArg, DebugFallback, DebugViaDebug, Partial};
    pub use core::future::IntoFuture;
}
