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
