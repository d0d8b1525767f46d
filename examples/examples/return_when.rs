//! The tutorial's `asyncio.wait` programs, each run with `loop.run_until_complete(coro)`:
//! `wait([make_tea('chamomile'), make_tea('herbal')])`, `wait([sleep(5), sleep(1)],
//! timeout=3)`, `wait([sleep(3), sleep(2), sleep(1)], return_when=FIRST_COMPLETED)`,
//! `wait([sleep(1), raise_ex_after(2), sleep(3)], return_when=FIRST_EXCEPTION)`, and
//! `wait([sleep(1), sleep(2)], return_when=FIRST_EXCEPTION)` where nothing raises.
//!
//! Run with `cargo run -p aiokit-examples --example return_when`.
//!
//! Where the port differs: one tutorial second is 10 ms here. The REPL's echo of the
//! `(done, pending)` tuple is printed by the program, in the tutorial's notation
//! (`Task(<sleep>)<result=None>`), with each set's tasks in argument order (a Python set
//! prints in no set order). The children are the futures themselves, not tasks: `wait` runs
//! them, and the pending ones are dropped (cancelled) with the `pending` set, where asyncio
//! leaves its tasks on the loop. The FIRST_EXCEPTION program's children are of two types,
//! boxed to one with `aiokit::boxed!` (which keeps the name of the coroutine
//! `raise_ex_after`), and `sleep` returns `Ok(())` so that it can sit next to a child that
//! fails (FIRST_EXCEPTION needs outputs that can fail); `raise RuntimeError(..)` is an `Err`
//! whose repr is CPython 3.11's `RuntimeError('Raising an exception.')` (the tutorial's Python
//! printed a trailing comma). The tutorial's text names the keyword `return_from` once: it
//! means `return_when`.
//!
//! Which sleeps are done when a `timeout` or FIRST_COMPLETED returns depends on the clock: on
//! a busy machine more of them may be done, so the test checks what asyncio guarantees (the
//! earlier deadlines are done first), not the exact sets.

use std::fmt;
use std::time::Duration;

use aiokit::event_loop::EventLoopError;
use aiokit::{EventLoop, ReturnWhen, wait};
use aiokit_examples::Transcript;

/// One tutorial second.
const SECOND: Duration = Duration::from_millis(10);

#[aiokit::coroutine]
fn make_tea(out: Transcript, variety: &'static str) -> String {
    out.say(format!("Now making {variety} tea."));
    format!("{variety} tea")
}

/// asyncio's `RuntimeError`.
#[derive(Debug)]
struct RuntimeError(&'static str);

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuntimeError('{}')", self.0)
    }
}

async fn sleep(seconds: u32) -> Result<(), RuntimeError> {
    aiokit::sleep(SECOND * seconds).await;
    Ok(())
}

#[aiokit::coroutine]
async fn raise_ex_after(seconds: u32) -> Result<(), RuntimeError> {
    aiokit::sleep(SECOND * seconds).await;
    Err(RuntimeError("Raising an exception."))
}

/// The REPL's echo of `(done, pending)`: `({Task(<name>)<state>, ...}, set())`.
fn echo(done: &[(usize, String)], pending: &[usize], names: &[&str]) -> String {
    let set = |items: Vec<String>| {
        if items.is_empty() {
            "set()".to_string()
        } else {
            format!("{{{}}}", items.join(", "))
        }
    };
    let mut done = done.to_vec();
    done.sort();
    let done = done
        .iter()
        .map(|(i, state)| format!("Task(<{}>)<{state}>", names[*i]))
        .collect();
    let pending = pending
        .iter()
        .map(|&i| format!("Task(<{}>)<PENDING>", names[i]))
        .collect();
    format!("({}, {})", set(done), set(pending))
}

fn state(output: &Result<(), RuntimeError>) -> String {
    match output {
        Ok(()) => "result=None".to_string(),
        Err(e) => format!("exception={e}"),
    }
}

/// What each program left done and pending, by argument index.
type Split = (Vec<usize>, Vec<usize>);

/// Echoes a `(done, pending)` of sleeps and returns their indices.
fn split(
    out: &Transcript,
    names: &[&str],
    done: &[aiokit::Done<Result<(), RuntimeError>>],
    pending: Vec<usize>,
) -> Split {
    let done: Vec<(usize, String)> = done.iter().map(|d| (d.index, state(&d.output))).collect();
    out.say(echo(&done, &pending, names));
    (done.into_iter().map(|(i, _)| i).collect(), pending)
}

fn return_when(out: &Transcript) -> Result<[Split; 4], EventLoopError> {
    let lp = EventLoop::new();

    // coro = asyncio.wait([make_tea('chamomile'), make_tea('herbal')])
    // loop.run_until_complete(coro)
    let coro = wait(
        [
            make_tea(out.clone(), "chamomile"),
            make_tea(out.clone(), "herbal"),
        ],
        ReturnWhen::AllCompleted,
    );
    let (done, pending) = lp.run_until_complete(coro)?;
    let done: Vec<(usize, String)> = done
        .iter()
        .map(|d| (d.index, format!("result='{}'", d.output)))
        .collect();
    out.say(echo(
        &done,
        &pending.indices().collect::<Vec<_>>(),
        &["make_tea"; 2],
    ));

    // coro = asyncio.wait([asyncio.sleep(5), asyncio.sleep(1)], timeout=3)
    let coro = wait([5, 1].map(sleep), ReturnWhen::AllCompleted).timeout(SECOND * 3);
    let (done, pending) = lp.run_until_complete(coro)?;
    let timeout = split(out, &["sleep"; 2], &done, pending.indices().collect());

    // coro = asyncio.wait([asyncio.sleep(3), asyncio.sleep(2), asyncio.sleep(1)],
    //                     return_when=asyncio.FIRST_COMPLETED)
    let coro = wait([3, 2, 1].map(sleep), ReturnWhen::FirstCompleted);
    let (done, pending) = lp.run_until_complete(coro)?;
    let first_completed = split(out, &["sleep"; 3], &done, pending.indices().collect());

    // coro = asyncio.wait([asyncio.sleep(1), raise_ex_after(2), asyncio.sleep(3)],
    //                     return_when=asyncio.FIRST_EXCEPTION)
    let children = [
        aiokit::boxed!(sleep(1)),
        aiokit::boxed!(raise_ex_after(2)),
        aiokit::boxed!(sleep(3)),
    ];
    // A coroutine keeps its name in the box; `sleep` here is a plain async fn.
    let names: Vec<&str> = children
        .iter()
        .map(|c| c.name().unwrap_or("sleep"))
        .collect();
    let coro = wait(children, ReturnWhen::FirstException);
    let (done, pending) = lp.run_until_complete(coro)?;
    let first_exception = split(out, &names, &done, pending.indices().collect());

    // coro = asyncio.wait([asyncio.sleep(1), asyncio.sleep(2)],
    //                     return_when=asyncio.FIRST_EXCEPTION)
    let coro = wait([1, 2].map(sleep), ReturnWhen::FirstException);
    let (done, pending) = lp.run_until_complete(coro)?;
    let no_exception = split(out, &["sleep"; 2], &done, pending.indices().collect());

    lp.close()?;
    Ok([timeout, first_completed, first_exception, no_exception])
}

fn main() -> Result<(), EventLoopError> {
    return_when(&Transcript::new()).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<usize>) -> Vec<usize> {
        v.sort();
        v
    }

    #[test]
    fn wait_sorts_children_into_done_and_pending() {
        let out = Transcript::new();
        let [timeout, first_completed, first_exception, no_exception] = return_when(&out).unwrap();
        let lines = out.lines();

        // ALL_COMPLETED: both teas made (in an order asyncio leaves open), both done.
        let mut made = lines[..2].to_vec();
        made.sort();
        assert_eq!(
            made,
            ["Now making chamomile tea.", "Now making herbal tea."]
        );
        assert_eq!(
            lines[2],
            "({Task(<make_tea>)<result='chamomile tea'>, \
             Task(<make_tea>)<result='herbal tea'>}, set())"
        );
        assert_eq!(lines.len(), 7);

        // timeout=3: the 5 s sleep is done only if the 1 s one is; every child is in one set.
        let (done, pending) = timeout;
        assert!(!done.contains(&0) || done.contains(&1), "{done:?}");
        assert_eq!(sorted([done, pending].concat()), [0, 1]);

        // FIRST_COMPLETED: the 1 s sleep (index 2) is done; a later deadline only with the
        // earlier ones.
        let (done, pending) = first_completed;
        assert!(done.contains(&2), "{done:?}");
        assert!(!done.contains(&0) || done.contains(&1), "{done:?}");
        assert_eq!(sorted([done, pending].concat()), [0, 1, 2]);

        // FIRST_EXCEPTION: the 1 s sleep and the raise are done when wait returns.
        let (done, pending) = first_exception;
        assert!(done.contains(&0) && done.contains(&1), "{done:?}");
        assert_eq!(sorted([done, pending].concat()), [0, 1, 2]);
        assert!(
            lines[5].contains(
                "Task(<raise_ex_after>)<exception=RuntimeError('Raising an exception.')>"
            )
        );

        // FIRST_EXCEPTION with no exception: it waits for all.
        assert_eq!(sorted(no_exception.0), [0, 1]);
        assert!(no_exception.1.is_empty());
        assert_eq!(
            lines[6],
            "({Task(<sleep>)<result=None>, Task(<sleep>)<result=None>}, set())"
        );
    }
}
