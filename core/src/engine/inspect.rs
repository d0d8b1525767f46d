//! Read-only views of the children, for `Debug` and for the children's names: which child a
//! memory address belongs to, and every child's state. Nothing here polls or drops a child,
//! and nothing is on the driving path.

use core::future::Future;
use core::mem::size_of;

use super::api::{Engine, State};
use super::slots::Slot;

/// Where the first segment's slots lie in memory, copied out of an [`Engine`] so that the
/// child an address belongs to can be found while the engine is being driven (mutably
/// borrowed). Slots never move while their engine lives, so a span stays true until the
/// engine is dropped; it covers the children pushed when it was taken.
// Names are heard only with the `inspect` feature: without it nothing reads a span.
#[cfg_attr(not(feature = "inspect"), allow(dead_code))]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Span {
    start: usize,
    stride: usize,
    count: usize,
}

impl Span {
    /// The index of the child whose slot holds `addr` (the address of a value stored inside
    /// the child itself, such as a `Coroutine` it runs inline).
    #[cfg_attr(not(feature = "inspect"), allow(dead_code))]
    pub(crate) fn index_of(self, addr: usize) -> Option<usize> {
        let offset = addr.checked_sub(self.start)?;
        let index = offset / self.stride.max(1);
        (index < self.count).then_some(index)
    }

    /// How many children the span covers.
    #[cfg_attr(not(feature = "inspect"), allow(dead_code))]
    pub(crate) fn len(self) -> usize {
        self.count
    }
}

impl<F: Future> Engine<F> {
    /// The span of the first segment's slots (every child of `gather`, `wait` and
    /// `as_completed`, whose children are all given up front).
    #[cfg_attr(not(feature = "inspect"), allow(dead_code))]
    pub(crate) fn span(&self) -> Span {
        Span {
            start: self.slots.first.as_ptr() as usize,
            stride: size_of::<Slot<F>>(),
            count: self.slots.len.min(self.slots.first.capacity()),
        }
    }

    /// Every child's state, in index order.
    pub(crate) fn states(&self) -> impl ExactSizeIterator<Item = State> + '_ {
        (0..self.slots.len).map(|index| self.state(index))
    }
}

/// The handles of a task group's children, type-erased, for the group's `Debug` (names and
/// states): kept only with the `inspect` feature.
///
/// `C` is the group's child type, [`SendDriver`](super::task_cell::SendDriver) or
/// [`RawDriver`](super::task_cell::RawDriver): the list is `Send` when `C` is, and a task can
/// only be pushed through [`push_send`](Self::push_send) (its output `Send + Sync`, as the
/// children of a `Send` group's are) or [`push_local`](Self::push_local) (the list of a local
/// group, never `Send`).
#[cfg(feature = "inspect")]
pub(crate) struct ChildViews<'a, C> {
    list: alloc::vec::Vec<DynCellRef<dyn TaskView + 'a>>,
    /// The length at which the next push first drops the done ones: twice the handles left by
    /// the last drop (at least `min`), so that a push costs O(1) amortized.
    prune_at: usize,
    _kind: core::marker::PhantomData<fn() -> C>,
}

#[cfg(feature = "inspect")]
use super::task_cell::{DynCellRef, RawDriver, SendDriver};
#[cfg(feature = "inspect")]
use crate::task::{Task, TaskView};

// SAFETY: a `ChildViews<SendDriver>` only holds handles pushed by `push_send`, to tasks whose
// output is `Send + Sync`: their state (`Inner<T>`) is `Send + Sync`, so sending the handles
// (and dropping the last one, which drops the state, on another thread) or sharing them is as
// safe as for `Task<T>` itself. A `ChildViews<RawDriver>` is not `Send` (`RawDriver` is not).
#[cfg(feature = "inspect")]
unsafe impl<'a, C: Send> Send for ChildViews<'a, C> {}

#[cfg(feature = "inspect")]
impl<'a, C> ChildViews<'a, C> {
    pub(crate) const fn new() -> Self {
        ChildViews {
            list: alloc::vec::Vec::new(),
            prune_at: 0,
            _kind: core::marker::PhantomData,
        }
    }

    /// The handles, cloned (a count each, no allocation of their own): read under the group's
    /// lock, used after it is released.
    pub(crate) fn snapshot(&self) -> alloc::vec::Vec<DynCellRef<dyn TaskView + 'a>> {
        self.list.clone()
    }

    /// Once `min` handles (or twice as many as the last call left) are kept, removes those of
    /// the tasks that are done, giving them back to be dropped by the caller after it released
    /// its lock (the last handle of a task drops its output).
    pub(crate) fn take_done(
        &mut self,
        min: usize,
    ) -> alloc::vec::Vec<DynCellRef<dyn TaskView + 'a>> {
        if self.list.len() < self.prune_at.max(min) {
            return alloc::vec::Vec::new();
        }
        // In place, in order: the live handles to the front, the done ones split off (an
        // allocation only if there are some).
        let mut live = 0;
        for index in 0..self.list.len() {
            if !self.list[index].done() {
                self.list.swap(live, index);
                live += 1;
            }
        }
        let done = self.list.split_off(live);
        self.prune_at = self.list.len() * 2;
        done
    }

    fn push<T: 'a>(&mut self, task: &Task<T>) {
        self.list.push(task.erased_in());
    }
}

#[cfg(feature = "inspect")]
impl<'a, O> ChildViews<'a, SendDriver<'a, O>> {
    /// Keeps a handle of a `Send` group's child.
    pub(crate) fn push_send<T: Send + Sync + 'a>(&mut self, task: &Task<T>) {
        self.push(task)
    }
}

#[cfg(feature = "inspect")]
impl<'a, O> ChildViews<'a, RawDriver<'a, O>> {
    /// Keeps a handle of a local group's child.
    pub(crate) fn push_local<T: 'a>(&mut self, task: &Task<T>) {
        self.push(task)
    }
}
