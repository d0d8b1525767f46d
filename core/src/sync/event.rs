//! asyncio's `Event`.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

/// asyncio's `Event`: a flag that tasks wait on. [`set`](Event::set) wakes every waiter;
/// [`clear`](Event::clear) makes later waiters wait again. A waiter woken by `set` returns even
/// if `clear` follows at once.
///
/// Built on an `AtomicBool` and an `event_listener::Event`.
///
/// # Examples
///
/// ```
/// use aiokit::sync::Event;
///
/// # futures::executor::block_on(async {
/// let event = Event::new();
/// let waiter = async {
///     event.wait().await;
///     "woken"
/// };
/// let setter = async {
///     event.set();
///     event.clear();
/// };
/// let (woken, ()) = aiokit::gather!(waiter, setter).await;
/// assert_eq!(woken, "woken");
/// assert!(!event.is_set());
/// # });
/// ```
pub struct Event {
    flag: AtomicBool,
    waiters: event_listener::Event,
}

impl Event {
    /// An event that is not set.
    pub const fn new() -> Self {
        Event {
            flag: AtomicBool::new(false),
            waiters: event_listener::Event::new(),
        }
    }

    /// Whether the event is set.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sets the event and wakes every waiter.
    pub fn set(&self) {
        if !self.flag.swap(true, Ordering::SeqCst) {
            self.waiters.notify(usize::MAX);
        }
    }

    /// Clears the event: later [`wait`](Self::wait)s wait for the next [`set`](Self::set).
    pub fn clear(&self) {
        self.flag.store(false, Ordering::SeqCst);
    }

    /// Waits until the event is set (at once if it is). asyncio's `wait` returns `True`;
    /// this returns `()`.
    pub async fn wait(&self) {
        if self.is_set() {
            return;
        }
        let listener = self.waiters.listen();
        if self.is_set() {
            return;
        }
        // Woken by `set`: done, whatever the flag says by now.
        listener.await;
    }
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}
