//! A counting global allocator for the test binaries that measure memory: each installs
//! [`CountingAllocator`] as its `#[global_allocator]` and calls [`measure`].
//!
//! Counting is per thread and only inside [`measure`], so tests running in parallel on other
//! threads, and the test harness itself, are not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to `System`, counting on the measuring thread.
pub struct CountingAllocator;

thread_local! {
    // `const` initialisers without `Drop`: reading them never allocates nor registers a
    // destructor, which would recurse into the allocator.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed while counting.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// What [`measure`] saw on its thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// Allocations, reallocations included (a growing `Vec` is one more allocation as far as a
    /// budget is concerned).
    pub allocations: usize,
    /// Bytes allocated and not freed (0 when nothing is left behind).
    pub live: isize,
    /// The most bytes live at once.
    pub peak: isize,
}

/// Runs `f` with counting on and returns its result and what it allocated on this thread.
/// The result is dropped by the caller, outside the count. The thread's `block_on` waker is
/// made first, so that its one-time allocation is never counted.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Measured) {
    futures::executor::block_on(async {});
    COUNT.set(0);
    LIVE.set(0);
    PEAK.set(0);
    COUNTING.set(true);
    let result = f();
    COUNTING.set(false);
    let measured = Measured {
        allocations: COUNT.get(),
        live: LIVE.get(),
        peak: PEAK.get(),
    };
    (result, measured)
}

/// Notes `allocations` more allocations and `bytes` more live bytes (negative for a free).
fn note(allocations: usize, bytes: isize) {
    // `try_with`: during thread teardown the thread-locals may be gone; nothing is counted then.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = COUNT.try_with(|count| count.set(count.get() + allocations));
            let _ = LIVE.try_with(|live| {
                live.set(live.get() + bytes);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
            });
        }
    });
}

fn bytes(size: usize) -> isize {
    isize::try_from(size).expect("an allocation is at most isize::MAX bytes")
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting touches only `const` thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(1, bytes(layout.size()));
        // SAFETY: the caller's guarantees for `alloc` are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(1, bytes(layout.size()));
        // SAFETY: the caller's guarantees for `alloc_zeroed` are passed on unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(1, bytes(new_size) - bytes(layout.size()));
        // SAFETY: the caller's guarantees for `realloc` are passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(0, -bytes(layout.size()));
        // SAFETY: the caller's guarantees for `dealloc` are passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}
