#!/usr/bin/env bash
# Instruction counts per child of one row of the compare bench, for aiokit and each peer:
# figures that hold on a busy machine, where wall-clock times do not.
#
# Usage: scripts/callgrind.sh WORKLOAD N [CALLS]
#   e.g. scripts/callgrind.sh ready 10
#
# Each contestant runs twice under `valgrind --tool=callgrind`, in the compare bench's count
# mode (`--calls K --contestant NAME`): once with one warm-up call and 0 measured calls, once
# with the warm-up and CALLS measured calls (default: enough for about 20 000 children, at
# least 2). Instructions per child = (second total - first total) / CALLS / N, counted over
# every thread, so start-up, warm-up and runtime set-up cancel out. Valgrind runs threads one at a
# time, so rows whose wakes come from other threads (`*_threads`) count the work of both
# sides but not the cost of cache-line traffic between cores. Installs valgrind with apt-get
# when it is missing. CALLGRIND_ONLY=REGEX counts only the contestants whose name matches (for
# a quick before/after of aiokit alone: CALLGRIND_ONLY=aiokit). CALLGRIND_BIN=PATH counts a
# compare binary built earlier (a copy of a baseline build) instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
  echo "usage: $0 WORKLOAD N [CALLS]" >&2
  exit 2
fi
workload=$1
n=$2
calls=${3:-$(( (20000 + n - 1) / n ))}
[ "$calls" -ge 2 ] || calls=2

if ! command -v valgrind >/dev/null; then
  echo "valgrind: installing" >&2
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi

bin=${CALLGRIND_BIN:-}
[ -n "$bin" ] || bin=$(cargo bench -p aiokit --bench compare --no-run --message-format=json 2>/dev/null |
  python3 scripts/executables.py --target compare)
[ -n "$bin" ] || { echo "could not build the compare bench" >&2; exit 1; }

mapfile -t names < <("$bin" --bench --list "$workload" | awk -F'\t' -v w="$workload" '$1 == w { print $2 }')
[ ${#names[@]} -gt 0 ] || { echo "no workload named $workload" >&2; exit 1; }

# Total instructions of one run (every thread) in count mode with `$2` calls of contestant `$1`.
count() {
  local log
  log=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$log" \
    "$bin" --bench --calls "$2" --contestant "$1" --n "$n" "$workload" >/dev/null
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log" | tail -1
  rm -f "$log"
}

echo "callgrind: $workload, N = $n, $calls calls (instructions per child, all threads)"
printf '| %s | %s | %s |\n|---|--:|--:|\n' "contestant" "instructions / child" "/ aiokit"
base=""
for name in "${names[@]}"; do
  if [ -n "${CALLGRIND_ONLY:-}" ] && ! [[ $name =~ $CALLGRIND_ONLY ]]; then
    continue
  fi
  zero=$(count "$name" 0)
  some=$(count "$name" "$calls")
  per_child=$(python3 -c "print(f'{($some - $zero) / $calls / $n:.1f}')")
  [ -n "$base" ] || base=$per_child # aiokit's row comes first in every workload
  ratio=$(python3 -c "print(f'{$per_child / $base:.2f}' if $base > 0 else '-')")
  printf '| %s | %s | %s |\n' "$name" "$per_child" "$ratio"
done
