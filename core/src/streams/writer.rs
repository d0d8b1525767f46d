//! `StreamWriter`: asyncio's buffered writes over one TCP connection.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::conn::Conn;

/// The writing side of a connection (asyncio's `StreamWriter`), made with its
/// [`StreamReader`](super::StreamReader).
///
/// [`write`](Self::write) never waits: it hands the bytes to the socket at once if its buffer
/// is empty and the socket takes them (as asyncio's transport does), and keeps the rest;
/// [`drain`](Self::drain) sends the rest, waiting while the socket is full: that is the
/// back-pressure. A handler that writes in a loop and drains after each write holds at most
/// one write in memory.
///
/// Where aiokit differs from asyncio: there is no transport sending in the background, so
/// bytes that the socket did not take at once wait for the next `drain`, `wait_closed`, or
/// the writer's drop (which tries once without waiting). asyncio's `drain` returns as soon as
/// the buffer is under the high-water mark (64 KiB) and leaves the rest to the transport;
/// aiokit's `drain` sends everything, so the bytes are never stranded (the high-water mark is
/// in effect 0). Dropping the writer sends the end of the stream (as `write_eof`); the socket
/// closes when the reader is dropped too.
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (mut reader, _) = aiokit::streams::from_std(listener.accept()?.0)?;
/// let (_, mut writer) = aiokit::streams::from_std(client)?;
///
/// writer.write(b"add 3 5\n"); // buffered or sent: no await
/// writer.drain().await?; // everything is in the socket now
/// assert_eq!(writer.write_buffer_size(), 0);
/// assert_eq!(reader.readline().await?, b"add 3 5\n");
///
/// writer.close();
/// writer.wait_closed().await?;
/// assert!(writer.is_closing());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct StreamWriter {
    conn: Arc<Conn>,
    /// The bytes not sent yet are `buf[sent..]`.
    buf: Vec<u8>,
    sent: usize,
    closing: bool,
    /// `write_eof` was called; the end is sent once the buffer is empty.
    eof: bool,
    /// The socket was shut down (both ways after `close`, the writing way after `write_eof`).
    shut: bool,
    /// The first failure: a socket error, or a write after close; `drain` returns it.
    error: Option<(io::ErrorKind, String)>,
}

impl StreamWriter {
    pub(crate) fn new(conn: Arc<Conn>) -> Self {
        StreamWriter {
            conn,
            buf: Vec::new(),
            sent: 0,
            closing: false,
            eof: false,
            shut: false,
            error: None,
        }
    }

    /// Writes `data` without waiting (asyncio's `write(data)`): into the socket if it takes
    /// it at once, the rest into the buffer.
    ///
    /// After [`close`](Self::close) or [`write_eof`](Self::write_eof), or after the socket
    /// failed, the bytes are dropped and the next [`drain`](Self::drain) returns the error
    /// (asyncio drops them silently after `close`, raises `RuntimeError` after `write_eof`).
    pub fn write(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.error.is_some() {
            return;
        }
        if self.closing || self.eof {
            let what = if self.closing {
                "close()"
            } else {
                "write_eof()"
            };
            self.error = Some((io::ErrorKind::BrokenPipe, format!("write after {what}")));
            return;
        }
        let mut data = data;
        if self.pending() == 0 {
            match self.try_send(data) {
                Ok(n) => data = &data[n..],
                Err(()) => return,
            }
        }
        if !data.is_empty() {
            if self.sent > 0 && self.sent >= self.buf.len() / 2 {
                self.buf.drain(..self.sent);
                self.sent = 0;
            }
            self.buf.extend_from_slice(data);
        }
    }

    /// Writes every item of `lines`, one after the other (asyncio's `writelines`).
    pub fn writelines<I>(&mut self, lines: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for line in lines {
            self.write(line.as_ref());
        }
    }

    /// Sends everything buffered, waiting while the socket is full (asyncio's `drain()`).
    ///
    /// # Errors
    ///
    /// The socket's error (the peer reset the connection, ...); `BrokenPipe` for bytes
    /// written after [`close`](Self::close) or [`write_eof`](Self::write_eof);
    /// `ConnectionReset` when the writer was closed (asyncio: `ConnectionResetError`).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: what was not sent stays buffered.
    pub async fn drain(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush(cx)).await?;
        if self.closing {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection lost: the writer was closed",
            ));
        }
        Ok(())
    }

    /// How many bytes wait in the buffer (asyncio's `transport.get_write_buffer_size()`).
    pub fn write_buffer_size(&self) -> usize {
        self.pending()
    }

    /// Closes the connection (asyncio's `close()`): both ways once the buffer is sent, which
    /// is at once if it is empty, else in [`wait_closed`](Self::wait_closed) or at the drop.
    /// The reader of the connection then reads the end of the stream.
    pub fn close(&mut self) {
        self.closing = true;
        self.try_flush();
        if self.pending() == 0 {
            self.shut(Shutdown::Both);
        }
    }

    /// Whether [`close`](Self::close) was called or the socket failed (asyncio's
    /// `is_closing()`).
    pub fn is_closing(&self) -> bool {
        self.closing || self.error.is_some()
    }

    /// Sends what is buffered, then closes the connection (asyncio's `wait_closed()`, called
    /// after `close()`; without it, this closes).
    ///
    /// # Errors
    ///
    /// The socket's error if the buffer could not be sent, or the error of an earlier write
    /// (see [`write`](Self::write)).
    pub async fn wait_closed(&mut self) -> io::Result<()> {
        self.closing = true;
        let flushed = poll_fn(|cx| self.poll_flush(cx)).await;
        self.shut(Shutdown::Both);
        flushed
    }

    /// Sends the end of the stream once the buffer is sent (asyncio's `write_eof()`): the
    /// peer reads EOF, and this side can still read.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut reader, mut server_writer) = aiokit::streams::from_std(listener.accept()?.0)?;
    /// # let (mut client_reader, mut writer) = aiokit::streams::from_std(client)?;
    /// writer.write(b"request");
    /// writer.write_eof();
    /// assert_eq!(reader.read_to_end().await?, b"request");
    /// server_writer.write(b"answer");
    /// server_writer.wait_closed().await?;
    /// assert_eq!(client_reader.read_to_end().await?, b"answer");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn write_eof(&mut self) {
        self.eof = true;
        self.try_flush();
        if self.pending() == 0 {
            self.shut(Shutdown::Write);
        }
    }

    /// Always true for TCP (asyncio's `can_write_eof()`).
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// The address of the other end (asyncio's `get_extra_info('peername')`).
    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.peer
    }

    /// The address of this end (asyncio's `get_extra_info('sockname')`).
    pub fn local_addr(&self) -> SocketAddr {
        self.conn.local
    }

    fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }

    /// Sends what the socket takes without waiting: `Err` when it failed (recorded).
    fn try_send(&mut self, data: &[u8]) -> Result<usize, ()> {
        loop {
            match self.conn.io.get_ref().write(data) {
                Ok(n) => return Ok(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.fail(&error);
                    return Err(());
                }
            }
        }
    }

    /// One attempt to send the buffer without waiting.
    fn try_flush(&mut self) {
        while self.pending() > 0 && self.error.is_none() {
            let buf = std::mem::take(&mut self.buf);
            let sent = self.try_send(&buf[self.sent..]);
            self.buf = buf;
            match sent {
                Ok(0) | Err(()) => break,
                Ok(n) => self.advance(n),
            }
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some((kind, message)) = &self.error {
                return Poll::Ready(Err(io::Error::new(*kind, message.clone())));
            }
            if self.pending() == 0 {
                if self.eof && !self.closing {
                    self.shut(Shutdown::Write);
                }
                return Poll::Ready(Ok(()));
            }
            match self.conn.io.get_ref().write(&self.buf[self.sent..]) {
                Ok(n) => self.advance(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(error) = ready!(self.conn.io.poll_writable(cx)) {
                        self.fail(&error);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => self.fail(&error),
            }
        }
    }

    fn advance(&mut self, n: usize) {
        self.sent += n;
        if self.sent == self.buf.len() {
            self.buf.clear();
            self.sent = 0;
        }
    }

    /// Records the socket's error; the buffered bytes cannot be sent any more.
    fn fail(&mut self, error: &io::Error) {
        self.error = Some((error.kind(), error.to_string()));
        self.buf = Vec::new();
        self.sent = 0;
    }

    fn shut(&mut self, how: Shutdown) {
        if !self.shut || how == Shutdown::Both {
            self.conn.shutdown(how);
            self.shut = true;
        }
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        // One last attempt without waiting; then the end of the stream (or the whole socket
        // if it was closed), so that the peer is not left waiting.
        self.try_flush();
        if self.closing {
            self.shut(Shutdown::Both);
        } else {
            self.shut(Shutdown::Write);
        }
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamWriter")
            .field("peer", &self.conn.peer)
            .field("buffered", &self.pending())
            .field("closing", &self.closing)
            .finish()
    }
}
