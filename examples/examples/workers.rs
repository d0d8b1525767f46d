//! The queue-of-workers program of the asyncio docs (`asyncio.Queue`): three workers take
//! jobs from a shared queue and mark each done; `join` waits for all of them, then the workers
//! are cancelled and gathered.
//!
//! Run with `cargo run -p aiokit-examples --example workers`. One time unit is 10 ms here;
//! the jobs are a fixed "random" list so that the output can be checked. `cargo test` runs the
//! program on tokio's paused clock, where the schedule (and so every printed line) is exact.
//!
//! asyncio original, in short:
//!
//! ```python
//! async def worker(name, queue):
//!     while True:
//!         sleep_for = await queue.get()
//!         await asyncio.sleep(sleep_for)
//!         queue.task_done()
//!         print(f'{name} has slept for {sleep_for:.2f} seconds')
//!
//! queue = asyncio.Queue()
//! for _ in range(20):
//!     queue.put_nowait(random.uniform(0.05, 1.0))
//! tasks = [asyncio.create_task(worker(f'worker-{i}', queue)) for i in range(3)]
//! await queue.join()
//! for task in tasks:
//!     task.cancel()
//! await asyncio.gather(*tasks, return_exceptions=True)
//! ```

use std::time::Duration;

use aiokit::spawn::SpawnFuture;
use aiokit::{Queue, Task};
use tokio::time::Instant;

const UNIT: Duration = Duration::from_millis(10);

/// Takes jobs until cancelled (the loop ends only if the queue is shut down, which this
/// program never does: its workers are cancelled, as in the asyncio program).
async fn worker(name: String, queue: Queue<u32>, say: impl Fn(String)) {
    while let Ok(units) = queue.get().await {
        tokio::time::sleep(UNIT * units).await;
        queue.task_done().expect("one task_done per get");
        say(format!("{name} has slept for {units} units"));
    }
}

/// The program; `say` prints a line (and the test collects it).
async fn program(say: impl Fn(String) + Clone + Send + Sync + 'static) {
    let queue = Queue::new(0);
    // Deterministic "random" jobs of 1 to 9 units.
    let jobs: Vec<u32> = (0..20u32).map(|i| (i * 7 + 3) % 9 + 1).collect();
    let total: u32 = jobs.iter().sum();
    for units in jobs {
        queue
            .put_nowait(units)
            .expect("an unbounded queue is never full");
    }

    let spawner = |fut: SpawnFuture| drop(tokio::spawn(fut));
    let tasks: Vec<Task<()>> = (0..3)
        .map(|i| {
            aiokit::spawn_task(
                &spawner,
                worker(format!("worker-{i}"), queue.clone(), say.clone()),
            )
        })
        .collect();

    let start = Instant::now();
    queue.join().await;
    let elapsed = start.elapsed().as_secs_f64() / UNIT.as_secs_f64();

    for task in &tasks {
        task.cancel();
    }
    // asyncio: await asyncio.gather(*tasks, return_exceptions=True): every outcome, in order.
    let outcomes = aiokit::gather(tasks).await;
    let cancelled = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    say("====".to_string());
    say(format!("{cancelled} workers cancelled and gathered"));
    say(format!(
        "3 workers slept in parallel for {elapsed:.0} units"
    ));
    say(format!("total expected sleep time: {total} units"));
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    program(|line| println!("{line}")).await;
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    #[test]
    fn prints_the_program_output() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let collected = lines.clone();
        runtime.block_on(super::program(move |line| {
            collected.lock().unwrap().push(line)
        }));
        let lines = lines.lock().unwrap().clone();

        // Every job ran once, in the queue's order of handing them out.
        let jobs: Vec<u32> = (0..20u32).map(|i| (i * 7 + 3) % 9 + 1).collect();
        let mut slept: Vec<u32> = lines[..20]
            .iter()
            .map(|line| line.rsplit(' ').nth(1).unwrap().parse().unwrap())
            .collect();
        slept.sort_unstable();
        let mut expected = jobs.clone();
        expected.sort_unstable();
        assert_eq!(slept, expected);
        assert!(lines[..20].iter().all(|line| line.starts_with("worker-")));
        // Greedy schedule of the jobs over three workers, on the paused clock.
        let mut free_at = [0u32; 3];
        for units in &jobs {
            let worker = (0..3).min_by_key(|&w| (free_at[w], w)).unwrap();
            free_at[worker] += units;
        }
        let makespan = *free_at.iter().max().unwrap();
        assert_eq!(
            lines[20..],
            [
                "====".to_string(),
                "3 workers cancelled and gathered".to_string(),
                format!("3 workers slept in parallel for {makespan} units"),
                "total expected sleep time: 96 units".to_string(),
            ]
        );
    }
}
