//! The errors of [`StreamReader`](super::StreamReader)'s reads: asyncio's
//! `IncompleteReadError` and `LimitOverrunError`, and the enum that carries them with I/O
//! errors.

use std::error::Error;
use std::fmt;
use std::io;

/// The stream ended before the read was complete (asyncio's `IncompleteReadError`, an
/// `EOFError`).
///
/// Returned by [`readexactly`](super::StreamReader::readexactly) and
/// [`readuntil`](super::StreamReader::readuntil); `partial` holds every byte that was read
/// before the end: nothing is lost.
///
/// # Examples
///
/// ```
/// let error = aiokit::streams::IncompleteReadError { partial: b"te".to_vec(), expected: Some(3) };
/// assert_eq!(error.to_string(), "2 bytes read on a total of 3 expected bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before the end of the stream.
    pub partial: Vec<u8>,
    /// How many bytes were expected: `None` when the read waited for a separator.
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(expected) => write!(
                f,
                "{} bytes read on a total of {expected} expected bytes",
                self.partial.len()
            ),
            None => write!(
                f,
                "{} bytes read on a total of undefined expected bytes",
                self.partial.len()
            ),
        }
    }
}

impl Error for IncompleteReadError {}

/// The separator was not found within the reader's limit (asyncio's `LimitOverrunError`).
///
/// `consumed` is how many bytes are to be consumed (asyncio's `consumed` attribute). After
/// [`readuntil`](super::StreamReader::readuntil) the data stays in the reader's buffer and can
/// be read again; [`readline`](super::StreamReader::readline) discards it, as asyncio does.
///
/// # Examples
///
/// ```
/// let error = aiokit::streams::LimitOverrunError { consumed: 70_000, found: false };
/// assert_eq!(error.to_string(), "Separator is not found, and chunk exceed the limit");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// How many bytes are to be consumed.
    pub consumed: usize,
    /// Whether the separator was found (beyond the limit) or not at all.
    pub found: bool,
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.found {
            "Separator is found, but chunk is longer than limit"
        } else {
            "Separator is not found, and chunk exceed the limit"
        })
    }
}

impl Error for LimitOverrunError {}

/// What a read of a [`StreamReader`](super::StreamReader) can fail with.
///
/// asyncio raises these as separate exceptions; here they are one enum, and it converts into
/// an [`io::Error`] so that `?` works in handlers returning `io::Result` (an incomplete read
/// becomes [`io::ErrorKind::UnexpectedEof`], an overrun [`io::ErrorKind::InvalidData`]).
///
/// # Examples
///
/// ```
/// use std::io;
///
/// use aiokit::streams::{IncompleteReadError, ReadError};
///
/// let error = ReadError::Incomplete(IncompleteReadError { partial: vec![], expected: Some(4) });
/// assert_eq!(io::Error::from(error).kind(), io::ErrorKind::UnexpectedEof);
/// ```
#[derive(Debug)]
pub enum ReadError {
    /// The socket failed (reset by the peer, ...), or the call was invalid (an empty separator).
    Io(io::Error),
    /// The stream ended first.
    Incomplete(IncompleteReadError),
    /// The separator was not found within the limit.
    LimitOverrun(LimitOverrunError),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(error) => error.fmt(f),
            ReadError::Incomplete(error) => error.fmt(f),
            ReadError::LimitOverrun(error) => error.fmt(f),
        }
    }
}

impl Error for ReadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReadError::Io(error) => Some(error),
            ReadError::Incomplete(error) => Some(error),
            ReadError::LimitOverrun(error) => Some(error),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> Self {
        ReadError::Io(error)
    }
}

impl From<IncompleteReadError> for ReadError {
    fn from(error: IncompleteReadError) -> Self {
        ReadError::Incomplete(error)
    }
}

impl From<LimitOverrunError> for ReadError {
    fn from(error: LimitOverrunError) -> Self {
        ReadError::LimitOverrun(error)
    }
}

impl From<ReadError> for io::Error {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Io(error) => error,
            ReadError::Incomplete(error) => io::Error::new(io::ErrorKind::UnexpectedEof, error),
            ReadError::LimitOverrun(error) => io::Error::new(io::ErrorKind::InvalidData, error),
        }
    }
}
