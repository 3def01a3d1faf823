#!/usr/bin/env bash
# Runs the whole test line (npm test) N times in a row from a clean clone of HEAD while a busy
# loop occupies one core, and prints each run's result and duration: how we hunt flakes on a
# loaded machine. Usage: scripts/flake-hunt.sh [runs=10] [busy-loops=1]
set -uo pipefail
runs=${1:-10}
busy=${2:-1}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/flake-hunt.XXXXXX)
git clone -q "$repo" "$work/clone"
[ -d "$repo/../shared" ] && ln -s "$repo/../shared" "$work/shared"
cd "$work/clone"
echo "flake hunt: $(git log --oneline -1) in $work/clone, $runs runs, $busy busy loop(s)"
npm ci --no-audit --no-fund >"$work/npm-ci.log" 2>&1 || { echo "npm ci failed: $work/npm-ci.log"; exit 1; }
pids=()
for _ in $(seq "$busy"); do node -e 'for(;;){}' & pids+=($!); done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
failed=0
for run in $(seq "$runs"); do
  started=$(date +%s)
  if CI=true npm test >"$work/run-$run.log" 2>&1; then result=PASS; else result=FAIL; failed=$((failed + 1)); fi
  summary=$(grep -E '^Tests:' "$work/run-$run.log" | tail -1)
  echo "run $run: $result in $(( $(date +%s) - started )) s; $summary; log $work/run-$run.log"
  grep -E '^\s+● .* › ' "$work/run-$run.log" | sort -u | sed 's/^/    /'
done
echo "flake hunt: $((runs - failed)) of $runs runs passed"
[ "$failed" -eq 0 ]
