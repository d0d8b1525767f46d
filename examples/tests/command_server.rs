//! The `command_server` example's output, checked line by line.

#[allow(dead_code)]
#[path = "../examples/command_server.rs"]
mod command_server;

#[test]
fn command_server_answers_like_the_tutorial() {
    let lines = futures::executor::block_on(async {
        aiokit::wait_for(
            command_server::transcript(),
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("watchdog: the example hung")
    })
    .unwrap();
    let text: Vec<&str> = lines.iter().map(String::as_str).collect();
    let addr = text[0]
        .strip_prefix("== command server on ")
        .and_then(|rest| rest.strip_suffix(" =="))
        .unwrap();
    assert_eq!(
        text[1..],
        [
            // do_stuff, twice at once, gathered: each connection's lines in order.
            "About to open a connection to first",
            "Connection open to first",
            "first says \"Welcome.\"",
            "Closed connection to first",
            "About to open a connection to second",
            "Connection open to second",
            "second says \"Welcome.\"",
            "Closed connection to second",
            // The telnet session of the tutorial.
            &format!("telnet: Connected to {addr}."),
            "Welcome.",
            "> add 3 5",
            "8",
            "> make_tea",
            "Invalid command: make_tea",
            "> add three 5",
            "Error: invalid digit found in string",
            "> ",
            "> shutdown",
            "Okay. Shutting down.",
            "telnet: Connection closed by foreign host.",
            "server serving: false",
        ]
    );
}

#[test]
fn the_server_is_closed_after_shutdown() {
    futures::executor::block_on(async {
        let server = command_server::command_server().await.unwrap();
        let addr = server.local_addr();
        let (served, session) = aiokit::gather!(
            server.serve_forever(),
            command_server::telnet(addr, &["shutdown"])
        )
        .await;
        served.unwrap();
        assert_eq!(
            session.unwrap().last().unwrap(),
            "telnet: Connection closed by foreign host."
        );
        assert!(
            aiokit::open_connection("127.0.0.1", addr.port())
                .await
                .is_err()
        );
    });
}
