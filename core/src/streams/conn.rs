//! One TCP connection, shared by its reader and its writer.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;

use async_io::Async;

use super::server::Registration;

/// The socket of a [`StreamReader`](super::StreamReader) and its
/// [`StreamWriter`](super::StreamWriter); closed when both are dropped.
pub(crate) struct Conn {
    pub(crate) io: Arc<Async<TcpStream>>,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    /// The server that accepted the connection counts it until it is dropped.
    pub(crate) registration: Option<Registration>,
}

impl Conn {
    /// Wraps a connected socket: non-blocking, registered with async-io's reactor, and with
    /// `TCP_NODELAY` set, as asyncio's transports do.
    pub(crate) fn new(io: Arc<Async<TcpStream>>) -> io::Result<Conn> {
        let stream = io.get_ref();
        stream.set_nodelay(true)?;
        Ok(Conn {
            peer: stream.peer_addr()?,
            local: stream.local_addr()?,
            io,
            registration: None,
        })
    }

    /// Shuts the socket down; an error (the peer is already gone) changes nothing to do.
    pub(crate) fn shutdown(&self, how: Shutdown) {
        let _ = self.io.get_ref().shutdown(how);
    }
}
