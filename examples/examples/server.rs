//! A command server over loopback, asyncio-style: each connection is a child of a
//! `TaskGroup`; `add A B` answers the sum, `shutdown` stops the server, which then waits for
//! the open connections to finish. A client in the same program talks to it.
//!
//! Run with `cargo run -p aiokit-examples --example server`.
//!
//! asyncio original, in short:
//!
//! ```python
//! async def handle(reader, writer):
//!     async for line in reader:
//!         match line.split():
//!             case ["add", a, b]: writer.write(f"{int(a) + int(b)}\n".encode())
//!             case ["shutdown"]: shutdown.set(); writer.write(b"bye\n")
//!
//! async with asyncio.TaskGroup() as tg:
//!     server = await asyncio.start_server(lambda r, w: tg.create_task(handle(r, w)), ...)
//!     await shutdown.wait()
//!     server.close()
//! ```

use std::io;
use std::time::Duration;

use aiokit::TaskGroup;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Serves one connection until the client closes it.
async fn serve(stream: TcpStream, shutdown: &Notify) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["add", a, b] => match (a.parse::<i64>(), b.parse::<i64>()) {
                (Ok(a), Ok(b)) => (a + b).to_string(),
                _ => "error: add takes two integers".to_string(),
            },
            ["shutdown"] => {
                shutdown.notify_one();
                "bye".to_string()
            }
            _ => format!("error: unknown command {line:?}"),
        };
        write.write_all(format!("{reply}\n").as_bytes()).await?;
    }
    Ok(())
}

/// Accepts connections until `shutdown` is notified; each connection is a child of the group,
/// and the group returns once every connection is closed.
async fn server(
    listener: TcpListener,
    shutdown: &Notify,
) -> Result<(), aiokit::ExceptionGroup<io::Error>> {
    TaskGroup::run(async |tg| {
        let accept = async {
            loop {
                let (stream, peer) = listener.accept().await?;
                println!("  server: connection from {peer}");
                tg.create_task(serve(stream, shutdown));
            }
        };
        // The shutdown notification is the deadline of the accept loop: when it fires, the
        // loop is dropped (no more connections) and the group waits for the open ones.
        match aiokit::wait_for_deadline(accept, shutdown.notified()).await {
            Ok(result) => result,
            Err(_shutdown) => {
                println!("  server: shutting down, waiting for open connections");
                Ok(())
            }
        }
    })
    .await
}

/// Sends each command and prints the reply; every read is bounded by a timeout.
async fn client(addr: std::net::SocketAddr, commands: &[&str]) -> io::Result<Vec<String>> {
    let stream = TcpStream::connect(addr).await?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut replies = vec![];
    for command in commands {
        write.write_all(format!("{command}\n").as_bytes()).await?;
        let reply = aiokit::wait_for(lines.next_line(), Duration::from_secs(5))
            .await
            .map_err(|timeout| io::Error::new(io::ErrorKind::TimedOut, timeout))??
            .unwrap_or_default();
        println!("  client: {command:<12} -> {reply}");
        replies.push(reply);
    }
    Ok(replies)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = Notify::new();
    println!("== command server on {addr} ==");

    let (served, replies) = aiokit::gather!(server(listener, &shutdown), async {
        let first = client(addr, &["add 1 2", "add 40 2", "mul 2 3"]).await?;
        let second = client(addr, &["add -1 1", "shutdown"]).await?;
        Ok::<_, io::Error>([first, second].concat())
    })
    .await;
    served.map_err(io::Error::other)?;
    let replies = replies?;
    assert_eq!(replies[..2], ["3", "42"]);
    assert_eq!(replies.last().map(String::as_str), Some("bye"));
    println!("server stopped after {} replies", replies.len());
    Ok(())
}
