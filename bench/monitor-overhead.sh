#!/usr/bin/env bash
# Monitor overhead (issue 13): truncate-latency (ext4, dax=always) without monitors and with each
# monitor alone, then all together, BOOTS boots each on one kernel, one guest at a time, guest
# clock icount (timings count the guest's work, not the host's load). Prints one line per
# configuration: the median over boots of the per-boot truncate p50 (ns) and of truncate_total,
# and their change against no monitors. A monitor the kernel cannot give is skipped (shown).
#   [KERNEL=debian:6.12] [BOOTS=3] [ITER=100] bash bench/monitor-overhead.sh
# Results go to results/bench/monitor-overhead/<config>/; the table to .../table.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
kernel=${KERNEL:-debian:6.12}
boots=${BOOTS:-3}
iter=${ITER:-100}
out=results/bench/monitor-overhead
rm -rf "$out"
mkdir -p "$out"
configs=(none vmstat funclatency=dax_layout_busy_page_range+ext4_break_layouts dax_events lock_stat vmstat,funclatency,dax_events,lock_stat)
for c in "${configs[@]}"; do
  name=${c//[=+,]/_}
  mon=()
  [ "$c" = none ] || mon=(--monitor "$c")
  mkdir -p "$out/$name"
  t0=$(date +%s)
  # One repetition per boot: the boot is the unit, as in A/B.
  for b in $(seq 1 "$boots"); do
    node bin/daxlab.js run truncate-latency --fs ext4 --dax always --kernel "$kernel" --clock icount -j 1 \
      "${mon[@]}" --out "$out/$name/boot-$b" -- --iterations "$iter" >"$out/$name/boot-$b.log" 2>&1 || echo "$c boot $b: exit $?" >&2
  done
  echo "$name $(( $(date +%s) - t0 ))" >>"$out/wall.txt"
done
node --input-type=module -e '
import { readFileSync, existsSync } from "node:fs";
const [out, ...configs] = process.argv.slice(1);
const med = (v) => { const s = [...v].sort((a, b) => a - b); const n = s.length; return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN; };
const wall = Object.fromEntries(readFileSync(`${out}/wall.txt`, "utf8").trim().split("\n").map((l) => l.split(" ")));
let base;
const rows = [];
for (const c of configs) {
  const name = c.replace(/[=+,]/g, "_");
  const p50 = [], total = [], skipped = new Set(), nmetrics = [];
  for (let b = 1; existsSync(`${out}/${name}/boot-${b}/summary.json`); b++) {
    const s = JSON.parse(readFileSync(`${out}/${name}/boot-${b}/summary.json`, "utf8"));
    for (const st of s.steps) {
      if (st.status !== "pass") continue;
      p50.push(med(st.samples.truncate?.values ?? []));
      total.push(st.metrics.truncate_total?.value * 1e3);
      nmetrics.push(Object.keys(st.metrics).filter((k) => k.includes(".")).length);
      for (const x of st.skippedMonitors ?? []) skipped.add(x.monitor);
    }
  }
  const r = { c, n: p50.length, p50: med(p50), total: med(total), metrics: med(nmetrics), skipped: [...skipped].join(",") || "-", wall: wall[name] };
  base ??= r;
  const pct = (x, y) => (100 * (x / y - 1)).toFixed(1).padStart(6) + "%";
  rows.push(`${c.padEnd(40)} boots=${r.n} truncate.p50=${r.p50.toFixed(0).padStart(7)} ns ${pct(r.p50, base.p50)}  truncate_total=${r.total.toFixed(3).padStart(8)} ms ${pct(r.total, base.total)}  monitor metrics=${r.metrics}  skipped=${r.skipped}  wall=${r.wall}s`);
}
console.log(rows.join("\n"));
' "$out" "${configs[@]}" | tee "$out/table.txt"
