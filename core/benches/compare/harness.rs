//! The measurement side of the comparison: the contestant and workload types, the options,
//! the rounds, the budget and the printed table.

use std::hint::black_box;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Contestants and workloads
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Aiokit,
    Peer,
    /// A lower bound, not a peer: never "best peer".
    Floor,
}

pub(crate) struct Contestant {
    name: &'static str,
    kind: Kind,
    run: fn(usize) -> u64,
}

pub(crate) fn aiokit(name: &'static str, run: fn(usize) -> u64) -> Contestant {
    Contestant {
        name,
        kind: Kind::Aiokit,
        run,
    }
}

pub(crate) fn peer(name: &'static str, run: fn(usize) -> u64) -> Contestant {
    Contestant {
        name,
        kind: Kind::Peer,
        run,
    }
}

pub(crate) fn floor(name: &'static str, run: fn(usize) -> u64) -> Contestant {
    Contestant {
        name,
        kind: Kind::Floor,
        run,
    }
}

pub(crate) struct Workload {
    pub(crate) name: &'static str,
    pub(crate) contestants: Vec<Contestant>,
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
    /// Count mode (`--calls K`): no timing; each selected contestant runs one warm-up call,
    /// then `K` calls, for an instruction counter (callgrind, `perf stat`) to read.
    calls: Option<u64>,
    /// Count mode: only the contestant of this exact name.
    contestant: Option<String>,
    /// `--list`: print the workload and contestant names the filter selects, and exit.
    list: bool,
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
        let mut calls = env("AIOKIT_BENCH_CALLS").map(|v| parse_num("AIOKIT_BENCH_CALLS", &v));
        let mut contestant = env("AIOKIT_BENCH_CONTESTANT");
        let mut list = false;

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
                "--calls" => calls = Some(parse_num("--calls", &value("--calls"))),
                "--contestant" => contestant = Some(value("--contestant")),
                "--list" => list = true,
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
            calls,
            contestant,
            list,
        }
    }

    /// Whether the filters select `workload`: by substring, or by exact name in count mode
    /// (`ready` must not also count `ready_tokio`).
    fn wants(&self, workload: &str) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|f| {
                if self.calls.is_some() {
                    workload == f
                } else {
                    workload.contains(f.as_str())
                }
            })
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
    /// Median ns/child, and ns/child in each round in the order of the rounds (the median is
    /// of these).
    Measured {
        ns_per_child: f64,
        per_round: Vec<f64>,
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
        let per_round = std::mem::take(&mut samples[k]);
        let mut s = per_round.clone();
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
            per_round,
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
    header.push_str(" best peer | aiokit / best peer | ahead in |");
    rule.push_str(":--|--:|--:|");
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
        let rounds_of = |k: usize| match &outcomes[k] {
            Outcome::Measured { per_round, .. } => per_round.as_slice(),
            Outcome::Skipped { .. } => &[],
        };
        let mut row = format!("| {n} |");
        if !has_aiokit {
            row.push_str(" — |");
        }
        for (k, outcome) in outcomes.iter().enumerate() {
            match *outcome {
                Outcome::Measured {
                    ns_per_child,
                    ref per_round,
                } => {
                    let rounds = per_round.len();
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
            " {} | {} | {} |",
            best_peer.map_or("—", |(k, _)| c[k].name),
            ratio(aiokit, best_peer),
            match (aiokit, best_peer) {
                (Some((a, _)), Some((p, _))) => ahead_in(rounds_of(a), rounds_of(p)),
                _ => "—".to_owned(),
            }
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

/// In how many of the rounds both ran aiokit took less time than the best peer, as `k/R`: the
/// two run back to back in each round, so a round compares them under the same load, and a
/// ratio near 1.00 reads as a real lead (`9/9`) or as a coin toss (`5/9`).
fn ahead_in(aiokit: &[f64], peer: &[f64]) -> String {
    let paired = aiokit.len().min(peer.len());
    let ahead = aiokit.iter().zip(peer).filter(|(a, p)| a < p).count();
    format!("{ahead}/{paired}")
}

/// Count mode: for each selected workload, N and contestant, one warm-up call and then `calls`
/// calls, untimed. An instruction counter run twice with different `calls` gives the cost of
/// one call as the difference divided by the difference in calls, with start-up, warm-up and
/// set-up (runtimes, the allocator's first growth) cancelled out (`scripts/callgrind.sh`).
fn run_counted(workloads: &[Workload], cfg: &Config, calls: u64) {
    for w in workloads.iter().filter(|w| cfg.wants(w.name)) {
        for c in &w.contestants {
            if cfg.contestant.as_deref().is_some_and(|name| name != c.name) {
                continue;
            }
            for &n in &cfg.ns {
                let expected = (n as u64) * (n as u64).saturating_sub(1) / 2;
                time_calls(c.run, n, 1, expected);
                time_calls(c.run, n, calls, expected);
                println!("{}\t{}\t{n}\t{calls}", w.name, c.name);
            }
        }
    }
}

/// Runs the workloads the options select and prints their tables.
pub(crate) fn run(workloads: Vec<Workload>) {
    let cfg = Config::from_env_and_args();
    if cfg.list {
        for w in workloads.iter().filter(|w| cfg.wants(w.name)) {
            for c in &w.contestants {
                println!("{}\t{}", w.name, c.name);
            }
        }
        return;
    }
    if let Some(calls) = cfg.calls {
        run_counted(&workloads, &cfg, calls);
        return;
    }
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
    for w in workloads.iter().filter(|w| cfg.wants(w.name)) {
        run_workload(w, &cfg);
        ran += 1;
    }
    assert!(ran > 0, "no workload matches the filter {:?}", cfg.filters);
    println!("\ntotal wall time: {:.1} s", start.elapsed().as_secs_f64());
}
