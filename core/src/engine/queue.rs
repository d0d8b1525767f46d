//! The ready-to-run queue: an intrusive multi-producer, single-consumer queue of child nodes
//! (Dmitry Vyukov's non-blocking MPSC design, the one futures-util's FuturesUnordered uses).
//!
//! Producers are child wakers on any thread; the consumer is the combinator's poll, which holds
//! `&mut Engine`. Nodes are never freed while the queue is alive (they live in the same `Arc`),
//! and a node is in the queue at most once at a time (guarded by `Node::queued`).

use core::ptr;

use crate::engine::atomic::{AtomicBool, AtomicPtr, Ordering};

/// One child's waker identity. The waker's data pointer is a `*const Node`.
pub(crate) struct Node {
    /// The `Arc<Header>` allocation this node belongs to; written once, before any waker exists.
    pub(crate) header: *const super::waker::Header,
    pub(crate) next: AtomicPtr<Node>,
    /// Set by a waker when it enqueues the node; cleared by the consumer just before it polls the
    /// child, so a wake during that poll enqueues the node again.
    pub(crate) queued: AtomicBool,
    pub(crate) index: usize,
}

// SAFETY: every field but `header` is atomic; `header` is written before the node is shared and
// points to a `Header`, which is `Send + Sync`.
unsafe impl Send for Node {}
// SAFETY: as above: shared access only touches atomics and reads the immutable `header`.
unsafe impl Sync for Node {}

impl Node {
    pub(crate) fn new(header: *const super::waker::Header, index: usize) -> Self {
        Node {
            header,
            next: AtomicPtr::new(ptr::null_mut()),
            queued: AtomicBool::new(false),
            index,
        }
    }
}

/// Bytes between the head and the tail: two cache lines (adjacent-line prefetch pairs them).
const PAD: usize = 128 - core::mem::size_of::<usize>();

pub(crate) enum Dequeue {
    Data(*const Node),
    Empty,
    /// A producer is between its two steps; the consumer should try again soon.
    Inconsistent,
}

/// `repr(C)`, the head (which producers on other threads swap) first and the consumer's tail
/// and stub a padding away, on cache lines of their own: a wake then does not take the line
/// the consumer is popping from (with them together, as_completed over children woken from
/// two other threads ran 3-5% slower at 1 000 and 10 000 children).
#[repr(C)]
pub(crate) struct ReadyQueue {
    head: AtomicPtr<Node>,
    _pad: [core::mem::MaybeUninit<u8>; PAD],
    /// Touched by the consumer only; atomic so that `ReadyQueue` is `Sync` without more `unsafe`.
    tail: AtomicPtr<Node>,
    stub: Node,
}

impl ReadyQueue {
    /// A queue whose head and tail still have to be pointed at the stub by [`init`](Self::init),
    /// once the queue has reached its final address.
    pub(crate) fn new() -> Self {
        ReadyQueue {
            head: AtomicPtr::new(ptr::null_mut()),
            _pad: [core::mem::MaybeUninit::uninit(); PAD],
            tail: AtomicPtr::new(ptr::null_mut()),
            stub: Node::new(ptr::null(), usize::MAX),
        }
    }

    /// Points head and tail at the stub. Called once, before any producer can see the queue.
    pub(crate) fn init(&self) {
        let stub = self.stub();
        self.head.store(stub, Ordering::Relaxed);
        self.tail.store(stub, Ordering::Relaxed);
    }

    fn stub(&self) -> *mut Node {
        &self.stub as *const Node as *mut Node
    }

    /// Pushes `node`; returns whether the queue was empty before, seen from the head (the stub
    /// was its last element). Only such a push must wake the consumer: after any other, the
    /// node pushed just before is still in the queue (or being popped, which then reports
    /// [`Dequeue::Inconsistent`]), so the consumer is bound to come back to the queue (its
    /// drive pops until the queue is empty, or wakes its own task) and reaches this node.
    ///
    /// # Safety
    /// `node` must stay valid as long as the queue, and must not be in the queue already.
    pub(crate) unsafe fn push(&self, node: *const Node) -> bool {
        // SAFETY: the caller guarantees `node` is valid.
        unsafe { (*node).next.store(ptr::null_mut(), Ordering::Relaxed) };
        let prev = self.head.swap(node as *mut Node, Ordering::AcqRel);
        // SAFETY: `prev` was the head, so it is the stub or a node of this queue's allocation,
        // valid as long as the queue; only this producer links its `next`.
        unsafe { (*prev).next.store(node as *mut Node, Ordering::Release) };
        prev == self.stub()
    }

    /// Whether the consumer would find the queue empty: no node was pushed since the last
    /// `pop`, or a producer is still between its two steps (its wake of the parent comes after
    /// them). Meant for the consumer (it reads the consumer's own end).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        let tail = self.tail.load(Ordering::Relaxed);
        // SAFETY: `tail` is the stub or a node that was pushed; all outlive the queue.
        tail == self.stub() && unsafe { (*tail).next.load(Ordering::Acquire) }.is_null()
    }

    /// The node the next `pop` starts from (the stub, or a node already pushed): only for a
    /// prefetch, never read through. Meant for the consumer.
    #[inline]
    pub(crate) fn next_hint(&self) -> *const Node {
        self.tail.load(Ordering::Relaxed)
    }

    /// # Safety
    /// Only one consumer may call this at a time (the engine, through `&mut`).
    pub(crate) unsafe fn pop(&self) -> Dequeue {
        let mut tail = self.tail.load(Ordering::Relaxed);
        // SAFETY: `tail` is the stub or a node that was pushed; all outlive the queue.
        let mut next = unsafe { (*tail).next.load(Ordering::Acquire) };
        if tail == self.stub() {
            if next.is_null() {
                return Dequeue::Empty;
            }
            self.tail.store(next, Ordering::Relaxed);
            tail = next;
            // SAFETY: `next` was linked by a producer, so it is a valid node.
            next = unsafe { (*next).next.load(Ordering::Acquire) };
        }
        if !next.is_null() {
            self.tail.store(next, Ordering::Relaxed);
            return Dequeue::Data(tail);
        }
        if self.head.load(Ordering::Acquire) != tail {
            return Dequeue::Inconsistent;
        }
        // `tail` is the last node: put the stub behind it so `tail` can be handed out.
        // SAFETY: the stub is not in the queue (tail != stub here and the stub is only pushed here).
        unsafe { self.push(self.stub()) };
        // SAFETY: as above.
        next = unsafe { (*tail).next.load(Ordering::Acquire) };
        if !next.is_null() {
            self.tail.store(next, Ordering::Relaxed);
            return Dequeue::Data(tail);
        }
        Dequeue::Inconsistent
    }
}
