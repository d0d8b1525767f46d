//! [`SendDynCellRef`]: a [`DynCellRef`] that may move to and be shared with other threads,
//! made only from a cell whose state may: a handle that does not name the task's output
//! type, for a registry shared between threads (`TaskGroup::on`'s children), with no
//! allocation of its own.

use core::ops::Deref;

use super::task_cell::{CellRef, DynCellRef};

/// A reference to a cell's state seen through the trait object `D`, `Send` and `Sync`.
pub(crate) struct SendDynCellRef<D: ?Sized>(DynCellRef<D>);

// SAFETY: made only by `new`, from a cell whose state `S` is `Send + Sync`, seen through a view
// `D` that is `Sync`. Moving or sharing it hands out `&D` on another thread (`D: Sync`), clones
// and drops counts with atomic operations, and the last count, given up on any thread, drops
// the `S` there (`S: Send`), as for an `Arc<S>`.
unsafe impl<D: ?Sized + Sync> Send for SendDynCellRef<D> {}
// SAFETY: as above: `&SendDynCellRef` only allows `&D` and clones.
unsafe impl<D: ?Sized + Sync> Sync for SendDynCellRef<D> {}

impl<D: ?Sized> SendDynCellRef<D> {
    /// `cell`, seen through `view` (see [`CellRef::into_dyn`]).
    pub(crate) fn new<S: Send + Sync>(cell: CellRef<S>, view: for<'s> fn(&'s S) -> &'s D) -> Self {
        SendDynCellRef(cell.into_dyn(view))
    }
}

impl<D: ?Sized> Deref for SendDynCellRef<D> {
    type Target = D;

    fn deref(&self) -> &D {
        &self.0
    }
}

impl<D: ?Sized> Clone for SendDynCellRef<D> {
    fn clone(&self) -> Self {
        SendDynCellRef(self.0.clone())
    }
}
