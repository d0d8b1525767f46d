#!/usr/bin/env bash
# Runs the model-based random tests (tests/tests/model.rs) and the macro parser properties
# (macros/src/proptests.rs) with many more cases than CI: CASES per property (default 100 000),
# in release. Usage: scripts/proptest.sh [CASES] [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
shift || true
export PROPTEST_CASES="$cases"
cargo test -p aiokit-tests --release --test model "$@"
cargo test -p aiokit-macros --release --lib proptests "$@"
