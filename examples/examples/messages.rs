//! The send_message programs of the asyncio tutorials: awaited one by one, as tasks, and in a
//! TaskGroup, with timings.
//!
//! Run with `cargo run -p aiokit-examples --example messages`. One time unit is 100 ms here (the
//! tutorials sleep whole seconds).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use aiokit::TaskGroup;
use aiokit::spawn::SpawnFuture;

const UNIT: Duration = Duration::from_millis(100);

fn units(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() / UNIT.as_secs_f64()
}

/// asyncio: `async def send_message(msg, delay): await asyncio.sleep(delay); print(msg)`
async fn send_message(msg: &str, delay: u32) -> String {
    tokio::time::sleep(UNIT * delay).await;
    println!("  sent: {msg}");
    format!("{msg} (after {delay})")
}

const MESSAGES: [(&str, u32); 3] = [("hello", 1), ("world", 2), ("bye", 1)];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("== awaited one by one ==");
    let start = Instant::now();
    for (msg, delay) in MESSAGES {
        send_message(msg, delay).await;
    }
    println!(
        "took {:.1} units (about 4: one after the other)\n",
        units(start)
    );

    println!("== as tasks (asyncio.create_task) ==");
    let start = Instant::now();
    // Any executor can run aiokit tasks; here a closure hands them to tokio.
    let spawner = |fut: SpawnFuture| drop(tokio::spawn(fut));
    let tasks: Vec<_> = MESSAGES
        .iter()
        .map(|&(msg, delay)| aiokit::spawn_task(&spawner, send_message(msg, delay)))
        .collect();
    for task in tasks {
        task.await.expect("not cancelled");
    }
    println!("took {:.1} units (about 2: the longest)\n", units(start));

    println!("== in a TaskGroup ==");
    let start = Instant::now();
    // asyncio: async with asyncio.TaskGroup() as tg: tg.create_task(send_message(...))
    let handles = TaskGroup::run(async |tg| {
        let handles: Vec<_> = MESSAGES
            .iter()
            .map(|&(msg, delay)| {
                tg.create_task(async move { Ok::<_, Infallible>(send_message(msg, delay).await) })
            })
            .collect();
        Ok(handles)
    })
    .await
    .expect("no message fails");
    let results: Vec<_> = handles
        .iter()
        .map(|h| h.result().unwrap().clone())
        .collect();
    println!("results: {results:?}");
    println!(
        "took {:.1} units (about 2: every child ran at once)\n",
        units(start)
    );

    println!("== as_completed: each message as soon as it is sent ==");
    let start = Instant::now();
    // asyncio: for coro in asyncio.as_completed([...]): print(await coro)
    let mut sent = aiokit::as_completed(MESSAGES.map(|(msg, delay)| send_message(msg, delay)));
    while let Some(message) = sent.next().await {
        println!("  got {message} at {:.1} units", units(start));
    }
    println!("took {:.1} units (about 2)", units(start));
}
