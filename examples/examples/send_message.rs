//! The `send_message` programs of the "async functions in python" tutorial: "How not to use
//! async" (two messages awaited one after the other), the same with `asyncio.create_task`,
//! with `asyncio.TaskGroup`, and `asyncio.as_completed` over three messages.
//!
//! Run with `cargo run -p aiokit-examples --example send_message`.
//!
//! Where the port differs: one tutorial second is 10 ms here, and `Time taken` prints the time
//! in tutorial seconds. `time.time()` is `std::time::Instant`. A `TaskGroup` child returns a
//! `Result` (a failing child cancels the group); `send_message` cannot fail, so its child is
//! wrapped in `Ok`. The tutorial's `as_completed` listing never calls `asyncio.run(main())`
//! and never prints its `start`; this port runs it (after the other three) and leaves `start`
//! out. The tutorial's own `main` coroutines live in the module `coro`, since Rust's `fn main`
//! is the program's entry point.

use aiokit_examples::Transcript;

mod coro {
    use std::convert::Infallible;
    use std::time::{Duration, Instant};

    use aiokit::TaskGroup;
    use aiokit_examples::Transcript;

    /// One tutorial second.
    const SECOND: Duration = Duration::from_millis(10);

    fn seconds(start: Instant) -> f64 {
        start.elapsed().as_secs_f64() / SECOND.as_secs_f64()
    }

    pub async fn send_message(out: Transcript, to: &'static str) -> String {
        out.say(format!("Sending message to {to}"));
        aiokit::sleep(SECOND * 2).await;
        out.say(format!("Message sent to {to}"));
        format!("Completed message to {to}")
    }

    /// "How not to use async": awaited one after the other, about 4 seconds.
    pub async fn main_awaited(out: Transcript) -> f64 {
        // This is now behaving synchronously!
        let start = Instant::now();
        let _sent_john = send_message(out.clone(), "John Doe").await;
        let _sent_anna = send_message(out.clone(), "Anna Herb").await;
        let taken = seconds(start);
        out.say(format!("Time taken {taken}s"));
        taken
    }

    /// Wrapped as tasks, scheduled concurrently: about 2 seconds.
    pub async fn main_tasks(out: Transcript) -> f64 {
        let start = Instant::now();
        let send_john_task = aiokit::create_task(send_message(out.clone(), "John Doe"));
        let send_anna_task = aiokit::create_task(send_message(out.clone(), "Anna Herb"));
        send_john_task.await.expect("not cancelled");
        send_anna_task.await.expect("not cancelled");
        let taken = seconds(start);
        out.say(format!("Time taken {taken}s"));
        taken
    }

    /// `async with asyncio.TaskGroup() as tg:` two `tg.create_task(...)`.
    pub async fn main_task_group(out: Transcript) -> f64 {
        let start = Instant::now();
        TaskGroup::run(async |tg| {
            let o = out.clone();
            let _send_john_task = tg
                .create_task(async move { Ok::<_, Infallible>(send_message(o, "John Doe").await) });
            let o = out.clone();
            let _send_anna_task =
                tg.create_task(async move { Ok(send_message(o, "Anna Herb").await) });
            Ok(())
        })
        .await
        .expect("no message fails");
        let taken = seconds(start);
        out.say(format!("Time taken {taken}s"));
        taken
    }

    /// The `as_completed` listing, with its own `send_message` (which returns "Complete
    /// message to ..."). `for cor in asyncio.as_completed(coroutines): print(await cor)`.
    pub async fn main_as_completed(out: Transcript) {
        async fn send_message(out: Transcript, to: &'static str) -> String {
            out.say(format!("Sending message to {to}"));
            aiokit::sleep(SECOND * 2).await;
            out.say(format!("Message sent to {to}"));
            format!("Complete message to {to}")
        }

        let coroutines = [
            send_message(out.clone(), "John Does"),
            send_message(out.clone(), "Anna Herb"),
            send_message(out.clone(), "Chris Jakson"),
        ];
        let mut cors = aiokit::as_completed(coroutines);
        while let Some(cor) = cors.next().await {
            out.say(cor);
        }
    }
}

fn send_messages(out: &Transcript) -> [f64; 3] {
    // asyncio.run(main()), for each of the tutorial's `main`s
    let awaited = aiokit::run(coro::main_awaited(out.clone()));
    let tasks = aiokit::run(coro::main_tasks(out.clone()));
    let task_group = aiokit::run(coro::main_task_group(out.clone()));
    aiokit::run(coro::main_as_completed(out.clone()));
    [awaited, tasks, task_group]
}

fn main() {
    send_messages(&Transcript::new());
}

#[test]
fn awaited_coroutines_run_one_after_the_other_and_tasks_run_together() {
    use std::collections::BTreeSet;

    let out = Transcript::new();
    let [awaited, tasks, task_group] = send_messages(&out);
    let lines = out.lines();
    assert_eq!(lines.len(), 5 + 5 + 5 + 9);
    fn set(lines: &[String]) -> BTreeSet<&str> {
        lines.iter().map(String::as_str).collect()
    }

    // Awaited one by one: strictly in order, and at least 4 seconds.
    assert_eq!(
        lines[..4],
        [
            "Sending message to John Doe",
            "Message sent to John Doe",
            "Sending message to Anna Herb",
            "Message sent to Anna Herb",
        ]
    );
    assert_eq!(lines[4], format!("Time taken {awaited}s"));
    assert!(awaited >= 4.0, "{awaited}");

    // As tasks and in a TaskGroup: both start (in creation order) before either is sent;
    // two sleeps that end at the same time may wake in either order.
    for (at, taken) in [(5, tasks), (10, task_group)] {
        assert_eq!(
            lines[at..at + 2],
            [
                "Sending message to John Doe",
                "Sending message to Anna Herb"
            ]
        );
        assert_eq!(
            set(&lines[at + 2..at + 4]),
            set(&[
                "Message sent to John Doe".into(),
                "Message sent to Anna Herb".into()
            ])
        );
        assert_eq!(lines[at + 4], format!("Time taken {taken}s"));
        assert!(taken >= 2.0, "{taken}");
    }

    // as_completed: every message starts before any is sent, and each result is printed
    // after its message is sent.
    let rest = &lines[15..];
    let names = ["John Does", "Anna Herb", "Chris Jakson"];
    let sending: Vec<String> = names
        .iter()
        .map(|n| format!("Sending message to {n}"))
        .collect();
    assert_eq!(set(&rest[..3]), set(&sending));
    for name in names {
        let sent = rest
            .iter()
            .position(|l| *l == format!("Message sent to {name}"));
        let completed = rest
            .iter()
            .position(|l| *l == format!("Complete message to {name}"));
        assert!(sent.unwrap() < completed.unwrap(), "{rest:?}");
    }
}
