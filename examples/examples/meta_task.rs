//! The tutorial's `asyncio.gather` programs: `meta_task = asyncio.gather(make_tea('chamomile'),
//! make_tea('green'), make_tea('herbal'))` with `meta_task.done()` before and after
//! `loop.run_until_complete(meta_task)`, then `mix` added as a done-callback to
//! `asyncio.gather(make_tea('herbal'), make_tea('green'))`.
//!
//! Run with `cargo run -p aiokit-examples --example meta_task`.
//!
//! Where the port differs: `asyncio.gather(...)` is a Future that is scheduled at once; here the
//! gather is made a task on the loop with `EventLoop::create_task(aiokit::gather(..))`, which is
//! what has `done()` and `add_done_callback`. The tutorial's transcript of the `mix` program
//! prints `Mixing the green tea and herbal tea together.` and `['green tea', 'herbal tea']`,
//! which no asyncio prints for `gather(make_tea('herbal'), make_tea('green'))`: results come
//! in argument order, so this port prints (as CPython 3.11 does) `Mixing the herbal tea and
//! green tea together.` and `['herbal tea', 'green tea']`. The order in which the teas start
//! is left open by asyncio (the tutorial's Python started them in another order than CPython
//! 3.11 does); the test checks those lines as a set.

use aiokit::event_loop::EventLoopError;
use aiokit::{EventLoop, Task, gather, partial};
use aiokit_examples::Transcript;

#[aiokit::coroutine]
fn make_tea(out: Transcript, variety: &'static str) -> String {
    out.say(format!("Now making {variety} tea."));
    format!("{variety} tea")
}

fn mix(out: Transcript, future: &Task<Vec<String>>) {
    out.say(format!(
        "Mixing the {} together.",
        future.result().unwrap().join(" and ")
    ));
}

/// Python's repr of a list of strings.
fn repr(teas: &[String]) -> String {
    let items: Vec<String> = teas.iter().map(|t| format!("'{t}'")).collect();
    format!("[{}]", items.join(", "))
}

fn python_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn meta_task(out: &Transcript) -> Result<(), EventLoopError> {
    let lp = EventLoop::new();

    // meta_task = asyncio.gather(make_tea('chamomile'), make_tea('green'), make_tea('herbal'))
    let meta_task = lp.create_task(gather([
        make_tea(out.clone(), "chamomile"),
        make_tea(out.clone(), "green"),
        make_tea(out.clone(), "herbal"),
    ]));
    out.say(python_bool(meta_task.done()));
    let teas = lp
        .run_until_complete(meta_task.clone())?
        .expect("not cancelled");
    out.say(repr(&teas));
    out.say(python_bool(meta_task.done()));

    // meta_task = asyncio.gather(make_tea('herbal'), make_tea('green'))
    // meta_task.add_done_callback(mix)
    let meta_task = lp.create_task(gather([
        make_tea(out.clone(), "herbal"),
        make_tea(out.clone(), "green"),
    ]));
    meta_task.add_done_callback(partial!(mix, out.clone()));
    let teas = lp.run_until_complete(meta_task)?.expect("not cancelled");
    out.say(repr(&teas));

    lp.close()
}

fn main() -> Result<(), EventLoopError> {
    meta_task(&Transcript::new())
}

#[test]
fn gather_returns_results_in_argument_order_and_its_callback_runs_once_all_are_done() {
    use std::collections::BTreeSet;

    let out = Transcript::new();
    meta_task(&out).unwrap();
    let lines = out.lines();
    let set = |lines: &[String]| lines.iter().cloned().collect::<BTreeSet<_>>();
    let expected = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0], "False");
    assert_eq!(
        set(&lines[1..4]),
        expected(&[
            "Now making chamomile tea.",
            "Now making green tea.",
            "Now making herbal tea."
        ])
    );
    assert_eq!(lines[4], "['chamomile tea', 'green tea', 'herbal tea']");
    assert_eq!(lines[5], "True");
    assert_eq!(
        set(&lines[6..8]),
        expected(&["Now making herbal tea.", "Now making green tea."])
    );
    assert_eq!(lines[8], "Mixing the herbal tea and green tea together.");
    assert_eq!(lines[9], "['herbal tea', 'green tea']");
}
