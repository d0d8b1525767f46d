#!/usr/bin/env bash
# Runs aiokit's own tests (engine unit tests, combinators) under miri, with the engine's unsafe
# code checked for undefined behaviour (Stacked Borrows and data races). Needs a nightly
# toolchain with the miri component; installs it when it can and says so when it cannot.
# Not a hard CI step: CI machines may lack nightly. Usage: scripts/miri.sh [extra test args]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "miri: installing nightly miri + rust-src"
  if ! rustup toolchain install nightly --profile minimal --component miri rust-src >/dev/null 2>&1 &&
     ! rustup +nightly component add miri rust-src >/dev/null 2>&1; then
    echo "miri: nightly with miri is not installable here; skipped"
    exit 0
  fi
fi

export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance}"
# Large-N tests are too slow under the interpreter; they are marked #[cfg_attr(miri, ignore)].
cargo +nightly miri test -p aiokit --lib "$@"

# The integration tests that need no runtime: each rule's futures LocalPool variant (the
# other executors are #[cfg_attr(miri, ignore)] in `on_each_executor!`), the tests on
# futures' block_on, and a few cases of each model property. Stress and trybuild tests are
# out of the interpreter's reach.
# One case of up to 64 children per property already takes minutes in the interpreter.
export PROPTEST_CASES="${PROPTEST_CASES:-1}"
cargo +nightly miri test -p aiokit-tests --all-features \
  --test gather --test wait --test as_completed --test task_group --test model "$@"
