//! Task cells: a task's shared state and its future in ONE allocation, the way async-task
//! lays out a raw task, so that a TaskGroup child costs one allocation instead of two (a boxed
//! future plus an `Arc` of the handle's state).
//!
//! ```text
//! Cell<S, F> (repr(C)):  [ Header { refs, free } | state: S | future: MaybeUninit<F> ]
//!                        \______ Prefix<S>: all a CellRef<S> ever sees ______/
//! ```
//!
//! Two kinds of owners share the allocation, each holding one count in `refs`:
//! - [`CellRef<S>`]: the handle side. Clonable, no lifetime beyond `S`'s, `Send`/`Sync` exactly
//!   when `Arc<S>` would be. It only ever touches the header and the state: it never names
//!   `F`, so a handle may outlive whatever the future borrowed.
//! - [`RawDriver<'a, O>`]: the driver side, at most one per cell, type-erased over `F` (a
//!   pointer and a static vtable, so an engine can hold children of different types without a
//!   box). It owns the future: polls it in place, and drops it in place as soon as it
//!   completes or the driver is dropped. `'a` bounds the future's borrows, so the future is dead
//!   before `'a` ends.
//!
//! The last owner to go calls the header's `free`, made for the cell's `(S, F)`: it drops the
//! state and frees the allocation with the cell's layout. Freeing never needs `F`'s drop glue,
//! and an owner never needs to know `F` (nor, for a [`DynCellRef`], `S`). One function pointer
//! rather than a `Layout`: the header is two words, which keeps a small task's cell within the
//! allocator's smallest size classes.
//!
//! A cell made by [`CellRef::new_many`] has no future part at all (spawned tasks, whose future lives
//! in the executor); the same header and release path serve both.

use alloc::alloc::{Layout, dealloc};
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ops::Deref;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use crate::engine::atomic::{AtomicUsize, Ordering, fence};

/// Above this many owners a clone aborts, as `Arc` does: a count that wrapped around would free
/// the cell while owners remain. Reaching it takes `isize::MAX` leaked handles.
const MAX_REFS: usize = isize::MAX as usize;

struct Header {
    refs: AtomicUsize,
    /// Drops the state and frees the cell (state and future part): [`free_cell`] for the
    /// cell's `(S, F)`, or `free_cell::<S, ()>` for a cell with no future part.
    free: unsafe fn(NonNull<Header>),
}

/// What every cell starts with, whatever its future; a `CellRef<S>` points here.
#[repr(C)]
struct Prefix<S> {
    header: Header,
    state: S,
}

/// A cell with a future part. `repr(C)` puts `prefix` at offset 0, so a pointer to the cell is a
/// pointer to its prefix, and the prefix's layout does not depend on `F`.
#[repr(C)]
struct Cell<S, F> {
    prefix: Prefix<S>,
    /// Initialized once the driver exists; dropped in place by the driver. `MaybeUninit` keeps
    /// `F`'s drop glue out of the cell: nothing but the driver ever drops it.
    future: UnsafeCell<MaybeUninit<F>>,
}

/// Gives up one owner's count of the cell whose header is `header`; the last one drops the
/// state and frees the cell (the header's `free`).
///
/// # Safety
/// `header` is the header of a live cell, and the caller owns one count, which it no longer
/// uses after this call. If this may be the last count, the future part is not initialized any
/// more (dropped, or never written).
unsafe fn release(header: NonNull<Header>) {
    // SAFETY: the caller owns a count, so the cell is alive; only the atomic is touched.
    let refs = unsafe { &(*header.as_ptr()).refs };
    let before = refs.fetch_sub(1, Ordering::Release);
    debug_assert!(before != 0, "cell reference count underflow");
    if before != 1 {
        return;
    }
    // Pairs with the `Release` of every other owner's decrement: their uses of the cell
    // happen before the state is dropped and the memory freed (the reasoning of `Arc`'s drop).
    fence(Ordering::Acquire);
    // SAFETY: we were the last owner, so nothing else can reach the cell, and the future part
    // is dead (the caller's contract): `free` (made for this cell's types at creation) may drop
    // the state and free the memory.
    unsafe { ((*header.as_ptr()).free)(header) }
}

/// The header's `free` for a cell allocated as a `Cell<S, F>` (by [`new_cell`]): drops the
/// state, frees the memory with the cell's layout.
///
/// # Safety
/// `header` is the header of a live cell allocated as a `Cell<S, F>`, whose state is
/// initialized and whose future part is dead; nothing uses the cell after this call.
unsafe fn free_cell<S, F>(header: NonNull<Header>) {
    let cell = header.cast::<Cell<S, F>>().as_ptr();
    // SAFETY: the header is at offset 0 of the cell (`repr(C)`); the state was initialized at
    // creation and is dropped exactly once, here; the future part is dead, so freeing with
    // the layout the cell was allocated with drops nothing else.
    unsafe {
        core::ptr::drop_in_place(&raw mut (*cell).prefix.state);
        dealloc(cell.cast::<u8>(), Layout::new::<Cell<S, F>>());
    }
}

/// The header's `free` for a cell with no future part, allocated as a `Prefix<S>` (by
/// [`CellRef::new_many`]).
///
/// # Safety
/// As for [`free_cell`], the cell being allocated as a `Prefix<S>`.
unsafe fn free_prefix<S>(header: NonNull<Header>) {
    let prefix = header.cast::<Prefix<S>>().as_ptr();
    // SAFETY: as in `free_cell`, with the layout of the bare prefix the cell was allocated as.
    unsafe {
        core::ptr::drop_in_place(&raw mut (*prefix).state);
        dealloc(prefix.cast::<u8>(), Layout::new::<Prefix<S>>());
    }
}

/// The handle side of a cell: shared access to its state `S`, reference counted.
pub(crate) struct CellRef<S> {
    prefix: NonNull<Prefix<S>>,
    /// This type owns (a share of) an `S` and may drop it.
    _owns: PhantomData<S>,
}

// SAFETY: as for `Arc<S>`: a `CellRef` gives out `&S` on whatever thread holds it (so `S: Sync`)
// and the last one, on any thread, drops the `S` (so `S: Send`). It never touches the future.
unsafe impl<S: Send + Sync> Send for CellRef<S> {}
// SAFETY: as above; `&CellRef<S>` only allows `&S` and clones.
unsafe impl<S: Send + Sync> Sync for CellRef<S> {}

impl<S> CellRef<S> {
    /// A cell with `state` and no future part, and `N` handles to it: counted up front rather
    /// than by `N - 1` atomic increments.
    pub(crate) fn new_many<const N: usize>(state: S) -> [Self; N] {
        const { assert!(N > 0, "a cell starts with at least one owner") };
        let raw = Box::into_raw(Box::new(Prefix {
            header: Header {
                refs: AtomicUsize::new(N),
                free: free_prefix::<S>,
            },
            state,
        }));
        // SAFETY: `Box::into_raw` never returns null.
        let prefix = unsafe { NonNull::new_unchecked(raw) };
        // Each handle owns one of the `N` counts.
        core::array::from_fn(|_| CellRef {
            prefix,
            _owns: PhantomData,
        })
    }

    /// Whether two references point to the same cell.
    #[cfg(all(test, not(aiokit_loom)))]
    pub(crate) fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.prefix == b.prefix
    }

    /// How many owners (handles and driver) the cell has; for tests.
    #[cfg(all(test, not(aiokit_loom)))]
    fn refs(&self) -> usize {
        // SAFETY: we own a count, so the cell is alive.
        unsafe { (*self.prefix.as_ptr()).header.refs.load(Ordering::Acquire) }
    }
}

// Nothing is pinned through a `CellRef` (as for `Arc`).
impl<S> Unpin for CellRef<S> {}

impl<S> Deref for CellRef<S> {
    type Target = S;

    fn deref(&self) -> &S {
        // SAFETY: we own a count, so the cell and its state are alive as long as `self`. The
        // reference covers the state field only, never the future, which the driver may be
        // mutating at this very moment.
        unsafe { &(*self.prefix.as_ptr()).state }
    }
}

impl<S> Clone for CellRef<S> {
    fn clone(&self) -> Self {
        // SAFETY: we own a count, so the cell is alive.
        let refs = unsafe { &(*self.prefix.as_ptr()).header.refs };
        // Relaxed, as `Arc::clone`: a new owner is made from an existing one, which already
        // keeps the cell alive, so there is nothing to synchronize with.
        if refs.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            abort_on_overflow();
        }
        CellRef {
            prefix: self.prefix,
            _owns: PhantomData,
        }
    }
}

impl<S> Drop for CellRef<S> {
    fn drop(&mut self) {
        // SAFETY: we own a count and give it up here. Whenever a driver exists it owns a count
        // of its own until its future is dropped, so if ours is the last, the future is dead.
        unsafe { release(self.prefix.cast()) }
    }
}

impl<S: fmt::Debug> fmt::Debug for CellRef<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<S> CellRef<S> {
    /// This handle, seen through `view` (a trait object of the state, as `Rc<dyn Trait>`):
    /// the state's type is erased, with no allocation. `view` is typically `|s| s`, an unsizing
    /// coercion.
    pub(crate) fn into_dyn<D: ?Sized>(self, view: for<'s> fn(&'s S) -> &'s D) -> DynCellRef<D> {
        let this = ManuallyDrop::new(self);
        // The reference `view` returns lives as long as the state it was borrowed from: the
        // state is only dropped by the last owner, which this handle stays (its count moves
        // into the `DynCellRef`).
        let state = NonNull::from(view(&**this));
        DynCellRef {
            prefix: this.prefix.cast::<Header>(),
            state,
        }
    }
}

/// A handle to a cell whose state is seen through the trait object `D` (see
/// [`CellRef::into_dyn`]): clonable, reference counted with the cell's other owners. Neither
/// `Send` nor `Sync` (it stands in for an `Rc<dyn Trait>`).
pub(crate) struct DynCellRef<D: ?Sized> {
    prefix: NonNull<Header>,
    /// Borrowed from the state by the view function: valid while the cell's state lives.
    state: NonNull<D>,
}

impl<D: ?Sized> DynCellRef<D> {
    /// Whether both refer to the same cell.
    #[cfg_attr(
        not(any(test, feature = "event-loop")),
        allow(dead_code, reason = "the event loop's AnyTask compares them")
    )]
    pub(crate) fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.prefix == b.prefix
    }
}

impl<D: ?Sized> Deref for DynCellRef<D> {
    type Target = D;

    fn deref(&self) -> &D {
        // SAFETY: we own a count, so the state is alive, and `state` was borrowed from it (see
        // `into_dyn`); the state is only ever accessed through shared references until the
        // last owner drops it.
        unsafe { self.state.as_ref() }
    }
}

impl<D: ?Sized> Clone for DynCellRef<D> {
    fn clone(&self) -> Self {
        // SAFETY: we own a count, so the cell is alive.
        let refs = unsafe { &(*self.prefix.as_ptr()).refs };
        // Relaxed: see `CellRef::clone`.
        if refs.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            abort_on_overflow();
        }
        DynCellRef {
            prefix: self.prefix,
            state: self.state,
        }
    }
}

impl<D: ?Sized> Drop for DynCellRef<D> {
    fn drop(&mut self) {
        // SAFETY: we own a count and give it up here; as for `CellRef`, a driver keeps a count
        // of its own while its future lives.
        unsafe { release(self.prefix) }
    }
}

#[cold]
fn abort_on_overflow() -> ! {
    std::process::abort()
}

/// The operations of a driver, monomorphized for one `(S, F)`. Held by value, not as a
/// `&'static` table: that would require `O: 'static`, and a child's output may borrow.
struct DriverVTable<O> {
    /// Polls the future in place.
    poll: unsafe fn(NonNull<()>, &mut Context<'_>) -> Poll<O>,
    /// Drops the future in place, then gives up the driver's count.
    drop_future: unsafe fn(NonNull<()>),
}

/// # Safety
/// `cell` is a `Cell<S, F>` whose future is initialized, and the caller is its driver (the only
/// one that touches the future), holding its count.
unsafe fn poll_future<S, F: Future>(cell: NonNull<()>, cx: &mut Context<'_>) -> Poll<F::Output> {
    let cell = cell.cast::<Cell<S, F>>().as_ptr();
    // SAFETY: the driver has exclusive access to the future field (handles only reach the
    // header and the state), the future is initialized, and it never moves: it stays at this
    // address until it is dropped in place, so pinning it is sound.
    unsafe {
        let fut = UnsafeCell::raw_get(&raw const (*cell).future).cast::<F>();
        Pin::new_unchecked(&mut *fut).poll(cx)
    }
}

/// # Safety
/// As for [`poll_future`]; the future is not used after this call, nor is the driver's count.
unsafe fn drop_future<S, F>(cell: NonNull<()>) {
    /// Gives up the driver's count even if the future's destructor panics: the future is dead
    /// either way (its fields were dropped, as `drop_in_place` does on unwind).
    struct Release<S>(NonNull<Prefix<S>>);
    impl<S> Drop for Release<S> {
        fn drop(&mut self) {
            // SAFETY: the driver's count, given up once; the future was dropped just before.
            unsafe { release(self.0.cast()) }
        }
    }
    let cell = cell.cast::<Cell<S, F>>();
    let _release = Release(cell.cast::<Prefix<S>>());
    // SAFETY: the driver owns the initialized future and drops it once; the driver's count
    // keeps the cell alive through the drop (the future may hold counts of its own, e.g. the
    // completer's handle, and give them up while being dropped).
    unsafe {
        let fut = UnsafeCell::raw_get(&raw const (*cell.as_ptr()).future).cast::<F>();
        core::ptr::drop_in_place(fut);
    }
}

/// Makes a cell with `state` and the future that `make` builds from a handle to that same cell
/// (so the future can complete its own task), and returns a handle and the cell's driver.
///
/// One allocation. If `make` panics, the cell is freed without a future.
pub(crate) fn new_cell<'a, S, F, M>(state: S, make: M) -> (CellRef<S>, RawDriver<'a, F::Output>)
where
    S: 'a,
    F: Future + 'a,
    M: FnOnce(CellRef<S>) -> F,
{
    // Allocated uninitialized and only the prefix written: `Box::new` of a whole `Cell` built
    // the cell on the stack and copied it over, the future part's uninitialized bytes included
    // (a `memcpy` of the whole cell for every task).
    let raw = Box::into_raw(Box::<Cell<S, F>>::new_uninit()).cast::<Cell<S, F>>();
    // SAFETY: `raw` is a fresh allocation for a `Cell<S, F>`, valid for writes; the prefix is
    // written whole here, and the future part (`UnsafeCell<MaybeUninit<F>>`) may stay
    // uninitialized, so from here on `raw` points to a valid `Cell<S, F>`, freed by
    // `free_cell::<S, F>` with `Layout::new::<Cell<S, F>>()`, the layout it was allocated with.
    unsafe {
        (&raw mut (*raw).prefix).write(Prefix {
            header: Header {
                // `handle` below, the one `make` gets, and the driver's: counted up front
                // rather than by atomic increments.
                refs: AtomicUsize::new(3),
                free: free_cell::<S, F>,
            },
            state,
        });
    }
    let handle = CellRef {
        // SAFETY: `Box::into_raw` never returns null; `prefix` is at offset 0 (`repr(C)`), and
        // the pointer keeps the provenance of the whole allocation.
        prefix: unsafe { NonNull::new_unchecked(raw.cast::<Prefix<S>>()) },
        _owns: PhantomData,
    };
    /// Gives up the driver's count if `make` unwinds: the future part is still uninitialized
    /// then, which is what `release` expects of the last owner.
    struct Unwind<S>(NonNull<Prefix<S>>);
    impl<S> Drop for Unwind<S> {
        fn drop(&mut self) {
            // SAFETY: the driver's count, never handed to a driver; the future is not written.
            unsafe { release(self.0.cast()) }
        }
    }
    let unwind = Unwind(handle.prefix);
    let fut = make(CellRef {
        prefix: handle.prefix,
        _owns: PhantomData,
    });
    // SAFETY: the cell is alive (we hold `handle`) and nobody else touches the future field:
    // no driver exists yet and handles never do.
    unsafe {
        UnsafeCell::raw_get(&raw const (*raw).future)
            .cast::<F>()
            .write(fut)
    };
    // The driver owns its count from here on.
    core::mem::forget(unwind);
    let driver = RawDriver {
        // SAFETY: non-null, see above.
        cell: Some(unsafe { NonNull::new_unchecked(raw.cast::<()>()) }),
        vtable: DriverVTable {
            poll: poll_future::<S, F>,
            drop_future: drop_future::<S, F>,
        },
        _scope: PhantomData,
    };
    (handle, driver)
}

/// The driver side of a cell made by [`new_cell`]: polls the future in place and drops it in
/// place when it completes or when the driver is dropped. Holds one count of the cell.
///
/// Not `Send`: see [`SendDriver`].
pub(crate) struct RawDriver<'a, O> {
    /// `None` once the future completed (and was dropped, and the count given up).
    cell: Option<NonNull<()>>,
    vtable: DriverVTable<O>,
    /// The future may borrow for `'a`; the explicit `Drop` impl below makes the borrow checker
    /// hold `'a` alive until the driver is dropped, as for a `Box<dyn Future + 'a>`.
    _scope: PhantomData<&'a ()>,
}

impl<O> RawDriver<'_, O> {
    /// Whether the future still runs (has neither completed nor been dropped).
    pub(crate) fn is_running(&self) -> bool {
        self.cell.is_some()
    }
}

// The future is pinned inside the cell; the driver is only a pointer to it.
impl<O> Unpin for RawDriver<'_, O> {}

impl<O> Future for RawDriver<'_, O> {
    type Output = O;

    /// Polls the future; once it is ready, drops it in place (before returning its output) and
    /// gives up the driver's count.
    ///
    /// # Panics
    /// When polled again after it returned `Ready`. A panic of the future leaves the driver
    /// as it was: the future is still owned and will be dropped with the driver.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let this = self.get_mut();
        let cell = this.cell.expect("task driver polled after completion");
        // SAFETY: `cell` is `Some`, so the future is initialized and ours, and so is the count.
        let poll = unsafe { (this.vtable.poll)(cell, cx) };
        if poll.is_ready() {
            // Cleared first, so that a panicking destructor cannot make us drop it twice.
            this.cell = None;
            // SAFETY: the future is initialized and not used again; nor is our count.
            unsafe { (this.vtable.drop_future)(cell) };
        }
        poll
    }
}

impl<O> Drop for RawDriver<'_, O> {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            // SAFETY: as in `poll`: the future is initialized, ours, and not used again.
            unsafe { (self.vtable.drop_future)(cell) };
        }
    }
}

impl<O> fmt::Debug for RawDriver<'_, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawDriver")
            .field("running", &self.is_running())
            .finish()
    }
}

/// A [`RawDriver`] that may move to another thread: made only for a `Send` future and a
/// `Send + Sync` state.
pub(crate) struct SendDriver<'a, O>(RawDriver<'a, O>);

// SAFETY: `new_send_cell` checked that the future is `Send` (it is polled and dropped on the
// driver's thread) and that the state is `Send + Sync` (the driver may drop it, and the
// future may share it with handles on other threads). The output is made on the thread that
// polls, and handed to that thread's caller, as for `Box<dyn Future + Send>`.
unsafe impl<O> Send for SendDriver<'_, O> {}

/// [`new_cell`] for a `Send` future; the driver is `Send`.
pub(crate) fn new_send_cell<'a, S, F, M>(
    state: S,
    make: M,
) -> (CellRef<S>, SendDriver<'a, F::Output>)
where
    S: Send + Sync + 'a,
    F: Future + Send + 'a,
    M: FnOnce(CellRef<S>) -> F,
{
    let (handle, driver) = new_cell(state, make);
    (handle, SendDriver(driver))
}

impl<O> Future for SendDriver<'_, O> {
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl<O> fmt::Debug for SendDriver<'_, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(all(test, not(aiokit_loom)))]
mod tests;
