//! The add / shutdown command server of the asyncio tutorials on `aiokit::start_server`, its
//! telnet session on `aiokit::open_connection`, and `do_stuff`: two connections opened at
//! once and gathered.
//!
//! Run with `cargo run -p aiokit-examples --example command_server`.
//!
//! The server ports the tutorial's `ServerProtocol` (an `asyncio.Protocol` given to
//! `loop.create_server`):
//!
//! ```python
//! class ServerProtocol(asyncio.Protocol):
//!     def connection_made(self, transport):
//!         self.transport = transport
//!         self.write('Welcome.')
//!     def data_received(self, data):
//!         if not data: return
//!         message = data.decode('ascii')
//!         command = message.strip().split(' ')[0].lower()
//!         args = message.strip().split(' ')[1:]
//!         if not hasattr(self, 'command_%s' % command):
//!             self.write('Invalid command: %s' % command); return
//!         try: return getattr(self, 'command_%s' % command)(*args)
//!         except Exception as ex: self.write('Error: %s\n' % str(ex))
//!     def command_add(self, *args):
//!         args = [int(i) for i in args]
//!         self.write('%d' % sum(args))
//!     def command_shutdown(self):
//!         self.write('Okay. Shutting down.')
//!         raise KeyboardInterrupt
//!
//! coro = loop.create_server(ServerProtocol, '127.0.0.1', 8000)
//! ```
//!
//! and `do_stuff` is the tutorial's
//!
//! ```python
//! async def do_stuff(ip, port):
//!     print('About to open a connection to {ip}'.format(ip=ip))
//!     reader, writer = await asyncio.open_connection(ip, port)
//!     print('Connection open to {ip}'.format(ip=ip))
//!     await asyncio.sleep(randint(0, 5))
//!     writer.close()
//!     print('Closed connection to {ip}'.format(ip=ip))
//!
//! loop.run_until_complete(asyncio.gather(do_stuff('8.8.8.8', '53'), do_stuff('8.8.4.4', '53')))
//! ```
//!
//! Where this port differs: the handler reads whole lines with `readline` (the protocol took
//! whatever `data_received` got, which is one line only when typed by hand); the port is free
//! (port 0, not 8000); `shutdown` closes the server and the connection (the tutorial stops the
//! whole loop with `KeyboardInterrupt`); `Error:` lines carry Rust's parse error messages;
//! `do_stuff` connects to this server, not to Google's DNS servers, reads the welcome line to
//! do some I/O, and sleeps a few milliseconds instead of seconds. The lines of each client are
//! returned and printed in order, so the output is the same on every run.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aiokit::streams::Server;
use aiokit::{StreamReader, StreamWriter};

/// The tutorial's `data_received` for one line: the answer to write back, and whether the
/// server shuts down.
fn answer(line: &[u8]) -> Option<(String, bool)> {
    // The tutorial decodes ASCII; bytes that are not become U+FFFD instead of an exception.
    let message = String::from_utf8_lossy(line);
    let mut words = message.trim().split(' ');
    let command = words.next().unwrap_or_default().to_lowercase();
    if command.is_empty() {
        // Sanity check: do nothing on empty commands.
        return None;
    }
    Some(match command.as_str() {
        "add" => {
            let sum = words.map(|arg| arg.parse::<i64>()).sum::<Result<i64, _>>();
            match sum {
                Ok(sum) => (sum.to_string(), false),
                Err(error) => (format!("Error: {error}"), false),
            }
        }
        "shutdown" => ("Okay. Shutting down.".to_string(), true),
        _ => (format!("Invalid command: {command}"), false),
    })
}

/// Serves one connection: the welcome line, then one answer per command line.
async fn serve(
    mut reader: StreamReader,
    mut writer: StreamWriter,
    server: Arc<OnceLock<Server>>,
) -> io::Result<()> {
    writer.write(b"Welcome.\n");
    writer.drain().await?;
    loop {
        let line = reader.readline().await?;
        if line.is_empty() {
            return Ok(()); // the client left
        }
        let Some((reply, shutdown)) = answer(&line) else {
            continue;
        };
        writer.write(format!("{reply}\n").as_bytes());
        writer.drain().await?;
        if shutdown {
            if let Some(server) = server.get() {
                server.close();
            }
            writer.close();
            return writer.wait_closed().await;
        }
    }
}

/// Starts the command server on a free port of loopback.
pub async fn command_server() -> io::Result<Server> {
    // The handler closes the server it belongs to: it finds it here once it is started.
    let slot = Arc::new(OnceLock::new());
    let handler = {
        let slot = slot.clone();
        move |reader, writer| serve(reader, writer, slot.clone())
    };
    let server = aiokit::start_server(handler, "127.0.0.1", 0).await?;
    let _ = slot.set(server.clone());
    Ok(server)
}

/// A telnet session: sends each command and records what the server answers.
pub async fn telnet(addr: SocketAddr, commands: &[&str]) -> io::Result<Vec<String>> {
    let (mut reader, mut writer) = aiokit::open_connection("127.0.0.1", addr.port()).await?;
    let mut transcript = vec![format!("telnet: Connected to {addr}.")];
    let welcome = reader.readline().await?;
    transcript.push(String::from_utf8_lossy(&welcome).trim_end().to_string());
    for command in commands {
        transcript.push(format!("> {command}"));
        writer.write(format!("{command}\n").as_bytes());
        writer.drain().await?;
        if command.trim().is_empty() {
            continue; // the server answers nothing
        }
        let reply = reader.readline().await?;
        transcript.push(String::from_utf8_lossy(&reply).trim_end().to_string());
    }
    if reader.readline().await?.is_empty() {
        transcript.push("telnet: Connection closed by foreign host.".to_string());
    }
    Ok(transcript)
}

/// The tutorial's `do_stuff`: opens a connection, does some I/O, closes it.
pub async fn do_stuff(addr: SocketAddr, name: &str, pause: Duration) -> io::Result<Vec<String>> {
    let mut lines = vec![format!("About to open a connection to {name}")];
    let (mut reader, mut writer) = aiokit::open_connection("127.0.0.1", addr.port()).await?;
    lines.push(format!("Connection open to {name}"));
    let welcome = reader.readline().await?;
    lines.push(format!(
        "{name} says {:?}",
        String::from_utf8_lossy(&welcome).trim_end()
    ));
    aiokit::sleep(pause).await;
    writer.close();
    writer.wait_closed().await?;
    lines.push(format!("Closed connection to {name}"));
    Ok(lines)
}

/// The whole program: the server, `do_stuff` twice at once, then the telnet session of the
/// tutorial, which shuts the server down. Returns every line, in order.
pub async fn transcript() -> io::Result<Vec<String>> {
    let server = command_server().await?;
    let addr = server.local_addr();
    let clients = async {
        let (first, second) = aiokit::gather!(
            do_stuff(addr, "first", Duration::from_millis(20)),
            do_stuff(addr, "second", Duration::from_millis(5)),
        )
        .await;
        let session = telnet(
            addr,
            &["add 3 5", "make_tea", "add three 5", "", "shutdown"],
        )
        .await?;
        Ok::<_, io::Error>([first?, second?, session].concat())
    };
    // The handlers run inside serve_forever, which returns once `shutdown` closed the server
    // and every connection has ended.
    let (served, lines) = aiokit::gather!(server.serve_forever(), clients).await;
    served?;
    let mut lines = lines?;
    lines.insert(0, format!("== command server on {addr} =="));
    lines.push(format!("server serving: {}", server.is_serving()));
    Ok(lines)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    for line in transcript().await? {
        println!("{line}");
    }
    Ok(())
}
