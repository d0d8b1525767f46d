//! The name probe: learns the name of the first coroutine polled inside a scope, for
//! containers that hold futures of unknown type (task handles): there is no way to ask a
//! generic `F` whether it is a `Coroutine` on stable Rust, but a coroutine polled for the first
//! time can announce itself.

use core::cell::Cell;

std::thread_local! {
    // Outer `None`: no probe listening; `Some(None)`: listening, nothing heard yet.
    static PROBE: Cell<Option<Option<&'static str>>> = const { Cell::new(None) };
}

pub(crate) fn offer(name: &'static str) {
    // `try_with`: a coroutine polled during thread teardown must not panic here.
    let _ = PROBE.try_with(|p| {
        if let Some(None) = p.get() {
            p.set(Some(Some(name)));
        }
    });
}

/// Runs `f` (which polls a future) and returns the name of the outermost coroutine that
/// was polled for the first time inside it, if any.
pub(crate) fn listen<R>(f: impl FnOnce() -> R) -> (R, Option<&'static str>) {
    /// Puts back the outer probe's state if `f` unwinds.
    struct Restore(Option<Option<&'static str>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            PROBE.with(|p| p.set(self.0));
        }
    }
    let restore = Restore(PROBE.with(|p| p.replace(Some(None))));
    let out = f();
    // Puts the previous probe back and reads what was heard in one access (the guard only
    // does it on unwind).
    let restore = core::mem::ManuallyDrop::new(restore);
    let heard = PROBE.with(|p| p.replace(restore.0)).flatten();
    (out, heard)
}
