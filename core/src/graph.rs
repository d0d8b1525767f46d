//! Who awaits whom: asyncio 3.14's call-graph introspection ([`capture_call_graph`],
//! [`print_call_graph`], [`format_call_graph`]), for a program that hangs.
//!
//! Rust cannot walk an arbitrary chain of awaits, so aiokit records what it can record
//! truthfully and cheaply: while they are polled, each [`Coroutine`](crate::Coroutine) (what
//! `#[aiokit::coroutine]` makes) and each combinator (`gather`, `try_gather`, `wait`,
//! `as_completed`, `TaskGroup`) push a frame (a name) on a stack of the polling thread, and pop it
//! when the poll returns. A capture made inside a poll reads that stack: the current chain,
//! innermost first, as asyncio's `call_stack`.
//!
//! What is recorded:
//! - the names of the coroutines and combinators being polled on this thread, innermost first
//!   (the first 64; deeper frames are counted but not named);
//! - the task: on aiokit's event loop, the [`current_task`](crate::current_task) (name);
//!   elsewhere, the graph's future is [`CallGraphFuture::Poll`], the poll the thread is in;
//! - `awaited_by`: who awaits a task through its handle (`task.await`, `(&task).await`,
//!   [`shield`](crate::shield)), recorded when that await first returns `Pending` and forgotten
//!   when it ends or is dropped ([`capture_call_graph_of`]); followed up through the tasks of
//!   aiokit's loop (an awaiter that is another executor's task, or a task group's child, shows
//!   as the poll with its call stack, and its own awaiters are not known).
//!
//! What is not recorded (asyncio records it):
//! - plain `async fn`s and `async` blocks (not coroutines): they push nothing, so the chain
//!   skips them;
//! - file names and line numbers;
//! - who awaits a plain future or a combinator's child: children are polled inline by the
//!   task that awaits the combinator, so their awaiter is already the rest of the stack;
//! - anything of a future that is not being polled: capture is only from inside a poll.
//!
//! Cost when nobody captures: a coroutine's or a combinator's poll writes one frame of a
//! thread-local array and raises then lowers its depth (no allocation, no lock); an await of a
//! task handle that is not ready at once records its awaiter in a program-wide table (a
//! capture of the stack, a lock, an insertion; a removal when it ends); see
//! `docs/semantics.md#capture_call_graph-shows-the-chain-being-polled`.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How many frames the stack names; deeper ones are counted only.
const MAX_FRAMES: usize = 64;

/// What kind of future pushed a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameKind {
    /// A [`Coroutine`](crate::Coroutine): the name is its function's path.
    Coroutine,
    /// A combinator polling its children: `gather`, `try_gather`, `wait`, `as_completed`,
    /// `TaskGroup`.
    Combinator,
}

std::thread_local! {
    static FRAMES: Frames = const {
        Frames {
            depth: Cell::new(0),
            names: [const { Cell::new(("", FrameKind::Coroutine)) }; MAX_FRAMES],
        }
    };
}

struct Frames {
    depth: Cell<usize>,
    names: [Cell<(&'static str, FrameKind)>; MAX_FRAMES],
}

/// A frame on the polling thread's stack, popped on drop (also when the poll unwinds).
pub(crate) struct Frame(());

impl Frame {
    /// Pushes a frame named `name` for the duration of a poll.
    #[inline]
    pub(crate) fn enter(name: &'static str, kind: FrameKind) -> Option<Frame> {
        FRAMES
            .try_with(|frames| {
                let depth = frames.depth.get();
                if let Some(slot) = frames.names.get(depth) {
                    slot.set((name, kind));
                }
                frames.depth.set(depth + 1);
            })
            .ok()
            .map(|()| Frame(()))
    }
}

impl Drop for Frame {
    #[inline]
    fn drop(&mut self) {
        let _ = FRAMES.try_with(|frames| frames.depth.set(frames.depth.get() - 1));
    }
}

/// One entry of a call stack (asyncio's `FrameCallGraphEntry`): a coroutine or a combinator
/// being polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameCallGraphEntry {
    name: &'static str,
    kind: FrameKind,
}

impl FrameCallGraphEntry {
    /// The coroutine's name (see [`Coroutine::name`](crate::Coroutine::name)) or the
    /// combinator's (`aiokit::gather`, ...); `...` for the frames past the 64th.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What pushed the frame.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }
}

/// The future a [`FutureCallGraph`] is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallGraphFuture {
    /// A task of aiokit's event loop, by name (asyncio's `Task`).
    LoopTask {
        /// The task's name, as [`Task::name`](crate::Task::name).
        name: String,
    },
    /// The future the thread is polling, which is not a task of aiokit's event loop (another
    /// executor's task, or `block_on`'s future).
    Poll,
    /// A task reached through its handle ([`capture_call_graph_of`]): a spawned task, a task
    /// group's child, or a task of aiokit's loop.
    TaskHandle {
        /// The task's name, as [`Task::name`](crate::Task::name).
        name: String,
    },
}

/// A captured call graph (asyncio's `FutureCallGraph`): the future, its call stack innermost
/// first, and the graphs of the tasks awaiting it through a task handle (see the [module
/// docs](self)). Its `Display` is [`format_call_graph`]'s text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FutureCallGraph {
    /// The task or future being polled.
    pub future: CallGraphFuture,
    /// The coroutines and combinators being polled, innermost first.
    pub call_stack: Vec<FrameCallGraphEntry>,
    /// Who awaits `future` through a task handle, each with its own awaiters (see
    /// [`capture_call_graph_of`]).
    pub awaited_by: Vec<FutureCallGraph>,
}

/// Captures the call graph of the current poll (asyncio's `capture_call_graph()`): the task,
/// and the coroutines and combinators being polled on this thread, innermost first. `None`
/// outside any poll of a coroutine or a combinator, and outside a task of aiokit's loop (asyncio
/// returns `None` with no current task).
///
/// See the [module docs](self) for what is recorded and what is not.
///
/// # Examples
///
/// ```
/// use aiokit::graph::{CallGraphFuture, capture_call_graph};
///
/// #[aiokit::coroutine]
/// async fn make_tea() -> aiokit::graph::FutureCallGraph {
///     capture_call_graph().unwrap()
/// }
///
/// #[aiokit::coroutine]
/// async fn kitchen() -> Vec<aiokit::graph::FutureCallGraph> {
///     aiokit::gather([make_tea()]).await
/// }
///
/// let graphs = futures::executor::block_on(kitchen());
/// let names: Vec<_> = graphs[0].call_stack.iter().map(|f| f.name()).collect();
/// assert!(names[0].ends_with("make_tea"));
/// assert_eq!(names[1], "aiokit::gather");
/// assert!(names[2].ends_with("kitchen"));
/// assert_eq!(graphs[0].future, CallGraphFuture::Poll); // not on aiokit's loop
/// assert!(graphs[0].awaited_by.is_empty());
/// ```
pub fn capture_call_graph() -> Option<FutureCallGraph> {
    let call_stack = current_stack();
    let (future, number) = current_future();
    if call_stack.is_empty() && future == CallGraphFuture::Poll {
        return None;
    }
    Some(FutureCallGraph {
        future,
        call_stack,
        awaited_by: number.map(awaited_by).unwrap_or_default(),
    })
}

/// Captures the call graph of a task through its handle (asyncio's
/// `capture_call_graph(future)`): the task, its call stack if it is the task being polled here
/// (a task not being polled has none that can be read), and the graphs of those awaiting it
/// (`awaited_by`), each with its own awaiters, recursively.
///
/// An awaiter is recorded when a handle of the task (`task.await`, `(&task).await`,
/// [`shield(&task)`](crate::shield)) is first polled and not ready, and forgotten when that
/// await ends or is dropped: it is the graph of that first poll ([`capture_call_graph`]'s:
/// the loop's current task, or the polled future, with the coroutines and combinators being
/// polled). Only an awaiter that is a task of aiokit's loop has awaiters of its own.
///
/// # Examples
///
/// ```
/// // Needs aiokit's `inspect` feature.
/// use aiokit::graph::{CallGraphFuture, capture_call_graph_of};
///
/// aiokit::run(async {
///     let (tx, rx) = futures::channel::oneshot::channel::<()>();
///     let brewing = aiokit::create_task(async { rx.await.ok() });
///     brewing.set_name("brew");
///     let waiter = aiokit::create_task({
///         let brewing = brewing.clone();
///         async move { (&brewing).await.is_ok() }
///     });
///     waiter.set_name("customer");
///     yield_now().await; // both start: `customer` awaits `brew`
///
///     let graph = capture_call_graph_of(&brewing);
///     assert_eq!(graph.future, CallGraphFuture::TaskHandle { name: "brew".into() });
///     let awaiter = &graph.awaited_by[0].future;
///     assert_eq!(*awaiter, CallGraphFuture::LoopTask { name: "customer".into() });
///
///     tx.send(()).unwrap();
///     waiter.await.unwrap();
///     assert!(capture_call_graph_of(&brewing).awaited_by.is_empty()); // the await ended
/// });
///
/// async fn yield_now() {
///     let mut yielded = false;
///     std::future::poll_fn(|cx| {
///         if std::mem::replace(&mut yielded, true) {
///             return std::task::Poll::Ready(());
///         }
///         cx.waker().wake_by_ref();
///         std::task::Poll::Pending
///     })
///     .await
/// }
/// ```
pub fn capture_call_graph_of<T>(task: &crate::Task<T>) -> FutureCallGraph {
    let number = task.number();
    let (_, current_number) = current_future();
    let call_stack = if current_number == Some(number) {
        current_stack()
    } else {
        Vec::new()
    };
    FutureCallGraph {
        future: CallGraphFuture::TaskHandle { name: task.name() },
        call_stack,
        awaited_by: awaited_by(number),
    }
}

fn current_stack() -> Vec<FrameCallGraphEntry> {
    FRAMES
        .try_with(|frames| {
            let depth = frames.depth.get();
            let mut stack: Vec<FrameCallGraphEntry> = frames.names[..depth.min(MAX_FRAMES)]
                .iter()
                .rev()
                .map(|slot| {
                    let (name, kind) = slot.get();
                    FrameCallGraphEntry { name, kind }
                })
                .collect();
            if depth > MAX_FRAMES {
                stack.insert(
                    0,
                    FrameCallGraphEntry {
                        name: "...",
                        kind: FrameKind::Coroutine,
                    },
                );
            }
            stack
        })
        .unwrap_or_default()
}

/// The future being polled, and its task number if it is a task of aiokit's loop.
fn current_future() -> (CallGraphFuture, Option<u64>) {
    #[cfg(feature = "event-loop")]
    if let Some(task) = crate::event_loop::current_task() {
        return (
            CallGraphFuture::LoopTask { name: task.name() },
            Some(task.number()),
        );
    }
    (CallGraphFuture::Poll, None)
}

/// One await in progress on a task handle: the task awaited, and the graph of its awaiter.
struct Await {
    awaited: u64,
    awaiter: FutureCallGraph,
    /// The awaiter's task number, if it is a task of aiokit's loop (whose awaiters are looked
    /// up in turn).
    awaiter_task: Option<u64>,
}

/// The awaits in progress, in reusable slots (a registration is its slot's index). One table
/// for the program: registering and forgetting an await take its lock; nothing but this
/// module's own values is dropped or formatted under it.
static AWAITS: Mutex<Awaits> = Mutex::new(Awaits {
    slots: Vec::new(),
    free: Vec::new(),
});

struct Awaits {
    slots: Vec<Option<Await>>,
    free: Vec<usize>,
}

fn awaits() -> MutexGuard<'static, Awaits> {
    // Nothing under the lock panics but an allocation failure; the table stays consistent.
    AWAITS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How deep `awaited_by` is followed (a chain of tasks awaiting tasks; a cycle is a deadlock
/// the graph should still show, not loop on).
const MAX_AWAIT_DEPTH: usize = 64;

fn awaited_by(number: u64) -> Vec<FutureCallGraph> {
    awaited_by_at(number, 0)
}

fn awaited_by_at(number: u64, depth: usize) -> Vec<FutureCallGraph> {
    if depth >= MAX_AWAIT_DEPTH {
        return Vec::new();
    }
    let found: Vec<(FutureCallGraph, Option<u64>)> = awaits()
        .slots
        .iter()
        .flatten()
        .filter(|a| a.awaited == number)
        .map(|a| (a.awaiter.clone(), a.awaiter_task))
        .collect();
    found
        .into_iter()
        .map(|(mut graph, task)| {
            if let Some(task) = task {
                graph.awaited_by = awaited_by_at(task, depth + 1);
            }
            graph
        })
        .collect()
}

/// The awaiter a task handle (or a [`Shield`](crate::task::Shield)) records while its await is
/// in progress, for [`capture_call_graph_of`]'s `awaited_by`: registered on the first poll that
/// is not ready, forgotten when the await ends or is dropped.
pub(crate) struct AwaitRecord(Option<usize>);

impl AwaitRecord {
    pub(crate) const fn new() -> Self {
        AwaitRecord(None)
    }

    /// The await is in progress (the poll was not ready): records its awaiter, once.
    #[inline]
    pub(crate) fn pending(&mut self, awaited: u64) {
        if self.0.is_none() {
            self.0 = Some(register(awaited));
        }
    }

    /// The await ended: forgets its awaiter.
    #[inline]
    pub(crate) fn ended(&mut self) {
        if let Some(id) = self.0.take() {
            forget(id);
        }
    }
}

impl Drop for AwaitRecord {
    fn drop(&mut self) {
        self.ended();
    }
}

#[cold]
fn register(awaited: u64) -> usize {
    let (future, awaiter_task) = current_future();
    let awaiter = FutureCallGraph {
        future,
        call_stack: current_stack(),
        awaited_by: Vec::new(),
    };
    let entry = Some(Await {
        awaited,
        awaiter,
        awaiter_task,
    });
    let mut table = awaits();
    match table.free.pop() {
        Some(slot) => {
            table.slots[slot] = entry;
            slot
        }
        None => {
            table.slots.push(entry);
            table.slots.len() - 1
        }
    }
}

#[cold]
fn forget(slot: usize) {
    let mut table = awaits();
    let gone = table.slots[slot].take();
    table.free.push(slot);
    drop(table);
    drop(gone);
}

/// Formats a call graph as asyncio's `format_call_graph` does, without files and lines:
///
/// ```text
/// * Task(name='Task-1')
///   + Call stack:
///   |   async make_tea()
///   |   aiokit::gather()
///   |   async main()
/// ```
///
/// # Examples
///
/// ```
/// use aiokit::graph::{CallGraphFuture, FutureCallGraph, format_call_graph};
///
/// let graph = FutureCallGraph { future: CallGraphFuture::Poll, call_stack: vec![], awaited_by: vec![] };
/// assert_eq!(format_call_graph(&graph), "* Future(polled on this thread)");
/// ```
pub fn format_call_graph(graph: &FutureCallGraph) -> String {
    let mut out = String::new();
    render(graph, 0, &mut out).expect("writing to a String does not fail");
    out
}

fn render(graph: &FutureCallGraph, level: usize, out: &mut String) -> fmt::Result {
    use core::fmt::Write;
    let pad = "    ".repeat(level);
    if !out.is_empty() {
        out.push('\n');
    }
    match &graph.future {
        CallGraphFuture::LoopTask { name } => write!(out, "{pad}* Task(name='{name}')")?,
        CallGraphFuture::Poll => write!(out, "{pad}* Future(polled on this thread)")?,
        CallGraphFuture::TaskHandle { name } => write!(out, "{pad}* Task(name='{name}')")?,
    }
    if !graph.call_stack.is_empty() {
        write!(out, "\n{pad}  + Call stack:")?;
        for frame in &graph.call_stack {
            match frame.kind {
                FrameKind::Coroutine => write!(out, "\n{pad}  |   async {}()", frame.name)?,
                FrameKind::Combinator => write!(out, "\n{pad}  |   {}()", frame.name)?,
            }
        }
    }
    if !graph.awaited_by.is_empty() {
        write!(out, "\n{pad}  + Awaited by:")?;
        for parent in &graph.awaited_by {
            render(parent, level + 1, out)?;
        }
    }
    Ok(())
}

impl fmt::Display for FutureCallGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_call_graph(self))
    }
}

/// Prints the call graph of the current poll to stdout (asyncio's `print_call_graph()`); prints
/// nothing where [`capture_call_graph`] gives `None`.
///
/// # Examples
///
/// ```
/// #[aiokit::coroutine]
/// async fn stuck() {
///     aiokit::print_call_graph();
///     // * Task(name='Task-1')
///     //   + Call stack:
///     //   |   async stuck()
/// }
///
/// aiokit::run(stuck());
/// ```
pub fn print_call_graph() {
    if let Some(graph) = capture_call_graph() {
        std::println!("{graph}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;
    use core::future::Future;
    use core::pin::Pin;

    use crate::coroutine::Coroutine;

    fn names(graph: &FutureCallGraph) -> Vec<&'static str> {
        graph.call_stack.iter().map(|f| f.name()).collect()
    }

    fn capture_in(name: &'static str) -> Coroutine<impl Future<Output = Option<FutureCallGraph>>> {
        Coroutine::new(name, async { capture_call_graph() })
    }

    mod capture_call_graph_lists_the_polled_chain_innermost_first {
        use super::*;

        #[test]
        fn coroutines_and_combinators() {
            let outer = Coroutine::new("main", async {
                let inner = Coroutine::new("brew", async {
                    crate::gather([capture_in("make_tea"), capture_in("make_tea")]).await
                });
                inner.await
            });
            let graphs = futures::executor::block_on(outer);
            let graph = graphs[1].clone().unwrap();
            assert_eq!(
                names(&graph),
                ["make_tea", "aiokit::gather", "brew", "main"]
            );
            let kinds: Vec<_> = graph.call_stack.iter().map(|f| f.kind()).collect();
            assert_eq!(
                kinds,
                [
                    FrameKind::Coroutine,
                    FrameKind::Combinator,
                    FrameKind::Coroutine,
                    FrameKind::Coroutine
                ]
            );
            assert_eq!(graph.future, CallGraphFuture::Poll);
            assert!(graph.awaited_by.is_empty());
        }

        #[test]
        fn plain_async_blocks_push_nothing() {
            async fn plain() -> Option<FutureCallGraph> {
                capture_call_graph()
            }
            let graph = futures::executor::block_on(Coroutine::new("main", plain()));
            assert_eq!(names(&graph.unwrap()), ["main"]);
        }

        #[test]
        fn task_group_children_run_under_the_group_and_the_body_does_not() {
            let seen = futures::executor::block_on(Coroutine::new("main", async {
                crate::TaskGroup::run(async |tg| {
                    let child = tg.create_task(async { Ok::<_, ()>(capture_in("child").await) });
                    let body = capture_call_graph();
                    Ok((child, body))
                })
                .await
            }))
            .unwrap();
            let (child, body) = seen;
            let child = child.result().unwrap().clone().unwrap();
            assert_eq!(names(&child), ["child", "aiokit::TaskGroup", "main"]);
            assert_eq!(names(&body.unwrap()), ["main"]);
        }

        #[test]
        fn wait_and_as_completed_push_their_frames() {
            let (done, _) = futures::executor::block_on(crate::wait(
                [capture_in("a")],
                crate::ReturnWhen::AllCompleted,
            ));
            assert_eq!(
                names(done[0].output.as_ref().unwrap()),
                ["a", "aiokit::wait"]
            );
            let mut stream = crate::as_completed([capture_in("b")]);
            let graph = futures::executor::block_on(stream.next()).unwrap();
            assert_eq!(names(&graph.unwrap()), ["b", "aiokit::as_completed"]);
        }

        #[test]
        fn past_64_frames_the_outer_ones_are_counted_not_named() {
            fn nest(depth: usize) -> Pin<Box<dyn Future<Output = Option<FutureCallGraph>>>> {
                if depth == 0 {
                    Box::pin(capture_in("leaf"))
                } else {
                    Box::pin(Coroutine::new("level", nest(depth - 1)))
                }
            }
            let graph = futures::executor::block_on(nest(70)).unwrap();
            assert_eq!(graph.call_stack.len(), 65);
            assert_eq!(graph.call_stack[0].name(), "...");
            // Named: the outermost 64 (the frames pushed first).
            assert!(graph.call_stack[1..].iter().all(|f| f.name() == "level"));
        }
    }

    mod outside_a_poll_there_is_nothing_to_capture {
        use super::*;

        #[test]
        fn none_before_during_nothing_and_after() {
            assert_eq!(capture_call_graph(), None);
            futures::executor::block_on(capture_in("x"));
            assert_eq!(capture_call_graph(), None);
        }

        #[test]
        fn a_panicking_coroutine_pops_its_frame() {
            let panicked = std::panic::catch_unwind(|| {
                futures::executor::block_on(Coroutine::new("boom", async { panic!("boom") }))
            });
            assert!(panicked.is_err());
            assert_eq!(capture_call_graph(), None);
        }
    }

    #[cfg(feature = "event-loop")]
    #[test]
    fn on_the_event_loop_the_future_is_the_current_task() {
        let graph = crate::run(capture_in("main")).unwrap();
        let CallGraphFuture::LoopTask { name } = &graph.future else {
            panic!("a task of the loop: {graph:?}");
        };
        assert!(name.starts_with("Task-") || name == "main", "{name}");
        assert_eq!(names(&graph), ["main"]);
    }

    #[cfg(feature = "event-loop")]
    mod awaited_by_lists_the_tasks_awaiting_a_task {
        use super::*;
        use crate::Task;

        async fn yield_now() {
            let mut yielded = false;
            core::future::poll_fn(|cx| {
                if core::mem::replace(&mut yielded, true) {
                    return core::task::Poll::Ready(());
                }
                cx.waker().wake_by_ref();
                core::task::Poll::Pending
            })
            .await
        }

        fn task_name(graph: &FutureCallGraph) -> &str {
            match &graph.future {
                CallGraphFuture::LoopTask { name } | CallGraphFuture::TaskHandle { name } => name,
                CallGraphFuture::Poll => "<poll>",
            }
        }

        #[test]
        fn recursively_with_call_stacks_until_the_await_ends() {
            crate::run(async {
                let (tx, rx) = futures::channel::oneshot::channel::<()>();
                let leaf = crate::create_task(async { rx.await.is_ok() });
                leaf.set_name("leaf");
                let middle = crate::create_task(Coroutine::new("relay", {
                    let leaf = leaf.clone();
                    async move { leaf.await.unwrap() }
                }));
                middle.set_name("middle");
                let top = crate::create_task({
                    let middle = middle.clone();
                    async move { crate::shield(&middle).await.copied() }
                });
                top.set_name("top");
                yield_now().await;

                let graph = capture_call_graph_of(&leaf);
                assert_eq!(task_name(&graph), "leaf");
                assert!(graph.call_stack.is_empty(), "not being polled");
                assert_eq!(graph.awaited_by.len(), 1);
                let by_middle = &graph.awaited_by[0];
                assert_eq!(
                    by_middle.future,
                    CallGraphFuture::LoopTask {
                        name: "middle".into()
                    }
                );
                assert_eq!(names(by_middle), ["relay"]);
                assert_eq!(by_middle.awaited_by.len(), 1);
                assert_eq!(task_name(&by_middle.awaited_by[0]), "top");
                assert!(by_middle.awaited_by[0].awaited_by.is_empty());

                tx.send(()).unwrap();
                assert_eq!(top.await, Ok(Ok(true)));
                assert!(capture_call_graph_of(&leaf).awaited_by.is_empty());
                assert!(capture_call_graph_of(&middle).awaited_by.is_empty());
            });
        }

        #[test]
        fn a_dropped_await_is_forgotten() {
            crate::run(async {
                let (_tx, rx) = futures::channel::oneshot::channel::<()>();
                let waited: Task<bool> = crate::create_task(async { rx.await.is_ok() });
                let mut shielded = crate::shield(&waited);
                let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
                assert!(Pin::new(&mut shielded).poll(&mut cx).is_pending());
                let graph = capture_call_graph_of(&waited);
                assert_eq!(graph.awaited_by.len(), 1);
                // The awaiter is this task, polled here: the graph names it.
                assert!(matches!(
                    graph.awaited_by[0].future,
                    CallGraphFuture::LoopTask { .. }
                ));
                drop(shielded);
                assert!(capture_call_graph_of(&waited).awaited_by.is_empty());
                waited.cancel();
            });
        }

        #[test]
        fn capture_call_graph_fills_the_current_tasks_awaiters() {
            crate::run(async {
                let (tx, rx) = futures::channel::oneshot::channel::<()>();
                let inner = crate::create_task(Coroutine::new("inner", async move {
                    rx.await.ok();
                    capture_call_graph()
                }));
                let outer = crate::create_task({
                    let inner = inner.clone();
                    async move { inner.await.unwrap() }
                });
                outer.set_name("outer");
                yield_now().await;
                tx.send(()).unwrap();
                let graph = outer.await.unwrap().unwrap();
                assert_eq!(names(&graph), ["inner"]);
                let awaiters: Vec<_> = graph.awaited_by.iter().map(task_name).collect();
                assert_eq!(awaiters, ["outer"]);
            });
        }

        #[test]
        fn an_await_off_the_loop_shows_the_poll_and_its_stack() {
            let (task, completer) = crate::task::task_pair::<u8>();
            let waiter = Coroutine::new("waiter", task.clone());
            let mut waiter = Box::pin(waiter);
            let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
            assert!(waiter.as_mut().poll(&mut cx).is_pending());
            let graph = capture_call_graph_of(&task);
            assert_eq!(graph.awaited_by.len(), 1);
            assert_eq!(graph.awaited_by[0].future, CallGraphFuture::Poll);
            assert_eq!(names(&graph.awaited_by[0]), ["waiter"]);
            completer.complete(3);
            assert_eq!(
                waiter.as_mut().poll(&mut cx),
                core::task::Poll::Ready(Ok(3))
            );
            assert!(capture_call_graph_of(&task).awaited_by.is_empty());
        }
    }

    mod format_call_graph_follows_asyncio_layout {
        use super::*;

        #[test]
        fn task_call_stack_and_awaited_by() {
            let frame = |name, kind| FrameCallGraphEntry { name, kind };
            let graph = FutureCallGraph {
                future: CallGraphFuture::LoopTask {
                    name: "test".into(),
                },
                call_stack: vec![frame("test", FrameKind::Coroutine)],
                awaited_by: vec![FutureCallGraph {
                    future: CallGraphFuture::LoopTask {
                        name: "Task-1".into(),
                    },
                    call_stack: vec![
                        frame("aiokit::TaskGroup", FrameKind::Combinator),
                        frame("main", FrameKind::Coroutine),
                    ],
                    awaited_by: vec![],
                }],
            };
            assert_eq!(
                format_call_graph(&graph),
                "* Task(name='test')\n  + Call stack:\n  |   async test()\n  + Awaited by:\n    \
                 * Task(name='Task-1')\n      + Call stack:\n      |   aiokit::TaskGroup()\n      \
                 |   async main()"
            );
            assert_eq!(graph.to_string(), format_call_graph(&graph));
        }
    }
}
