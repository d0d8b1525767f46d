//! Atomics, `Arc` and an atomic waker cell from std / atomic-waker, or from loom when the engine
//! is model-checked (`RUSTFLAGS="--cfg aiokit_loom"`).

#[cfg(not(aiokit_loom))]
pub(crate) use alloc::sync::Arc;
#[cfg(not(aiokit_loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
// Only the task cell (engine::task_cell, std only) counts references.
#[cfg(all(not(aiokit_loom), feature = "std"))]
pub(crate) use core::sync::atomic::{AtomicUsize, fence};

#[cfg(aiokit_loom)]
pub(crate) use loom::sync::Arc;
#[cfg(aiokit_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
#[cfg(all(aiokit_loom, feature = "std"))]
pub(crate) use loom::sync::atomic::{AtomicUsize, fence};

use core::task::Waker;

/// `core::cell::UnsafeCell` with loom's closure-based interface, so that loom tracks the
/// accesses in a model (the task state's outcome).
#[cfg(all(not(aiokit_loom), feature = "std"))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(all(not(aiokit_loom), feature = "std"))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(all(aiokit_loom, feature = "std"))]
pub(crate) use loom::cell::UnsafeCell;

/// The waker of the task that polls a combinator, replaced on every poll and woken from any
/// thread by a child's waker.
#[derive(Debug, Default)]
pub(crate) struct AtomicWaker {
    #[cfg(not(aiokit_loom))]
    inner: atomic_waker::AtomicWaker,
    #[cfg(aiokit_loom)]
    inner: loom::future::AtomicWaker,
}

impl AtomicWaker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub(crate) fn register(&self, waker: &Waker) {
        #[cfg(not(aiokit_loom))]
        self.inner.register(waker);
        #[cfg(aiokit_loom)]
        self.inner.register_by_ref(waker);
    }

    #[inline]
    pub(crate) fn wake(&self) {
        self.inner.wake();
    }

    pub(crate) fn take(&self) -> Option<Waker> {
        #[cfg(not(aiokit_loom))]
        return self.inner.take();
        #[cfg(aiokit_loom)]
        return self.inner.take_waker();
    }
}

/// Called where the engine must wait for another thread to finish a step (the ready queue's
/// inconsistent state, a node being written): a spin hint in real builds; a yield under loom,
/// so its scheduler lets the other thread finish instead of reporting a spin.
#[inline]
pub(crate) fn yield_hint() {
    #[cfg(aiokit_loom)]
    loom::thread::yield_now();
    #[cfg(not(aiokit_loom))]
    core::hint::spin_loop();
}
