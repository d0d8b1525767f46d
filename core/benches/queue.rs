//! Queue put/get throughput: `aiokit::Queue` against async-channel, tokio's mpsc and CPython's
//! `asyncio.Queue` (when `python3` is on the PATH), on the same machine.
//!
//! Every Rust contender runs its producers and consumers as tasks of one futures `LocalPool`
//! (one thread, as asyncio's loop), over a queue bounded at 1024 items, and moves `ITEMS`
//! `u64`s. Shapes: one producer and one consumer, and four of each (tokio's mpsc has a single
//! receiver: its 4+4 row is four producers and one consumer). The figure is nanoseconds per
//! item, the median of the runs, in CPU time of the running thread (Linux's
//! `/proc/thread-self/schedstat`, and `time.thread_time_ns()` in Python) so that other load on
//! the machine does not count; wall-clock time where that file does not exist. The last
//! columns compare with async-channel (target: at most 1.3x) and with CPython (target: at least
//! 20x faster).
//!
//! `cargo bench -p aiokit --bench queue` (add `-- --quick` for a smoke run: few items, one
//! run per cell).

use std::future::Future;
use std::process::Command;
use std::time::Instant;

/// CPU time of this thread in nanoseconds, where Linux reports it.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Nanoseconds spent in `f`: CPU time of this thread if available, else wall-clock time.
fn measure(f: impl FnOnce()) -> f64 {
    let cpu = thread_cpu_ns();
    let wall = Instant::now();
    f();
    match (cpu, thread_cpu_ns()) {
        (Some(start), Some(end)) => (end - start) as f64,
        _ => wall.elapsed().as_nanos() as f64,
    }
}

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

const CAPACITY: usize = 1024;

/// Runs `producers` + `consumers` tasks on a fresh LocalPool; returns ns per item.
fn run_tasks<P, C>(items: usize, producers: Vec<P>, consumers: Vec<C>) -> f64
where
    P: Future<Output = ()> + 'static,
    C: Future<Output = ()> + 'static,
{
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let ns = measure(|| {
        for producer in producers {
            spawner.spawn_local(producer).unwrap();
        }
        for consumer in consumers {
            spawner.spawn_local(consumer).unwrap();
        }
        pool.run();
    });
    ns / items as f64
}

fn aiokit_queue(items: usize, producers: usize, consumers: usize) -> f64 {
    let queue = aiokit::Queue::new(CAPACITY);
    let per_producer = items / producers;
    let per_consumer = items / consumers;
    let p = (0..producers)
        .map(|_| {
            let queue = queue.clone();
            async move {
                for i in 0..per_producer as u64 {
                    queue.put(i).await.unwrap();
                }
            }
        })
        .collect();
    let c = (0..consumers)
        .map(|_| {
            let queue = queue.clone();
            async move {
                for _ in 0..per_consumer {
                    std::hint::black_box(queue.get().await.unwrap());
                }
            }
        })
        .collect();
    run_tasks(items, p, c)
}

fn async_channel(items: usize, producers: usize, consumers: usize) -> f64 {
    let (tx, rx) = async_channel::bounded(CAPACITY);
    let per_producer = items / producers;
    let per_consumer = items / consumers;
    let p = (0..producers)
        .map(|_| {
            let tx = tx.clone();
            async move {
                for i in 0..per_producer as u64 {
                    tx.send(i).await.unwrap();
                }
            }
        })
        .collect();
    let c = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            async move {
                for _ in 0..per_consumer {
                    std::hint::black_box(rx.recv().await.unwrap());
                }
            }
        })
        .collect();
    run_tasks(items, p, c)
}

fn tokio_mpsc(items: usize, producers: usize) -> f64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel(CAPACITY);
    let per_producer = items / producers;
    let p = (0..producers)
        .map(|_| {
            let tx = tx.clone();
            async move {
                for i in 0..per_producer as u64 {
                    tx.send(i).await.unwrap();
                }
            }
        })
        .collect();
    drop(tx);
    let c = vec![async move {
        for _ in 0..per_producer * producers {
            std::hint::black_box(rx.recv().await.unwrap());
        }
    }];
    run_tasks(items, p, c)
}

/// CPython's asyncio.Queue, through core/benches/queue_asyncio.py; None without python3.
fn cpython(items: usize, producers: usize, consumers: usize) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/queue_asyncio.py");
    let output = Command::new("python3")
        .arg(script)
        .args([items, producers, consumers].map(|n| n.to_string()))
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (items, runs, py_items) = if quick {
        (4_000, 1, 2_000)
    } else {
        (1_000_000, 7, 100_000)
    };
    let clock = if thread_cpu_ns().is_some() {
        "thread CPU time"
    } else {
        "wall-clock time"
    };
    println!(
        "queue put/get throughput, bounded at {CAPACITY}, {items} items, median of {runs} runs \
         ({clock}; CPython: best of 3 runs of {py_items} items)"
    );
    println!(
        "{:<8} {:>14} {:>14} {:>14} {:>14} {:>10} {:>10}",
        "shape", "aiokit ns/item", "async-channel", "tokio mpsc", "CPython", "vs a-c", "vs CPython"
    );
    for (producers, consumers) in [(1, 1), (4, 4)] {
        let mut ours = Vec::new();
        let mut channel = Vec::new();
        let mut tokio = Vec::new();
        // Interleaved, so a burst of load on the machine hits every contender alike.
        for _ in 0..runs {
            ours.push(aiokit_queue(items, producers, consumers));
            channel.push(async_channel(items, producers, consumers));
            tokio.push(tokio_mpsc(items, producers));
        }
        let (ours, channel, tokio) = (median(ours), median(channel), median(tokio));
        let python = cpython(py_items, producers, consumers);
        let shape = format!("{producers}+{consumers}");
        let python_cell = python.map_or("n/a".to_string(), |ns| format!("{ns:.1}"));
        let speedup = python.map_or("n/a".to_string(), |ns| format!("{:.1}x", ns / ours));
        println!(
            "{shape:<8} {ours:>14.1} {channel:>14.1} {tokio:>14.1} {python_cell:>14} {:>9.2}x {speedup:>10}",
            ours / channel
        );
    }
    println!("(tokio's mpsc has one receiver: its 4+4 cell is 4 producers and 1 consumer)");
}
