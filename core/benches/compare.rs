//! aiokit against its peers: nanoseconds per child, same process, alternating rounds.
//!
//! Workloads, peers and targets: `docs/benchmarks.md#workloads`. For every workload and every
//! N, each round runs every contestant once (the order rotates by one each round, so no
//! contestant always runs first on a cold cache), each contestant timing enough calls to last
//! at least the round target; the figure printed is the median of the rounds. Every workload
//! is a table of named closures `fn(n) -> u64` returning the sum of the children's outputs
//! (each child outputs its index), which is checked, so nothing is optimized away.
//!
//! ```text
//! cargo bench -p aiokit --bench compare                     # everything (a few minutes)
//! cargo bench -p aiokit --bench compare -- --quick          # CI smoke: each cell once, small N
//! cargo bench -p aiokit --bench compare -- oneshot --n 1000 # one workload, one N
//! ```
//!
//! Options (command line, or environment for the same thing):
//! - `--quick` / `AIOKIT_BENCH_QUICK=1`: N = 10 and 100, one round, one call per cell. Also
//!   the default when the binary is run without `--bench` (as `cargo test --all-targets` does).
//! - `--rounds R` / `AIOKIT_BENCH_ROUNDS=R`: rounds per cell (default 7).
//! - `--n 10,1000` / `AIOKIT_BENCH_N=10,1000`: the N to run (default 10 to 100 000).
//! - `WORKLOAD[,WORKLOAD]` (positional) / `AIOKIT_BENCH_WORKLOAD=...`: workloads whose name
//!   contains one of these strings.
//! - `--target-ms MS` / `AIOKIT_BENCH_TARGET_MS`: minimum duration of one contestant's share of
//!   a round (default 5 ms).
//! - `--budget-s S` / `AIOKIT_BENCH_BUDGET_S`: time a contestant may spend on one cell (default
//!   10 s). Quadratic peers exceed it at large N: they then run fewer rounds (marked `*`), and
//!   are skipped where a single call is predicted to exceed it.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::channel::oneshot;
use futures::executor::block_on;
use futures::future::{join_all, poll_fn, select_all};
use futures::stream::{FuturesOrdered, FuturesUnordered, Stream};

// ---------------------------------------------------------------------------------------------
// Children and drivers
// ---------------------------------------------------------------------------------------------

/// Returns `Pending` once, waking itself, then `Ready`: one scheduler turn.
#[derive(Default)]
struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// `ready`: `async move { i }`.
fn ready_children(n: usize) -> impl Iterator<Item = impl Future<Output = u64> + Send> + Send {
    (0..n as u64).map(|i| async move { i })
}

/// `yield1`: returns Pending once (waking itself), then `i`.
fn yield1_children(n: usize) -> impl Iterator<Item = impl Future<Output = u64> + Send> + Send {
    (0..n as u64).map(|i| async move {
        YieldNow::default().await;
        i
    })
}

/// Step between two sends of the `oneshot` driver: a prime, so `i += STRIDE mod N` visits
/// every index for N = 10^k, and in an order no combinator can exploit.
const STRIDE: usize = 7919;

/// `oneshot`: child `i` awaits the receiver of channel `i`; the driver, to be joined with the
/// combinator in the same task, sends `i` on channel `i` one channel per scheduler turn, in the
/// scrambled order `i += 7919 mod N`.
#[allow(clippy::type_complexity)]
fn oneshot_children(
    n: usize,
) -> (
    impl Future<Output = ()> + Send,
    impl Iterator<Item = impl Future<Output = u64> + Send> + Send,
) {
    let mut senders = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = oneshot::channel::<u64>();
        senders.push(Some(tx));
        receivers.push(rx);
    }
    let driver = async move {
        let mut i = 0;
        for _ in 0..n {
            let tx = senders[i]
                .take()
                .expect("the stride must be coprime with N so each channel is sent once");
            tx.send(i as u64)
                .expect("a child was dropped before its value arrived");
            i = (i + STRIDE) % n;
            YieldNow::default().await;
        }
    };
    let children = receivers
        .into_iter()
        .map(|rx| async move { rx.await.expect("the driver sends on every channel") });
    (driver, children)
}

/// Runs `$consume` (an expression that may `.await`, with the children bound to `$ch`) on
/// `futures::executor::block_on`; for `oneshot`, joined with the driver in the same task.
macro_rules! run {
    (ready, $n:expr, |$ch:ident| $consume:expr) => {{
        let $ch = ready_children($n);
        block_on(async move { $consume })
    }};
    (yield1, $n:expr, |$ch:ident| $consume:expr) => {{
        let $ch = yield1_children($n);
        block_on(async move { $consume })
    }};
    (oneshot, $n:expr, |$ch:ident| $consume:expr) => {{
        let (driver, $ch) = oneshot_children($n);
        block_on(async move {
            let ((), sum) = futures::join!(driver, async move { $consume });
            sum
        })
    }};
}

fn sum(outputs: Vec<u64>) -> u64 {
    outputs.iter().sum()
}

async fn sum_stream(stream: impl Stream<Item = u64>) -> u64 {
    let mut stream = pin!(stream);
    let mut sum = 0;
    while let Some(v) = stream.next().await {
        sum += v;
    }
    sum
}

fn ok(result: Result<u64, Infallible>) -> u64 {
    match result {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// The floor for `ready`: the children collected into a Vec (as every combinator does), then
/// each polled once by a plain loop. Each is moved out of the Vec, unpolled (which is allowed),
/// and pinned on the stack: the same work as polling in place, without `unsafe`.
async fn poll_loop_floor<F: Future<Output = u64>>(children: impl Iterator<Item = F>) -> u64 {
    // `black_box`: the Vec must exist, as it does in every combinator.
    let mut children: Vec<F> = black_box(children.collect());
    poll_fn(move |cx| {
        let mut sum = 0;
        for child in children.drain(..) {
            match pin!(child).poll(cx) {
                Poll::Ready(v) => sum += v,
                Poll::Pending => unreachable!("`ready` children complete on their first poll"),
            }
        }
        Poll::Ready(sum)
    })
    .await
}

fn tokio_rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio current-thread runtime")
    })
}

// ---------------------------------------------------------------------------------------------
// Workload tables: one line per contestant
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Aiokit,
    Peer,
    /// A lower bound, not a peer: never "best peer".
    Floor,
}

struct Contestant {
    name: &'static str,
    kind: Kind,
    run: fn(usize) -> u64,
}

fn aiokit(name: &'static str, run: fn(usize) -> u64) -> Contestant {
    Contestant {
        name,
        kind: Kind::Aiokit,
        run,
    }
}

fn peer(name: &'static str, run: fn(usize) -> u64) -> Contestant {
    Contestant {
        name,
        kind: Kind::Peer,
        run,
    }
}

fn floor(name: &'static str, run: fn(usize) -> u64) -> Contestant {
    Contestant {
        name,
        kind: Kind::Floor,
        run,
    }
}

struct Workload {
    name: &'static str,
    contestants: Vec<Contestant>,
}

fn workloads() -> Vec<Workload> {
    use futures_concurrency::prelude::*;
    vec![
        Workload {
            name: "ready",
            contestants: vec![
                aiokit("aiokit::gather", |n| {
                    run!(ready, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("futures::join_all", |n| {
                    run!(ready, n, |ch| sum(join_all(ch).await))
                }),
                peer("FuturesOrdered", |n| {
                    run!(ready, n, |ch| sum(ch
                        .collect::<FuturesOrdered<_>>()
                        .collect()
                        .await))
                }),
                peer("futures_buffered::join_all", |n| {
                    run!(ready, n, |ch| sum(futures_buffered::join_all(ch).await))
                }),
                peer("futures_concurrency Vec::join", |n| {
                    run!(ready, n, |ch| sum(ch.collect::<Vec<_>>().join().await))
                }),
                floor("floor: poll loop", |n| {
                    run!(ready, n, |ch| poll_loop_floor(ch).await)
                }),
            ],
        },
        Workload {
            name: "yield1",
            contestants: vec![
                aiokit("aiokit::gather", |n| {
                    run!(yield1, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("futures::join_all", |n| {
                    run!(yield1, n, |ch| sum(join_all(ch).await))
                }),
                peer("FuturesOrdered", |n| {
                    run!(yield1, n, |ch| sum(ch
                        .collect::<FuturesOrdered<_>>()
                        .collect()
                        .await))
                }),
                peer("futures_buffered::join_all", |n| {
                    run!(yield1, n, |ch| sum(futures_buffered::join_all(ch).await))
                }),
                peer("futures_concurrency Vec::join", |n| {
                    run!(yield1, n, |ch| sum(ch.collect::<Vec<_>>().join().await))
                }),
            ],
        },
        Workload {
            name: "oneshot",
            contestants: vec![
                aiokit("aiokit::gather", |n| {
                    run!(oneshot, n, |ch| sum(aiokit::gather(ch).await))
                }),
                peer("futures::join_all", |n| {
                    run!(oneshot, n, |ch| sum(join_all(ch).await))
                }),
                peer("FuturesOrdered", |n| {
                    run!(oneshot, n, |ch| sum(ch
                        .collect::<FuturesOrdered<_>>()
                        .collect()
                        .await))
                }),
                peer("futures_buffered::join_all", |n| {
                    run!(oneshot, n, |ch| sum(futures_buffered::join_all(ch).await))
                }),
                peer("futures_concurrency Vec::join", |n| {
                    run!(oneshot, n, |ch| sum(ch.collect::<Vec<_>>().join().await))
                }),
            ],
        },
        Workload {
            name: "as_completed",
            contestants: vec![
                aiokit("aiokit::as_completed", |n| {
                    run!(oneshot, n, |ch| sum_stream(aiokit::as_completed(ch)).await)
                }),
                peer("futures::FuturesUnordered", |n| {
                    run!(oneshot, n, |ch| sum_stream(
                        ch.collect::<FuturesUnordered<_>>()
                    )
                    .await)
                }),
                peer("futures_buffered::FuturesUnordered", |n| {
                    run!(oneshot, n, |ch| sum_stream(
                        ch.collect::<futures_buffered::FuturesUnordered<_>>()
                    )
                    .await)
                }),
            ],
        },
        Workload {
            name: "wait_first",
            contestants: vec![
                aiokit("aiokit::wait(FirstCompleted) loop", |n| {
                    run!(oneshot, n, |ch| {
                        use aiokit::ReturnWhen;
                        let (mut done, mut pending) =
                            aiokit::wait(ch, ReturnWhen::FirstCompleted).await;
                        let mut sum = 0;
                        loop {
                            sum += done.into_iter().map(|d| d.output).sum::<u64>();
                            if pending.is_empty() {
                                break sum;
                            }
                            (done, pending) =
                                aiokit::wait(pending, ReturnWhen::FirstCompleted).await;
                        }
                    })
                }),
                peer("select_all loop", |n| {
                    run!(oneshot, n, |ch| {
                        let mut pending: Vec<_> = ch.map(Box::pin).collect();
                        let mut sum = 0;
                        while !pending.is_empty() {
                            let (v, _index, rest) = select_all(pending).await;
                            sum += v;
                            pending = rest;
                        }
                        sum
                    })
                }),
                peer("FuturesUnordered::next loop", |n| {
                    run!(oneshot, n, |ch| {
                        let mut pending = ch.collect::<FuturesUnordered<_>>();
                        let mut sum = 0;
                        while let Some(v) = pending.next().await {
                            sum += v;
                        }
                        sum
                    })
                }),
            ],
        },
        Workload {
            name: "taskgroup",
            contestants: vec![
                aiokit("aiokit::TaskGroup", |n| {
                    block_on(aiokit::TaskGroup::run(async |tg| {
                        let handles: Vec<_> = (0..n as u64)
                            .map(|i| tg.create_task(async move { Ok::<u64, Infallible>(i) }))
                            .collect();
                        // The body's first `.await` is where the children run.
                        let mut sum = 0;
                        for handle in &handles {
                            sum += *handle.await.expect("no child is cancelled");
                        }
                        Ok(sum)
                    }))
                    .expect("no child fails")
                }),
                peer("tokio::JoinSet", |n| {
                    tokio_rt().block_on(async move {
                        let mut set = tokio::task::JoinSet::new();
                        for i in 0..n as u64 {
                            set.spawn(async move { Ok::<u64, Infallible>(i) });
                        }
                        let mut sum = 0;
                        while let Some(joined) = set.join_next().await {
                            sum += ok(joined.expect("a JoinSet task panicked"));
                        }
                        sum
                    })
                }),
                peer("moro::async_scope!", |n| {
                    block_on(moro::async_scope!(|scope| -> u64 {
                        let handles: Vec<_> = (0..n as u64)
                            .map(|i| scope.spawn(async move { Ok::<u64, Infallible>(i) }))
                            .collect();
                        let mut sum = 0;
                        for handle in handles {
                            sum += ok(handle.await);
                        }
                        sum
                    }))
                }),
            ],
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

struct Config {
    quick: bool,
    rounds: usize,
    ns: Vec<usize>,
    filters: Vec<String>,
    target: Duration,
    budget: Duration,
}

fn parse_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_ns(s: &str) -> Vec<usize> {
    parse_list(s)
        .iter()
        .map(|n| {
            n.replace('_', "")
                .parse()
                .unwrap_or_else(|_| panic!("N must be a positive integer, got {n:?}"))
        })
        .collect()
}

fn parse_num(what: &str, s: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|_| panic!("{what} must be a non-negative integer, got {s:?}"))
}

impl Config {
    fn from_env_and_args() -> Config {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut quick = env("AIOKIT_BENCH_QUICK").is_some_and(|v| v != "0");
        let mut rounds = env("AIOKIT_BENCH_ROUNDS").map(|v| parse_num("AIOKIT_BENCH_ROUNDS", &v));
        let mut ns = env("AIOKIT_BENCH_N").map(|v| parse_ns(&v));
        let mut filters = env("AIOKIT_BENCH_WORKLOAD")
            .map(|v| parse_list(&v))
            .unwrap_or_default();
        let mut target_ms = env("AIOKIT_BENCH_TARGET_MS")
            .map(|v| parse_num("AIOKIT_BENCH_TARGET_MS", &v))
            .unwrap_or(5);
        let mut budget_s = env("AIOKIT_BENCH_BUDGET_S")
            .map(|v| parse_num("AIOKIT_BENCH_BUDGET_S", &v))
            .unwrap_or(10);

        // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
        // it, and then a smoke run is what is wanted.
        let mut saw_bench_flag = false;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .unwrap_or_else(|| panic!("{flag} needs a value"))
            };
            match arg.as_str() {
                "--bench" => saw_bench_flag = true,
                "--quick" => quick = true,
                "--rounds" => rounds = Some(parse_num("--rounds", &value("--rounds"))),
                "--n" => ns = Some(parse_ns(&value("--n"))),
                "--target-ms" => target_ms = parse_num("--target-ms", &value("--target-ms")),
                "--budget-s" => budget_s = parse_num("--budget-s", &value("--budget-s")),
                flag if flag.starts_with('-') => {} // libtest flags cargo may pass along
                filter => filters.extend(parse_list(filter)),
            }
        }
        quick |= !saw_bench_flag;

        let (default_rounds, default_ns) = if quick {
            (1, vec![10, 100])
        } else {
            (7, vec![10, 100, 1_000, 10_000, 100_000])
        };
        let rounds = rounds.map_or(default_rounds, |r| r.max(1) as usize);
        Config {
            quick,
            rounds,
            ns: ns.unwrap_or(default_ns),
            filters,
            target: if quick {
                Duration::ZERO
            } else {
                Duration::from_millis(target_ms)
            },
            budget: Duration::from_secs(budget_s),
        }
    }

    fn wants(&self, workload: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| workload.contains(f.as_str()))
    }
}

/// What is known of a contestant from the smaller N, to predict the cost of the next one.
#[derive(Clone, Copy, Default)]
struct History {
    /// (N, duration of one call, ns per child) at the last two N measured.
    last: Option<(usize, Duration, f64)>,
    before: Option<(usize, Duration, f64)>,
}

impl History {
    /// One call at `n`, extrapolated with the growth of ns/child seen so far (so a quadratic
    /// contestant is predicted as quadratic).
    fn predict(&self, n: usize) -> Option<Duration> {
        let (last_n, last_call, last_per_child) = self.last?;
        let growth_per_decade = match self.before {
            Some((before_n, _, before_per_child)) if before_per_child > 0.0 => {
                let decades = ((last_n as f64) / (before_n as f64)).log10().max(1e-9);
                (last_per_child / before_per_child)
                    .max(1.0)
                    .powf(1.0 / decades)
            }
            _ => 1.0,
        };
        let decades = ((n as f64) / (last_n as f64)).log10().max(0.0);
        let factor = (n as f64 / last_n as f64) * growth_per_decade.powf(decades);
        Some(last_call.mul_f64(factor))
    }

    fn record(&mut self, n: usize, call: Duration, per_child: f64) {
        self.before = self.last;
        self.last = Some((n, call, per_child));
    }
}

enum Outcome {
    /// Median ns/child and the number of rounds it is the median of.
    Measured {
        ns_per_child: f64,
        rounds: usize,
    },
    Skipped {
        predicted_call: Duration,
    },
}

fn time_calls(run: fn(usize) -> u64, n: usize, iters: u64, expected: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let sum = black_box(run(black_box(n)));
        // Checked outside the clock would need storing; a compare is noise next to the work.
        if sum != expected {
            panic!("wrong sum {sum} (expected {expected}) at N = {n}");
        }
    }
    start.elapsed()
}

fn measure_cell(
    contestants: &[Contestant],
    histories: &mut [History],
    n: usize,
    cfg: &Config,
) -> Vec<Outcome> {
    let expected = (n as u64) * (n as u64).saturating_sub(1) / 2;
    let m = contestants.len();
    // Per contestant: calls per round and rounds to run, or the reason to skip.
    let mut plan: Vec<Option<(u64, usize)>> = vec![None; m];
    let mut outcomes: Vec<Option<Outcome>> = (0..m).map(|_| None).collect();
    for (k, c) in contestants.iter().enumerate() {
        if let Some(predicted) = histories[k].predict(n) {
            if !cfg.quick && predicted > cfg.budget {
                outcomes[k] = Some(Outcome::Skipped {
                    predicted_call: predicted,
                });
                continue;
            }
        }
        // Warm-up call (checks the sum, fills the allocator's caches), timed to calibrate.
        // A single short call is dominated by the clock's own cost, so short calls are timed
        // in batches growing tenfold until a batch lasts a tenth of the target.
        let mut batch = 1_u64;
        let mut elapsed = time_calls(c.run, n, 1, expected);
        while !cfg.quick && elapsed < cfg.target / 10 {
            batch *= 10;
            elapsed = time_calls(c.run, n, batch, expected);
        }
        let per_call = (elapsed.as_nanos() / u128::from(batch)).max(1);
        let iters = (cfg.target.as_nanos().div_ceil(per_call)).max(1) as u64;
        let one = Duration::from_nanos(per_call as u64);
        let per_round = Duration::from_nanos((one.as_nanos() as u64).saturating_mul(iters));
        let rounds = if cfg.quick {
            1
        } else {
            ((cfg.budget.as_nanos() / per_round.as_nanos().max(1)) as usize).clamp(1, cfg.rounds)
        };
        plan[k] = Some((iters, rounds));
    }

    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); m];
    for round in 0..cfg.rounds {
        for j in 0..m {
            let k = (round + j) % m;
            let Some((iters, rounds)) = plan[k] else {
                continue;
            };
            if round >= rounds {
                continue;
            }
            let elapsed = time_calls(contestants[k].run, n, iters, expected);
            samples[k].push(elapsed.as_nanos() as f64 / (iters as f64 * n as f64));
        }
    }

    for k in 0..m {
        if outcomes[k].is_some() {
            continue;
        }
        let s = &mut samples[k];
        s.sort_by(f64::total_cmp);
        let mid = s.len() / 2;
        let median = if s.len() % 2 == 1 {
            s[mid]
        } else {
            (s[mid - 1] + s[mid]) / 2.0
        };
        histories[k].record(n, Duration::from_nanos((median * n as f64) as u64), median);
        outcomes[k] = Some(Outcome::Measured {
            ns_per_child: median,
            rounds: s.len(),
        });
    }
    outcomes.into_iter().map(Option::unwrap).collect()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        // Thousands grouped with a space, as in the README's tables.
        let s = format!("{:.0}", ns);
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(' ');
            }
            out.push(ch);
        }
        out
    } else {
        format!("{ns:.1}")
    }
}

fn run_workload(w: &Workload, cfg: &Config) {
    let c = &w.contestants;
    let has_aiokit = c.iter().any(|c| c.kind == Kind::Aiokit);
    let has_floor = c.iter().any(|c| c.kind == Kind::Floor);

    println!("\n### {}\n", w.name);
    let mut header = String::from("| N |");
    let mut rule = String::from("|--:|");
    if !has_aiokit {
        header.push_str(" aiokit |");
        rule.push_str("--:|");
    }
    for c in c {
        header.push_str(&format!(" {} |", c.name));
        rule.push_str("--:|");
    }
    header.push_str(" best peer | aiokit / best peer |");
    rule.push_str(":--|--:|");
    if has_floor {
        header.push_str(" aiokit / floor |");
        rule.push_str("--:|");
    }
    println!("{header}\n{rule}");

    let mut histories = vec![History::default(); c.len()];
    let mut fewer_rounds = false;
    let mut skipped = Vec::new();
    for &n in &cfg.ns {
        let outcomes = measure_cell(c, &mut histories, n, cfg);
        let value = |k: usize| match outcomes[k] {
            Outcome::Measured { ns_per_child, .. } => Some(ns_per_child),
            Outcome::Skipped { .. } => None,
        };
        let mut row = format!("| {n} |");
        if !has_aiokit {
            row.push_str(" — |");
        }
        for (k, outcome) in outcomes.iter().enumerate() {
            match *outcome {
                Outcome::Measured {
                    ns_per_child,
                    rounds,
                } => {
                    let mark = if rounds < cfg.rounds { "*" } else { "" };
                    fewer_rounds |= rounds < cfg.rounds;
                    row.push_str(&format!(" {}{mark} |", fmt_ns(ns_per_child)));
                }
                Outcome::Skipped { predicted_call } => {
                    skipped.push(format!(
                        "{} at N = {n} (one call predicted {:.0} s)",
                        c[k].name,
                        predicted_call.as_secs_f64()
                    ));
                    row.push_str(" skipped |");
                }
            }
        }
        let best = |kind: Kind| {
            (0..c.len())
                .filter(|&k| c[k].kind == kind)
                .filter_map(|k| value(k).map(|v| (k, v)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
        };
        let ratio = |num: Option<(usize, f64)>, den: Option<(usize, f64)>| match (num, den) {
            (Some((_, a)), Some((_, b))) => format!("{:.2}", a / b),
            _ => "—".to_owned(),
        };
        let best_peer = best(Kind::Peer);
        let aiokit = best(Kind::Aiokit);
        row.push_str(&format!(
            " {} | {} |",
            best_peer.map_or("—", |(k, _)| c[k].name),
            ratio(aiokit, best_peer)
        ));
        if has_floor {
            row.push_str(&format!(" {} |", ratio(aiokit, best(Kind::Floor))));
        }
        println!("{row}");
    }
    if fewer_rounds {
        println!(
            "\n`*`: median of fewer than {} rounds, to keep the cell within the {} s budget.",
            cfg.rounds,
            cfg.budget.as_secs()
        );
    }
    if !skipped.is_empty() {
        println!();
    }
    for s in skipped {
        println!("skipped: {s}");
    }
}

fn main() {
    let cfg = Config::from_env_and_args();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "aiokit compare: ns per child, median of {} round(s){}; N = {:?}; {} core(s) available",
        cfg.rounds,
        if cfg.quick {
            ", QUICK smoke mode (one call per cell: figures are not meaningful)".to_owned()
        } else {
            format!(
                ", each contestant's share of a round >= {} ms, budget {} s per cell",
                cfg.target.as_millis(),
                cfg.budget.as_secs()
            )
        },
        cfg.ns,
        cores
    );
    let start = Instant::now();
    let mut ran = 0;
    for w in workloads().iter().filter(|w| cfg.wants(w.name)) {
        run_workload(w, &cfg);
        ran += 1;
    }
    assert!(ran > 0, "no workload matches the filter {:?}", cfg.filters);
    println!("\ntotal wall time: {:.1} s", start.elapsed().as_secs_f64());
}
