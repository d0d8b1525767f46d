//! Unit tests of the task cell; run under miri (`scripts/miri.sh task_cell`), which checks that
//! every cell is freed once, that no future is dropped twice or touched after its drop, and
//! that handles and driver never alias the future mutably.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::sync::Arc as StdArc;
use core::cell::Cell as StdCell;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering as O};
use core::task::{Context, Poll, Waker};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::*;

/// Counts its drops in a shared counter.
struct DropCount(Rc<StdCell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Pending `n` times (waking itself), then ready with `value`; counts its drops.
struct Countdown<'a> {
    n: usize,
    value: &'a str,
    _drops: DropCount,
}

impl<'a> Future for Countdown<'a> {
    type Output = &'a str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'a str> {
        if self.n == 0 {
            return Poll::Ready(self.value);
        }
        self.n -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn raw_handle_only_cell_clones_derefs_and_frees_once() {
    let drops = Rc::new(StdCell::new(0));
    let [a] = CellRef::new_many(DropCount(drops.clone()));
    let b = a.clone();
    assert!(CellRef::ptr_eq(&a, &b));
    assert_eq!(a.refs(), 2);
    assert!(Rc::ptr_eq(&a.0, &b.0));
    drop(a);
    assert_eq!(drops.get(), 0);
    assert_eq!(b.refs(), 1);
    drop(b);
    assert_eq!(drops.get(), 1);
}

#[test]
fn raw_handles_counted_up_front_free_once_with_the_last() {
    let drops = Rc::new(StdCell::new(0));
    let [a, b, c] = CellRef::new_many(DropCount(drops.clone()));
    assert!(CellRef::ptr_eq(&a, &b) && CellRef::ptr_eq(&b, &c));
    assert_eq!(a.refs(), 3);
    let erased = b.into_dyn(|s| s as &dyn core::any::Any);
    drop(a);
    drop(c);
    assert_eq!(drops.get(), 0, "the erased handle keeps the cell");
    assert!(erased.downcast_ref::<DropCount>().is_some());
    drop(erased);
    assert_eq!(drops.get(), 1);
}

#[test]
fn raw_future_borrows_scope_and_is_dropped_in_place_when_ready() {
    let drops = Rc::new(StdCell::new(0));
    let state_drops = Rc::new(StdCell::new(0));
    let handle;
    {
        // The future borrows `text`, which dies before the handle does.
        let text = String::from("tea");
        let (h, mut driver) = new_cell(DropCount(state_drops.clone()), |inner| {
            // `new_cell`'s handle, this one and the driver's, counted up front
            assert_eq!(inner.refs(), 3);
            Countdown {
                n: 2,
                value: &text,
                _drops: DropCount(drops.clone()),
            }
        });
        handle = h;
        // handle + driver (the `make` argument was dropped by the closure)
        assert_eq!(handle.refs(), 2);
        assert!(driver.is_running());
        assert_eq!(poll_once(&mut driver), Poll::Pending);
        assert_eq!(poll_once(&mut driver), Poll::Pending);
        assert_eq!(drops.get(), 0);
        assert_eq!(poll_once(&mut driver), Poll::Ready("tea"));
        // Dropped as soon as it completed, and the driver's count is given up.
        assert_eq!(drops.get(), 1);
        assert!(!driver.is_running());
        assert_eq!(handle.refs(), 1);
        drop(driver);
        assert_eq!(drops.get(), 1);
    }
    // `text` is gone; the handle still reads the state.
    assert_eq!(handle.0.get(), 0);
    drop(handle);
    assert_eq!(state_drops.get(), 1);
    assert_eq!(drops.get(), 1);
}

#[test]
fn raw_dropping_a_running_driver_drops_the_future_once() {
    let drops = Rc::new(StdCell::new(0));
    let (handle, mut driver) = new_cell((), |_| Countdown {
        n: 5,
        value: "x",
        _drops: DropCount(drops.clone()),
    });
    assert_eq!(poll_once(&mut driver), Poll::Pending);
    drop(driver);
    assert_eq!(drops.get(), 1);
    assert_eq!(handle.refs(), 1);
}

#[test]
fn raw_last_handle_dropped_first_then_driver_frees_the_cell() {
    let drops = Rc::new(StdCell::new(0));
    let state_drops = Rc::new(StdCell::new(0));
    let (handle, mut driver) = new_cell(DropCount(state_drops.clone()), |inner| {
        drop(inner);
        Countdown {
            n: 1,
            value: "x",
            _drops: DropCount(drops.clone()),
        }
    });
    drop(handle);
    assert_eq!(state_drops.get(), 0, "the driver still owns the cell");
    assert_eq!(poll_once(&mut driver), Poll::Pending);
    assert_eq!(poll_once(&mut driver), Poll::Ready("x"));
    // The driver held the last count: the state went with the future.
    assert_eq!((drops.get(), state_drops.get()), (1, 1));
    drop(driver);
    assert_eq!((drops.get(), state_drops.get()), (1, 1));
}

/// A future that holds a handle to its own cell, as a TaskGroup child holds its completer.
struct HoldsHandle {
    _me: CellRef<DropCount>,
    _drops: DropCount,
}

impl Future for HoldsHandle {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

#[test]
fn raw_future_holding_its_own_handle_is_dropped_before_the_cell_is_freed() {
    let drops = Rc::new(StdCell::new(0));
    let state_drops = Rc::new(StdCell::new(0));
    let (handle, driver) = new_cell(DropCount(state_drops.clone()), |me| HoldsHandle {
        _me: me,
        _drops: DropCount(drops.clone()),
    });
    assert_eq!(handle.refs(), 3);
    drop(handle);
    // The driver's own count keeps the cell alive while the future drops the last handle.
    drop(driver);
    assert_eq!((drops.get(), state_drops.get()), (1, 1));
}

/// Panics on its first poll, then is pending.
struct PanicOnce {
    panicked: bool,
    _drops: DropCount,
}

impl Future for PanicOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if !self.panicked {
            self.panicked = true;
            panic!("child panics");
        }
        Poll::Pending
    }
}

#[test]
fn raw_panic_while_polling_leaves_the_future_owned_by_the_driver() {
    let drops = Rc::new(StdCell::new(0));
    let (handle, mut driver) = new_cell((), |_| PanicOnce {
        panicked: false,
        _drops: DropCount(drops.clone()),
    });
    let caught = catch_unwind(AssertUnwindSafe(|| poll_once(&mut driver)));
    assert!(caught.is_err());
    assert!(driver.is_running());
    assert_eq!(drops.get(), 0);
    // Still consistent: it can be polled again and is dropped once with the driver.
    assert_eq!(poll_once(&mut driver), Poll::Pending);
    drop(driver);
    assert_eq!(drops.get(), 1);
    assert_eq!(handle.refs(), 1);
}

/// Ready at once; its destructor panics.
struct PanicOnDrop;

impl Future for PanicOnDrop {
    type Output = u8;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        Poll::Ready(7)
    }
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor panics");
    }
}

#[test]
fn raw_panicking_destructor_still_releases_the_drivers_count() {
    let (handle, mut driver) = new_cell((), |_| PanicOnDrop);
    let caught = catch_unwind(AssertUnwindSafe(|| poll_once(&mut driver)));
    assert!(caught.is_err());
    assert!(!driver.is_running(), "never dropped twice");
    assert_eq!(handle.refs(), 1);
    drop(driver);

    let (handle, driver) = new_cell((), |_| PanicOnDrop);
    let caught = catch_unwind(AssertUnwindSafe(move || drop(driver)));
    assert!(caught.is_err());
    assert_eq!(handle.refs(), 1);
}

#[test]
fn raw_panicking_make_frees_the_cell_without_a_future() {
    let state_drops = Rc::new(StdCell::new(0));
    let caught = catch_unwind(AssertUnwindSafe(|| {
        new_cell(DropCount(state_drops.clone()), |_| -> Countdown<'static> {
            panic!("make panics")
        })
    }));
    assert!(caught.is_err());
    assert_eq!(state_drops.get(), 1);
}

#[test]
#[should_panic = "task driver polled after completion"]
fn raw_polling_a_completed_driver_panics() {
    let (_handle, mut driver) = new_cell((), |_| core::future::ready(1));
    assert_eq!(poll_once(&mut driver), Poll::Ready(1));
    let _ = poll_once(&mut driver);
}

/// A `Send` state whose drops are counted across threads.
struct SendDrops(StdArc<AtomicUsize>);

impl Drop for SendDrops {
    fn drop(&mut self) {
        self.0.fetch_add(1, O::SeqCst);
    }
}

#[test]
fn raw_handles_on_other_threads_while_the_driver_polls_and_drops() {
    let state_drops = StdArc::new(AtomicUsize::new(0));
    let future_drops = StdArc::new(AtomicUsize::new(0));
    let fd = future_drops.clone();
    let (handle, mut driver) = new_send_cell(SendDrops(state_drops.clone()), move |_| {
        let guard = SendDrops(fd);
        async move {
            let _guard = guard;
            futures_yield().await;
            5u32
        }
    });
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let h = handle.clone();
            std::thread::spawn(move || {
                let h2 = h.clone();
                assert_eq!(h2.0.load(O::SeqCst), 0);
                drop(h);
            })
        })
        .collect();
    // The driver moves to another thread too.
    let driver_thread = std::thread::spawn(move || {
        assert_eq!(poll_once(&mut driver), Poll::Pending);
        assert_eq!(poll_once(&mut driver), Poll::Ready(5));
    });
    drop(handle);
    for t in threads {
        t.join().unwrap();
    }
    driver_thread.join().unwrap();
    assert_eq!(future_drops.load(O::SeqCst), 1);
    assert_eq!(state_drops.load(O::SeqCst), 1);
}

/// Pending once, then ready.
async fn futures_yield() {
    let mut yielded = false;
    core::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

#[test]
fn raw_drivers_of_different_futures_share_one_type() {
    let (_a, da) = new_cell((), |_| core::future::ready(1u8));
    let (_b, db) = new_cell((), |_| async { 2u8 });
    let mut drivers: Vec<RawDriver<'_, u8>> = alloc::vec![da, db];
    let outputs: Vec<_> = drivers.iter_mut().map(poll_once).collect();
    assert_eq!(outputs, [Poll::Ready(1), Poll::Ready(2)]);
}

#[test]
fn raw_handle_and_send_driver_auto_traits() {
    fn send_sync<X: Send + Sync>() {}
    fn send<X: Send>() {}
    fn unpin<X: Unpin>() {}
    send_sync::<CellRef<String>>();
    send::<SendDriver<'static, Rc<u8>>>();
    unpin::<CellRef<core::marker::PhantomPinned>>();
    unpin::<RawDriver<'static, core::marker::PhantomPinned>>();
}

/// What the loop's `AnyTask` sees of a task state: a trait object.
trait Label {
    fn label(&self) -> String;
}

/// A label, and a drop counter held only to be dropped with the state.
struct Labelled(
    String,
    #[allow(dead_code, reason = "held for its drop")] DropCount,
);

impl Label for Labelled {
    fn label(&self) -> String {
        self.0.clone()
    }
}

fn as_label(state: &Labelled) -> &(dyn Label + 'static) {
    state
}

#[test]
fn dyn_handle_shares_the_cell_and_the_last_owner_drops_the_state_once() {
    let drops = Rc::new(StdCell::new(0));
    let [handle] = CellRef::new_many(Labelled(String::from("tea"), DropCount(drops.clone())));
    let erased = handle.clone().into_dyn(as_label);
    let other = erased.clone();
    assert!(DynCellRef::ptr_eq(&erased, &other));
    assert_eq!(handle.refs(), 3);
    assert_eq!(other.label(), "tea");
    drop(handle);
    drop(erased);
    assert_eq!(drops.get(), 0);
    assert_eq!(other.label(), "tea");
    drop(other);
    assert_eq!(
        drops.get(),
        1,
        "the state dropped once, by the last (erased) owner"
    );
}

#[test]
fn dyn_handle_of_a_cell_with_a_future_outlives_the_driver() {
    let drops = Rc::new(StdCell::new(0));
    let (handle, mut driver) = new_cell(
        Labelled(String::from("green"), DropCount(drops.clone())),
        |_| Countdown {
            n: 1,
            value: "done",
            _drops: DropCount(drops.clone()),
        },
    );
    let erased = handle.into_dyn(as_label);
    assert!(poll_once(&mut driver).is_pending());
    assert_eq!(poll_once(&mut driver), Poll::Ready("done"));
    assert_eq!(drops.get(), 1, "the future, dropped when it completed");
    drop(driver);
    assert_eq!(erased.label(), "green");
    drop(erased);
    assert_eq!(drops.get(), 2);
}
