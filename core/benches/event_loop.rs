//! The event loop's workloads: `call_soon` throughput and `create_task` + await of N trivial
//! tasks, on aiokit's default (smol-rs) loop and its tokio loop, against the raw executors
//! (async-executor's `spawn` under async-io's `block_on`, tokio's `spawn` + `JoinHandle` on a
//! current-thread runtime) and CPython's asyncio (`loop.call_soon`, `gather` of N tasks,
//! measured by `asyncio_loop.py` on the same machine when `python3` exists).
//!
//! `cargo bench -p aiokit --bench event_loop` (rounds alternate between contestants; the
//! median of the rounds is printed, in ns of the thread's CPU time per callback or per task,
//! for Rust and Python alike); `-- --quick` runs one round at N = 1 000 as a smoke test,
//! `-- create_task` one workload, `-- "create_task/smol"` one contestant (for a profiler).

use std::cell::Cell;
use std::hint::black_box;
use std::process::Command;
use std::rc::Rc;

/// The CPU time this thread has used: the figure this bench reports, because on a shared
/// machine the wall clock also counts the time the bench waited for a core.
#[derive(Clone, Copy)]
struct Instant(u128);

impl Instant {
    #[cfg(unix)]
    fn now() -> Self {
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Instant(ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128)
    }

    /// Elsewhere the wall clock stands in.
    #[cfg(not(unix))]
    fn now() -> Self {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        Instant(
            START
                .get_or_init(std::time::Instant::now)
                .elapsed()
                .as_nanos(),
        )
    }

    fn elapsed(self) -> std::time::Duration {
        std::time::Duration::from_nanos((Instant::now().0 - self.0) as u64)
    }
}

use aiokit::EventLoop;

type Contestant = (&'static str, fn(u64) -> f64);

/// ns per callback: N callbacks through `call_soon`, then `stop`, run by `run_forever`.
fn call_soon_on(lp: &EventLoop, n: u64) -> f64 {
    let count = Rc::new(Cell::new(0u64));
    let start = Instant::now();
    for _ in 0..n {
        let count = count.clone();
        lp.call_soon(move || count.set(count.get() + 1)).unwrap();
    }
    lp.stop();
    lp.run_forever().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(count.get(), n);
    elapsed.as_nanos() as f64 / n as f64
}

/// ns per task: N trivial tasks created on the loop, then each awaited.
fn create_task_on(lp: &EventLoop, n: u64) -> f64 {
    let start = Instant::now();
    let sum = lp
        .run_until_complete(async move {
            let tasks: Vec<_> = (0..n)
                .map(|i| aiokit::create_task(async move { i }))
                .collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await.unwrap();
            }
            sum
        })
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(black_box(sum), n * (n - 1) / 2);
    elapsed.as_nanos() as f64 / n as f64
}

fn call_soon_smol(n: u64) -> f64 {
    call_soon_on(&EventLoop::smol(), n)
}

fn call_soon_tokio(n: u64) -> f64 {
    call_soon_on(&EventLoop::tokio(), n)
}

/// The peer of `call_soon` in Rust: a detached trivial tokio task per callback.
fn call_soon_tokio_spawn(n: u64) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let count = Rc::new(Cell::new(0u64));
    let start = Instant::now();
    for _ in 0..n {
        let count = count.clone();
        drop(local.spawn_local(async move { count.set(count.get() + 1) }));
    }
    rt.block_on(local);
    let elapsed = start.elapsed();
    assert_eq!(count.get(), n);
    elapsed.as_nanos() as f64 / n as f64
}

fn create_task_smol(n: u64) -> f64 {
    create_task_on(&EventLoop::smol(), n)
}

fn create_task_tokio(n: u64) -> f64 {
    create_task_on(&EventLoop::tokio(), n)
}

/// The default loop's raw executor: async-executor's `LocalExecutor::spawn` + await, under
/// async-io's `block_on`.
fn create_task_async_executor(n: u64) -> f64 {
    let ex = async_executor::LocalExecutor::new();
    let start = Instant::now();
    let sum = async_io::block_on(ex.run(async {
        let tasks: Vec<_> = (0..n).map(|i| ex.spawn(async move { i })).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await;
        }
        sum
    }));
    let elapsed = start.elapsed();
    assert_eq!(black_box(sum), n * (n - 1) / 2);
    elapsed.as_nanos() as f64 / n as f64
}

/// aiokit's `Task` handle without the loop: `spawn_local_task` on the same `LocalExecutor`
/// (what the loop's own layer adds is the difference to the smol loop).
fn create_task_spawn_local_task(n: u64) -> f64 {
    let ex = async_executor::LocalExecutor::new();
    let start = Instant::now();
    let sum = async_io::block_on(ex.run(async {
        let tasks: Vec<_> = (0..n)
            .map(|i| aiokit::spawn_local_task(&ex, async move { i }))
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    }));
    let elapsed = start.elapsed();
    assert_eq!(black_box(sum), n * (n - 1) / 2);
    elapsed.as_nanos() as f64 / n as f64
}

/// The tokio loop's raw executor: `tokio::spawn` + `JoinHandle` on a current-thread runtime.
fn create_task_tokio_spawn(n: u64) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let start = Instant::now();
    let sum = rt.block_on(async {
        let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    });
    let elapsed = start.elapsed();
    assert_eq!(black_box(sum), n * (n - 1) / 2);
    elapsed.as_nanos() as f64 / n as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Alternating rounds: every contestant once per round; the median per contestant.
fn measure(contestants: &[Contestant], n: u64, rounds: usize) -> Vec<f64> {
    for (_, f) in contestants {
        f(n.min(1_000)); // warm-up
    }
    let mut figures = vec![Vec::new(); contestants.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in contestants.iter().enumerate() {
            figures[i].push(f(n));
        }
    }
    figures.into_iter().map(median).collect()
}

/// CPython's figures by workload and N, if python3 runs.
fn cpython(sizes: &[u64], rounds: usize) -> Vec<(String, u64, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/asyncio_loop.py");
    let sizes = sizes
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let Ok(out) = Command::new("python3")
        .arg(script)
        .arg(sizes)
        .arg(rounds.to_string())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next()?.to_string();
            let n = parts.next()?.parse().ok()?;
            let ns = parts.next()?.parse().ok()?;
            Some((name, n, ns))
        })
        .collect()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // `cargo bench --bench event_loop -- create_task` runs the workloads whose name contains
    // the filter (cargo passes `--bench` itself).
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    let (sizes, rounds, py_rounds): (&[u64], usize, usize) = if quick {
        (&[1_000], 1, 1)
    } else {
        (&[1_000, 10_000, 100_000], 7, 3)
    };
    let py = if filter.contains('/') {
        Vec::new()
    } else {
        cpython(sizes, py_rounds)
    };
    let py_figure = |name: &str, n: u64| {
        py.iter()
            .find(|(w, m, _)| w == name && *m == n)
            .map(|(_, _, ns)| *ns)
    };

    let workloads: [(&str, Vec<Contestant>, [usize; 2]); 2] = [
        (
            "call_soon",
            vec![
                ("aiokit smol loop", call_soon_smol),
                ("aiokit tokio loop", call_soon_tokio),
                ("tokio spawn_local (detached)", call_soon_tokio_spawn),
            ],
            [2, 2],
        ),
        (
            "create_task",
            vec![
                ("aiokit smol loop", create_task_smol),
                ("aiokit tokio loop", create_task_tokio),
                ("async-executor spawn", create_task_async_executor),
                ("tokio spawn + JoinHandle", create_task_tokio_spawn),
                (
                    "aiokit spawn_local_task on async-executor",
                    create_task_spawn_local_task,
                ),
            ],
            [2, 3],
        ),
    ];
    if let Some((workload, label)) = filter.split_once('/') {
        // `-- create_task/smol`: one contestant alone, for profilers; no table.
        for (name, contestants, _) in &workloads {
            for (l, f) in contestants {
                if name.contains(workload) && l.contains(label) {
                    let ns = f(sizes[sizes.len() - 1]);
                    println!("{name} / {l}: {ns:.1} ns");
                }
            }
        }
        return;
    }
    for (name, contestants, [smol_peer, tokio_peer]) in workloads {
        if !name.contains(filter.as_str()) {
            continue;
        }
        println!(
            "\n#### {name} (ns per {})\n",
            if name == "call_soon" {
                "callback"
            } else {
                "task"
            }
        );
        let mut header = String::from("| N |");
        for (label, _) in &contestants {
            header.push_str(&format!(" {label} |"));
        }
        header.push_str(" CPython asyncio | smol loop / raw | tokio loop / raw | CPython / smol loop | CPython / tokio loop |");
        println!("{header}");
        println!("|--:|{}", "--:|".repeat(contestants.len() + 5));
        for &n in sizes {
            let ns = measure(&contestants, n, rounds);
            let mut row = format!("| {n} |");
            for x in &ns {
                row.push_str(&format!(" {x:.1} |"));
            }
            let py = py_figure(name, n);
            let ratio = |a: f64, b: f64| format!(" {:.2} |", a / b);
            row.push_str(&py.map_or(" n/a |".to_string(), |p| format!(" {p:.1} |")));
            row.push_str(&ratio(ns[0], ns[smol_peer]));
            row.push_str(&ratio(ns[1], ns[tokio_peer]));
            row.push_str(&py.map_or(" n/a |".to_string(), |p| ratio(p, ns[0])));
            row.push_str(&py.map_or(" n/a |".to_string(), |p| ratio(p, ns[1])));
            println!("{row}");
        }
    }
    println!(
        "\nraw: async-executor spawn for the smol loop's create_task, tokio spawn for the tokio \
         loop's; for call_soon both are against tokio's detached spawn_local."
    );
}
