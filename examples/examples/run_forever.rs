//! The tutorial's `run_forever` program: three `get_reddit_top` coroutines scheduled with
//! `asyncio.ensure_future`, `loop.run_forever()`, and a SIGINT handler that stops the loop.
//!
//! Run with `cargo run -p aiokit-examples --example run_forever` and press Ctrl+C.
//!
//! Where the port differs: nothing is fetched from the network; `get_json` sleeps a few
//! milliseconds and returns canned posts, so the subreddits finish in a fixed order here
//! (the tutorial's order varies with the network). The SIGINT handler is a task waiting on
//! async-signal's `Signals` stream (Ctrl+C on Windows) that calls `loop.stop()`, instead of a
//! `signal.signal` handler calling `sys.exit`. So that it can run unattended, the program
//! also stops itself 500 ms after the last subreddit is done; its test stops it then too,
//! without sending itself a signal.

use std::future::Future;
use std::time::Duration;

use aiokit::event_loop::EventLoopError;
use aiokit::{EventLoop, Task};
use aiokit_examples::Transcript;
use futures::StreamExt;

/// One post: score, title, link.
type Post = (u32, &'static str, &'static str);

/// The canned top posts of each subreddit, and how many milliseconds "fetching" them takes.
const POSTS: [(&str, u64, [Post; 2]); 3] = [
    (
        "python",
        10,
        [
            (
                46,
                "Python async/await Tutorial",
                "http://example.invalid/1",
            ),
            (
                16,
                "Using game theory (and Python)",
                "http://example.invalid/2",
            ),
        ],
    ),
    (
        "programming",
        30,
        [
            (
                1752,
                "684.8 TB of data is up for grabs",
                "http://example.invalid/3",
            ),
            (
                773,
                "Instagram's Million Dollar Bug?",
                "http://example.invalid/4",
            ),
        ],
    ),
    (
        "compsci",
        20,
        [
            (
                71,
                "The Semantics of Version Control",
                "http://example.invalid/5",
            ),
            (
                25,
                "Favorite non-textbook CS books",
                "http://example.invalid/6",
            ),
        ],
    ),
];

async fn get_json(subreddit: &str) -> Vec<Post> {
    let (_, delay_ms, posts) = POSTS
        .iter()
        .find(|(name, _, _)| *name == subreddit)
        .expect("a known subreddit");
    aiokit::sleep(Duration::from_millis(*delay_ms)).await;
    posts.to_vec()
}

async fn get_reddit_top(out: Transcript, subreddit: &'static str) {
    for (score, title, link) in get_json(subreddit).await {
        out.say(format!("{score}: {title} ({link})"));
    }
    out.say(format!("DONE: {subreddit}\n"));
}

/// Schedules the three coroutines and a task that stops the loop once `stop_signal` fires,
/// then runs the loop forever.
fn run_forever<S>(out: &Transcript, stop_signal: S) -> Result<(), EventLoopError>
where
    S: FnOnce(Vec<Task<()>>) -> std::pin::Pin<Box<dyn Future<Output = &'static str>>>,
{
    let lp = EventLoop::new();
    let tops: Vec<Task<()>> = ["python", "programming", "compsci"]
        .into_iter()
        .map(|subreddit| lp.create_task(get_reddit_top(out.clone(), subreddit)))
        .collect();
    let stopping = stop_signal(tops);
    let out2 = out.clone();
    let stopper = lp.clone();
    lp.create_task(async move {
        let why = stopping.await;
        out2.say(format!("Stopping the loop: {why}"));
        stopper.stop();
    });
    lp.run_forever()?;
    lp.close()
}

fn main() -> Result<(), EventLoopError> {
    run_forever(&Transcript::new(), |tops| {
        Box::pin(async move {
            let ctrl_c = async {
                match async_signal::Signals::new([async_signal::Signal::Int]) {
                    Ok(mut signals) => {
                        signals.next().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
                "Ctrl+C"
            };
            let unattended = async {
                aiokit::gather(tops).await;
                aiokit::sleep(Duration::from_millis(500)).await;
                "no Ctrl+C within 500 ms"
            };
            let (why, _, _) = futures::future::select_all([
                Box::pin(ctrl_c) as std::pin::Pin<Box<dyn Future<Output = &'static str>>>,
                Box::pin(unattended),
            ])
            .await;
            why
        })
    })
}

#[test]
fn prints_each_subreddit_then_stops_on_the_signal() {
    let out = Transcript::new();
    run_forever(&out, |tops| {
        Box::pin(async move {
            aiokit::gather(tops).await;
            "all done"
        })
    })
    .unwrap();
    let lines = out.lines();
    // Each subreddit's posts, then its DONE line; the stop comes last.
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[9], "Stopping the loop: all done");
    let mut groups: Vec<&[String]> = lines[..9].chunks(3).collect();
    groups.sort_by_key(|g| g[2].clone());
    assert_eq!(groups[0][2], "DONE: compsci\n");
    assert_eq!(groups[1][2], "DONE: programming\n");
    assert_eq!(groups[2][2], "DONE: python\n");
    assert!(groups[2][0].starts_with("46: Python async/await Tutorial"));
    assert!(groups[1][1].starts_with("773: "));
}
