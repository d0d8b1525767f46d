//! The names of a combinator's children, learned while they run.
//!
//! A combinator's children are of a generic type `F`, and stable Rust cannot ask an `F`
//! whether it is a [`Coroutine`](crate::Coroutine). So the named futures announce themselves:
//! a `Coroutine` and a named [`Boxed`](crate::boxed::Boxed) on their first poll
//! hand their own address and name to [`announce`] while a combinator listens (around each
//! drive of its children). The combinator keeps the names whose address lies inside one of its
//! children's slots: that future is stored inside the child (it is the child, or a coroutine
//! the child runs inline), and the first one heard for a child names it. The first heard is
//! the outermost: a coroutine is first polled before the coroutines it awaits.
//!
//! Not heard: children never polled yet, coroutines boxed on the heap by a child (their
//! address is outside the slot; `boxed!` keeps the name on the box itself) and every name
//! under `no_std` (the listener is thread-local).

#[cfg(feature = "inspect")]
use alloc::vec::Vec;
use core::future::Future;
use core::task::Context;

#[cfg(feature = "inspect")]
use crate::engine::Span;
use crate::engine::{Drive, Engine, State, Step};

#[cfg(feature = "inspect")]
mod heard {
    use alloc::vec::Vec;
    use core::cell::{Cell, RefCell};

    /// Plain counters (no destructor, so reading them is a plain thread-local load): what a
    /// drive that hears nothing pays.
    pub(super) struct Counters {
        /// How many drives are listening (nested combinators each add one).
        pub(super) listening: Cell<usize>,
        /// How many names [`NAMES`] holds.
        pub(super) heard: Cell<usize>,
    }

    std::thread_local! {
        pub(super) static COUNTERS: Counters = const {
            Counters { listening: Cell::new(0), heard: Cell::new(0) }
        };
        /// `(address, name)`, in the order heard; each drive takes what was heard after its
        /// own start.
        pub(super) static NAMES: RefCell<Vec<(usize, &'static str)>> =
            const { RefCell::new(Vec::new()) };
    }
}

/// Called by a named future from its `poll`: `addr` is its own address. Does nothing unless a
/// combinator on this thread is driving its children.
#[inline]
pub(crate) fn announce(addr: usize, name: &'static str) {
    #[cfg(feature = "inspect")]
    {
        // `try_with`: a future polled during thread teardown must not panic here.
        let listening = heard::COUNTERS.try_with(|c| c.listening.get() > 0);
        if listening == Ok(true) {
            hear(addr, name);
        }
    }
    #[cfg(not(feature = "inspect"))]
    let _ = (addr, name);
}

#[cfg(feature = "inspect")]
#[cold]
fn hear(addr: usize, name: &'static str) {
    let _ = heard::NAMES.try_with(|names| {
        if let Ok(mut names) = names.try_borrow_mut() {
            names.push((addr, name));
            heard::COUNTERS.with(|c| c.heard.set(names.len()));
        }
    });
}

/// The names of one engine's children, by index (empty until a name is heard, so children
/// that are plain futures cost nothing but the listening itself). Without the `inspect`
/// feature no name is ever heard, and this is empty: the sets that hold it (`Pending`, the
/// combinators) are moved by value several times a `wait` round.
#[derive(Debug, Default)]
pub(crate) struct ChildNames {
    #[cfg(feature = "inspect")]
    by_index: Vec<Option<&'static str>>,
}

impl ChildNames {
    /// No name known yet.
    pub(crate) const fn new() -> Self {
        ChildNames {
            #[cfg(feature = "inspect")]
            by_index: Vec::new(),
        }
    }

    /// The name of child `index`, if one was heard.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&'static str> {
        #[cfg(feature = "inspect")]
        return self.by_index.get(index).copied().flatten();
        #[cfg(not(feature = "inspect"))]
        {
            let _ = index;
            None
        }
    }

    /// Keeps the first name heard for each child; the names of addresses outside the children
    /// (a nested combinator's children, anything on the heap) are ignored.
    #[cfg(feature = "inspect")]
    fn learn(&mut self, span: Span, heard: impl Iterator<Item = (usize, &'static str)>) {
        for (addr, name) in heard {
            if let Some(index) = span.index_of(addr) {
                if self.by_index.len() <= index {
                    // One allocation for every child of the span.
                    self.by_index.resize(span.len().max(index + 1), None);
                }
                self.by_index[index].get_or_insert(name);
            }
        }
    }

    /// Drives `engine` as [`Engine::poll_drive_settling`] does, listening for the children's names: once it returns, [`get`](Self::get)
    /// knows the names heard during the drive (also those of the children that finished in
    /// it).
    #[inline]
    ///
    /// `combinator` names the combinator's frame for
    /// [`capture_call_graph`](crate::capture_call_graph) (`aiokit::gather`, ...).
    pub(crate) fn drive<F, C>(
        &mut self,
        combinator: &'static str,
        engine: &mut Engine<F>,
        cx: &mut Context<'_>,
        settle: bool,
        on_done: C,
    ) -> Drive
    where
        F: Future,
        C: FnMut(usize, &mut Option<F::Output>) -> Step,
    {
        #[cfg(feature = "inspect")]
        {
            let _frame =
                crate::graph::Frame::enter(combinator, crate::graph::FrameKind::Combinator);
            let span = engine.span();
            let listen = Listen::start();
            let drive = engine.poll_drive_settling(cx, settle, on_done);
            listen.finish(self, span);
            drive
        }
        #[cfg(not(feature = "inspect"))]
        {
            let _ = combinator;
            engine.poll_drive_settling(cx, settle, on_done)
        }
    }

    /// Writes `name<state>` for each child, as the combinators' `Debug` shows them (see
    /// `docs/semantics.md#debug-output-of-the-combinators`): at most [`SHOWN`] children, then
    /// how many more there are.
    pub(crate) fn debug_children<'a, F: Future>(
        &'a self,
        engine: &'a Engine<F>,
    ) -> impl core::fmt::Debug + 'a {
        DebugChildren {
            names: self,
            states: engine,
        }
    }
}

/// How many children a combinator's `Debug` lists before it writes `...N more`.
pub(crate) const SHOWN: usize = 32;

struct DebugChildren<'a, F: Future> {
    names: &'a ChildNames,
    states: &'a Engine<F>,
}

impl<F: Future> core::fmt::Debug for DebugChildren<'_, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut list = f.debug_list();
        let states = self.states.states();
        let total = states.len();
        for (index, state) in states.enumerate().take(SHOWN) {
            list.entry(&ChildEntry {
                index,
                name: self.names.get(index),
                state,
            });
        }
        if total > SHOWN {
            list.entry(&More(total - SHOWN));
        }
        list.finish()
    }
}

/// One child in a combinator's `Debug`: `make_tea<pending>`, `<future #3><done>`.
pub(crate) struct ChildEntry<'a> {
    pub(crate) index: usize,
    pub(crate) name: Option<&'a str>,
    pub(crate) state: State,
}

impl core::fmt::Debug for ChildEntry<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match self.state {
            State::Running => "pending",
            State::Done | State::Empty => "done",
        };
        match self.name {
            Some(name) => write!(f, "{name}<{state}>"),
            None => write!(f, "<future #{}><{state}>", self.index),
        }
    }
}

struct More(usize);

impl core::fmt::Debug for More {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "...{} more", self.0)
    }
}

#[cfg(feature = "inspect")]
/// A drive listening for names: started in [`Listen::start`], ended on drop (also when a
/// child's panic unwinds through the drive).
struct Listen {
    #[cfg(feature = "inspect")]
    mark: usize,
}

#[cfg(feature = "inspect")]
impl Listen {
    #[inline]
    fn start() -> Self {
        #[cfg(feature = "inspect")]
        {
            let mark = heard::COUNTERS.with(|c| {
                c.listening.set(c.listening.get() + 1);
                c.heard.get()
            });
            Listen { mark }
        }
        #[cfg(not(feature = "inspect"))]
        Listen {}
    }

    /// Ends the listening, moving the names heard since the start into `names`.
    #[inline]
    fn finish(self, names: &mut ChildNames, span: Span) {
        #[cfg(feature = "inspect")]
        {
            let heard = heard::COUNTERS.with(|c| {
                c.listening.set(c.listening.get() - 1);
                c.heard.get()
            });
            if heard > self.mark {
                take_heard(self.mark, names, span);
            }
        }
        #[cfg(not(feature = "inspect"))]
        let _ = (names, span);
        core::mem::forget(self);
    }
}

/// Moves the names heard after `mark` into `names`.
#[cfg(feature = "inspect")]
#[cold]
fn take_heard(mark: usize, names: &mut ChildNames, span: Span) {
    heard::NAMES.with(|heard| {
        let mut heard = heard.borrow_mut();
        names.learn(span, heard.drain(mark..));
    });
    heard::COUNTERS.with(|c| c.heard.set(mark));
}

#[cfg(feature = "inspect")]
impl Drop for Listen {
    #[inline]
    fn drop(&mut self) {
        #[cfg(feature = "inspect")]
        let _ = heard::COUNTERS.try_with(|c| {
            c.listening.set(c.listening.get() - 1);
            if c.heard.get() > self.mark {
                c.heard.set(self.mark);
                let _ = heard::NAMES.try_with(|names| names.borrow_mut().truncate(self.mark));
            }
        });
    }
}

#[cfg(all(test, feature = "inspect"))]
mod tests {
    use alloc::format;
    use alloc::vec::Vec;
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};

    use futures::channel::oneshot;

    use crate::coroutine::Coroutine;
    use crate::{ReturnWhen, gather, wait};

    fn make_tea(rx: oneshot::Receiver<u8>) -> Coroutine<impl Future<Output = u8>> {
        Coroutine::new("make_tea", async move { rx.await.unwrap_or(0) })
    }

    fn ready_tea(n: u8) -> Coroutine<impl Future<Output = u8>> {
        Coroutine::new("ready_tea", async move { n })
    }

    fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
        Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
    }

    mod a_done_child_is_named_after_its_coroutine {
        use super::*;

        #[test]
        fn heard_on_the_first_poll_kept_until_it_completes() {
            let (tx, rx) = oneshot::channel();
            let (tx2, rx2) = oneshot::channel();
            let mut first = wait([make_tea(rx), make_tea(rx2)], ReturnWhen::FirstCompleted);
            assert!(poll_once(&mut first).is_pending());
            tx2.send(2).unwrap();
            let Poll::Ready((done, pending)) = poll_once(&mut first) else {
                panic!("child 1 completed");
            };
            assert_eq!((done[0].index, done[0].name()), (1, Some("make_tea")));
            // The pending set keeps the names heard: the next wait knows child 0.
            tx.send(1).unwrap();
            let mut second = wait(pending, ReturnWhen::AllCompleted);
            let Poll::Ready((done, _)) = poll_once(&mut second) else {
                panic!("child 0 completed");
            };
            assert_eq!((done[0].index, done[0].name()), (0, Some("make_tea")));
        }

        #[test]
        fn an_async_block_is_named_after_the_coroutine_it_runs_inline() {
            let (done, _) = futures::executor::block_on(wait(
                [async { ready_tea(1).await + 1 }],
                ReturnWhen::AllCompleted,
            ));
            assert_eq!(done[0].name(), Some("ready_tea"));
        }
    }

    mod a_plain_child_has_no_name {
        use super::*;

        #[test]
        fn not_even_the_name_of_a_coroutine_a_sibling_ran_in_the_same_drive() {
            // Child 0 completes a coroutine inline and stays pending; child 1, a plain future,
            // completes in the same drive, after it.
            let (tx, rx) = oneshot::channel::<u8>();
            let child0 = futures::future::Either::Left(async move {
                ready_tea(1).await;
                rx.await.unwrap_or(0)
            });
            let child1 = futures::future::Either::Right(async { 2 });
            let mut waiting = wait([child0, child1], ReturnWhen::FirstCompleted);
            let Poll::Ready((done, pending)) = poll_once(&mut waiting) else {
                panic!("child 1 completed");
            };
            assert_eq!((done[0].index, done[0].name()), (1, None));
            assert_eq!(done[0].name_or_default(), "<future #1>");
            tx.send(0).unwrap();
            let (done, _) = futures::executor::block_on(wait(pending, ReturnWhen::AllCompleted));
            assert_eq!((done[0].index, done[0].name()), (0, Some("ready_tea")));
        }

        #[test]
        fn nor_the_names_of_a_nested_combinators_children() {
            let (done, _) = futures::executor::block_on(wait(
                [async { gather([ready_tea(1), ready_tea(2)]).await }],
                ReturnWhen::AllCompleted,
            ));
            assert_eq!(done[0].name(), None);
        }

        #[test]
        fn nor_a_coroutine_it_boxed_itself() {
            let (done, _) = futures::executor::block_on(wait(
                [async { alloc::boxed::Box::pin(ready_tea(1)).await }],
                ReturnWhen::AllCompleted,
            ));
            assert_eq!(done[0].name(), None);
        }
    }

    #[test]
    fn nothing_is_kept_when_no_combinator_listens() {
        futures::executor::block_on(ready_tea(1));
        super::heard::COUNTERS.with(|c| {
            assert_eq!((c.listening.get(), c.heard.get()), (0, 0));
        });
        super::heard::NAMES.with(|names| assert!(names.borrow().is_empty()));
    }

    mod debug_lists_the_children_by_name_and_state {
        use super::*;

        #[test]
        fn names_once_heard_states_always() {
            let (tx, rx) = oneshot::channel();
            let (_tx2, rx2) = oneshot::channel::<u8>();
            let children = [
                futures::future::Either::Left(make_tea(rx)),
                futures::future::Either::Right(async move { rx2.await.unwrap_or(0) }),
            ];
            let mut gathering = gather(children);
            assert_eq!(
                format!("{gathering:?}"),
                "Gather { running: 2, done: false, children: [<future #0><pending>, <future #1><pending>] }"
            );
            assert!(poll_once(&mut gathering).is_pending());
            tx.send(1).unwrap();
            assert!(poll_once(&mut gathering).is_pending());
            assert_eq!(
                format!("{gathering:?}"),
                "Gather { running: 1, done: false, children: [make_tea<done>, <future #1><pending>] }"
            );
        }

        #[test]
        fn try_gather_names_the_coroutine_inside_its_wrapper() {
            let (_tx, rx) = oneshot::channel::<u8>();
            let child = Coroutine::new("brew", async move { rx.await.map_err(|_| ()) });
            let mut gathering = crate::try_gather([child]);
            assert!(poll_once(&mut gathering).is_pending());
            assert_eq!(
                format!("{gathering:?}"),
                "TryGather { running: 1, done: false, children: [brew<pending>] }"
            );
        }

        #[test]
        fn at_most_32_children_then_how_many_more() {
            let pending = crate::wait::IntoChildren::into_pending(
                (0..40).map(|_| core::future::pending::<()>()),
            );
            let shown = format!("{pending:?}");
            assert!(shown.starts_with("Pending { running: 40, children: [<future #0><pending>"));
            assert!(
                shown.ends_with("<future #31><pending>, ...8 more] }"),
                "{shown}"
            );
            let listed: Vec<_> = shown.matches("<pending>").collect();
            assert_eq!(listed.len(), 32);
        }
    }
}
