//! The tutorial's done-callback programs: `confirm_tea` added to the task of
//! `asyncio.async(make_tea('green'))`, and `functools.partial(add_ingredient, 'honey')` added
//! to the task of `make_tea('herbal')`, each run with `loop.run_until_complete(task)`.
//!
//! Run with `cargo run -p aiokit-examples --example confirm_tea`.
//!
//! Where the port differs: `asyncio.async` (today `ensure_future`) is `EventLoop::create_task`;
//! `print` writes through a [`Transcript`], which the callbacks get as a first argument bound
//! with `partial!` (the tutorial's `confirm_tea(future)` prints to the global stdout); the
//! REPL's echo of the result (`'green tea'`) is printed by the program.

use aiokit::event_loop::EventLoopError;
use aiokit::{EventLoop, Task, partial};
use aiokit_examples::Transcript;

#[aiokit::coroutine]
fn make_tea(out: Transcript, variety: &'static str) -> String {
    out.say(format!("Now making {variety} tea."));
    format!("{variety} tea")
}

fn confirm_tea(out: Transcript, future: &Task<String>) {
    out.say(format!("The {} is made.", future.result().unwrap()));
}

fn add_ingredient(out: Transcript, ingredient: &str, future: &Task<String>) {
    out.say(format!(
        "Now adding {ingredient} to the {}.",
        future.result().unwrap()
    ));
}

fn confirm(out: &Transcript) -> Result<(), EventLoopError> {
    let lp = EventLoop::new();

    // task = asyncio.async(make_tea('green'))
    // task.add_done_callback(confirm_tea)
    // loop.run_until_complete(task)
    let task = lp.create_task(make_tea(out.clone(), "green"));
    task.add_done_callback(partial!(confirm_tea, out.clone()));
    let tea = lp.run_until_complete(task)?.expect("not cancelled");
    out.say(format!("'{tea}'"));

    // task = asyncio.async(make_tea('herbal'))
    // task.add_done_callback(functools.partial(add_ingredient, 'honey'))
    // loop.run_until_complete(task)
    let task = lp.create_task(make_tea(out.clone(), "herbal"));
    task.add_done_callback(partial!(add_ingredient, out.clone(), "honey"));
    let tea = lp.run_until_complete(task)?.expect("not cancelled");
    out.say(format!("'{tea}'"));

    lp.close()
}

fn main() -> Result<(), EventLoopError> {
    confirm(&Transcript::new())
}

#[test]
fn done_callbacks_run_after_the_task_and_before_run_until_complete_returns() {
    let out = Transcript::new();
    confirm(&out).unwrap();
    assert_eq!(
        out.lines(),
        [
            "Now making green tea.",
            "The green tea is made.",
            "'green tea'",
            "Now making herbal tea.",
            "Now adding honey to the herbal tea.",
            "'herbal tea'",
        ]
    );
}
