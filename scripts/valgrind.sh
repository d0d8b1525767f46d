#!/usr/bin/env bash
# Runs valgrind memcheck over every test binary of the tests crate and over the core crate's
# lib tests, and fails on any invalid access or any "definitely lost" byte.
# Installs valgrind with apt-get when it is missing. Usage: scripts/valgrind.sh [test filter]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
  echo "valgrind: installing"
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi

filter=("$@")
# A few random cases per property: the interpreter is ~50x slower; the stress tests' million
# wakes would outlast their watchdog.
export PROPTEST_CASES="${PROPTEST_CASES:-16}"
binaries=()
while IFS= read -r line; do
  binaries+=("$line")
done < <(
  { cargo test -p aiokit-tests --all-features --no-run --message-format=json 2>/dev/null
    cargo test -p aiokit --lib --all-features --no-run --message-format=json 2>/dev/null; } |
    python3 scripts/executables.py --tests
)

status=0
logdir="target/valgrind"
mkdir -p "$logdir"
for bin in "${binaries[@]}"; do
  name="$(basename "$bin")"
  case "$name" in macros_ui-*) continue ;; esac # compiles ui tests with rustc: not ours to check
  log="$logdir/$name.log"
  # The million-children / million-wakes tests would take hours under valgrind (and outlast
  # the stress watchdog); alloc.rs's N = 100 000 runs take about a quarter of an hour.
  skip=(--skip million)
  # One test thread: valgrind serialises threads anyway, and reports stay readable.
  valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=99 --log-file="$log" "$bin" --test-threads=1 -q "${skip[@]}" "${filter[@]}" >/dev/null 2>&1 || true
  errors="$(grep -E 'ERROR SUMMARY' "$log" | tail -1 | sed -E 's/.*ERROR SUMMARY: ([0-9,]+) errors.*/\1/')"
  lost="$(grep -E 'definitely lost:' "$log" | tail -1 | sed -E 's/.*definitely lost: ([0-9,]+) bytes in ([0-9,]+) blocks.*/\1 bytes in \2 blocks/')"
  invalid="$(grep -cE 'Invalid (read|write|free)|uninitialised' "$log" || true)"
  echo "valgrind: $name: errors ${errors:-?}, invalid accesses $invalid, definitely lost ${lost:-0 bytes}"
  if [ "$invalid" != "0" ] || { [ -n "$lost" ] && [ "${lost%% *}" != "0" ]; } || [ -z "$errors" ]; then
    status=1
  fi
done
exit $status
