//! The queue-of-workers program of the asyncio docs (`asyncio.Queue`): three workers take
//! jobs from a shared queue; when the queue is drained the workers are cancelled and gathered.
//!
//! Run with `cargo run -p aiokit-examples --example workers`. One time unit is 10 ms here.
//!
//! asyncio original, in short:
//!
//! ```python
//! async def worker(name, queue):
//!     while True:
//!         sleep_for = await queue.get()
//!         await asyncio.sleep(sleep_for)
//!         queue.task_done()
//!
//! tasks = [asyncio.create_task(worker(f'worker-{i}', queue)) for i in range(3)]
//! await queue.join()
//! for task in tasks:
//!     task.cancel()
//! await asyncio.gather(*tasks, return_exceptions=True)
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use aiokit::{SpawnFuture, Task};
use tokio::sync::{Mutex, Notify, mpsc};

const UNIT: Duration = Duration::from_millis(10);

/// The queue: jobs in, and a count of unfinished jobs so `join` can wait for zero.
struct Queue {
    jobs: Mutex<mpsc::UnboundedReceiver<u32>>,
    unfinished: std::sync::Mutex<usize>,
    all_done: Notify,
}

impl Queue {
    async fn get(&self) -> Option<u32> {
        self.jobs.lock().await.recv().await
    }

    fn task_done(&self) {
        let mut unfinished = self.unfinished.lock().unwrap();
        *unfinished -= 1;
        if *unfinished == 0 {
            self.all_done.notify_waiters();
        }
    }

    async fn join(&self) {
        loop {
            let notified = self.all_done.notified();
            if *self.unfinished.lock().unwrap() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Runs jobs until cancelled; returns how many units it slept (never, in practice: workers
/// are cancelled, as in the asyncio program).
async fn worker(name: String, queue: Arc<Queue>) -> u32 {
    let mut slept = 0;
    while let Some(units) = queue.get().await {
        tokio::time::sleep(UNIT * units).await;
        slept += units;
        queue.task_done();
        println!("  {name} has slept for {units} units");
    }
    slept
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (tx, rx) = mpsc::unbounded_channel();
    // Deterministic "random" jobs of 1 to 9 units.
    let jobs: Vec<u32> = (0..20u32).map(|i| (i * 7 + 3) % 9 + 1).collect();
    let total: u32 = jobs.iter().sum();
    let queue = Arc::new(Queue {
        jobs: Mutex::new(rx),
        unfinished: std::sync::Mutex::new(jobs.len()),
        all_done: Notify::new(),
    });
    for units in jobs {
        tx.send(units).expect("the queue is open");
    }

    let start = Instant::now();
    let spawner = |fut: SpawnFuture| drop(tokio::spawn(fut));
    let tasks: Vec<Task<u32>> = (0..3)
        .map(|i| aiokit::spawn_task(&spawner, worker(format!("worker-{i}"), queue.clone())))
        .collect();

    queue.join().await;
    let elapsed = start.elapsed().as_secs_f64() / UNIT.as_secs_f64();

    for task in &tasks {
        task.cancel();
    }
    // asyncio: await asyncio.gather(*tasks, return_exceptions=True): every outcome, in order.
    let outcomes = aiokit::gather(tasks).await;
    assert!(
        outcomes.iter().all(Result::is_err),
        "every worker was cancelled"
    );
    println!("outcomes: {outcomes:?}");
    println!("3 workers slept in parallel for {elapsed:.1} units");
    println!("total expected sleep time: {total} units");
}
