//! The `asyncio.Queue` walk-through of the asyncio tutorials, step by step, with the REPL's
//! answers printed as it prints them.
//!
//! Run with `cargo run -p aiokit-examples --example queue`; `cargo test` checks the transcript.
//!
//! asyncio original, in short:
//!
//! ```python
//! >>> queue = asyncio.Queue()
//! >>> queue.put_nowait('foo')
//! >>> queue.qsize()
//! 1
//! >>> queue.get_nowait()
//! 'foo'
//! >>> queue.get_nowait()
//! asyncio.queues.QueueEmpty
//! >>> queue.put_nowait('foo')
//! >>> loop.run_until_complete(queue.get())
//! 'foo'
//! >>> task = asyncio.ensure_future(queue.get())
//! >>> loop.run_until_complete(asyncio.wait([task], timeout=1))
//! (set(), {Task(<get>)<PENDING>})
//! >>> queue.put_nowait('bar')
//! >>> task.add_done_callback(functools.partial(stop, loop))
//! >>> loop.run_forever()
//! >>> task.result()
//! 'bar'
//! >>> queue = asyncio.Queue(maxsize=5)   # put_nowait beyond 5 items: QueueFull
//! ```
//!
//! The loop here is futures' `LocalPool`: `run_until(fut)` is `run_until_complete`, and the
//! done-callback that stopped the loop sends on a channel that `run_until` waits for. When
//! aiokit's own event loop lands, that part becomes `loop.stop()` in the callback and
//! `loop.run_forever()`, as in the original. The `wait` timeout is 100 ms instead of 1 s.

use std::time::Duration;

use aiokit::queue::{GetNowaitError, PutNowaitError};
use aiokit::{Queue, QueueFull, ReturnWhen, Task};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// The walk-through; returns the lines it prints.
fn transcript() -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |line: String| {
        println!("{line}");
        out.push(line);
    };
    let mut pool = LocalPool::new();
    // aiokit's spawner for the pool: a closure (the `futures-executor` feature has an impl for
    // `LocalSpawner` itself).
    let spawner = pool.spawner();
    let spawn = move |fut: aiokit::spawn::LocalSpawnFuture| {
        spawner.spawn_local(fut).expect("the pool is running")
    };

    // A plain FIFO queue, no loop needed.
    let queue = Queue::new(0);
    queue.put_nowait("foo").unwrap();
    say(format!("qsize() -> {}", queue.qsize()));
    say(format!("get_nowait() -> {:?}", queue.get_nowait().unwrap()));
    say(format!("qsize() -> {}", queue.qsize()));
    match queue.get_nowait() {
        Err(GetNowaitError::Empty(err)) => say(format!("get_nowait() -> QueueEmpty ({err})")),
        other => say(format!("get_nowait() -> unexpected {other:?}")),
    }

    // get() with an item already there returns at once.
    queue.put_nowait("foo").unwrap();
    let item = pool.run_until(queue.get()).unwrap();
    say(format!("run_until_complete(queue.get()) -> {item:?}"));

    // get() on an empty queue waits: a task under wait(timeout) is still pending after it.
    let getter = {
        let queue = queue.clone();
        async move { queue.get().await.unwrap() }
    };
    let task: Task<&str> = aiokit::spawn_local_task(&spawn, getter).into_task();
    let (done, pending) = pool.run_until(
        aiokit::wait([aiokit::shield(&task)], ReturnWhen::AllCompleted)
            .timeout(Duration::from_millis(100)),
    );
    say(format!(
        "wait([task], timeout) -> {} done, {} pending",
        done.len(),
        pending.len()
    ));
    drop(pending); // the shield only: the task goes on
    say(format!("task.done() -> {}", task.done()));

    // An item arrives; a done-callback stops the "loop".
    queue.put_nowait("bar").unwrap();
    let (stop, stopped) = futures::channel::oneshot::channel::<()>();
    let stop = std::sync::Mutex::new(Some(stop));
    task.add_done_callback(move |_: &Task<&str>| {
        if let Some(stop) = stop.lock().unwrap().take() {
            let _ = stop.send(());
        }
    });
    pool.run_until(stopped).unwrap();
    say(format!("task.done() -> {}", task.done()));
    say(format!("task.result() -> {:?}", task.result().unwrap()));

    // A bounded queue.
    let queue = Queue::new(5);
    for i in 0..5 {
        queue.put_nowait(i).unwrap();
    }
    say(format!(
        "maxsize {} qsize {} full() -> {}",
        queue.maxsize(),
        queue.qsize(),
        queue.full()
    ));
    match queue.put_nowait(5) {
        Err(PutNowaitError::Full(QueueFull(item))) => say(format!(
            "put_nowait(5) -> QueueFull, item {item} handed back"
        )),
        other => say(format!("put_nowait(5) -> unexpected {other:?}")),
    }
    // put() waits until a get makes room, then (and only then) puts.
    let putter = aiokit::spawn_local_task(&spawn, {
        let queue = queue.clone();
        async move { queue.put(5).await.unwrap() }
    });
    pool.run_until_stalled();
    say(format!("put(5) waiting: done() -> {}", putter.done()));
    let first = queue.get_nowait().unwrap();
    pool.run_until_stalled();
    say(format!(
        "get_nowait() -> {first}; put(5) done() -> {}; qsize {}",
        putter.done(),
        queue.qsize()
    ));
    out
}

fn main() {
    transcript();
}

#[cfg(test)]
mod tests {
    #[test]
    fn prints_the_tutorial_transcript() {
        assert_eq!(
            super::transcript(),
            [
                "qsize() -> 1",
                "get_nowait() -> \"foo\"",
                "qsize() -> 0",
                "get_nowait() -> QueueEmpty (the queue is empty)",
                "run_until_complete(queue.get()) -> \"foo\"",
                "wait([task], timeout) -> 0 done, 1 pending",
                "task.done() -> false",
                "task.done() -> true",
                "task.result() -> \"bar\"",
                "maxsize 5 qsize 5 full() -> true",
                "put_nowait(5) -> QueueFull, item 5 handed back",
                "put(5) waiting: done() -> false",
                "get_nowait() -> 0; put(5) done() -> true; qsize 5",
            ]
        );
    }
}
