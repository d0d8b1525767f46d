//! asyncio's queues: [`Queue`] (first in, first out), [`PriorityQueue`] (smallest first) and
//! [`LifoQueue`] (newest first), with `task_done` / `join` and Python 3.13's `shutdown`.
//!
//! A queue is a cloneable handle: clones share one queue, and it is `Send + Sync` when its items
//! are `Send`, so producers and consumers may run on any executor, on any thread.
//!
//! Built on smol-rs crates: the first-in-first-out queue stores its items in a
//! `concurrent_queue::ConcurrentQueue` (lock-free, as async-channel does); the LIFO and
//! priority queues keep a `Vec` / `BinaryHeap` behind a `std::sync::Mutex`. Blocked getters,
//! putters and joiners wait on `event_listener::Event`s, which wake listeners in the order they
//! started listening.
//!
//! # Where aiokit differs from asyncio
//!
//! - `put_nowait` on a full or shut-down queue hands the item back inside the error: nothing is
//!   lost. `get()` / `put()` return `Result`s instead of raising `QueueShutDown`.
//! - Cancelling a `get` or `put` is dropping its future: a dropped `get` never takes an item
//!   and a dropped `put` never inserts one; a wakeup it had received passes on to the next
//!   waiter.
//! - As in asyncio, an item put while getters wait may be taken by a `get_nowait` (or a `get`
//!   that finds it at once) before the woken getter runs; that getter then waits again, behind
//!   the others.
//! - A bounded [`Queue`] allocates its `maxsize` slots up front (as async-channel's bounded
//!   channels do): choose `maxsize` as a real bound, not as "practically unbounded" (use 0).
//! - [`PriorityQueue`] compares items with their `Ord` while it holds the queue's internal lock:
//!   an `Ord` impl must not use the same queue. A panic in `Ord` loses no item.

use alloc::collections::BinaryHeap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use concurrent_queue::{ConcurrentQueue, PopError, PushError};
use event_listener::{Event, IntoNotification, Listener};

/// `get_nowait` found the queue empty (asyncio's `QueueEmpty`).
///
/// # Examples
///
/// ```
/// let queue = aiokit::Queue::<i32>::new(0);
/// assert_eq!(queue.get_nowait(), Err(aiokit::QueueEmpty.into()));
/// assert_eq!(aiokit::QueueEmpty.to_string(), "the queue is empty");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is empty")
    }
}

impl core::error::Error for QueueEmpty {}

/// `put_nowait` found the queue full (asyncio's `QueueFull`); the item comes back in the error.
///
/// # Examples
///
/// ```
/// use aiokit::queue::PutNowaitError;
///
/// let queue = aiokit::Queue::new(1);
/// queue.put_nowait("a").unwrap();
/// let Err(PutNowaitError::Full(aiokit::QueueFull(item))) = queue.put_nowait("b") else {
///     panic!("the queue holds one item")
/// };
/// assert_eq!(item, "b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueFull<T>(pub T);

impl<T> QueueFull<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueFull(..)")
    }
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is full")
    }
}

impl<T> core::error::Error for QueueFull<T> {}

/// The queue was shut down (asyncio's `QueueShutDown`, Python 3.13): a put gives its item back
/// in `.0`; a get has nothing to give back (`QueueShutDown<()>`).
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let queue = aiokit::Queue::new(0);
/// queue.put_nowait(1).unwrap();
/// queue.shutdown(false);
/// assert_eq!(queue.put(2).await, Err(aiokit::QueueShutDown(2)));
/// assert_eq!(queue.get().await, Ok(1)); // what was put before is still there
/// assert_eq!(queue.get().await, Err(aiokit::QueueShutDown(())));
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> QueueShutDown<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is shut down")
    }
}

impl<T> core::error::Error for QueueShutDown<T> {}

/// Why `get_nowait` returned no item: asyncio raises one of two exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetNowaitError {
    /// The queue is empty ([`QueueEmpty`]).
    Empty(QueueEmpty),
    /// The queue is shut down and empty ([`QueueShutDown`]).
    ShutDown(QueueShutDown),
}

impl From<QueueEmpty> for GetNowaitError {
    fn from(err: QueueEmpty) -> Self {
        GetNowaitError::Empty(err)
    }
}

impl From<QueueShutDown> for GetNowaitError {
    fn from(err: QueueShutDown) -> Self {
        GetNowaitError::ShutDown(err)
    }
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::Empty(err) => err.fmt(f),
            GetNowaitError::ShutDown(err) => err.fmt(f),
        }
    }
}

impl core::error::Error for GetNowaitError {}

/// Why `put_nowait` did not put its item, with the item: asyncio raises one of two exceptions.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PutNowaitError<T> {
    /// The queue is full ([`QueueFull`]).
    Full(QueueFull<T>),
    /// The queue is shut down ([`QueueShutDown`]).
    ShutDown(QueueShutDown<T>),
}

impl<T> PutNowaitError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::Full(QueueFull(item))
            | PutNowaitError::ShutDown(QueueShutDown(item)) => item,
        }
    }
}

impl<T> From<QueueFull<T>> for PutNowaitError<T> {
    fn from(err: QueueFull<T>) -> Self {
        PutNowaitError::Full(err)
    }
}

impl<T> From<QueueShutDown<T>> for PutNowaitError<T> {
    fn from(err: QueueShutDown<T>) -> Self {
        PutNowaitError::ShutDown(err)
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(err) => f.debug_tuple("Full").field(err).finish(),
            PutNowaitError::ShutDown(err) => f.debug_tuple("ShutDown").field(err).finish(),
        }
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(err) => err.fmt(f),
            PutNowaitError::ShutDown(err) => err.fmt(f),
        }
    }
}

impl<T> core::error::Error for PutNowaitError<T> {}

/// `task_done` was called more times than items were put (asyncio raises `ValueError`).
///
/// # Examples
///
/// ```
/// let queue = aiokit::Queue::<i32>::new(0);
/// assert_eq!(queue.task_done(), Err(aiokit::queue::TaskDoneError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl core::error::Error for TaskDoneError {}

mod store {
    /// Why a push failed; the item comes back.
    #[derive(Debug)]
    pub enum Refused<T> {
        Full(T),
        Closed(T),
    }

    /// Why a pop failed.
    #[derive(Debug)]
    pub enum Missing {
        Empty,
        Closed,
    }

    /// The storage behind a queue: its order, its bound and its closed flag.
    pub trait Store {
        type Item;
        fn new(maxsize: usize) -> Self;
        fn push(&self, item: Self::Item) -> Result<(), Refused<Self::Item>>;
        fn pop(&self) -> Result<Self::Item, Missing>;
        fn len(&self) -> usize;
        /// Refuses every later push; pops go on until the store is empty.
        fn close(&self);
        fn is_closed(&self) -> bool;
    }
}

use store::{Missing, Refused, Store};

/// The order in which a queue hands out its items: [`Fifo`], [`Lifo`] or [`Priority`].
trait Discipline<T> {
    /// The storage of this order.
    type Store: Store<Item = T>;
}

/// First in, first out ([`Queue`]).
struct Fifo;

/// Last in, first out ([`LifoQueue`]).
struct Lifo;

/// Smallest first, by `Ord` ([`PriorityQueue`]).
struct Priority;

impl<T> Discipline<T> for Fifo {
    type Store = ConcurrentQueue<T>;
}

impl<T> Discipline<T> for Lifo {
    type Store = Locked<Vec<T>>;
}

impl<T: Ord> Discipline<T> for Priority {
    type Store = Locked<BinaryHeap<Reverse<T>>>;
}

impl<T> Store for ConcurrentQueue<T> {
    type Item = T;

    fn new(maxsize: usize) -> Self {
        if maxsize == 0 {
            ConcurrentQueue::unbounded()
        } else {
            ConcurrentQueue::bounded(maxsize)
        }
    }

    fn push(&self, item: T) -> Result<(), Refused<T>> {
        ConcurrentQueue::push(self, item).map_err(|err| match err {
            PushError::Full(item) => Refused::Full(item),
            PushError::Closed(item) => Refused::Closed(item),
        })
    }

    fn pop(&self) -> Result<T, Missing> {
        ConcurrentQueue::pop(self).map_err(|err| match err {
            PopError::Empty => Missing::Empty,
            PopError::Closed => Missing::Closed,
        })
    }

    fn len(&self) -> usize {
        ConcurrentQueue::len(self)
    }

    fn close(&self) {
        ConcurrentQueue::close(self);
    }

    fn is_closed(&self) -> bool {
        ConcurrentQueue::is_closed(self)
    }
}

/// The LIFO and priority stores (public types in a private module: nameable by nobody).
mod locked {
    use super::*;

    /// A container behind a mutex, for the orders concurrent-queue does not have.
    #[derive(Debug)]
    pub struct Locked<C> {
        state: Mutex<LockedState<C>>,
        maxsize: usize,
    }

    #[derive(Debug)]
    struct LockedState<C> {
        items: C,
        closed: bool,
    }

    /// The three operations a [`Locked`] store needs from its container.
    pub trait Container {
        type Item;
        fn push_item(&mut self, item: Self::Item);
        fn pop_item(&mut self) -> Option<Self::Item>;
        fn count(&self) -> usize;
    }

    impl<T> Container for Vec<T> {
        type Item = T;
        fn push_item(&mut self, item: T) {
            self.push(item);
        }
        fn pop_item(&mut self) -> Option<T> {
            self.pop()
        }
        fn count(&self) -> usize {
            self.len()
        }
    }

    impl<T: Ord> Container for BinaryHeap<Reverse<T>> {
        type Item = T;
        fn push_item(&mut self, item: T) {
            self.push(Reverse(item));
        }
        fn pop_item(&mut self) -> Option<T> {
            self.pop().map(|Reverse(item)| item)
        }
        fn count(&self) -> usize {
            self.len()
        }
    }

    impl<C> Locked<C> {
        /// The state; a panic in `Ord` (the only user code run under this lock) leaves a valid
        /// heap holding every item, so a poisoned lock is used as it is.
        fn lock(&self) -> MutexGuard<'_, LockedState<C>> {
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    impl<C: Container + Default> Store for Locked<C> {
        type Item = C::Item;

        fn new(maxsize: usize) -> Self {
            Locked {
                state: Mutex::new(LockedState {
                    items: C::default(),
                    closed: false,
                }),
                maxsize,
            }
        }

        fn push(&self, item: C::Item) -> Result<(), Refused<C::Item>> {
            let mut state = self.lock();
            if state.closed {
                return Err(Refused::Closed(item));
            }
            if self.maxsize > 0 && state.items.count() >= self.maxsize {
                return Err(Refused::Full(item));
            }
            state.items.push_item(item);
            Ok(())
        }

        fn pop(&self) -> Result<C::Item, Missing> {
            let mut state = self.lock();
            match state.items.pop_item() {
                Some(item) => Ok(item),
                None if state.closed => Err(Missing::Closed),
                None => Err(Missing::Empty),
            }
        }

        fn len(&self) -> usize {
            self.lock().items.count()
        }

        fn close(&self) {
            self.lock().closed = true;
        }

        fn is_closed(&self) -> bool {
            self.lock().closed
        }
    }
}

use locked::Locked;

struct Shared<S> {
    items: S,
    maxsize: usize,
    /// Items put and not yet marked done by `task_done`.
    unfinished: AtomicUsize,
    /// Notified when an item was put, or on shutdown.
    getters: Event,
    /// Notified when an item was taken, or on shutdown.
    putters: Event,
    /// Notified when `unfinished` drops to zero.
    finished: Event,
}

/// The queue behind each public type, generic over its order.
struct Handle<T, D: Discipline<T>> {
    shared: Arc<Shared<D::Store>>,
    _order: PhantomData<fn() -> D>,
}

impl<T, D: Discipline<T>> Clone for Handle<T, D> {
    fn clone(&self) -> Self {
        Handle {
            shared: Arc::clone(&self.shared),
            _order: PhantomData,
        }
    }
}

impl<T, D: Discipline<T>> Handle<T, D> {
    fn new(maxsize: usize) -> Self {
        Handle {
            shared: Arc::new(Shared {
                items: D::Store::new(maxsize),
                maxsize,
                unfinished: AtomicUsize::new(0),
                getters: Event::new(),
                putters: Event::new(),
                finished: Event::new(),
            }),
            _order: PhantomData,
        }
    }

    /// The bound given at creation (0: unbounded).
    fn maxsize(&self) -> usize {
        self.shared.maxsize
    }

    /// The number of items in the queue.
    fn qsize(&self) -> usize {
        self.shared.items.len()
    }

    /// Whether the queue holds no item.
    fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether the queue holds `maxsize` items (never, when unbounded).
    fn full(&self) -> bool {
        self.shared.maxsize > 0 && self.qsize() >= self.shared.maxsize
    }

    /// Items put and not yet marked done with [`task_done`](Self::task_done) (asyncio's
    /// private `_unfinished_tasks`).
    fn unfinished_tasks(&self) -> usize {
        self.shared.unfinished.load(Ordering::Acquire)
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    fn is_shut_down(&self) -> bool {
        self.shared.items.is_closed()
    }

    /// Puts `item` if there is room at once. A full queue gives it back in
    /// [`PutNowaitError::Full`], a shut-down one in [`PutNowaitError::ShutDown`].
    fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
        let shared = &*self.shared;
        // Counted before the item is visible, so a `get` + `task_done` racing with this put
        // never finds the count at zero.
        shared.unfinished.fetch_add(1, Ordering::AcqRel);
        match shared.items.push(item) {
            Ok(()) => {
                shared.getters.notify(1.additional());
                Ok(())
            }
            Err(refused) => {
                self.finish_one();
                Err(match refused {
                    Refused::Full(item) => PutNowaitError::Full(QueueFull(item)),
                    Refused::Closed(item) => PutNowaitError::ShutDown(QueueShutDown(item)),
                })
            }
        }
    }

    /// Takes the first item if there is one. An empty queue answers
    /// [`GetNowaitError::Empty`], or [`GetNowaitError::ShutDown`] once shut down.
    fn get_nowait(&self) -> Result<T, GetNowaitError> {
        match self.shared.items.pop() {
            Ok(item) => {
                if self.shared.maxsize > 0 {
                    self.shared.putters.notify(1.additional());
                }
                Ok(item)
            }
            Err(Missing::Empty) => Err(GetNowaitError::Empty(QueueEmpty)),
            Err(Missing::Closed) => Err(GetNowaitError::ShutDown(QueueShutDown(()))),
        }
    }

    /// Puts `item`, waiting while the queue is full. Blocked putters are woken in the order
    /// they came. Fails with the item if the queue is (or gets) shut down.
    ///
    /// Cancel-safe: dropping the future before it completes never inserts the item (it is
    /// dropped with the future).
    async fn put(&self, item: T) -> Result<(), QueueShutDown<T>> {
        let mut item = item;
        loop {
            match self.put_nowait(item) {
                Ok(()) => return Ok(()),
                Err(PutNowaitError::ShutDown(err)) => return Err(err),
                Err(PutNowaitError::Full(QueueFull(back))) => item = back,
            }
            // Listen, then look again: a get between the two attempts is not missed.
            let listener = self.shared.putters.listen();
            match self.put_nowait(item) {
                Ok(()) => {
                    // A wakeup that came meanwhile was for the room just used.
                    listener.discard();
                    return Ok(());
                }
                Err(PutNowaitError::ShutDown(err)) => return Err(err),
                Err(PutNowaitError::Full(QueueFull(back))) => item = back,
            }
            listener.await;
        }
    }

    /// Takes the first item, waiting while the queue is empty. Blocked getters are woken in
    /// the order they came. Fails once the queue is shut down and empty.
    ///
    /// Cancel-safe: dropping the future before it completes never takes an item.
    async fn get(&self) -> Result<T, QueueShutDown> {
        loop {
            match self.get_nowait() {
                Ok(item) => return Ok(item),
                Err(GetNowaitError::ShutDown(err)) => return Err(err),
                Err(GetNowaitError::Empty(_)) => {}
            }
            let listener = self.shared.getters.listen();
            match self.get_nowait() {
                Ok(item) => {
                    // A wakeup that came meanwhile was for the item just taken.
                    listener.discard();
                    return Ok(item);
                }
                Err(GetNowaitError::ShutDown(err)) => return Err(err),
                Err(GetNowaitError::Empty(_)) => {}
            }
            listener.await;
        }
    }

    /// Marks one item taken with `get` as processed; when every item put has been marked,
    /// [`join`](Self::join) returns. More calls than items put is an error (asyncio's
    /// `ValueError`), and changes nothing.
    fn task_done(&self) -> Result<(), TaskDoneError> {
        let unfinished = &self.shared.unfinished;
        let mut current = unfinished.load(Ordering::Acquire);
        loop {
            if current == 0 {
                return Err(TaskDoneError);
            }
            match unfinished.compare_exchange_weak(
                current,
                current - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => current = now,
            }
        }
        if current == 1 {
            self.shared.finished.notify(usize::MAX);
        }
        Ok(())
    }

    /// Waits until every item put has been marked done with [`task_done`](Self::task_done)
    /// (at once if there is none).
    async fn join(&self) {
        loop {
            if self.unfinished_tasks() == 0 {
                return;
            }
            let listener = self.shared.finished.listen();
            if self.unfinished_tasks() == 0 {
                return;
            }
            listener.await;
        }
    }

    /// Shuts the queue down (Python 3.13): every later put fails with its item
    /// ([`QueueShutDown`]), and gets fail once the queue is empty; blocked putters and getters
    /// are woken to see it. With `immediate`, the items still queued are dropped (each counted
    /// as done, so [`join`](Self::join) returns) and blocked getters fail at once.
    fn shutdown(&self, immediate: bool) {
        let shared = &*self.shared;
        shared.items.close();
        if immediate {
            // Each item is dropped after `pop` returned it, outside the store's lock.
            while let Ok(item) = shared.items.pop() {
                drop(item);
                let _ = self.task_done();
            }
        }
        shared.getters.notify(usize::MAX);
        shared.putters.notify(usize::MAX);
    }

    /// Undoes the count of a put that did not happen.
    fn finish_one(&self) {
        if self.shared.unfinished.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.finished.notify(usize::MAX);
        }
    }
}

/// One public queue type over [`Handle`]: the same methods and docs for the three orders.
macro_rules! queue_type {
    ($(#[$doc:meta])* $name:ident<T $(: $bound:path)?>, $order:ty, $asyncio:literal) => {
        $(#[$doc])*
        pub struct $name<T $(: $bound)?> {
            handle: Handle<T, $order>,
        }

        impl<T $(: $bound)?> Clone for $name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                $name {
                    handle: self.handle.clone(),
                }
            }
        }

        impl<T $(: $bound)?> Default for $name<T> {
            /// An unbounded queue.
            fn default() -> Self {
                Self::new(0)
            }
        }

        impl<T $(: $bound)?> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("maxsize", &self.maxsize())
                    .field("qsize", &self.qsize())
                    .field("unfinished_tasks", &self.unfinished_tasks())
                    .field("shut_down", &self.is_shut_down())
                    .finish()
            }
        }

        impl<T $(: $bound)?> $name<T> {
            #[doc = concat!(
                "A queue that holds at most `maxsize` items; `0` means no bound (asyncio's `",
                $asyncio,
                "(maxsize=0)`)."
            )]
            pub fn new(maxsize: usize) -> Self {
                $name {
                    handle: Handle::new(maxsize),
                }
            }

            /// The bound given at creation (0: unbounded).
            pub fn maxsize(&self) -> usize {
                self.handle.maxsize()
            }

            /// The number of items in the queue.
            pub fn qsize(&self) -> usize {
                self.handle.qsize()
            }

            /// Whether the queue holds no item.
            pub fn empty(&self) -> bool {
                self.handle.empty()
            }

            /// Whether the queue holds `maxsize` items (never, when unbounded).
            pub fn full(&self) -> bool {
                self.handle.full()
            }

            /// Items put and not yet marked done with [`task_done`](Self::task_done)
            /// (asyncio's private `_unfinished_tasks`).
            pub fn unfinished_tasks(&self) -> usize {
                self.handle.unfinished_tasks()
            }

            /// Whether [`shutdown`](Self::shutdown) was called.
            pub fn is_shut_down(&self) -> bool {
                self.handle.is_shut_down()
            }

            /// Puts `item` if there is room at once. A full queue gives it back in
            /// [`PutNowaitError::Full`], a shut-down one in [`PutNowaitError::ShutDown`].
            pub fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
                self.handle.put_nowait(item)
            }

            /// Takes the next item if there is one. An empty queue answers
            /// [`GetNowaitError::Empty`], or [`GetNowaitError::ShutDown`] once shut down.
            pub fn get_nowait(&self) -> Result<T, GetNowaitError> {
                self.handle.get_nowait()
            }

            /// Puts `item`, waiting while the queue is full. Blocked putters are woken in the
            /// order they came. Fails with the item if the queue is (or gets) shut down.
            ///
            /// Cancel-safe: dropping the future before it completes never inserts the item
            /// (it is dropped with the future), and a wakeup it had received passes on to the
            /// next putter.
            pub async fn put(&self, item: T) -> Result<(), QueueShutDown<T>> {
                self.handle.put(item).await
            }

            /// Takes the next item, waiting while the queue is empty. Blocked getters are
            /// woken in the order they came. Fails once the queue is shut down and empty.
            ///
            /// Cancel-safe: dropping the future before it completes never takes an item, and
            /// a wakeup it had received passes on to the next getter.
            pub async fn get(&self) -> Result<T, QueueShutDown> {
                self.handle.get().await
            }

            /// Marks one item taken with `get` as processed; when every item put has been
            /// marked, [`join`](Self::join) returns. More calls than items put is an error
            /// (asyncio's `ValueError`) and changes nothing.
            pub fn task_done(&self) -> Result<(), TaskDoneError> {
                self.handle.task_done()
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done) (at once if there is none).
            pub async fn join(&self) {
                self.handle.join().await
            }

            /// Shuts the queue down (Python 3.13): every later put fails with its item
            /// ([`QueueShutDown`]), and gets fail once the queue is empty; blocked putters and
            /// getters are woken to see it. With `immediate`, the items still queued are
            /// dropped (each counted as done, so [`join`](Self::join) can return) and blocked
            /// getters fail at once.
            pub fn shutdown(&self, immediate: bool) {
                self.handle.shutdown(immediate)
            }
        }
    };
}

queue_type! {
    /// asyncio's `Queue`: first in, first out, with an optional bound, `task_done` / `join`
    /// and `shutdown`.
    ///
    /// Clones are handles to the same queue. The [module docs](crate::queue) say what the
    /// queues are built on and where they differ from asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::{Queue, QueueEmpty};
    ///
    /// # futures::executor::block_on(async {
    /// let queue = Queue::new(0); // unbounded, as asyncio.Queue()
    /// queue.put_nowait("foo").unwrap();
    /// assert_eq!(queue.qsize(), 1);
    /// assert_eq!(queue.get_nowait(), Ok("foo"));
    /// assert_eq!(queue.get_nowait(), Err(QueueEmpty.into()));
    ///
    /// // A consumer and a producer, with task_done / join.
    /// let queue = Queue::new(2);
    /// let consumer = {
    ///     let queue = queue.clone();
    ///     async move {
    ///         let mut sum = 0;
    ///         for _ in 0..3 {
    ///             sum += queue.get().await.unwrap();
    ///             queue.task_done().unwrap();
    ///         }
    ///         sum
    ///     }
    /// };
    /// let producer = async {
    ///     for i in 1..=3 {
    ///         queue.put(i).await.unwrap();
    ///     }
    ///     queue.join().await; // until every item was marked done
    /// };
    /// let (sum, ()) = aiokit::gather!(consumer, producer).await;
    /// assert_eq!(sum, 6);
    /// # });
    /// ```
    Queue<T>, Fifo, "Queue"
}

queue_type! {
    /// asyncio's `PriorityQueue`: a queue that hands out the smallest item first, by `Ord`
    /// (use `(priority, item)` tuples as in asyncio, or `core::cmp::Reverse` for the largest
    /// first). Items that compare equal come out in no specified order, as with asyncio's
    /// `heapq`. Otherwise the same as [`Queue`].
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = aiokit::PriorityQueue::new(0);
    /// for item in [(3, "c"), (1, "a"), (2, "b")] {
    ///     queue.put_nowait(item).unwrap();
    /// }
    /// assert_eq!(queue.get_nowait(), Ok((1, "a")));
    /// assert_eq!(queue.get_nowait(), Ok((2, "b")));
    /// ```
    PriorityQueue<T: Ord>, Priority, "PriorityQueue"
}

queue_type! {
    /// asyncio's `LifoQueue`: a queue that hands out the newest item first. Otherwise the same
    /// as [`Queue`].
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = aiokit::LifoQueue::new(0);
    /// for item in 1..=3 {
    ///     queue.put_nowait(item).unwrap();
    /// }
    /// assert_eq!(queue.get_nowait(), Ok(3));
    /// ```
    LifoQueue<T>, Lifo, "LifoQueue"
}
