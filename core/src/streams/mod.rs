//! asyncio's streams: [`open_connection`], [`start_server`], [`StreamReader`],
//! [`StreamWriter`] and [`Server`] (feature `streams`, on by default).
//!
//! | asyncio | aiokit |
//! |---|---|
//! | `reader, writer = await asyncio.open_connection(host, port)` | `let (mut reader, mut writer) = aiokit::open_connection(host, port).await?;` |
//! | `server = await asyncio.start_server(cb, host, port)` | `let server = aiokit::start_server(cb, host, port).await?;` |
//! | `await server.serve_forever()` | `server.serve_forever().await?` (the handlers run inside it) |
//! | `await server.start_serving()` | [`Server::start_serving`]`(&spawner)`: the handlers run on that executor |
//! | `server.close()`, `await server.wait_closed()` | [`Server::close`], [`Server::wait_closed`] |
//! | `server.close_clients()` (3.13) | [`Server::close_clients`] |
//! | `await reader.read(n)` / `read()` | [`StreamReader::read`]`(n)` / [`StreamReader::read_to_end`] |
//! | `await reader.readline()` / `readuntil(sep)` / `readexactly(n)` | same names |
//! | `async for line in reader` | [`StreamReader::lines`], a `Stream` |
//! | `IncompleteReadError`, `LimitOverrunError` | [`IncompleteReadError`], [`LimitOverrunError`] in [`ReadError`] |
//! | `writer.write(data)`, `await writer.drain()` | [`StreamWriter::write`], [`StreamWriter::drain`] |
//! | `writer.close()`, `await writer.wait_closed()` | same names |
//!
//! The sockets are async-io's (through async-net): they work on any executor, since
//! async-io runs its reactor on a thread of its own when no `async_io::block_on` drives it.
//! Where aiokit differs from asyncio, each item's docs say so; in short, there is no
//! transport working in the background: the reader reads from the socket when a read is
//! polled, the writer sends when `write` finds the socket ready and in `drain`, and a
//! server's handlers run where [`Server::serve_forever`] is polled (or on the executor given
//! to [`Server::start_serving`]).

mod conn;
mod error;
mod reader;
mod server;
mod writer;

use std::io;
use std::sync::Arc;

use async_io::Async;

pub use error::{IncompleteReadError, LimitOverrunError, ReadError};
pub use reader::{DEFAULT_LIMIT, Lines, StreamReader};
pub use server::{ErrorHook, HandlerOutput, Server, ServerError, ServerErrorKind, start_server};
pub use writer::StreamWriter;

use conn::Conn;

/// Opens a TCP connection to `host:port` (asyncio's `open_connection(host, port)`).
///
/// `host` is a name or an address; a name is resolved on async-net's blocking thread pool,
/// and its addresses are tried in turn.
///
/// # Errors
///
/// Resolving `host` or connecting failed (refused, unreachable, ...).
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let port = listener.local_addr()?.port();
/// let (_reader, writer) = aiokit::open_connection("127.0.0.1", port).await?;
/// assert_eq!(writer.peer_addr().port(), port);
/// # Ok::<_, std::io::Error>(())
/// # }).unwrap();
/// ```
pub async fn open_connection(host: &str, port: u16) -> io::Result<(StreamReader, StreamWriter)> {
    let stream = async_net::TcpStream::connect((host, port)).await?;
    split(Conn::new(stream.into())?)
}

/// Wraps a connected `std::net::TcpStream` (asyncio's `open_connection(sock=sock)`): it is set
/// non-blocking and registered with async-io's reactor.
///
/// # Errors
///
/// The socket could not be registered, or is not connected.
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (_reader, writer) = aiokit::streams::from_std(client)?;
/// assert_eq!(writer.peer_addr(), listener.local_addr()?);
/// # Ok::<_, std::io::Error>(())
/// # }).unwrap();
/// ```
pub fn from_std(stream: std::net::TcpStream) -> io::Result<(StreamReader, StreamWriter)> {
    split(Conn::new(Arc::new(Async::new(stream)?))?)
}

fn split(conn: Conn) -> io::Result<(StreamReader, StreamWriter)> {
    let conn = Arc::new(conn);
    Ok((StreamReader::new(conn.clone()), StreamWriter::new(conn)))
}
