// Monitors in real guests, one run on three kernels: Debian's 6.12 (tracefs with function_graph
// and hist triggers, no LOCK_STAT), the debug kernel (tinyconfig: tracefs events but no
// function_graph or hist triggers, lockdep without lock_stat, no VM event counters) and the
// tracing debug kernel (debug-trace-6.12: everything but the VM event counters). The scenario asks for every monitor in its YAML; the reproducer must pass on both,
// what a kernel has must come back as metrics with units, and what it lacks as one named skip
// per monitor and step — in the event log, the summary and the report. The two debug kernels are
// source builds (debug-trace-6.12 alone is a cold build of 10-45 min): opt-in with
// DAXLAB_SLOW_TESTS=1; Debian's prebuilt kernel runs in every suite.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHistoryDb } from '../harness/history/db/connect.ts';
import { importRunDir } from '../harness/history/db/import.ts';
import { seriesOfRun } from '../harness/history/db/queries.ts';
import { parseDbTarget } from '../harness/history/db/target.ts';
import type { RunSummary, StepResult } from '../harness/results/types.ts';
import { daxlab, root } from './helpers.ts';

const ITER = 40;

const slow = process.env['DAXLAB_SLOW_TESTS'] === '1';

/** truncate-latency with every monitor in its YAML, on `kernels`, one run: its dir and summary. */
async function monitoredRun(t: ExecutionContext, kernels: string[]): Promise<{ dir: string; out: string; s: RunSummary; step: (k: string) => StepResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-monitor-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const yaml = join(dir, 'scenario.yaml');
  writeFileSync(
    yaml,
    [
      'id: tl-monitored',
      `reproducer: ${join(root, 'scenarios/truncate-latency/truncate-latency.c')}`,
      `args: [--iterations, ${ITER}]`,
      'filesystem: ext4',
      'dax: always',
      'monitors:',
      '  vmstat: [pgfault, pgmajfault]',
      '  funclatency: [dax_layout_busy_page_range, ext4_break_layouts]',
      '  dax_events: [dax_pte_fault, dax_pte_fault_done, dax_pmd_fault]',
      '  lock_stat: true',
      '',
    ].join('\n'),
  );
  const out = join(dir, 'run');
  const t0 = Date.now();
  const r = await daxlab(['run', yaml, ...kernels.flatMap((k) => ['--kernel', k]), '-j', '1', '--out', out]);
  t.log(`run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  t.is(r.exitCode, 0, String(r.all).slice(-3000));
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  const step = (k: string): StepResult => {
    const st = s.steps.find((x) => x.kernel === k);
    if (!st) throw new Error(`no step on ${k}`);
    return st;
  };
  return { dir, out, s, step };
}

test('every monitor on debian:6.12: metrics where the kernel has them, lock_stat a named skip; ordinary metrics in the log, report and history', async (t) => {
  const { dir, out, s, step } = await monitoredRun(t, ['debian:6.12']);
  const deb = step('debian:6.12');
  t.is(deb.status, 'pass', `${deb.key}: ${deb.reason}`);

  // Debian: function_graph timed every truncate's busy-page scan; the hist triggers counted the fault.
  const m = deb.metrics;
  t.true((m['funclatency.dax_layout_busy_page_range.count']?.value ?? 0) >= ITER, JSON.stringify(m));
  t.is(m['funclatency.dax_layout_busy_page_range.p50']?.unit, 'us');
  t.true((m['funclatency.dax_layout_busy_page_range.p50']?.value ?? 0) > 0);
  t.true((m['funclatency.ext4_break_layouts.p99']?.value ?? 0) >= (m['funclatency.dax_layout_busy_page_range.p50']?.value ?? Infinity));
  t.true((m['dax_events.dax_pte_fault']?.value ?? 0) >= 1, 'the reproducer faults its first page in');
  t.is(m['dax_events.dax_pte_fault_done']?.value, m['dax_events.dax_pte_fault']?.value);
  t.true((m['vmstat.pgfault']?.value ?? 0) > 0);
  t.is(m['vmstat.pgfault']?.unit, 'count');
  t.truthy(m['truncate_total'], 'the reproducer\'s own metrics are there too');
  t.deepEqual(deb.skippedMonitors?.map((x) => x.monitor), ['lock_stat']);

  // Ordinary metrics: metric events in the log, lines in the report.
  const events = readFileSync(join(out, 'events.jsonl'), 'utf8');
  t.regex(events, /"type":"metric"[^\n]*"name":"funclatency\.dax_layout_busy_page_range\.p50"[^\n]*"unit":"us"/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  t.true(html.includes('funclatency.dax_layout_busy_page_range.p50'));
  t.true(html.includes('monitor lock_stat skipped'));

  // ... and series of the nightly history like any other metric.
  const h = await openHistoryDb(parseDbTarget(join(dir, 'history.sqlite')));
  try {
    await importRunDir(h, out);
    const series = await seriesOfRun(h.db, s.runId);
    const p50 = series.find((x) => x.kernel === 'debian:6.12' && x.metric === 'funclatency.dax_layout_busy_page_range.p50');
    t.is(p50?.unit, 'us');
    t.true(series.some((x) => x.metric === 'truncate_total'));
  } finally {
    await h.close();
  }
});

(slow ? test : test.skip)('every monitor on the debug kernel and debug-trace-6.12: named skips on tinyconfig, lock_stat on the tracing kernel (DAXLAB_SLOW_TESTS=1)', async (t) => {
  const { step } = await monitoredRun(t, ['debug=images/kernels/debug-6.12.yaml', 'trace=images/kernels/debug-trace-6.12.yaml']);
  const dbg = step('debug');
  const trc = step('trace');
  for (const st of [dbg, trc]) t.is(st.status, 'pass', `${st.key}: ${st.reason}`);
  // The debug kernel (tinyconfig): tracefs and fs_dax events but no function_graph and no hist
  // triggers, no lock_stat, and no VM event counters (pgfault): each is one named skip, the
  // reproducer unharmed.
  t.false(Object.keys(dbg.metrics).some((k) => /^(funclatency|dax_events|lock_stat|vmstat)\./.test(k)), JSON.stringify(dbg.metrics));
  t.deepEqual(dbg.skippedMonitors?.map((x) => x.monitor).sort(), ['dax_events', 'funclatency', 'lock_stat', 'vmstat']);
  t.regex(dbg.skippedMonitors?.find((x) => x.monitor === 'vmstat')?.reason ?? '', /CONFIG_VM_EVENT_COUNTERS/);
  t.regex(dbg.skippedMonitors?.find((x) => x.monitor === 'dax_events')?.reason ?? '', /CONFIG_HIST_TRIGGERS/);
  t.regex(dbg.skippedMonitors?.find((x) => x.monitor === 'lock_stat')?.reason ?? '', /CONFIG_LOCK_STAT/);
  // Said once per step: one info line per skipped monitor.
  t.is(dbg.infos.filter((i) => i.startsWith('monitor lock_stat skipped')).length, 1);

  // debug-trace: lock_stat too (the sum over classes and the top ones by wait time), and the
  // same function latencies as on Debian.
  const tm = trc.metrics;
  t.true((tm['lock_stat.all.acquisitions']?.value ?? 0) > 1000, JSON.stringify(tm));
  t.is(tm['lock_stat.all.wait_total']?.unit, 'us');
  t.true(Object.keys(tm).some((k) => /^lock_stat\.(?!all\.).+\.wait_total$/.test(k)) || tm['lock_stat.all.contentions']?.value === 0);
  t.true((tm['funclatency.dax_layout_busy_page_range.count']?.value ?? 0) >= ITER);
  t.true((tm['dax_events.dax_pte_fault']?.value ?? 0) >= 1);
  t.deepEqual(trc.skippedMonitors?.map((x) => x.monitor), ['vmstat']);
});
