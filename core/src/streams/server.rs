//! `start_server` and `Server`: asyncio's TCP server, its handlers children of a `TaskGroup`.
//!
//! The server is a shared state (the listening socket, the live connections, the error hook)
//! behind an `Arc`, and one future that drives it: [`Server::drive`] accepts connections until
//! the server is closed and runs each handler as a child of a [`TaskGroup`], polled in place
//! by whoever polls the drive: [`Server::serve_forever`], or the executor given to
//! [`Server::start_serving`]. Awaited on a running aiokit event loop, `start_server` itself
//! starts serving in the background on that loop, as asyncio does (the private
//! [`start_serving`] function).

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_net::TcpListener;
use event_listener::Event;
use futures_lite::FutureExt;

use super::conn::Conn;
use super::{DEFAULT_LIMIT, StreamReader, StreamWriter};
use crate::{LocalSpawn, Spawn, TaskGroup};

/// How long the accept loop waits after `accept` failed (out of file descriptors, ...)
/// before it tries again; asyncio waits 1 s (`ACCEPT_RETRY_DELAY`).
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// How many connections the kernel queues before the server accepts them. asyncio's default
/// is 100; a burst of clients beyond the queue has its connection attempts dropped and
/// retried a second later, so aiokit asks for more (the kernel caps it at its own maximum).
const BACKLOG: i32 = 1024;

type HandlerFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;
type Handler = dyn Fn(StreamReader, StreamWriter) -> HandlerFuture + Send + Sync;

/// A hook set by [`Server::set_error_hook`].
///
/// # Examples
///
/// See [`Server::set_error_hook`].
pub type ErrorHook = Arc<dyn Fn(&ServerError) + Send + Sync>;

/// What a connection handler returns: `()`, or a `Result` whose `Err` is reported.
///
/// Implemented for `()` and for every `Result<T, E>` with `E: Display`.
///
/// # Examples
///
/// ```
/// use aiokit::streams::HandlerOutput;
///
/// assert_eq!(().failure(), None);
/// assert_eq!(Ok::<_, String>(1).failure(), None);
/// assert_eq!(Err::<(), _>("no tea").failure(), Some("no tea".to_string()));
/// ```
pub trait HandlerOutput {
    /// The failure to report, if any.
    fn failure(self) -> Option<String>;
}

impl HandlerOutput for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<T, E: fmt::Display> HandlerOutput for Result<T, E> {
    fn failure(self) -> Option<String> {
        self.err().map(|error| error.to_string())
    }
}

/// What went wrong in a [`Server`]: a handler's error or panic, or a failed `accept`.
///
/// Given to the hook of [`Server::set_error_hook`]; by default printed to stderr. asyncio
/// hands these to the loop's exception handler ("Unhandled exception in
/// client_connected_cb"); in both, the server goes on.
///
/// # Examples
///
/// See [`Server::set_error_hook`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The client of the connection, `None` for a failed `accept`.
    pub peer: Option<SocketAddr>,
    /// What happened.
    pub kind: ServerErrorKind,
    /// The error's or the panic's message.
    pub message: String,
}

/// The kinds of [`ServerError`].
///
/// # Examples
///
/// See [`Server::set_error_hook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// The handler returned an `Err`.
    Failed,
    /// The handler panicked.
    Panicked,
    /// Accepting a connection failed; the server tries again a little later.
    Accept,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ServerErrorKind::Failed => "failed",
            ServerErrorKind::Panicked => "panicked",
            ServerErrorKind::Accept => return write!(f, "accept failed: {}", self.message),
        };
        match self.peer {
            Some(peer) => write!(f, "handler of {peer} {what}: {}", self.message),
            None => write!(f, "handler {what}: {}", self.message),
        }
    }
}

impl std::error::Error for ServerError {}

/// Starts a TCP server on `host:port` (asyncio's `start_server(client_connected_cb, host,
/// port)`): `handler(reader, writer)` is called once per connection, and its future runs as
/// a child task of the server.
///
/// Port 0 binds a free port: see [`Server::local_addr`]. The socket listens as soon as this
/// returns, so clients can connect at once. Awaited on a running aiokit event loop (inside
/// [`aiokit::run`](crate::event_loop::run), a task of an
/// [`EventLoop`](crate::event_loop::EventLoop)), the server starts serving in the background
/// on that loop at once, as asyncio's does (`start_serving=True`): its handlers run as the
/// loop runs, and [`Server::serve_forever`] only waits for the server to close. As in asyncio,
/// the server is not a task of the loop ([`all_tasks`](crate::all_tasks) does not list it);
/// closing the loop closes it. A handler's `Err` or panic is reported (see [`ServerError`])
/// and ends only its own connection.
///
/// Where aiokit differs from asyncio: on any other executor nothing is spawned; handlers run
/// where `serve_forever` is polled, or on the executor given to [`Server::start_serving`];
/// `host` binds its first address
/// that works (asyncio binds every address the name resolves to); a handler and its future
/// must be `Send`, so `serve_forever` can run on any executor. asyncio's `limit=` argument is
/// [`Server::set_limit`].
///
/// # Errors
///
/// Resolving `host` or binding failed (the port is taken, ...).
///
/// # Examples
///
/// ```
/// use std::io;
///
/// use aiokit::{StreamReader, StreamWriter};
///
/// async fn echo(mut reader: StreamReader, mut writer: StreamWriter) -> io::Result<()> {
///     let line = reader.readline().await?;
///     writer.write(&line);
///     writer.drain().await
/// }
///
/// # futures::executor::block_on(async {
/// let server = aiokit::start_server(echo, "127.0.0.1", 0).await?;
/// let addr = server.local_addr();
/// let client = async {
///     let (mut reader, mut writer) = aiokit::open_connection("127.0.0.1", addr.port()).await?;
///     writer.write(b"hello\n");
///     let echoed = reader.readline().await?;
///     server.close();
///     Ok::<_, io::Error>(echoed)
/// };
/// let (served, echoed) = aiokit::gather!(server.serve_forever(), client).await;
/// served?;
/// assert_eq!(echoed?, b"hello\n");
/// # Ok::<_, io::Error>(())
/// # }).unwrap();
/// ```
///
/// On the event loop (feature `event-loop`), the server serves as soon as it is started:
///
/// ```
/// use std::io;
///
/// aiokit::run(async {
///     let server = aiokit::start_server(
///         |_reader: aiokit::StreamReader, mut writer: aiokit::StreamWriter| async move {
///             writer.write(b"Welcome.\n");
///             writer.drain().await
///         },
///         "127.0.0.1",
///         0,
///     )
///     .await?;
///     let port = server.local_addr().port();
///     let (mut reader, _writer) = aiokit::open_connection("127.0.0.1", port).await?;
///     assert_eq!(reader.readline().await?, b"Welcome.\n"); // no serve_forever needed
///     server.close();
///     server.wait_closed().await;
///     Ok::<_, io::Error>(())
/// })
/// .unwrap();
/// ```
#[doc(alias("create_server", "Protocol"))]
pub async fn start_server<F, Fut>(handler: F, host: &str, port: u16) -> io::Result<Server>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutput,
{
    let listener = bind(host, port).await?;
    let local_addr = listener.local_addr()?;
    let handler: Arc<Handler> = Arc::new(move |reader, writer| {
        let fut = handler(reader, writer);
        Box::pin(async move { fut.await.failure() })
    });
    let server = Server {
        shared: Arc::new(Shared {
            handler,
            local_addr,
            state: Mutex::new(State {
                listener: Some(listener),
                closed: false,
                driven: false,
                awaited: false,
                clients: HashMap::new(),
                next_id: 0,
            }),
            changed: Event::new(),
            closing: Event::new(),
            hook: Mutex::new(None),
            limit: AtomicUsize::new(DEFAULT_LIMIT),
        }),
    };
    start_serving(&server);
    Ok(server)
}

/// Binds the first address of `host` that works, as asyncio does for each: `SO_REUSEADDR` on
/// Unix, IPv6 sockets IPv6 only, a backlog of [`BACKLOG`].
async fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in async_net::resolve((host, port)).await? {
        match bind_one(addr) {
            Ok(listener) => return TcpListener::try_from(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host:?} resolves to no address"),
        )
    }))
}

fn bind_one(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};

    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if cfg!(unix) {
        socket.set_reuse_address(true)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Starts serving in the background, as asyncio's `start_server` does (`start_serving=True`),
/// when called on a running aiokit event loop: the drive of the server runs on that loop's
/// executor (see [`Server::start_serving_local`]) without being one of its tasks, after which
/// `serve_forever` only waits. Without
/// a running loop, the handlers run inside `serve_forever`, or on the spawner given to
/// `start_serving`.
fn start_serving(server: &Server) {
    #[cfg(feature = "event-loop")]
    if let Some(lp) = crate::event_loop::running_loop() {
        server.start_serving_local(&|fut: crate::spawn::LocalSpawnFuture| {
            // Not a task of the loop (asyncio's Server is not a Task: `all_tasks()` does not
            // list it). Closing the server ends the drive; the loop drops it when it closes,
            // and dropping the drive closes the server.
            lp.inner.spawn_background("Server", fut);
        });
    }
    #[cfg(not(feature = "event-loop"))]
    let _ = server;
}

/// A TCP server made by [`start_server`] (asyncio's `Server`).
///
/// Clones share the server: a handler may hold one to [`close`](Self::close) it.
///
/// # Examples
///
/// See [`start_server`].
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

struct Shared {
    handler: Arc<Handler>,
    local_addr: SocketAddr,
    state: Mutex<State>,
    /// Notified when the server closes and when a connection ends.
    changed: Event,
    /// Notified when the server closes (wakes the accept loop).
    closing: Event,
    hook: Mutex<Option<ErrorHook>>,
    /// The limit of each new connection's reader.
    limit: AtomicUsize,
}

struct State {
    /// `None` once closed: dropping it stops listening (the accept loop drops its clone).
    listener: Option<TcpListener>,
    closed: bool,
    /// The accept loop runs (or ran).
    driven: bool,
    /// A `serve_forever` is awaited.
    awaited: bool,
    /// The live connections, for `close_clients` and `wait_closed`.
    clients: HashMap<u64, Weak<Conn>>,
    next_id: u64,
}

/// Counts a connection in its server until the connection is dropped.
pub(crate) struct Registration {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let weak = self.shared.lock().clients.remove(&self.id);
        drop(weak);
        self.shared.changed.notify(usize::MAX);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock: a poisoned lock can only come from a failed
        // allocation; the state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn report(&self, error: ServerError) {
        let hook = self
            .hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match hook {
            Some(hook) => hook(&error),
            None => eprintln!("aiokit server on {}: {error}", self.local_addr),
        }
    }

    /// Registers an accepted connection, or refuses it (`None`) once the server is closed.
    fn attach(self: &Arc<Self>, stream: async_net::TcpStream) -> io::Result<Option<Arc<Conn>>> {
        let mut conn = Conn::new(stream.into())?;
        let mut state = self.lock();
        if state.closed {
            return Ok(None);
        }
        let id = state.next_id;
        state.next_id += 1;
        conn.registration = Some(Registration {
            shared: self.clone(),
            id,
        });
        let conn = Arc::new(conn);
        state.clients.insert(id, Arc::downgrade(&conn));
        Ok(Some(conn))
    }

    /// The accept loop: runs until the server is closed; each connection's handler is a
    /// child of `tg`.
    async fn accept_loop(self: &Arc<Self>, tg: &TaskGroup<'_, '_, Infallible>) {
        loop {
            let closed = self.closing.listen();
            let Some(listener) = self.lock().listener.clone() else {
                return;
            };
            let accepted = async { Some(listener.accept().await) }
                .or(async {
                    closed.await;
                    None
                })
                .await;
            match accepted {
                // Closed (or a spurious wake): look at the state again.
                None => continue,
                Some(Ok((stream, _))) => match self.attach(stream) {
                    Ok(Some(conn)) => {
                        let handler = self.handler.clone();
                        let shared = self.clone();
                        tg.create_task(async move {
                            let peer = conn.peer;
                            let mut reader = StreamReader::new(conn.clone());
                            reader.set_limit(shared.limit.load(Ordering::Relaxed));
                            let writer = StreamWriter::new(conn);
                            // The handler is called inside the child, so that a panic of the
                            // call itself is caught with those of its future.
                            let run = async move { handler(reader, writer).await };
                            let error = match AssertUnwindSafe(run).catch_unwind().await {
                                Ok(None) => None,
                                Ok(Some(message)) => Some((ServerErrorKind::Failed, message)),
                                Err(payload) => {
                                    Some((ServerErrorKind::Panicked, panic_message(&*payload)))
                                }
                            };
                            if let Some((kind, message)) = error {
                                shared.report(ServerError {
                                    peer: Some(peer),
                                    kind,
                                    message,
                                });
                            }
                            Ok(())
                        });
                    }
                    Ok(None) => return,
                    Err(error) => self.report_accept(&error),
                },
                Some(Err(error)) => {
                    self.report_accept(&error);
                    // Out of file descriptors, ...: wait a little (or for the close).
                    let closed = self.closing.listen();
                    if self.lock().closed {
                        return;
                    }
                    async {
                        async_io::Timer::after(ACCEPT_RETRY_DELAY).await;
                    }
                    .or(closed)
                    .await;
                }
            }
        }
    }

    fn report_accept(&self, error: &io::Error) {
        self.report(ServerError {
            peer: None,
            kind: ServerErrorKind::Accept,
            message: error.to_string(),
        });
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

impl Server {
    /// The address the server listens on (asyncio's `server.sockets[0].getsockname()`): the
    /// port chosen when it was started with port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Sets the limit of the readers of the connections accepted from now on (asyncio's
    /// `limit=` argument of `start_server`; [`DEFAULT_LIMIT`] unless set).
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let server = aiokit::start_server(
    ///     |mut reader: aiokit::StreamReader, mut writer: aiokit::StreamWriter| async move {
    ///         writer.write(format!("limit {}\n", reader.limit()).as_bytes());
    ///         writer.drain().await
    ///     },
    ///     "127.0.0.1",
    ///     0,
    /// )
    /// .await?;
    /// server.set_limit(1024);
    /// let port = server.local_addr().port();
    /// let client = async {
    ///     let (mut reader, _writer) = aiokit::open_connection("127.0.0.1", port).await?;
    ///     let line = reader.readline().await?;
    ///     server.close();
    ///     Ok::<_, std::io::Error>(line)
    /// };
    /// let (served, line) = aiokit::gather!(server.serve_forever(), client).await;
    /// served?;
    /// assert_eq!(line?, b"limit 1024\n");
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_limit(&self, limit: usize) {
        assert!(limit > 0, "limit cannot be 0");
        self.shared.limit.store(limit, Ordering::Relaxed);
    }

    /// Whether the server accepts connections: true until [`close`](Self::close) (asyncio's
    /// `is_serving()`).
    pub fn is_serving(&self) -> bool {
        !self.shared.lock().closed
    }

    /// Stops listening (asyncio's `close()`): no new connection is accepted; the open ones
    /// go on. Call [`wait_closed`](Self::wait_closed) to wait for them.
    pub fn close(&self) {
        let listener = {
            let mut state = self.shared.lock();
            state.closed = true;
            state.listener.take()
        };
        drop(listener);
        self.shared.closing.notify(usize::MAX);
        self.shared.changed.notify(usize::MAX);
    }

    /// Closes the server and every open connection (asyncio 3.13's `close_clients()` after
    /// `close()`): their readers read the end of the stream, their writers fail.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// async fn echo(
    ///     mut reader: aiokit::StreamReader,
    ///     mut writer: aiokit::StreamWriter,
    /// ) -> std::io::Result<()> {
    ///     loop {
    ///         let line = reader.readline().await?;
    ///         if line.is_empty() {
    ///             return Ok(());
    ///         }
    ///         writer.write(&line);
    ///         writer.drain().await?;
    ///     }
    /// }
    ///
    /// let server = aiokit::start_server(echo, "127.0.0.1", 0).await?;
    /// let port = server.local_addr().port();
    /// let client = async {
    ///     let (mut reader, mut writer) = aiokit::open_connection("127.0.0.1", port).await?;
    ///     writer.write(b"hi\n");
    ///     assert_eq!(reader.readline().await?, b"hi\n");
    ///     assert_eq!(server.active_count(), 1);
    ///     server.close_clients(); // the handler's readline reads the end
    ///     server.wait_closed().await;
    ///     assert_eq!(reader.readline().await?, b"");
    ///     Ok::<_, std::io::Error>(())
    /// };
    /// let (served, client) = aiokit::gather!(server.serve_forever(), client).await;
    /// served?;
    /// client?;
    /// assert!(!server.is_serving());
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn close_clients(&self) {
        self.close();
        let clients: Vec<Arc<Conn>> = self
            .shared
            .lock()
            .clients
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for conn in &clients {
            conn.shutdown(Shutdown::Both);
        }
    }

    /// How many connections are open (asyncio's private `_active_count`).
    pub fn active_count(&self) -> usize {
        self.shared.lock().clients.len()
    }

    /// Waits until the server is closed and every connection has ended (asyncio 3.12's
    /// `wait_closed()`; before 3.12 it did not wait for the connections).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let server = aiokit::start_server(
    ///     |_reader: aiokit::StreamReader, _writer: aiokit::StreamWriter| async {},
    ///     "127.0.0.1",
    ///     0,
    /// )
    /// .await?;
    /// server.close();
    /// server.wait_closed().await; // closed, and no connection is open
    /// assert!(!server.is_serving());
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn wait_closed(&self) {
        loop {
            let changed = self.shared.changed.listen();
            {
                let state = self.shared.lock();
                if state.closed && state.clients.is_empty() {
                    return;
                }
            }
            changed.await;
        }
    }

    /// Sets the hook that receives each [`ServerError`] instead of stderr; returns the
    /// previous one. The hook runs inside the server's future, outside every lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// # futures::executor::block_on(async {
    /// async fn fussy(
    ///     _reader: aiokit::StreamReader,
    ///     _writer: aiokit::StreamWriter,
    /// ) -> Result<(), String> {
    ///     Err("no tea today".to_string())
    /// }
    ///
    /// let server = aiokit::start_server(fussy, "127.0.0.1", 0).await?;
    /// let reports = Arc::new(Mutex::new(Vec::new()));
    /// let sink = reports.clone();
    /// server.set_error_hook(move |error| sink.lock().unwrap().push(error.to_string()));
    /// let port = server.local_addr().port();
    /// let client = async {
    ///     let (mut reader, _writer) = aiokit::open_connection("127.0.0.1", port).await?;
    ///     assert_eq!(reader.read_to_end().await?, b""); // the handler gave up
    ///     server.close();
    ///     Ok::<_, std::io::Error>(())
    /// };
    /// let (served, client) = aiokit::gather!(server.serve_forever(), client).await;
    /// served?;
    /// client?;
    /// assert!(reports.lock().unwrap()[0].ends_with("failed: no tea today"));
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_error_hook<H>(&self, hook: H) -> Option<ErrorHook>
    where
        H: Fn(&ServerError) + Send + Sync + 'static,
    {
        // The previous hook is returned, not dropped, under the lock.
        let mut slot = self
            .shared
            .hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        slot.replace(Arc::new(hook))
    }

    /// Serves until the server is closed (by [`close`](Self::close), from a handler or
    /// elsewhere), then waits for every connection to end (asyncio's `serve_forever()`).
    ///
    /// Each connection's handler runs as a child of a [`TaskGroup`] inside this future: a
    /// handler's error or panic is reported and ends only its own connection. If
    /// [`start_serving`](Self::start_serving) already serves the server in the background,
    /// this only waits, as asyncio's does.
    ///
    /// # Errors
    ///
    /// If the server is already closed, or another `serve_forever` of it is being awaited
    /// (asyncio: `RuntimeError`).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the server and drops every handler (asyncio closes the
    /// server when `serve_forever` is cancelled).
    pub async fn serve_forever(&self) -> io::Result<()> {
        let drive_here = {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(io::Error::other(format!(
                    "server on {} is closed",
                    self.shared.local_addr
                )));
            }
            if state.awaited {
                return Err(io::Error::other(format!(
                    "server on {} is already being awaited on serve_forever()",
                    self.shared.local_addr
                )));
            }
            state.awaited = true;
            !std::mem::replace(&mut state.driven, true)
        };
        let _guard = ForeverGuard(self);
        if drive_here {
            self.drive().await;
        }
        self.wait_closed().await;
        Ok(())
    }

    /// Starts accepting connections in the background, on `spawner` (asyncio's
    /// `start_serving()`, which uses the running loop): the handlers run there, and
    /// [`serve_forever`](Self::serve_forever) then only waits for the server to close and its
    /// connections to end. Returns whether serving started now: false if the server was
    /// already being served or is closed (as asyncio's, the call is idempotent).
    ///
    /// If the executor drops the serving future (it shuts down), the server closes.
    ///
    /// # Examples
    ///
    /// ```
    /// // Needs aiokit's `futures-executor` feature and the futures-executor crate.
    /// # futures::executor::block_on(async {
    /// let executor = futures_executor::ThreadPool::new()?;
    /// let server = aiokit::start_server(
    ///     |mut reader: aiokit::StreamReader, mut writer: aiokit::StreamWriter| async move {
    ///         writer.write(&reader.readline().await?);
    ///         writer.drain().await
    ///     },
    ///     "127.0.0.1",
    ///     0,
    /// )
    /// .await?;
    /// assert!(server.start_serving(&executor));
    /// assert!(!server.start_serving(&executor)); // already serving
    ///
    /// let port = server.local_addr().port();
    /// let (mut reader, mut writer) = aiokit::open_connection("127.0.0.1", port).await?;
    /// writer.write(b"served on the pool\n");
    /// assert_eq!(reader.readline().await?, b"served on the pool\n");
    /// server.close();
    /// server.wait_closed().await; // the handler has finished
    /// # Ok::<_, std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn start_serving<S: Spawn + ?Sized>(&self, spawner: &S) -> bool {
        match self.background() {
            Some(serving) => {
                spawner.spawn_boxed(Box::pin(serving));
                true
            }
            None => false,
        }
    }

    /// [`start_serving`](Self::start_serving) on an executor of the current thread (a
    /// `LocalSet`, a `LocalExecutor`, futures' `LocalPool`).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::task::LocalSpawnExt;
    ///
    /// let mut pool = futures::executor::LocalPool::new();
    /// let spawner = pool.spawner();
    /// let local = move |fut: aiokit::spawn::LocalSpawnFuture| spawner.spawn_local(fut).unwrap();
    /// pool.run_until(async {
    ///     let server = aiokit::start_server(
    ///         |_reader: aiokit::StreamReader, mut writer: aiokit::StreamWriter| async move {
    ///             writer.write(b"Welcome.\n");
    ///             writer.drain().await
    ///         },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .await?;
    ///     assert!(server.start_serving_local(&local));
    ///     let port = server.local_addr().port();
    ///     let (mut reader, _writer) = aiokit::open_connection("127.0.0.1", port).await?;
    ///     assert_eq!(reader.readline().await?, b"Welcome.\n");
    ///     server.close();
    ///     Ok::<_, std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn start_serving_local<S: LocalSpawn + ?Sized>(&self, spawner: &S) -> bool {
        match self.background() {
            Some(serving) => {
                spawner.spawn_local_boxed(Box::pin(serving));
                true
            }
            None => false,
        }
    }

    /// Claims the drive of the server for a background future, unless it is closed or
    /// already driven.
    fn background(&self) -> Option<impl Future<Output = ()> + Send + 'static> {
        {
            let mut state = self.shared.lock();
            if state.closed || state.driven {
                return None;
            }
            state.driven = true;
        }
        let server = self.clone();
        Some(async move {
            let _close = CloseOnDrop(&server);
            server.drive().await;
        })
    }

    /// Accepts connections until the server is closed, each handler a child of a
    /// [`TaskGroup`], and returns when every handler has finished. Run once per server.
    async fn drive(&self) {
        let shared = &self.shared;
        // Handlers report their own failures, so the group cannot fail: its error type is
        // `Infallible`.
        let _: Result<(), _> = TaskGroup::run(async |tg| {
            shared.accept_loop(tg).await;
            Ok::<_, Infallible>(())
        })
        .await;
    }
}

/// Closes the server when the background serving future is dropped.
struct CloseOnDrop<'a>(&'a Server);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Marks the end of a `serve_forever`; if it was dropped before the end, closes the server.
struct ForeverGuard<'a>(&'a Server);

impl Drop for ForeverGuard<'_> {
    fn drop(&mut self) {
        self.0.shared.lock().awaited = false;
        self.0.close();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Server")
            .field("local_addr", &self.shared.local_addr)
            .field("serving", &!state.closed)
            .field("connections", &state.clients.len())
            .finish()
    }
}
