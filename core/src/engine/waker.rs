//! The shared half of the engine: the ready queue, the parent's waker and every child's node,
//! in one `Arc` that child wakers keep alive. A child's waker is a pointer to its node; no
//! allocation per child and per waker.

use alloc::boxed::Box;
use core::mem::ManuallyDrop;
use core::ptr;
use core::task::{RawWaker, RawWakerVTable, Waker};

use super::queue::{Node, ReadyQueue};
use crate::sync::{Arc, AtomicPtr, AtomicWaker, Ordering};

pub(crate) struct Header {
    pub(crate) queue: ReadyQueue,
    pub(crate) parent: AtomicWaker,
    /// Nodes of the first segment (children `0..first.len()`).
    pub(crate) first: Box<[Node]>,
    /// Nodes of later segments, owned here so they live as long as any waker; a list pushed to
    /// only by the engine (single writer) and freed when the header drops.
    more: AtomicPtr<Chunk>,
}

struct Chunk {
    _nodes: Box<[Node]>,
    next: *mut Chunk,
}

impl Header {
    /// Creates the shared state with `cap` nodes for the first segment.
    pub(crate) fn new(cap: usize) -> Arc<Header> {
        let mut arc = Arc::new(Header {
            queue: ReadyQueue::new(),
            parent: AtomicWaker::new(),
            first: Box::new([]),
            more: AtomicPtr::new(ptr::null_mut()),
        });
        let at = Arc::as_ptr(&arc);
        if let Some(header) = Arc::get_mut(&mut arc) {
            header.first = (0..cap).map(|i| Node::new(at, i)).collect();
        }
        arc.queue.init();
        arc
    }

    /// Adds a segment of `len` nodes for children `start..start + len` and returns a pointer to
    /// its first node, valid as long as the header.
    pub(crate) fn add_segment(self: &Arc<Self>, start: usize, len: usize) -> *const Node {
        let at = Arc::as_ptr(self);
        let nodes: Box<[Node]> = (start..start + len).map(|i| Node::new(at, i)).collect();
        let base = nodes.as_ptr();
        let chunk = Box::into_raw(Box::new(Chunk {
            _nodes: nodes,
            next: self.more.load(Ordering::Relaxed),
        }));
        // Only the engine, through `&mut`, pushes here, and no waker reads the list: the store
        // just hands ownership to the header.
        self.more.store(chunk, Ordering::Relaxed);
        base
    }

    /// Called by a child's waker: queues the child once and wakes the combinator's task.
    fn schedule(&self, node: &Node) {
        if !node.queued.swap(true, Ordering::AcqRel) {
            // SAFETY: `node` belongs to this header, so it outlives the queue, and the `queued`
            // flag we just set guarantees it is not in the queue already.
            unsafe { self.queue.push(node) };
            self.parent.wake();
        }
    }
}

impl Drop for Header {
    fn drop(&mut self) {
        let mut chunk = self.more.load(Ordering::Relaxed);
        while !chunk.is_null() {
            // SAFETY: every chunk was made by `Box::into_raw` in `add_segment` and is freed once.
            let boxed = unsafe { Box::from_raw(chunk) };
            chunk = boxed.next;
        }
    }
}

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
