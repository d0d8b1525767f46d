//! aiokit against its peers: nanoseconds per child, same process, alternating rounds.
//!
//! Workloads, peers and targets: `docs/benchmarks.md#workloads` (with the rows `ready_tokio`,
//! `gather_threads`, `as_completed_threads`, their `_woken` variants and `taskgroup_cpu`). For
//! every workload and every N, each round runs every contestant once (the order rotates by one
//! each round, so no contestant always runs first on a cold cache), each contestant timing
//! enough calls to last at least the round target; the figure printed is the median of the
//! rounds. Every workload
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
//! - `--calls K` / `AIOKIT_BENCH_CALLS=K`: count mode, for an instruction counter: no timing,
//!   each selected contestant makes one warm-up call, then K calls; workload filters match
//!   whole names. `--contestant NAME` / `AIOKIT_BENCH_CONTESTANT` keeps the contestant of that
//!   exact name; `--list` prints the selected contestants and exits. `scripts/callgrind.sh`
//!   runs it under callgrind (`docs/benchmarks.md#instruction-counts-callgrind`).
//!
//! Files: `harness.rs` measures and prints (options, rounds, budget, the table); `workloads.rs`
//! holds the children, the drivers and the table of contestants for each workload.

mod harness;
mod workloads;

fn main() {
    harness::run(workloads::workloads());
}
