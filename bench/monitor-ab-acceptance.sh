#!/usr/bin/env bash
# The monitors' A/B acceptance (issue 13): the tracing debug kernel against itself plus a fixed
# udelay(80) in dax_layout_busy_page_range (truncate-10pct.patch), truncate-latency timed with
# funclatency on that function. The A/B table must show the function's latency shift (its
# p50 up by ~80 us of guest time) beside the reproducer's truncate regression, each with its
# own verdict. Writes results/acceptance/monitors-ten-pct/ and its stdout/stderr beside it.
#   bash bench/monitor-ab-acceptance.sh [EXTRA AB FLAGS...]     (e.g. --boots 4)
set -uo pipefail
cd "$(dirname "$0")/.."
out=results/acceptance
name=monitors-ten-pct
mkdir -p "$out"
rm -rf "${out:?}/$name"
t0=$(date +%s)
node bin/daxlab.js ab --base images/kernels/debug-trace-6.12.yaml --patched images/kernels/ab/debug-trace-truncate-10pct.yaml \
  --monitor funclatency=dax_layout_busy_page_range --out "$out/$name" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr"
rc=$?
t1=$(date +%s)
echo "$name exit=$rc wall=$((t1 - t0))s $(grep '^verdict:' "$out/$name.stdout" | head -1)"
grep -E 'dax_layout_busy_page_range|truncate' "$out/$name.stdout"
