//! Unix signal handlers on the loop (asyncio's `add_signal_handler`), on smol-rs's
//! async-signal: it works on both loops (on a tokio loop, async-io's reactor runs its own
//! thread).

use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Poll, Waker};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::rc::Rc;

pub use async_signal::Signal;
use futures_core::Stream;

use super::inner::LoopInner;

/// The signals asyncio refuses too (the OS does not let them be caught, or catching them
/// cannot return to the program).
const UNCATCHABLE: [Signal; 5] = [
    Signal::Kill,
    Signal::Stop,
    Signal::Ill,
    Signal::Fpe,
    Signal::Segv,
];

/// A handler's link to the future that listens for its signal: `stop` ends that future.
#[derive(Default)]
struct Listener {
    stopped: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Listener {
    fn stop(&self) {
        self.stopped.set(true);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// The loop's signal handlers, by signal.
#[derive(Default)]
pub(crate) struct SignalHandlers {
    listeners: RefCell<HashMap<Signal, Rc<Listener>>>,
}

impl SignalHandlers {
    pub(crate) fn remove(&self, signal: Signal) -> bool {
        let removed = self.listeners.borrow_mut().remove(&signal);
        match removed {
            Some(listener) => {
                listener.stop();
                true
            }
            None => false,
        }
    }

    pub(crate) fn clear(&self) {
        let all: Vec<_> = self.listeners.borrow_mut().drain().collect();
        for (_, listener) in all {
            listener.stop();
        }
    }
}

/// Registers `signal` at once and listens for it in a future on the loop's executor; each
/// delivery schedules `callback` with `call_soon`.
pub(crate) fn add(
    lp: &Rc<LoopInner>,
    signal: Signal,
    callback: impl Fn() + 'static,
) -> io::Result<()> {
    if UNCATCHABLE.contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signal:?} cannot be caught"),
        ));
    }
    lp.check_open().map_err(io::Error::other)?;
    let mut signals = async_signal::Signals::new([signal])?;
    lp.signal_handlers.remove(signal);
    let listener = Rc::new(Listener::default());
    lp.signal_handlers
        .listeners
        .borrow_mut()
        .insert(signal, listener.clone());
    let weak = Rc::downgrade(lp);
    let callback = Rc::new(callback);
    lp.spawn_background("signal handler", async move {
        loop {
            let next = poll_fn(|cx| {
                if listener.stopped.get() {
                    return Poll::Ready(None);
                }
                listener.waker.set(Some(cx.waker().clone()));
                Pin::new(&mut signals).poll_next(cx)
            })
            .await;
            if !matches!(next, Some(Ok(_))) {
                return;
            }
            let Some(lp) = weak.upgrade() else { return };
            let callback = callback.clone();
            if lp.call_soon(move || callback()).is_err() {
                return;
            }
        }
    });
    Ok(())
}
