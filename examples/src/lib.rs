//! Runnable twins of the asyncio tutorial programs; see `examples/`.
//!
//! [`Transcript`] is what the event-loop examples print through: every line goes to stdout and
//! is kept, so that each example's test can check the lines in the order asyncio guarantees.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// Prints lines and keeps them, for the examples' tests. Clones share one transcript; it is
/// `Send`, so a thread or a loop callback can print through it.
#[derive(Clone, Default)]
pub struct Transcript(Arc<Mutex<Vec<String>>>);

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Transcript::default()
    }

    /// Prints `line` and keeps it.
    pub fn say(&self, line: impl Into<String>) {
        let line = line.into();
        println!("{line}");
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    /// Every line printed so far, in order.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Python's `print` in a loop callback: `partial!(print, out.clone(), "Hello world!")`.
pub fn print(out: Transcript, line: &'static str) {
    out.say(line);
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<stdout>")
    }
}
