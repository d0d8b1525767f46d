//! A task group's memory stays bounded while children come and go
//! (`docs/semantics.md#memory-a-child-is-freed-when-it-ends`): peak live bytes for 100 000
//! short children run one after another (10 000 in the default run) are those for 1 000.
//!
//! This test binary installs a counting `#[global_allocator]` that tracks live bytes and their
//! peak, per thread and only inside [`peak_live_bytes`], so the harness and tests on other
//! threads are not counted.

use std::future::pending;

use aiokit::TaskGroup;
use aiokit_tests::counting_alloc::{CountingAllocator, measure};
use futures::executor::block_on;
use futures_lite::future::yield_now;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` with counting on: (peak live bytes during it, live bytes left after it).
fn peak_live_bytes(f: impl FnOnce()) -> (isize, isize) {
    let ((), measured) = measure(f);
    (measured.peak, measured.live)
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
