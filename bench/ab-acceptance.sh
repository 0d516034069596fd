#!/usr/bin/env bash
# The A/B acceptance runs (issue: A/B timing), one after another, on real kernels under the
# machine's accelerator. Each writes results/acceptance/<name>/ (ab.json, report.html, the run)
# and one line to results/acceptance/summary.txt: name, exit status, wall time, the verdict.
#   bash bench/ab-acceptance.sh [NAME...]     (default: all, in the order below)
set -uo pipefail
cd "$(dirname "$0")/.."
out=results/acceptance
mkdir -p "$out"
debug=images/kernels/debug-6.12.yaml
declare -A runs=(
  [aa-debug]="--aa $debug"
  # 8 boots a side: with eight latency metrics in the Holm family, 6 cannot reach p < 0.01.
  [sync-rcu]="--base $debug --patched images/kernels/ab/debug-sync-rcu.yaml --boots 8"
  [ten-pct]="--base $debug --patched images/kernels/ab/debug-truncate-10pct.yaml --budget 12m"
  [series-regress-3]="--base $debug --series images/patches/ab/series-regress-3 --budget 12m"
  [series-lockdep-2]="--base $debug --series images/patches/ab/series-lockdep-2"
  # Debian 6.1 hangs bringing up its second CPU under icount: the host clock for this pair.
  [debian-6.1-6.12]="--base debian:6.1 --patched debian:6.12 --clock host"
  # ... or icount with one vCPU: no second CPU to bring up.
  [debian-6.1-6.12-icount-1cpu]="--base debian:6.1 --patched debian:6.12 --cpus 1"
)
order=(aa-debug sync-rcu ten-pct series-regress-3 series-lockdep-2 debian-6.1-6.12)
[ $# -gt 0 ] && order=("$@")
for name in "${order[@]}"; do
  args=${runs[$name]:-}
  [ -n "$args" ] || { echo "unknown acceptance run: $name" >&2; exit 2; }
  rm -rf "${out:?}/$name"
  t0=$(date +%s)
  # shellcheck disable=SC2086 # the argument strings above are fixed words
  node bin/daxlab.js ab $args --out "$out/$name" >"$out/$name.stdout" 2>"$out/$name.stderr"
  rc=$?
  t1=$(date +%s)
  verdict=$(grep '^verdict:' "$out/$name.stdout" | head -1)
  echo "$name exit=$rc wall=$((t1 - t0))s $verdict" | tee -a "$out/summary.txt"
done
