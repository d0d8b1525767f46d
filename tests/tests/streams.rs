//! Streams and servers over loopback: the rules of asyncio's streams.py (each a module named
//! after it), then the bad input a server meets first.
//!
//! Every test runs under a watchdog (`run`): a test that would hang fails instead. Nothing
//! sleeps and nothing is timed: the order of events comes from the sockets themselves and from
//! channels.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiokit::streams::Server;
use aiokit::streams::{
    DEFAULT_LIMIT, IncompleteReadError, LimitOverrunError, ReadError, ServerError, ServerErrorKind,
    from_std,
};
use aiokit::{StreamReader, StreamWriter, open_connection, start_server};
use futures::StreamExt;
use futures::channel::mpsc;

/// Long enough for a loaded machine; only a hung test ever reaches it.
const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `fut` on smol's `block_on` under the watchdog.
fn run<F: Future>(fut: F) -> F::Output {
    smol::block_on(async {
        aiokit::wait_for(fut, WATCHDOG)
            .await
            .expect("watchdog: the test hung")
    })
}

/// Two connected ends over loopback: (client, server).
fn pair() -> ((StreamReader, StreamWriter), (StreamReader, StreamWriter)) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (from_std(client).unwrap(), from_std(server).unwrap())
}

/// Writes `data` from a fresh connection and closes it; returns the reading end.
fn fed(data: &[u8]) -> StreamReader {
    let ((_, mut writer), (reader, _server_writer)) = pair();
    writer.write(data);
    run(writer.wait_closed()).unwrap();
    reader
}

/// Collects the server's reports instead of printing them.
fn collect_errors(server: &Server) -> Arc<Mutex<Vec<ServerError>>> {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    server.set_error_hook(move |error| sink.lock().unwrap().push(error.clone()));
    errors
}

/// Serves each line back; a line over the limit is answered with an error line.
async fn echo_lines(mut reader: StreamReader, mut writer: StreamWriter) -> Result<(), ReadError> {
    loop {
        match reader.readline().await {
            Ok(line) if line.is_empty() => return Ok(()),
            Ok(line) => writer.write(&line),
            Err(ReadError::LimitOverrun(error)) => {
                writer.write(format!("error: {error}\n").as_bytes());
            }
            Err(error) => return Err(error),
        }
        writer.drain().await?;
    }
}

/// Sends `line`, returns the answer line.
async fn ask(reader: &mut StreamReader, writer: &mut StreamWriter, line: &[u8]) -> Vec<u8> {
    writer.write(line);
    writer.drain().await.unwrap();
    reader.readline().await.unwrap()
}

// ---- StreamReader -------------------------------------------------------------------------

mod readline_returns_the_line_with_its_newline {
    use super::*;

    #[test]
    fn test() {
        let mut reader = fed(b"add 3 5\nshutdown\n");
        run(async {
            assert_eq!(reader.readline().await.unwrap(), b"add 3 5\n");
            assert_eq!(reader.readline().await.unwrap(), b"shutdown\n");
        });
    }
}

mod readline_at_eof_returns_the_partial_line_then_empty {
    use super::*;

    #[test]
    fn test() {
        let mut reader = fed(b"one\npartial");
        run(async {
            assert_eq!(reader.readline().await.unwrap(), b"one\n");
            assert!(!reader.at_eof());
            assert_eq!(reader.readline().await.unwrap(), b"partial");
            assert!(reader.at_eof());
            assert_eq!(reader.readline().await.unwrap(), b"");
            assert_eq!(reader.readline().await.unwrap(), b"");
        });
    }
}

mod readexactly_at_eof_raises_incomplete_read_error {
    use super::*;

    #[test]
    fn test() {
        let mut reader = fed(b"abcdef");
        run(async {
            assert_eq!(reader.readexactly(4).await.unwrap(), b"abcd");
            match reader.readexactly(3).await {
                Err(ReadError::Incomplete(error)) => {
                    assert_eq!(
                        error,
                        IncompleteReadError {
                            partial: b"ef".to_vec(),
                            expected: Some(3)
                        }
                    );
                    assert_eq!(
                        error.to_string(),
                        "2 bytes read on a total of 3 expected bytes"
                    );
                }
                other => panic!("expected IncompleteReadError, got {other:?}"),
            }
            assert!(reader.at_eof());
            assert_eq!(reader.readexactly(0).await.unwrap(), b"");
        });
    }
}

mod readuntil_at_eof_raises_incomplete_read_error_with_expected_none {
    use super::*;

    #[test]
    fn test() {
        let mut reader = fed(b"a::b");
        run(async {
            assert_eq!(reader.readuntil(b"::").await.unwrap(), b"a::");
            match reader.readuntil(b"::").await {
                Err(ReadError::Incomplete(error)) => {
                    assert_eq!(error.partial, b"b");
                    assert_eq!(error.expected, None);
                }
                other => panic!("expected IncompleteReadError, got {other:?}"),
            }
            assert!(reader.at_eof());
        });
    }
}

mod readuntil_finds_a_separator_split_across_reads {
    use super::*;

    #[test]
    fn test() {
        let ((_, mut writer), (mut reader, _w)) = pair();
        run(async {
            // The second half of the separator comes only after the reader waited for it.
            writer.write(b"tea\r");
            writer.drain().await.unwrap();
            let (line, ()) = aiokit::gather!(reader.readuntil(b"\r\n"), async {
                writer.write(b"\nnext");
                writer.drain().await.unwrap();
            })
            .await;
            assert_eq!(line.unwrap(), b"tea\r\n");
        });
    }
}

mod readuntil_past_the_limit_raises_limit_overrun_and_keeps_the_data {
    use super::*;

    #[test]
    fn test() {
        let mut reader = fed(b"abcdefgh\n");
        reader.set_limit(4);
        run(async {
            match reader.readuntil(b"\n").await {
                Err(ReadError::LimitOverrun(error)) => {
                    // The separator was already received: found beyond the limit.
                    assert_eq!(
                        error,
                        LimitOverrunError {
                            consumed: 8,
                            found: true
                        }
                    );
                    assert_eq!(
                        error.to_string(),
                        "Separator is found, but chunk is longer than limit"
                    );
                }
                other => panic!("expected LimitOverrunError, got {other:?}"),
            }
            // Nothing was lost: the bytes can be read again.
            assert_eq!(reader.read_to_end().await.unwrap(), b"abcdefgh\n");
        });
    }

    #[test]
    fn separator_not_found() {
        let ((_, mut writer), (mut reader, _w)) = pair();
        reader.set_limit(4);
        run(async {
            writer.write(b"abcdefgh");
            writer.drain().await.unwrap();
            match reader.readuntil(b"\n").await {
                Err(ReadError::LimitOverrun(error)) => {
                    assert!(!error.found);
                    assert!(error.consumed > 4);
                }
                other => panic!("expected LimitOverrunError, got {other:?}"),
            }
            assert_eq!(reader.buffered(), 8);
        });
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let mut reader = fed(b"abcd\n");
        reader.set_limit(4);
        run(async {
            assert_eq!(reader.readline().await.unwrap(), b"abcd\n");
        });
    }
}

mod readline_past_the_limit_discards_the_line {
    use super::*;

    /// As asyncio (checked with CPython 3.11): `limit=4`, fed `abcd\nxyzwvu\nok\n`.
    #[test]
    fn test() {
        let mut reader = fed(b"abcd\nxyzwvu\nok\n");
        reader.set_limit(4);
        run(async {
            assert_eq!(reader.readline().await.unwrap(), b"abcd\n");
            assert!(matches!(
                reader.readline().await,
                Err(ReadError::LimitOverrun(LimitOverrunError {
                    found: true,
                    ..
                }))
            ));
            assert_eq!(reader.readline().await.unwrap(), b"ok\n");
            assert_eq!(reader.readline().await.unwrap(), b"");
        });
    }
}

mod readuntil_with_an_empty_separator_is_an_error {
    use super::*;

    #[test]
    fn test() {
        let mut reader = fed(b"tea\n");
        run(async {
            match reader.readuntil(b"").await {
                Err(ReadError::Io(error)) => assert_eq!(error.kind(), io::ErrorKind::InvalidInput),
                other => panic!("expected an InvalidInput error, got {other:?}"),
            }
            // Nothing was consumed.
            assert_eq!(reader.readline().await.unwrap(), b"tea\n");
        });
    }
}

mod read_returns_at_most_n_bytes {
    use super::*;

    #[test]
    fn test() {
        let mut reader = fed(b"abcdef");
        run(async {
            assert_eq!(reader.read(0).await.unwrap(), b"");
            assert_eq!(reader.read(4).await.unwrap(), b"abcd");
            assert_eq!(reader.read(100).await.unwrap(), b"ef");
            assert_eq!(reader.read(100).await.unwrap(), b"");
            assert!(reader.at_eof());
        });
    }
}

mod read_to_end_reads_until_eof {
    use super::*;

    #[test]
    fn test() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader = fed(&data);
        run(async {
            assert_eq!(reader.read_to_end().await.unwrap(), data);
            assert_eq!(reader.read_to_end().await.unwrap(), b"");
        });
    }
}

mod at_eof_only_after_every_byte_is_read {
    use super::*;

    #[test]
    fn test() {
        let ((_, mut writer), (mut reader, _w)) = pair();
        run(async {
            assert!(!reader.at_eof());
            writer.write(b"x");
            writer.write_eof();
            assert_eq!(reader.read(1).await.unwrap(), b"x");
            // The end was not seen yet: only a read finds it.
            assert!(!reader.at_eof());
            assert_eq!(reader.read(1).await.unwrap(), b"");
            assert!(reader.at_eof());
        });
    }
}

mod lines_yield_each_line_until_eof {
    use super::*;

    #[test]
    fn test() {
        let mut reader = fed(b"one\n\ntwo\nthree");
        run(async {
            let lines: Vec<Vec<u8>> = reader.lines().map(Result::unwrap).collect().await;
            assert_eq!(lines, [&b"one\n"[..], b"\n", b"two\n", b"three"]);
        });
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_and_the_lines_go_on() {
        let mut reader = fed(b"short\nmuch too long\nok\n");
        reader.set_limit(8);
        run(async {
            let lines: Vec<_> = reader.lines().collect().await;
            assert_eq!(lines.len(), 3);
            assert_eq!(lines[0].as_ref().unwrap(), b"short\n");
            assert!(matches!(lines[1], Err(ReadError::LimitOverrun(_))));
            assert_eq!(lines[2].as_ref().unwrap(), b"ok\n");
        });
    }
}

mod reads_are_cancel_safe {
    use super::*;

    #[test]
    fn test() {
        let ((_, mut writer), (mut reader, _w)) = pair();
        run(async {
            writer.write(b"ab");
            writer.drain().await.unwrap();
            {
                // Wants 4 bytes, gets 2, is dropped: the 2 bytes stay buffered.
                let mut read = pin!(reader.readexactly(4));
                assert!(futures_lite::future::poll_once(&mut read).await.is_none());
                assert!(futures_lite::future::poll_once(&mut read).await.is_none());
            }
            assert_eq!(reader.buffered(), 2);
            writer.write(b"cd");
            writer.drain().await.unwrap();
            assert_eq!(reader.readexactly(4).await.unwrap(), b"abcd");
        });
    }
}

// ---- StreamWriter -------------------------------------------------------------------------

mod write_does_not_wait {
    use super::*;

    #[test]
    fn test() {
        let ((_, mut writer), (mut reader, _w)) = pair();
        // Far more than the socket buffers hold: write returns anyway, keeping the rest.
        let data = vec![7u8; 16 * 1024 * 1024];
        writer.write(&data);
        assert!(writer.write_buffer_size() > 0);
        assert!(writer.write_buffer_size() < data.len() + 1);
        run(async {
            let (drained, read) = aiokit::gather!(
                async {
                    let drained = writer.drain().await;
                    drop(writer);
                    drained
                },
                reader.read_to_end()
            )
            .await;
            drained.unwrap();
            assert_eq!(read.unwrap().len(), data.len());
        });
    }
}

mod drain_sends_everything_buffered {
    use super::*;

    #[test]
    fn test() {
        let ((_, mut writer), (mut reader, _w)) = pair();
        run(async {
            writer.writelines([&b"add 3 5\n"[..], b"add 1 1\n"]);
            writer.drain().await.unwrap();
            assert_eq!(writer.write_buffer_size(), 0);
            assert_eq!(reader.readline().await.unwrap(), b"add 3 5\n");
            assert_eq!(reader.readline().await.unwrap(), b"add 1 1\n");
        });
    }
}

mod write_eof_lets_the_peer_read_eof_and_this_side_read_on {
    use super::*;

    #[test]
    fn test() {
        let ((mut client_reader, mut client_writer), (mut reader, mut writer)) = pair();
        run(async {
            assert!(client_writer.can_write_eof());
            client_writer.write(b"request");
            client_writer.write_eof();
            assert_eq!(reader.read_to_end().await.unwrap(), b"request");
            writer.write(b"answer");
            writer.close();
            writer.wait_closed().await.unwrap();
            assert_eq!(client_reader.read_to_end().await.unwrap(), b"answer");
        });
    }
}

mod close_then_wait_closed_sends_the_buffer_first {
    use super::*;

    #[test]
    fn test() {
        let ((_, mut writer), (mut reader, _w)) = pair();
        let data = vec![1u8; 8 * 1024 * 1024];
        writer.write(&data);
        writer.close();
        assert!(writer.is_closing());
        run(async {
            let (closed, read) = aiokit::gather!(writer.wait_closed(), reader.read_to_end()).await;
            closed.unwrap();
            assert_eq!(read.unwrap().len(), data.len());
        });
    }
}

mod close_makes_the_reader_of_the_same_connection_read_eof {
    use super::*;

    #[test]
    fn test() {
        let ((_c, _cw), (mut reader, mut writer)) = pair();
        writer.close();
        run(async {
            assert_eq!(reader.readline().await.unwrap(), b"");
            assert!(reader.at_eof());
        });
    }
}

mod write_after_close_is_reported_by_drain {
    use super::*;

    #[test]
    fn test() {
        let ((_, mut writer), _server) = pair();
        writer.close();
        writer.write(b"late");
        let error = run(writer.drain()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(error.to_string(), "write after close()");
    }

    #[test]
    fn after_write_eof() {
        let ((_, mut writer), _server) = pair();
        writer.write_eof();
        writer.write(b"late");
        let error = run(writer.drain()).unwrap_err();
        assert_eq!(error.to_string(), "write after write_eof()");
    }
}

mod drain_after_close_raises_connection_reset {
    use super::*;

    #[test]
    fn test() {
        let ((_, mut writer), _server) = pair();
        writer.close();
        let error = run(writer.drain()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    }
}

mod peer_addr_is_the_other_end {
    use super::*;

    #[test]
    fn test() {
        let ((client_reader, client_writer), (server_reader, server_writer)) = pair();
        assert_eq!(client_writer.peer_addr(), server_writer.local_addr());
        assert_eq!(server_writer.peer_addr(), client_writer.local_addr());
        assert_eq!(client_reader.peer_addr(), client_writer.peer_addr());
        assert_eq!(server_reader.peer_addr(), server_writer.peer_addr());
    }
}

// ---- open_connection / start_server / Server ----------------------------------------------

mod open_connection_to_a_closed_port_is_refused {
    use super::*;

    #[test]
    fn test() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The listener is dropped: nobody listens there now.
        let error = run(open_connection("127.0.0.1", port)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }
}

mod start_server_calls_the_handler_once_per_connection {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let calls = Arc::new(Mutex::new(Vec::new()));
            let seen = calls.clone();
            let server = start_server(
                move |reader: StreamReader, writer| {
                    seen.lock().unwrap().push(reader.peer_addr());
                    echo_lines(reader, writer)
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
            let port = server.local_addr().port();
            let clients = async {
                let mut peers = Vec::new();
                for n in 0..3 {
                    let (mut reader, mut writer) = open_connection("127.0.0.1", port).await?;
                    let line = format!("client {n}\n");
                    assert_eq!(
                        ask(&mut reader, &mut writer, line.as_bytes()).await,
                        line.as_bytes()
                    );
                    peers.push(writer.local_addr());
                }
                server.close();
                Ok::<_, io::Error>(peers)
            };
            let (served, peers) = aiokit::gather!(server.serve_forever(), clients).await;
            served.unwrap();
            assert_eq!(*calls.lock().unwrap(), peers.unwrap());
        });
    }
}

mod port_zero_binds_a_free_port {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let one = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            let two = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            assert_ne!(one.local_addr().port(), 0);
            assert_ne!(one.local_addr().port(), two.local_addr().port());
            // The port is taken while the server listens.
            let taken = start_server(echo_lines, "127.0.0.1", one.local_addr().port()).await;
            assert_eq!(taken.unwrap_err().kind(), io::ErrorKind::AddrInUse);
        });
    }
}

mod close_stops_accepting {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            assert!(server.is_serving());
            server.close();
            assert!(!server.is_serving());
            let refused = open_connection("127.0.0.1", server.local_addr().port()).await;
            assert_eq!(
                refused.unwrap_err().kind(),
                io::ErrorKind::ConnectionRefused
            );
            server.wait_closed().await;
        });
    }
}

mod wait_closed_waits_for_open_connections {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            let port = server.local_addr().port();
            let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
            let script = async {
                assert_eq!(ask(&mut reader, &mut writer, b"hi\n").await, b"hi\n");
                assert_eq!(server.active_count(), 1);
                server.close();
                {
                    // Closed, but a connection is open: wait_closed waits.
                    let mut waiting = pin!(server.wait_closed());
                    assert!(
                        futures_lite::future::poll_once(&mut waiting)
                            .await
                            .is_none()
                    );
                    // The open connection is still served.
                    assert_eq!(ask(&mut reader, &mut writer, b"still\n").await, b"still\n");
                    writer.close();
                    waiting.await;
                }
                assert_eq!(server.active_count(), 0);
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
        });
    }
}

mod close_clients_closes_every_connection {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            let port = server.local_addr().port();
            let script = async {
                let mut clients = Vec::new();
                for _ in 0..3 {
                    let (mut reader, mut writer) = open_connection("127.0.0.1", port).await?;
                    assert_eq!(ask(&mut reader, &mut writer, b"hi\n").await, b"hi\n");
                    clients.push((reader, writer));
                }
                assert_eq!(server.active_count(), 3);
                // Each handler is waiting in readline: close_clients ends them all.
                server.close_clients();
                for (reader, _writer) in &mut clients {
                    assert_eq!(reader.read_to_end().await?, b"");
                }
                server.wait_closed().await;
                Ok::<_, io::Error>(())
            };
            let (served, script) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
            script.unwrap();
            assert!(!server.is_serving());
        });
    }
}

mod serve_forever_twice_or_after_close_is_an_error {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            let script = async {
                let again = server.serve_forever().await.unwrap_err();
                assert!(
                    again
                        .to_string()
                        .ends_with("is already being awaited on serve_forever()")
                );
                server.close();
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
            let closed = server.serve_forever().await.unwrap_err();
            assert!(closed.to_string().ends_with("is closed"));
        });
    }
}

mod dropping_serve_forever_closes_the_server {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            {
                let mut serving = pin!(server.serve_forever());
                assert!(
                    futures_lite::future::poll_once(&mut serving)
                        .await
                        .is_none()
                );
            }
            assert!(!server.is_serving());
            let refused = open_connection("127.0.0.1", server.local_addr().port()).await;
            assert!(refused.is_err());
        });
    }
}

mod handler_errors_are_reported_and_the_server_goes_on {
    use super::*;

    async fn strict(mut reader: StreamReader, mut writer: StreamWriter) -> io::Result<()> {
        let line = reader.readline().await?;
        if line != b"please\n" {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "rude client"));
        }
        writer.write(b"ok\n");
        writer.drain().await
    }

    #[test]
    fn test() {
        run(async {
            let server = start_server(strict, "127.0.0.1", 0).await.unwrap();
            let errors = collect_errors(&server);
            let port = server.local_addr().port();
            let script = async {
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await?;
                let rude_addr = writer.local_addr();
                // The handler fails: the connection ends, nothing is answered.
                assert_eq!(ask(&mut reader, &mut writer, b"now\n").await, b"");
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await?;
                assert_eq!(ask(&mut reader, &mut writer, b"please\n").await, b"ok\n");
                server.close();
                Ok::<_, io::Error>(rude_addr)
            };
            let (served, rude) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
            let errors = errors.lock().unwrap();
            assert_eq!(
                *errors,
                [ServerError {
                    peer: Some(rude.unwrap()),
                    kind: ServerErrorKind::Failed,
                    message: "rude client".to_string(),
                }]
            );
            assert!(errors[0].to_string().ends_with("failed: rude client"));
        });
    }
}

mod handler_panics_are_reported_and_the_server_goes_on {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let server = start_server(
                |mut reader: StreamReader, mut writer: StreamWriter| async move {
                    let line = reader.readline().await?;
                    assert_ne!(line, b"boom\n", "the handler blew up");
                    writer.write(&line);
                    writer.drain().await
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
            let errors = collect_errors(&server);
            let port = server.local_addr().port();
            let script = async {
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await?;
                assert_eq!(ask(&mut reader, &mut writer, b"boom\n").await, b"");
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await?;
                assert_eq!(ask(&mut reader, &mut writer, b"fine\n").await, b"fine\n");
                server.close();
                Ok::<_, io::Error>(())
            };
            let (served, script) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
            script.unwrap();
            let errors = errors.lock().unwrap();
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].kind, ServerErrorKind::Panicked);
            assert!(errors[0].message.contains("the handler blew up"));
        });
    }
}

mod the_server_runs_on_any_executor {
    use super::*;

    async fn scenario() {
        let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
        let port = server.local_addr().port();
        let client = async {
            let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
            let answer = ask(&mut reader, &mut writer, b"tea\n").await;
            server.close();
            answer
        };
        let (served, answer) = aiokit::gather!(server.serve_forever(), client).await;
        served.unwrap();
        assert_eq!(answer, b"tea\n");
    }

    #[test]
    fn tokio_current_thread() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { aiokit::wait_for(scenario(), WATCHDOG).await.unwrap() });
    }

    #[test]
    fn tokio_spawned_on_multi_thread() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // serve_forever is Send: it can be spawned.
        rt.block_on(async {
            let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            let serving = tokio::spawn({
                let server = server.clone();
                async move { server.serve_forever().await }
            });
            let port = server.local_addr().port();
            let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
            assert_eq!(ask(&mut reader, &mut writer, b"tea\n").await, b"tea\n");
            server.close();
            drop((reader, writer));
            aiokit::wait_for(serving, WATCHDOG)
                .await
                .unwrap()
                .unwrap()
                .unwrap();
        });
    }

    #[test]
    fn futures_block_on() {
        futures::executor::block_on(async {
            aiokit::wait_for(scenario(), WATCHDOG).await.unwrap()
        });
    }

    #[test]
    fn async_executor() {
        let ex = async_executor::Executor::new();
        futures_lite::future::block_on(
            ex.run(async { aiokit::wait_for(scenario(), WATCHDOG).await.unwrap() }),
        );
    }
}

// ---- Bad input ----------------------------------------------------------------------------

/// A server that echoes lines and sends every line it read (or the error) to the test.
async fn recording_server() -> (Server, mpsc::UnboundedReceiver<Result<Vec<u8>, String>>) {
    let (tx, rx) = mpsc::unbounded();
    let server = start_server(
        move |mut reader: StreamReader, mut writer: StreamWriter| {
            let tx = tx.clone();
            async move {
                loop {
                    let line = reader.readline().await;
                    let _ = tx
                        .unbounded_send(line.as_ref().map(Clone::clone).map_err(|e| e.to_string()));
                    match line {
                        Ok(line) if line.is_empty() => return Ok::<_, io::Error>(()),
                        Ok(line) => writer.write(&line),
                        Err(error) => writer.write(format!("error: {error}\n").as_bytes()),
                    }
                    writer.drain().await?;
                }
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    (server, rx)
}

mod a_client_that_disconnects_mid_line {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let (server, mut lines) = recording_server().await;
            let port = server.local_addr().port();
            let script = async {
                let (_reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
                writer.write(b"add 3");
                writer.drain().await.unwrap();
                drop((_reader, writer));
                // The server reads the partial line, then the end.
                assert_eq!(lines.next().await.unwrap().unwrap(), b"add 3");
                assert_eq!(lines.next().await.unwrap().unwrap(), b"");
                server.close();
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
        });
    }
}

mod a_line_longer_than_the_limit {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let (server, mut lines) = recording_server().await;
            let errors = collect_errors(&server);
            let port = server.local_addr().port();
            let script = async {
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
                let mut long = vec![b'x'; DEFAULT_LIMIT + 10];
                long.push(b'\n');
                let answer = ask(&mut reader, &mut writer, &long).await;
                assert_eq!(
                    answer,
                    b"error: Separator is found, but chunk is longer than limit\n"
                );
                assert!(lines.next().await.unwrap().is_err());
                // The same connection goes on with the next line ...
                assert_eq!(
                    ask(&mut reader, &mut writer, b"add 1 2\n").await,
                    b"add 1 2\n"
                );
                drop((reader, writer));
                // ... and the server serves the next client.
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
                assert_eq!(ask(&mut reader, &mut writer, b"next\n").await, b"next\n");
                server.close();
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
            assert!(errors.lock().unwrap().is_empty());
        });
    }

    #[test]
    fn with_no_newline_at_all() {
        run(async {
            let (server, _lines) = recording_server().await;
            let port = server.local_addr().port();
            let script = async {
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
                // Twice the limit and no separator: the server answers an error before the
                // line ends, without buffering it all.
                writer.write(&vec![b'y'; 2 * DEFAULT_LIMIT]);
                let (drained, answer) = aiokit::gather!(writer.drain(), reader.readline()).await;
                drained.unwrap();
                assert_eq!(
                    answer.unwrap(),
                    b"error: Separator is not found, and chunk exceed the limit\n"
                );
                server.close_clients();
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
        });
    }
}

mod non_utf8_bytes {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let (server, _lines) = recording_server().await;
            let port = server.local_addr().port();
            let script = async {
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
                let garbage = b"\xff\xfe\x00\xc3(\x80 add\n";
                assert_eq!(ask(&mut reader, &mut writer, garbage).await, garbage);
                server.close();
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
        });
    }
}

mod an_empty_line {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let (server, mut lines) = recording_server().await;
            let port = server.local_addr().port();
            let script = async {
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
                // An empty line is "\n", not the end of the stream.
                assert_eq!(ask(&mut reader, &mut writer, b"\n").await, b"\n");
                assert_eq!(lines.next().await.unwrap().unwrap(), b"\n");
                assert_eq!(ask(&mut reader, &mut writer, b"after\n").await, b"after\n");
                server.close();
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
        });
    }
}

mod a_thousand_clients_at_once {
    use super::*;

    #[test]
    fn test() {
        const CLIENTS: usize = 1000;
        run(async {
            let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            let errors = collect_errors(&server);
            let port = server.local_addr().port();
            let clients = (0..CLIENTS).map(|n| async move {
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await?;
                let line = format!("client {n}\n");
                writer.write(line.as_bytes());
                writer.drain().await?;
                let answer = reader.readline().await?;
                Ok::<_, ReadError>(answer == line.as_bytes())
            });
            let script = async {
                let answers = aiokit::gather(clients).await;
                server.close();
                answers
            };
            let (served, answers) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
            let served_right = answers
                .into_iter()
                .filter(|a| matches!(a, Ok(true)))
                .count();
            assert_eq!(served_right, CLIENTS);
            assert!(errors.lock().unwrap().is_empty());
        });
    }
}

mod a_client_that_never_reads {
    use super::*;

    const CHUNK: usize = 16 * 1024;

    #[test]
    fn test() {
        run(async {
            // (largest buffer seen after a write, bytes written) when drain first waits.
            let (tx, mut blocked) = mpsc::unbounded();
            let server = start_server(
                move |_reader, mut writer: StreamWriter| {
                    let tx = tx.clone();
                    async move {
                        let chunk = vec![b'x'; CHUNK];
                        let (mut largest, mut written) = (0, 0);
                        loop {
                            writer.write(&chunk);
                            written += CHUNK;
                            largest = largest.max(writer.write_buffer_size());
                            let mut drain = pin!(writer.drain());
                            if futures_lite::future::poll_once(&mut drain).await.is_none() {
                                // The socket is full: drain waits, the handler writes no more.
                                let _ = tx.unbounded_send((largest, written));
                                return drain.await;
                            }
                        }
                    }
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
            let errors = collect_errors(&server);
            let port = server.local_addr().port();
            let script = async {
                let (reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
                let (largest, written) = blocked.next().await.unwrap();
                // Bounded memory: the buffer never holds more than the high-water mark plus
                // one write (aiokit's drain sends everything, so it is at most one write) ...
                assert!(largest <= DEFAULT_LIMIT + CHUNK, "buffered {largest}");
                assert!(largest <= CHUNK, "buffered {largest}");
                // ... and the handler stopped once the kernel's buffers were full.
                assert!(written < 256 * 1024 * 1024, "wrote {written}");
                // The client goes away: the waiting drain fails, and that is reported.
                drop((reader, writer));
                server.close();
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
            let errors = errors.lock().unwrap();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].kind, ServerErrorKind::Failed);
        });
    }
}

mod start_serving_serves_in_the_background {
    use super::*;

    #[test]
    fn test() {
        let executor = async_executor::Executor::new();
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        std::thread::scope(|scope| {
            // The executor runs on a thread of its own until the test is over.
            scope.spawn(|| futures_lite::future::block_on(executor.run(stopped)));
            run(async {
                let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
                assert!(server.start_serving(&executor));
                assert!(
                    !server.start_serving(&executor),
                    "start_serving is idempotent"
                );
                let port = server.local_addr().port();
                let script = async {
                    let (mut reader, mut writer) = open_connection("127.0.0.1", port).await?;
                    // Served by the executor's thread, not by this one.
                    assert_eq!(ask(&mut reader, &mut writer, b"tea\n").await, b"tea\n");
                    server.close();
                    drop((reader, writer));
                    Ok::<_, io::Error>(())
                };
                // serve_forever does not serve again: it waits for the close and the end of
                // the connections.
                let (served, script) = aiokit::gather!(server.serve_forever(), script).await;
                served.unwrap();
                script.unwrap();
                assert_eq!(server.active_count(), 0);
            });
            stop.send(()).unwrap();
        });
    }
}

mod start_server_limit_applies_to_each_connection {
    use super::*;

    #[test]
    fn test() {
        run(async {
            let (server, _lines) = recording_server().await;
            server.set_limit(8);
            let port = server.local_addr().port();
            let script = async {
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
                assert_eq!(
                    ask(&mut reader, &mut writer, b"12345678\n").await,
                    b"12345678\n"
                );
                assert_eq!(
                    ask(&mut reader, &mut writer, b"123456789\n").await,
                    b"error: Separator is found, but chunk is longer than limit\n"
                );
                server.close();
            };
            let (served, ()) = aiokit::gather!(server.serve_forever(), script).await;
            served.unwrap();
        });
    }
}

mod start_server_on_the_running_loop_serves_at_once {
    use super::*;

    /// asyncio's `start_server` starts serving on the running loop (`start_serving=True`): a
    /// client gets its reply without `serve_forever`, and `start_serving` then has nothing left
    /// to start.
    #[test]
    fn test() {
        let served = aiokit::run(aiokit::wait_for(
            async {
                let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
                assert!(server.is_serving());
                assert!(
                    !server.start_serving_local(&|_fut: aiokit::spawn::LocalSpawnFuture| {
                        panic!("already served by the loop")
                    })
                );
                let port = server.local_addr().port();
                let (mut reader, mut writer) = open_connection("127.0.0.1", port).await.unwrap();
                let echoed = ask(&mut reader, &mut writer, b"hello\n").await;
                drop(writer);
                server.close();
                server.wait_closed().await;
                echoed
            },
            WATCHDOG,
        ))
        .expect("watchdog: the test hung");
        assert_eq!(served, b"hello\n");
    }

    /// Outside a loop nothing is spawned: the handlers wait for `serve_forever`.
    #[test]
    fn off_the_loop_nothing_is_spawned() {
        run(async {
            let server = start_server(echo_lines, "127.0.0.1", 0).await.unwrap();
            assert!(server.start_serving_local(&|_fut: aiokit::spawn::LocalSpawnFuture| {}));
        });
    }
}
