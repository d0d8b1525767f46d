//! A task group's memory stays bounded while children come and go
//! (`docs/semantics.md#memory-a-child-is-freed-when-it-ends`): peak live bytes for 100 000
//! short children run one after another (10 000 in the default run) are those for 1 000.
//!
//! This test binary installs a counting `#[global_allocator]` that tracks live bytes and their
//! peak, per thread and only inside [`peak_live_bytes`], so the harness and tests on other
//! threads are not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::pending;

use aiokit::TaskGroup;
use futures::executor::block_on;
use futures_lite::future::yield_now;

struct PeakAllocator;

thread_local! {
    // `const` initialisers without `Drop`: reading them never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(bytes: isize) {
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = LIVE.try_with(|live| {
                live.set(live.get() + bytes);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
            });
        }
    });
}

fn size(bytes: usize) -> isize {
    isize::try_from(bytes).expect("an allocation is at most isize::MAX bytes")
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting touches only `const` thread-locals, which never allocate.
unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(size(layout.size()));
        // SAFETY: the caller's guarantees for `alloc` are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(size(layout.size()));
        // SAFETY: the caller's guarantees for `alloc_zeroed` are passed on unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(size(new_size) - size(layout.size()));
        // SAFETY: the caller's guarantees for `realloc` are passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-size(layout.size()));
        // SAFETY: the caller's guarantees for `dealloc` are passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: PeakAllocator = PeakAllocator;

/// Runs `f` with counting on: (peak live bytes during it, live bytes left after it).
fn peak_live_bytes(f: impl FnOnce()) -> (isize, isize) {
    LIVE.set(0);
    PEAK.set(0);
    COUNTING.set(true);
    f();
    COUNTING.set(false);
    (PEAK.get(), LIVE.get())
}

/// A server's shape: `long` children stay running (past the engine's direct mode), and `n`
/// short ones are added one after another, each pending once, while the body waits for each.
fn serve(n: usize, long: usize, discard: bool) -> (isize, isize) {
    peak_live_bytes(|| {
        block_on(TaskGroup::run_cancellable(async |tg| {
            for _ in 0..long {
                tg.add_task(pending::<Result<(), ()>>());
            }
            for _ in 0..n {
                let short = async {
                    yield_now().await;
                    Ok(vec![0u8; 64]) // an output, dropped with the child
                };
                if discard {
                    tg.add_task(short);
                } else {
                    drop(tg.create_task(short));
                }
                yield_now().await;
            }
            tg.cancel();
            Ok(())
        }))
        .unwrap();
    })
}

mod live_bytes_stay_bounded_while_children_come_and_go {
    use super::*;

    fn check(large: usize, discard: bool) {
        // Warm-up: one-time thread-locals (the executor's, the task names') are not the group's.
        serve(10, 40, discard);
        let (small_peak, small_left) = serve(1_000, 40, discard);
        let (large_peak, large_left) = serve(large, 40, discard);
        println!("peak live bytes: {small_peak} for 1 000 children, {large_peak} for {large}");
        // Independent of N: the same slots, nodes and queue buffers serve every child.
        assert!(
            large_peak <= small_peak + 1024,
            "peak live bytes grew with N: {small_peak} for 1 000 children, {large_peak} for {large}"
        );
        assert_eq!(
            (small_left, large_left),
            (0, 0),
            "everything freed after the run"
        );
    }

    #[test]
    fn children_added_without_handles() {
        check(10_000, true);
    }

    #[test]
    fn children_whose_handles_are_dropped() {
        check(10_000, false);
    }

    /// The same for 100 000 children (a few seconds in a debug build).
    #[test]
    #[ignore = "slow in a debug build: run with --ignored (or --release)"]
    fn a_hundred_thousand_children_added_without_handles() {
        check(100_000, true);
    }
}
