//! Peak memory of a group serving short children one after another, as a server runs a child
//! per connection: aiokit's `TaskGroup` (children added by `add_task`, without handles) against
//! tokio's `JoinSet` drained as a server drains it (`try_join_next` after each spawn). Target
//! (`docs/benchmarks.md`): bounded, the same at every N.
//!
//! Each contestant runs on a tokio current-thread runtime made before counting starts. A
//! counting `#[global_allocator]` tracks live bytes and their peak over the whole run; the
//! figure is the peak minus the live bytes at the start. Every child yields once (so it is
//! pending, in its slot, for a moment) and returns its index; the sum is checked.
//!
//! ```text
//! cargo bench -p aiokit --bench group_memory              # N = 10 000, 100 000, 1 000 000
//! cargo bench -p aiokit --bench group_memory -- --quick   # smoke run: N = 1 000
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use aiokit::TaskGroup;
use tokio::task::{JoinSet, yield_now};

struct PeakAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn note(bytes: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

fn size(bytes: usize) -> isize {
    isize::try_from(bytes).expect("an allocation is at most isize::MAX bytes")
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting touches only atomics.
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

/// Peak live bytes above the start while `f` runs, and its result.
fn peak<T>(f: impl FnOnce() -> T) -> (isize, T) {
    LIVE.store(0, Ordering::SeqCst);
    PEAK.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let out = f();
    COUNTING.store(false, Ordering::SeqCst);
    (PEAK.load(Ordering::SeqCst), out)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
}

/// aiokit: a `TaskGroup` whose body adds a child per "connection" with `add_task`.
fn aiokit_group(n: u64) -> (isize, u64) {
    let rt = runtime();
    let sum = std::sync::atomic::AtomicU64::new(0);
    let (bytes, ()) = peak(|| {
        rt.block_on(TaskGroup::run(async |tg| {
            for i in 0..n {
                let sum = &sum;
                tg.add_task(async move {
                    yield_now().await;
                    sum.fetch_add(i, Ordering::Relaxed);
                    Ok::<_, Infallible>(())
                });
                yield_now().await;
            }
            Ok(())
        }))
        .unwrap();
    });
    (bytes, sum.into_inner())
}

/// tokio: a `JoinSet` with a spawn per "connection", finished tasks reaped after each.
fn tokio_join_set(n: u64) -> (isize, u64) {
    let rt = runtime();
    peak(|| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut sum = 0;
            for i in 0..n {
                set.spawn(async move {
                    yield_now().await;
                    i
                });
                while let Some(done) = set.try_join_next() {
                    sum += done.unwrap();
                }
                yield_now().await;
            }
            while let Some(done) = set.join_next().await {
                sum += done.unwrap();
            }
            sum
        })
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var_os("AIOKIT_BENCH_QUICK").is_some()
        || !std::env::args().any(|a| a == "--bench");
    let ns: &[u64] = if quick {
        &[1_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    println!("peak live bytes, short children run one after another (lower is better)");
    println!(
        "{:>10}  {:>16}  {:>16}",
        "N", "aiokit TaskGroup", "tokio JoinSet"
    );
    for &n in ns {
        let expected = n * (n - 1) / 2;
        let (aiokit, sum) = aiokit_group(n);
        assert_eq!(sum, expected);
        let (tokio, sum) = tokio_join_set(n);
        assert_eq!(sum, expected);
        println!("{n:>10}  {aiokit:>16}  {tokio:>16}");
    }
}
