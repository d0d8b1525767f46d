//! `StreamReader`: asyncio's buffered reads over one TCP connection.
//!
//! Every read is a poll function that starts over from the buffer on each poll, so every read
//! is cancel-safe: a read that is dropped leaves the bytes it had received in the buffer.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_core::stream::FusedStream;

use super::conn::Conn;
use super::error::{IncompleteReadError, LimitOverrunError, ReadError};

/// The default limit of [`StreamReader::readuntil`] and [`StreamReader::readline`]: 64 KiB,
/// asyncio's `_DEFAULT_LIMIT`.
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (reader, _writer) = aiokit::streams::from_std(listener.accept()?.0)?;
/// assert_eq!(reader.limit(), aiokit::streams::DEFAULT_LIMIT);
/// # Ok::<_, std::io::Error>(())
/// # }).unwrap();
/// ```
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// How much room a read from the socket asks for at least.
const CHUNK: usize = 16 * 1024;

/// The reading side of a connection (asyncio's `StreamReader`), made by
/// [`open_connection`](super::open_connection), by [`start_server`](super::start_server) for
/// each client, or by [`from_std`](super::from_std).
///
/// Bytes are `Vec<u8>`, as Python's `bytes`. Every read is cancel-safe: dropping a read that
/// has not finished loses nothing, the bytes it had received stay buffered for the next read.
///
/// Where aiokit differs from asyncio: the reader pulls from the socket when a read is polled
/// (asyncio's transport pushes into the buffer in the background), so its buffer never grows
/// past what a read asks for plus one chunk; there is no `feed_data` / `set_exception`.
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (server, _) = listener.accept()?;
/// let (_, mut writer) = aiokit::streams::from_std(client)?;
/// let (mut reader, _server_writer) = aiokit::streams::from_std(server)?;
///
/// writer.write(b"add 3 5\nshutdown");
/// writer.close();
/// writer.wait_closed().await?;
/// assert_eq!(reader.readline().await?, b"add 3 5\n");
/// assert_eq!(reader.readline().await?, b"shutdown"); // the partial last line
/// assert_eq!(reader.readline().await?, b"");         // then EOF
/// assert!(reader.at_eof());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct StreamReader {
    conn: Arc<Conn>,
    /// Initialized storage; the unread bytes are `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// An error of the socket, returned again by every later read that needs the socket.
    error: Option<(io::ErrorKind, String)>,
    limit: usize,
}

impl StreamReader {
    pub(crate) fn new(conn: Arc<Conn>) -> Self {
        StreamReader {
            conn,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            error: None,
            limit: DEFAULT_LIMIT,
        }
    }

    /// The limit of [`readuntil`](Self::readuntil) and [`readline`](Self::readline)
    /// ([`DEFAULT_LIMIT`] unless set).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Sets the limit of [`readuntil`](Self::readuntil) and [`readline`](Self::readline)
    /// (asyncio's `limit=` argument).
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (asyncio: `ValueError('Limit cannot be <= 0')`).
    pub fn set_limit(&mut self, limit: usize) {
        assert!(limit > 0, "limit cannot be 0");
        self.limit = limit;
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.peer
    }

    /// How many bytes are buffered, received but not read yet.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Whether the stream has ended and every byte was read (asyncio's `at_eof()`).
    pub fn at_eof(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// Reads up to `n` bytes (asyncio's `read(n)`): what is buffered, or else what one read
    /// from the socket brings; empty at the end of the stream, or when `n` is 0.
    ///
    /// For asyncio's `read()` / `read(-1)`, see [`read_to_end`](Self::read_to_end).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut reader, _w) = aiokit::streams::from_std(listener.accept()?.0)?;
    /// # let (_r, mut writer) = aiokit::streams::from_std(client)?;
    /// writer.write(b"green tea");
    /// writer.drain().await?;
    /// assert_eq!(reader.read(5).await?, b"green");
    /// assert_eq!(reader.read(100).await?, b" tea");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        poll_fn(|cx| self.poll_read(cx, n)).await
    }

    /// Reads until the end of the stream (asyncio's `read()` / `read(-1)`).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut reader, _w) = aiokit::streams::from_std(listener.accept()?.0)?;
    /// # let (_r, mut writer) = aiokit::streams::from_std(client)?;
    /// writer.write(b"green tea");
    /// writer.write_eof();
    /// assert_eq!(reader.read_to_end().await?, b"green tea");
    /// assert!(reader.at_eof());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        poll_fn(|cx| {
            while !self.eof {
                ready!(self.poll_fill(cx))?;
            }
            Poll::Ready(Ok(self.take(self.buffered())))
        })
        .await
    }

    /// Reads exactly `n` bytes (asyncio's `readexactly(n)`).
    ///
    /// # Errors
    ///
    /// At the end of the stream before `n` bytes, [`ReadError::Incomplete`] with the bytes
    /// read and `expected: Some(n)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut reader, _w) = aiokit::streams::from_std(listener.accept()?.0)?;
    /// # let (_r, mut writer) = aiokit::streams::from_std(client)?;
    /// use aiokit::streams::ReadError;
    ///
    /// writer.write(b"\x00\x03tea");
    /// writer.write_eof();
    /// let len = reader.readexactly(2).await?;
    /// assert_eq!(reader.readexactly(len[1].into()).await?, b"tea");
    /// match reader.readexactly(1).await {
    ///     Err(ReadError::Incomplete(error)) => assert_eq!(error.expected, Some(1)),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        poll_fn(|cx| {
            while self.buffered() < n {
                if self.eof {
                    let partial = self.take(self.buffered());
                    return Poll::Ready(Err(ReadError::Incomplete(IncompleteReadError {
                        partial,
                        expected: Some(n),
                    })));
                }
                ready!(self.poll_fill(cx))?;
            }
            Poll::Ready(Ok(self.take(n)))
        })
        .await
    }

    /// Reads up to and including `separator` (asyncio's `readuntil(separator)`).
    ///
    /// # Errors
    ///
    /// - At the end of the stream without the separator: [`ReadError::Incomplete`] with every
    ///   byte left and `expected: None` (the buffer is then empty).
    /// - When the separator is not within [`limit`](Self::limit) bytes:
    ///   [`ReadError::LimitOverrun`]; the bytes stay buffered.
    /// - An empty separator: [`ReadError::Io`] of kind [`io::ErrorKind::InvalidInput`]
    ///   (asyncio: `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut reader, _w) = aiokit::streams::from_std(listener.accept()?.0)?;
    /// # let (_r, mut writer) = aiokit::streams::from_std(client)?;
    /// use aiokit::streams::ReadError;
    ///
    /// writer.write(b"HTTP/1.0 200 OK\r\n\r\nbody");
    /// writer.write_eof();
    /// assert_eq!(reader.readuntil(b"\r\n\r\n").await?, b"HTTP/1.0 200 OK\r\n\r\n");
    /// match reader.readuntil(b"\r\n").await {
    ///     Err(ReadError::Incomplete(error)) => assert_eq!(error.partial, b"body"),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn readuntil(&mut self, separator: &[u8]) -> Result<Vec<u8>, ReadError> {
        poll_fn(|cx| self.poll_readuntil(cx, separator)).await
    }

    /// Reads one line, `\n` included (asyncio's `readline()`): at the end of the stream, the
    /// partial last line, then empty lines.
    ///
    /// # Errors
    ///
    /// A line longer than [`limit`](Self::limit): [`ReadError::LimitOverrun`] (asyncio raises
    /// `ValueError`), after the line is discarded up to its `\n` if it was received, or else
    /// every buffered byte: the next call reads on from there, as in asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut reader, _w) = aiokit::streams::from_std(listener.accept()?.0)?;
    /// # let (_r, mut writer) = aiokit::streams::from_std(client)?;
    /// use aiokit::streams::ReadError;
    ///
    /// reader.set_limit(8);
    /// writer.write(b"far too long\nok\n");
    /// writer.write_eof();
    /// assert!(matches!(reader.readline().await, Err(ReadError::LimitOverrun(_))));
    /// assert_eq!(reader.readline().await?, b"ok\n");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn readline(&mut self) -> Result<Vec<u8>, ReadError> {
        poll_fn(|cx| self.poll_readline(cx)).await
    }

    /// The lines of the stream, as a `Stream` (asyncio's `async for line in reader`).
    ///
    /// Each item is [`readline`](Self::readline)'s; the stream ends at the end of the stream
    /// or after an I/O error. A line over the limit is an `Err` item, and the lines go on.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// # futures::executor::block_on(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (mut reader, _writer) = aiokit::streams::from_std(listener.accept()?.0)?;
    /// let (_, mut writer) = aiokit::streams::from_std(client)?;
    /// writer.writelines([&b"one\n"[..], b"two\n"]);
    /// writer.wait_closed().await?;
    ///
    /// let lines: Vec<_> = reader.lines().map(Result::unwrap).collect().await;
    /// assert_eq!(lines, [b"one\n", b"two\n"]);
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn lines(&mut self) -> Lines<'_> {
        Lines {
            reader: self,
            done: false,
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<Vec<u8>>> {
        if n == 0 {
            return Poll::Ready(Ok(Vec::new()));
        }
        if self.buffered() == 0 && !self.eof {
            ready!(self.poll_fill(cx))?;
        }
        Poll::Ready(Ok(self.take(n.min(self.buffered()))))
    }

    pub(crate) fn poll_readuntil(
        &mut self,
        cx: &mut Context<'_>,
        separator: &[u8],
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        let seplen = separator.len();
        if seplen == 0 {
            return Poll::Ready(Err(ReadError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "separator should be at least one byte",
            ))));
        }
        // As asyncio: `offset` is where the search for the separator starts over after more
        // bytes came (the last `seplen - 1` bytes may begin a separator).
        let mut offset = 0;
        let isep = loop {
            let data = &self.buf[self.start..self.end];
            if data.len() >= offset + seplen {
                if let Some(found) = find(&data[offset..], separator) {
                    break offset + found;
                }
                offset = data.len() + 1 - seplen;
                if offset > self.limit {
                    return Poll::Ready(Err(ReadError::LimitOverrun(LimitOverrunError {
                        consumed: offset,
                        found: false,
                    })));
                }
            }
            if self.eof {
                let partial = self.take(self.buffered());
                return Poll::Ready(Err(ReadError::Incomplete(IncompleteReadError {
                    partial,
                    expected: None,
                })));
            }
            ready!(self.poll_fill(cx))?;
        };
        if isep > self.limit {
            return Poll::Ready(Err(ReadError::LimitOverrun(LimitOverrunError {
                consumed: isep,
                found: true,
            })));
        }
        Poll::Ready(Ok(self.take(isep + seplen)))
    }

    fn poll_readline(&mut self, cx: &mut Context<'_>) -> Poll<Result<Vec<u8>, ReadError>> {
        Poll::Ready(match ready!(self.poll_readuntil(cx, b"\n")) {
            Ok(line) => Ok(line),
            Err(ReadError::Incomplete(error)) => Ok(error.partial),
            Err(ReadError::LimitOverrun(error)) => {
                // asyncio: drop the line up to its separator if it is here, else everything.
                let data = &self.buf[self.start..self.end];
                if data.get(error.consumed) == Some(&b'\n') {
                    self.take(error.consumed + 1);
                } else {
                    self.take(self.buffered());
                }
                Err(ReadError::LimitOverrun(error))
            }
            Err(error) => Err(error),
        })
    }

    /// Reads once from the socket into the buffer; sets `eof` when the peer closed.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some((kind, message)) = &self.error {
            return Poll::Ready(Err(io::Error::new(*kind, message.clone())));
        }
        if self.buf.len() - self.end < CHUNK {
            // Room: first by moving the unread bytes to the front, then by growing.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < CHUNK {
                self.buf.resize(self.end + CHUNK, 0);
            }
        }
        loop {
            match self.conn.io.get_ref().read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Poll::Ready(Ok(()));
                }
                Ok(n) => {
                    self.end += n;
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.conn.io.poll_readable(cx))?;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.error = Some((error.kind(), error.to_string()));
                    return Poll::Ready(Err(error));
                }
            }
        }
    }

    /// Takes the first `n` buffered bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let bytes = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        bytes
    }
}

/// Where `needle` (not empty) first starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if let [byte] = needle {
        return haystack.iter().position(|b| b == byte);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("peer", &self.conn.peer)
            .field("buffered", &self.buffered())
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .finish()
    }
}

/// The lines of a [`StreamReader`], made by [`StreamReader::lines`].
///
/// # Examples
///
/// See [`StreamReader::lines`].
#[must_use = "streams do nothing unless polled"]
pub struct Lines<'a> {
    reader: &'a mut StreamReader,
    done: bool,
}

impl Stream for Lines<'_> {
    type Item = Result<Vec<u8>, ReadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        Poll::Ready(match ready!(this.reader.poll_readline(cx)) {
            Ok(line) if line.is_empty() => {
                this.done = true;
                None
            }
            Ok(line) => Some(Ok(line)),
            Err(error @ ReadError::LimitOverrun(_)) => Some(Err(error)),
            Err(error) => {
                this.done = true;
                Some(Err(error))
            }
        })
    }
}

impl FusedStream for Lines<'_> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl fmt::Debug for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("reader", &self.reader)
            .field("done", &self.done)
            .finish()
    }
}
