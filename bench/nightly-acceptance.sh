#!/usr/bin/env bash
# The nightly acceptance (issue: nightly regression runs): four nights of one kernel name,
# `mainline-dax`, into a fresh history database, on real kernels under the machine's accelerator.
#   night 1, 2: the debug kernel (quiet: no alert expected)
#   night 3:    + a patch slowing the DAX truncate path (expected: a truncate regression alert):
#               synchronize_rcu() per busy-page scan, or with NIGHT3=ten-pct a fixed udelay(80)
#   night 4:    + a lock inversion lockdep reports (expected: a new-finding alert with its title)
# Each night writes results/acceptance/nightly/night-N/ (the run, report.html, history.html) and
# its output beside it; one line per night goes to results/acceptance/nightly/summary.txt.
#   [NIGHT3=ten-pct] bash bench/nightly-acceptance.sh [EXTRA NIGHTLY FLAGS...]   (e.g. --clock host -j 1)
# Results go to results/acceptance/nightly${NIGHT3:+-NIGHT3}/.
set -uo pipefail
cd "$(dirname "$0")/.."
out=results/acceptance/nightly${NIGHT3:+-$NIGHT3}
rm -rf "$out"
mkdir -p "$out"
db="$out/history.sqlite"
for plan in night-1-base night-2-base "night-3-${NIGHT3:-sync-rcu}" night-4-lockdep; do
  n=$(cut -d- -f1,2 <<<"$plan")
  t0=$(date +%s)
  node bin/daxlab.js nightly "images/nightly/acceptance/$plan.yaml" --db "$db" --out "$out/$n" "$@" >"$out/$n.stdout" 2>"$out/$n.stderr"
  rc=$?
  t1=$(date +%s)
  alerts=$(grep -cE '^(REGRESSION|NEW FINDING)' "$out/$n.stdout")
  echo "$n ($plan) exit=$rc wall=$((t1 - t0))s alerts=$alerts" | tee -a "$out/summary.txt"
  grep -E '^(REGRESSION|NEW FINDING|measured differently|    (before|after):)' "$out/$n.stdout" | tee -a "$out/summary.txt"
done
