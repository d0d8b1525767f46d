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
//!   elsewhere, the graph's future is [`CallGraphFuture::Poll`], the poll the thread is in.
//!
//! What is not recorded (asyncio records it):
//! - plain `async fn`s and `async` blocks (not coroutines): they push nothing, so the chain
//!   skips them;
//! - file names and line numbers;
//! - `awaited_by`: which task awaits a task handle. Children of a combinator are polled inline
//!   by the task that awaits the combinator, so their awaiter is already the rest of the
//!   stack; `awaited_by` is always empty;
//! - anything of a future that is not being polled: capture is only from inside a poll.
//!
//! Cost when nobody captures: a coroutine's or a combinator's poll writes one frame of a
//! thread-local array and raises then lowers its depth (no allocation, no lock); see
//! `docs/semantics.md#capture_call_graph-shows-the-chain-being-polled`.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

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
}

/// A captured call graph (asyncio's `FutureCallGraph`): the future, its call stack innermost
/// first, and the graphs of those awaiting it (always empty in aiokit: see the [module
/// docs](self)). Its `Display` is [`format_call_graph`]'s text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FutureCallGraph {
    /// The task or future being polled.
    pub future: CallGraphFuture,
    /// The coroutines and combinators being polled, innermost first.
    pub call_stack: Vec<FrameCallGraphEntry>,
    /// Who awaits `future` (always empty in aiokit).
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
    let call_stack = FRAMES
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
        .unwrap_or_default();
    let future = current_future();
    if call_stack.is_empty() && future == CallGraphFuture::Poll {
        return None;
    }
    Some(FutureCallGraph {
        future,
        call_stack,
        awaited_by: Vec::new(),
    })
}

fn current_future() -> CallGraphFuture {
    #[cfg(feature = "event-loop")]
    if let Some(task) = crate::event_loop::current_task() {
        return CallGraphFuture::LoopTask { name: task.name() };
    }
    CallGraphFuture::Poll
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
