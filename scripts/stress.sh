#!/usr/bin/env bash
# Runs the stress tests (tests/tests/stress.rs) in release, ignored ones included, ROUNDS times
# (default 5). Each test stops by itself; a watchdog aborts a test that runs over 120 s.
# Usage: scripts/stress.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
for round in $(seq 1 "$rounds"); do
  echo "stress: round $round of $rounds"
  cargo test -p aiokit-tests --release --test stress -- --include-ignored --nocapture
done
