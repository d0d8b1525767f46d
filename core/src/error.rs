//! The error types, one per concept, named as asyncio names them.

use core::fmt;

/// The deadline of a timeout API passed before the awaited work finished
/// (asyncio's `TimeoutError`).
///
/// # Examples
///
/// ```
/// let err = aiokit::TimeoutError::new();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct TimeoutError;

impl TimeoutError {
    /// Creates the error.
    pub const fn new() -> Self {
        TimeoutError
    }
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl core::error::Error for TimeoutError {}

/// The task was cancelled before it produced an outcome (asyncio's `CancelledError`).
///
/// # Examples
///
/// ```
/// let err = aiokit::CancelledError::new();
/// assert_eq!(err.to_string(), "task was cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct CancelledError;

impl CancelledError {
    /// Creates the error.
    pub const fn new() -> Self {
        CancelledError
    }
}

impl fmt::Display for CancelledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task was cancelled")
    }
}

impl core::error::Error for CancelledError {}

/// An operation was asked of a task in a state that does not allow it, such as the result of
/// a task that is still pending (asyncio's `InvalidStateError`).
///
/// # Examples
///
/// ```
/// let err = aiokit::InvalidStateError::new("result is not ready");
/// assert_eq!(err.to_string(), "invalid state: result is not ready");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvalidStateError {
    reason: &'static str,
}

impl InvalidStateError {
    /// Creates the error with a short reason.
    pub const fn new(reason: &'static str) -> Self {
        InvalidStateError { reason }
    }

    /// The reason given when the error was made.
    pub const fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid state: {}", self.reason)
    }
}

impl core::error::Error for InvalidStateError {}

#[cfg(feature = "std")]
mod exception_group;
#[cfg(feature = "std")]
pub use exception_group::ExceptionGroup;
