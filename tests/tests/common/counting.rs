//! A counting `#[global_allocator]` for the test binaries that include this module: the bytes
//! live and their peak, per measurement, whichever thread frees them.
//!
//! Each allocation carries a small header naming the measurement (a slot) that was active on
//! the allocating thread, or none; a free on any thread subtracts from that slot. So several
//! measurements may run at once on the test harness's threads, and a block allocated in a
//! measurement but freed on a helper thread is still accounted for.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

const SLOTS: usize = 64;
/// Header size: keeps every alignment up to 16 and holds the slot number.
const HEADER: usize = 16;

static BUSY: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
static LIVE: [AtomicIsize; SLOTS] = [const { AtomicIsize::new(0) }; SLOTS];
static PEAK: [AtomicIsize; SLOTS] = [const { AtomicIsize::new(0) }; SLOTS];
// Bumped by each measurement in the slot: a block freed after its measurement ended (its
// header names an older generation) is not subtracted from a later one.
static GENERATION: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

thread_local! {
    // The tag of the measurement running on this thread (slot + 1 in the low byte, its
    // generation above), 0 for none. `const`, no `Drop`: reading it never allocates.
    static SLOT: Cell<usize> = const { Cell::new(0) };
}

pub struct Counting;

fn header_layout(layout: Layout) -> Option<(Layout, usize)> {
    let offset = HEADER.max(layout.align());
    let size = layout.size().checked_add(offset)?;
    Some((Layout::from_size_align(size, offset).ok()?, offset))
}

fn note(tag: usize, delta: isize) {
    let slot = tag & 0xff;
    if slot != 0 && GENERATION[slot - 1].load(Ordering::Relaxed) == tag >> 8 {
        let live = LIVE[slot - 1].fetch_add(delta, Ordering::Relaxed) + delta;
        PEAK[slot - 1].fetch_max(live, Ordering::Relaxed);
    }
}

// Under miri the header is read through the caller's pointer, whose tag covers only the
// caller's bytes (Stacked Borrows forbids that): there the allocator only forwards, nothing is
// counted, and miri's own leak check at exit stands in for the balance.
#[cfg(miri)]
// SAFETY: every method forwards its arguments unchanged to `System`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees are passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[cfg(not(miri))]
// SAFETY: every block comes from `System` with room for a header in front, aligned to at least
// `HEADER`; the pointer handed out is `offset` bytes in, so it keeps the caller's alignment, and
// `dealloc` / `realloc` recompute the same `offset` from the caller's layout.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some((outer, offset)) = header_layout(layout) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `outer` has a non-zero size (it includes the header).
        let base = unsafe { System.alloc(outer) };
        if base.is_null() {
            return base;
        }
        let slot = SLOT.try_with(Cell::get).unwrap_or(0);
        // SAFETY: the header lies inside the block and is aligned for a `usize`.
        unsafe { base.cast::<usize>().write(slot) };
        note(slot, layout.size() as isize);
        // SAFETY: `offset` < the block's size.
        unsafe { base.add(offset) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let (outer, offset) = header_layout(layout).expect("allocated with this layout");
        // SAFETY: `ptr` was returned by `alloc` above with this layout: the block starts
        // `offset` bytes before it and begins with the slot.
        let base = unsafe { ptr.sub(offset) };
        // SAFETY: `alloc` wrote the slot, a `usize`, at `base` (aligned for the outer layout).
        let slot = unsafe { base.cast::<usize>().read() };
        note(slot, -(layout.size() as isize));
        // SAFETY: `base` was allocated by `System` with `outer`.
        unsafe { System.dealloc(base, outer) }
    }
}

/// What one measurement saw: bytes still live at its end (allocated inside it and not freed),
/// and the peak of live bytes.
/// Both are 0 under miri (nothing is counted there).
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub live: isize,
    pub peak: isize,
}

/// Runs `f` with every allocation of this thread counted (and of threads that call
/// [`enter`] with the returned slot); frees count wherever they happen.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Measured) {
    let slot = (0..SLOTS)
        .find(|&i| {
            BUSY[i]
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
        .expect("fewer than 64 measurements at once");
    let generation = GENERATION[slot].fetch_add(1, Ordering::Relaxed) + 1;
    LIVE[slot].store(0, Ordering::Relaxed);
    PEAK[slot].store(0, Ordering::Relaxed);
    struct Release(usize, usize);
    impl Drop for Release {
        fn drop(&mut self) {
            SLOT.with(|s| s.set(self.1));
            BUSY[self.0].store(false, Ordering::Release);
        }
    }
    let outer = SLOT.with(|s| s.replace((slot + 1) | (generation << 8)));
    let release = Release(slot, outer);
    let result = f();
    SLOT.with(|s| s.set(outer));
    let measured = Measured {
        live: LIVE[slot].load(Ordering::Relaxed),
        peak: PEAK[slot].load(Ordering::Relaxed),
    };
    drop(release);
    (result, measured)
}

/// Counts this thread's allocations outside any measurement while `f` runs (to keep a
/// known one-off allocation out of a measurement).
#[allow(dead_code)]
pub fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    let outer = SLOT.with(|s| s.replace(0));
    let result = f();
    SLOT.with(|s| s.set(outer));
    result
}
