//! The shared half of the engine: the ready queue, the parent's waker and every child's node,
//! in one `Arc` that child wakers keep alive. A child's waker is a pointer to its node; no
//! allocation per child and per waker.

use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr;
use core::task::{RawWaker, RawWakerVTable, Waker};

use super::queue::{Node, ReadyQueue};
use crate::engine::atomic::{Arc, AtomicPtr, AtomicU8, AtomicWaker, Ordering};

/// A node's memory, written by the engine just before the child's first poll (no pass over all
/// nodes up front: for 100 000 children that pass alone cost as much as the rest of a gather).
pub(crate) type NodeCell = UnsafeCell<MaybeUninit<Node>>;

/// The shared state. `repr(C)`, with the queue's producer end apart from its consumer end (see
/// [`ReadyQueue`]): the parent waker and the queue's head, which wakers on other threads
/// write, come first, next to the `Arc`'s reference counts that they write too, and the
/// consumer's fields lie two cache lines past them.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) parent: AtomicWaker,
    pub(crate) queue: ReadyQueue,
    /// Nodes of the first segment (children `0..first_len`), null until a child first needs
    /// its node: a gather of children that are ready at their first poll (or never keep their
    /// waker) makes none, which for 10 000 children spares 320 KB that the allocator would
    /// grow the heap by and give back on every call. Made whole, so that the number of
    /// allocations stays the same for any number of children.
    first: AtomicPtr<NodeCell>,
    first_len: usize,
    /// Nodes of later segments, owned here so they live as long as any waker; a list pushed to
    /// only by the engine (single writer) and freed when the header drops.
    more: AtomicPtr<Chunk>,
}

// SAFETY: the queue, the parent waker, `first` and `more` are atomics. A node cell is written
// once (`init_node`), before any waker that could read it from another thread exists; after
// that it is only read, and nodes are `Sync`. The first segment's nodes are made (and `first`
// stored) by the engine, or by the one caller that writes a fresh waker's node during its
// child's poll (the writing state of `FreshWaker` excludes the others, and the engine waits for
// the poll); nodes are freed only on drop.
unsafe impl Send for Header {}
// SAFETY: as above.
unsafe impl Sync for Header {}

struct Chunk {
    /// From `Box::into_raw`, so pointers into it stay valid while the chunk moves around.
    nodes: *mut [NodeCell],
    next: *mut Chunk,
}

impl Header {
    /// Creates the shared state with `cap` nodes for the first segment.
    pub(crate) fn new(cap: usize) -> Arc<Header> {
        let arc = Arc::new(Header {
            parent: AtomicWaker::new(),
            queue: ReadyQueue::new(),
            first: AtomicPtr::new(ptr::null_mut()),
            first_len: cap,
            more: AtomicPtr::new(ptr::null_mut()),
        });
        arc.queue.init();
        arc
    }

    /// The node cell of child `index` of the first segment, the segment's nodes made first if
    /// this is the first need of one; valid as long as the header. Called by the engine, or by
    /// the one writer of a fresh waker's node during its child's poll (see the `Sync` impl),
    /// never by two at once.
    #[inline]
    pub(crate) fn first_cell(&self, index: usize) -> *const NodeCell {
        debug_assert!(index < self.first_len, "a child of the first segment");
        // SAFETY: the first segment has `first_len` cells and `index` is below that.
        unsafe { self.first_cells().add(index) }
    }

    /// The first segment's node cells (`first_len` of them), made first if no child needed
    /// one before; as [`first_cell`](Self::first_cell), for a caller that writes many nodes.
    #[inline]
    pub(crate) fn first_cells(&self) -> *const NodeCell {
        let base = self.first.load(Ordering::Acquire);
        if base.is_null() {
            self.make_first()
        } else {
            base
        }
    }

    /// Makes the first segment's nodes (`first` is null until now) and returns the first cell.
    #[cold]
    #[inline(never)]
    fn make_first(&self) -> *mut NodeCell {
        let base = Box::into_raw(uninit_nodes(self.first_len)).cast::<NodeCell>();
        // Release, with the Acquire load above: whoever reads the pointer next sees the
        // allocation made.
        self.first.store(base, Ordering::Release);
        base
    }

    /// Adds a segment of `len` nodes and returns a pointer to its first node cell, valid as
    /// long as the header.
    pub(crate) fn add_segment(&self, len: usize) -> *const NodeCell {
        let nodes = Box::into_raw(uninit_nodes(len));
        let base = nodes as *const NodeCell;
        let chunk = Box::into_raw(Box::new(Chunk {
            nodes,
            next: self.more.load(Ordering::Relaxed),
        }));
        // Only the engine, through `&mut`, pushes here, and no waker reads the list: the store
        // just hands ownership to the header.
        self.more.store(chunk, Ordering::Relaxed);
        base
    }

    /// Called by a child's waker: queues the child once and, if the queue was empty, wakes the
    /// combinator's task (see [`ReadyQueue::push`]: a burst of wakes from other threads then
    /// wakes the task once, not once per child).
    fn schedule(&self, node: &Node) {
        if !node.queued.swap(true, Ordering::AcqRel) {
            // SAFETY: `node` belongs to this header, so it outlives the queue, and the `queued`
            // flag we just set guarantees it is not in the queue already.
            if unsafe { self.queue.push(node) } {
                self.parent.wake();
            }
        }
    }
}

fn uninit_nodes(len: usize) -> Box<[NodeCell]> {
    (0..len)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect()
}

/// Writes child `index`'s node into `cell` and returns a pointer to it.
///
/// # Safety
/// `cell` belongs to the header `at`, and no waker for this node exists yet (the child was
/// never polled with one), so nothing else reads the cell.
pub(crate) unsafe fn init_node(
    cell: *const NodeCell,
    at: *const Header,
    index: usize,
) -> *const Node {
    // SAFETY: the caller guarantees exclusive access; `UnsafeCell` allows writing through a
    // shared path and `MaybeUninit<Node>` has the layout of `Node`.
    unsafe {
        let node = UnsafeCell::raw_get(cell).cast::<Node>();
        node.write(Node::new(at, index));
        node
    }
}

impl Drop for Header {
    fn drop(&mut self) {
        let first = self.first.load(Ordering::Relaxed);
        if !first.is_null() {
            // SAFETY: made by `Box::into_raw` of `first_len` cells in `make_first`, freed once.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(first, self.first_len)) });
        }
        let mut chunk = self.more.load(Ordering::Relaxed);
        while !chunk.is_null() {
            // SAFETY: every chunk was made by `Box::into_raw` in `add_segment` and is freed once.
            let boxed = unsafe { Box::from_raw(chunk) };
            // SAFETY: made by `Box::into_raw` in `add_segment`, freed only here.
            drop(unsafe { Box::from_raw(boxed.nodes) });
            chunk = boxed.next;
        }
    }
}

/// The waker a child gets on its first poll, living on the engine's stack for that poll only. A
/// child that finishes at once (or never keeps its waker) never needs a node, so the node is
/// written only when the waker is cloned or woken: for children that are ready on their first
/// poll the node memory is never touched (for 100 000 children, 3 MB never faulted in). A
/// clone is an ordinary node waker.
pub(crate) struct FreshWaker {
    /// Null for a child of the first segment: the cell is then found (the segment's nodes
    /// made, if none was needed before) only when the node is first needed
    /// ([`Header::first_cell`]).
    cell: *const NodeCell,
    header: *const Header,
    index: usize,
    /// `UNWRITTEN`, `WRITING` or `WRITTEN`: the node is written once, even when the waker is
    /// shared with other threads during the poll (scoped threads may clone `&Waker`).
    state: AtomicU8,
}

const UNWRITTEN: u8 = 0;
const WRITING: u8 = 1;
const WRITTEN: u8 = 2;

impl FreshWaker {
    /// # Safety
    /// `cell` is the node cell of child `index` of the live header `header` (or null if the
    /// child is in the first segment), never written before, and no other `FreshWaker` for it
    /// exists.
    pub(crate) unsafe fn new(cell: *const NodeCell, header: *const Header, index: usize) -> Self {
        FreshWaker {
            cell,
            header,
            index,
            state: AtomicU8::new(UNWRITTEN),
        }
    }

    /// A waker borrowing `self`: valid while `self` is, which the engine guarantees by
    /// using it only for the child's first poll, and never dropped (it owns nothing).
    pub(crate) fn waker(&self) -> ManuallyDrop<Waker> {
        // SAFETY: the fresh vtable upholds the RawWaker contract for a pointer to a live
        // `FreshWaker`: clones are node wakers that own a header reference; the borrowed waker
        // itself owns nothing.
        ManuallyDrop::new(unsafe {
            Waker::from_raw(RawWaker::new(
                (self as *const FreshWaker).cast(),
                &FRESH_VTABLE,
            ))
        })
    }

    /// Whether the child needed its node (kept or woke its waker). Read after the poll, when
    /// no other thread can use this borrowed waker any more.
    #[inline]
    pub(crate) fn was_used(&self) -> bool {
        self.state.load(Ordering::Relaxed) != UNWRITTEN
    }

    /// The node, written first if this is the first use.
    fn node(&self) -> *const Node {
        match self
            .state
            .compare_exchange(UNWRITTEN, WRITING, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => {
                let cell = self.cell();
                // SAFETY: the state machine lets exactly one caller write, and `new`'s contract
                // says the cell was never written and belongs to `header`.
                unsafe { init_node(cell, self.header, self.index) };
                self.state.store(WRITTEN, Ordering::Release);
                cell.cast()
            }
            Err(_) => {
                while self.state.load(Ordering::Acquire) != WRITTEN {
                    crate::engine::atomic::yield_hint();
                }
                // The writer made the nodes, if needed, before it published `WRITTEN`.
                self.cell().cast()
            }
        }
    }

    /// The node's cell. For a first-segment child, only the writer (in the writing state) may
    /// be the first to ask: it may make the segment's nodes.
    fn cell(&self) -> *const NodeCell {
        if self.cell.is_null() {
            // SAFETY: the engine holds the header during the poll that uses this waker.
            unsafe { (*self.header).first_cell(self.index) }
        } else {
            self.cell
        }
    }
}

static FRESH_VTABLE: RawWakerVTable = RawWakerVTable::new(
    fresh_clone,
    fresh_wake_by_ref,
    fresh_wake_by_ref,
    fresh_drop,
);

unsafe fn fresh_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live `FreshWaker` (the borrowed waker is used only during the poll).
    let fresh = unsafe { &*data.cast::<FreshWaker>() };
    let node = fresh.node();
    // SAFETY: the header is alive (the engine holds it during the poll); the new waker owns
    // the reference taken here, as `clone` does for node wakers.
    unsafe { Arc::increment_strong_count(fresh.header) };
    RawWaker::new(node.cast(), &VTABLE)
}

/// Also `wake`: the borrowed fresh waker is never owned, so waking "by value" can only mean
/// waking it.
unsafe fn fresh_wake_by_ref(data: *const ()) {
    // SAFETY: as in `fresh_clone`.
    let fresh = unsafe { &*data.cast::<FreshWaker>() };
    let node = fresh.node();
    // SAFETY: the node was just written and belongs to the live header.
    unsafe { (*fresh.header).schedule(&*node) };
}

/// The borrowed fresh waker owns nothing.
unsafe fn fresh_drop(_: *const ()) {}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for `node` that borrows the engine's reference to the header instead of owning one;
/// it must not outlive the borrow of the engine it was made from. Clones own a reference.
pub(crate) fn borrowed_waker(node: *const Node) -> ManuallyDrop<Waker> {
    // SAFETY: the vtable functions below uphold the RawWaker contract for a `*const Node` whose
    // header is alive; the returned waker is never dropped (ManuallyDrop), so it takes no
    // reference count, and the engine's `Arc<Header>` keeps the node alive while it is in use.
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(node.cast(), &VTABLE)) })
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a node of a live header (we are cloning a live waker of it).
    let node = unsafe { &*data.cast::<Node>() };
    // SAFETY: `node.header` came from `Arc::as_ptr` of a live `Arc<Header>`.
    unsafe { Arc::increment_strong_count(node.header) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: an owned waker: its header is alive until we drop our reference below.
    unsafe {
        wake_by_ref(data);
        drop_waker(data);
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker being woken keeps its header, and so this node, alive.
    let node = unsafe { &*data.cast::<Node>() };
    // SAFETY: as above.
    let header = unsafe { &*node.header };
    header.schedule(node);
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: `data` is a node of a live header; read the header pointer before the reference
    // we give up possibly frees the node.
    let header = unsafe { (*data.cast::<Node>()).header };
    // SAFETY: this waker owned one strong reference, taken in `clone`.
    unsafe { Arc::decrement_strong_count(header) };
}
