//! The loop's errors, and what its exception handler is given.

use core::any::Any;
use core::fmt;

/// Why an event loop refused a call (asyncio raises `RuntimeError` in each of these cases).
///
/// # Examples
///
/// ```
/// let lp = aiokit::EventLoop::new();
/// lp.close().unwrap();
/// let err = lp.run_forever().unwrap_err();
/// assert_eq!(err, aiokit::event_loop::EventLoopError::Closed);
/// assert_eq!(err.to_string(), "event loop is closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventLoopError {
    /// The loop was closed: it runs nothing any more.
    Closed,
    /// `run_forever` / `run_until_complete` on a loop that is running already.
    AlreadyRunning,
    /// A loop was started on a thread where another loop (or a tokio runtime) is running.
    AnotherLoopRunning,
    /// [`aiokit::run`](crate::run) called from inside a running loop.
    RunFromRunningLoop,
    /// `close()` on a running loop.
    CloseRunning,
    /// `run_until_complete` returned because the loop was stopped before the future finished.
    StoppedBeforeComplete,
    /// A free function that needs the running loop was called outside one.
    NoRunningLoop,
}

impl fmt::Display for EventLoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventLoopError::Closed => "event loop is closed",
            EventLoopError::AlreadyRunning => "this event loop is already running",
            EventLoopError::AnotherLoopRunning => {
                "cannot run the event loop while another loop is running on this thread"
            }
            EventLoopError::RunFromRunningLoop => {
                "aiokit::run() cannot be called from a running event loop"
            }
            EventLoopError::CloseRunning => "cannot close a running event loop",
            EventLoopError::StoppedBeforeComplete => {
                "event loop stopped before the future completed"
            }
            EventLoopError::NoRunningLoop => "no running event loop",
        })
    }
}

impl std::error::Error for EventLoopError {}

/// What the loop's exception handler receives when a callback or a task panicked, or a
/// callback was slow in debug mode (asyncio's exception handler context: `message`,
/// `exception`, `handle` / `task`). [`ExceptionContext::new`] makes one for
/// [`EventLoop::call_exception_handler`](super::EventLoop::call_exception_handler).
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let lp = aiokit::EventLoop::new();
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let log = seen.clone();
/// lp.set_exception_handler(move |ctx: &aiokit::event_loop::ExceptionContext<'_>| {
///     log.borrow_mut().push(format!("{} / {:?}", ctx.message(), ctx.panic_message()));
/// });
/// lp.call_soon(|| panic!("boom")).unwrap();
/// lp.stop();
/// lp.run_forever().unwrap();
/// assert!(seen.borrow()[0].starts_with("Exception in callback "));
/// assert!(seen.borrow()[0].ends_with("/ Some(\"boom\")"));
/// ```
#[derive(Clone, Copy)]
pub struct ExceptionContext<'a> {
    pub(crate) message: &'a str,
    pub(crate) name: &'a str,
    pub(crate) payload: Option<&'a (dyn Any + Send)>,
}

impl<'a> ExceptionContext<'a> {
    /// A context with `message` alone (asyncio's `{'message': ...}`), for
    /// [`EventLoop::call_exception_handler`](super::EventLoop::call_exception_handler).
    ///
    /// # Examples
    ///
    /// ```
    /// use aiokit::event_loop::ExceptionContext;
    ///
    /// let payload: Box<dyn std::any::Any + Send> = Box::new("disk full");
    /// let ctx = ExceptionContext::new("Saving failed")
    ///     .with_name("saver")
    ///     .with_payload(&*payload);
    /// assert_eq!(ctx.to_string(), "Saving failed: panicked: disk full");
    /// assert_eq!(ctx.name(), "saver");
    /// ```
    pub fn new(message: &'a str) -> Self {
        ExceptionContext {
            message,
            name: "",
            payload: None,
        }
    }

    /// The same context, naming the callback or task concerned.
    ///
    /// # Examples
    ///
    /// See [`ExceptionContext::new`].
    pub fn with_name(self, name: &'a str) -> Self {
        ExceptionContext { name, ..self }
    }

    /// The same context, with a panic payload (asyncio's `exception`).
    ///
    /// # Examples
    ///
    /// See [`ExceptionContext::new`].
    pub fn with_payload(self, payload: &'a (dyn Any + Send)) -> Self {
        ExceptionContext {
            payload: Some(payload),
            ..self
        }
    }

    /// What happened, as asyncio words it: "Exception in callback NAME", "Task exception was
    /// never retrieved: NAME", `Executing <Handle NAME> took 0.150 seconds` (debug mode).
    pub fn message(&self) -> &'a str {
        self.message
    }

    /// The callback's name (its type name, or `partial(f, ..)`) or the task's name; empty if
    /// the context names none.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The panic payload, as `std::panic::catch_unwind` returns it; `None` for a report that
    /// is not about a panic (a slow callback, or a context made without one).
    pub fn payload(&self) -> Option<&'a (dyn Any + Send)> {
        self.payload
    }

    /// The panic message, if there is a payload and it is a string (as `panic!("...")`
    /// makes).
    pub fn panic_message(&self) -> Option<&'a str> {
        let payload = self.payload?;
        payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Debug for ExceptionContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptionContext")
            .field("message", &self.message)
            .field("name", &self.name)
            .field("panic_message", &self.panic_message())
            .finish()
    }
}

impl fmt::Display for ExceptionContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)?;
        if let Some(message) = self.panic_message() {
            write!(f, ": panicked: {message}")?;
        }
        Ok(())
    }
}
