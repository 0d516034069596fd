#!/usr/bin/env bash
# Monitor overhead (issue 13): truncate-latency (ext4, dax=always) without monitors and with each
# monitor alone, then all together, BOOTS boots each on one kernel, one guest at a time, guest
# clock icount (timings count the guest's work, not the host's load). Prints one line per
# configuration: medians over boots of the per-boot truncate p50, p90, mean of the fastest 99%
# and truncate_total, each with its change against no monitors; the monitor metrics a step got
# and the monitors skipped (a monitor the kernel cannot give costs nothing).
#   [KERNEL=debian:6.12] [BOOTS=3] [ITER=100] [TABLE_ONLY=1] bash bench/monitor-overhead.sh
# Results go to results/bench/monitor-overhead/<kernel>/<config>/; the table to .../table.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
kernel=${KERNEL:-debian:6.12}
boots=${BOOTS:-3}
iter=${ITER:-100}
out=results/bench/monitor-overhead/$(tr -c "A-Za-z0-9.\n-" _ <<<"$kernel")
configs=(none vmstat funclatency=dax_layout_busy_page_range+ext4_break_layouts dax_events lock_stat vmstat,funclatency,dax_events,lock_stat)
# TABLE_ONLY=1: the table again from the last measurement.
[ -n "${TABLE_ONLY:-}" ] || { rm -rf "$out"; mkdir -p "$out"; }
for c in "${configs[@]}"; do
  [ -z "${TABLE_ONLY:-}" ] || break
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
  const p50 = [], p90 = [], trimmed = [], total = [], skipped = new Set(), nmetrics = [];
  for (let b = 1; existsSync(`${out}/${name}/boot-${b}/summary.json`); b++) {
    const s = JSON.parse(readFileSync(`${out}/${name}/boot-${b}/summary.json`, "utf8"));
    for (const st of s.steps) {
      if (st.status !== "pass") continue;
      const v = [...(st.samples.truncate?.values ?? [])].sort((a, b) => a - b);
      p50.push(med(v));
      p90.push(v[Math.ceil(0.9 * v.length) - 1]);
      // One truncate in some boots takes 4-16 ms, with or without monitors (seen in `none` too):
      // the mean of all but the slowest 1% is what a monitor adds per truncate.
      const keep = v.slice(0, v.length - Math.ceil(v.length / 100));
      trimmed.push(keep.reduce((a, b) => a + b, 0) / keep.length);
      total.push(st.metrics.truncate_total?.value * 1e3);
      nmetrics.push(Object.keys(st.metrics).filter((k) => k.includes(".")).length);
      for (const x of st.skippedMonitors ?? []) skipped.add(x.monitor);
    }
  }
  const r = { c, n: p50.length, p50: med(p50), p90: med(p90), trimmed: med(trimmed), total: med(total), metrics: med(nmetrics), skipped: [...skipped].join(",") || "-", wall: wall[name] };
  base ??= r;
  const pct = (x, y) => (100 * (x / y - 1)).toFixed(1).padStart(6) + "%";
  rows.push(`${c.split("=")[0].padEnd(40)} boots=${r.n} p50=${(r.p50 / 1e3).toFixed(1).padStart(6)} us ${pct(r.p50, base.p50)}  p90=${(r.p90 / 1e3).toFixed(1).padStart(6)} us ${pct(r.p90, base.p90)}  mean99=${(r.trimmed / 1e3).toFixed(1).padStart(6)} us ${pct(r.trimmed, base.trimmed)}  total=${r.total.toFixed(1).padStart(5)} ms ${pct(r.total, base.total)}  metrics=${r.metrics}  skipped=${r.skipped}  wall=${r.wall}s`);
}
console.log(rows.join("\n"));
' "$out" "${configs[@]}" | tee "$out/table.txt"
