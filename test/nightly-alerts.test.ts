// Nightly alerts (nightly/alerts.ts) on generated histories with known truth: per night 4 boots
// with 1% noise around a level; a step tonight, a step three nights ago, a single bad night, none.
import test from 'ava';
import { rng } from '../harness/ab/stats.ts';
import type { AbSettings } from '../harness/ab/types.ts';
import { readFileSync } from 'node:fs';
import { measurementConditions, type NightValue, type SeriesKey } from '../harness/history/db/queries.ts';
import { alertText, findingAlerts, lastGoodNight, metricAlert } from '../harness/nightly/alerts.ts';

const key: SeriesKey = { kernel: 'mainline-dax', scenario: 'truncate-latency', variant: { fs: 'ext4', dax: 'always' }, metric: 'truncate.p50' };
const AB: AbSettings = { threshold: 0.05, alpha: 0.05, confidence: 0.95, resamples: 2000, seed: 1 };

function history(levels: number[], seed: number): NightValue[] {
  const r = rng(seed);
  return levels.map((level, i) => {
    const boots = [0, 1, 2, 3].map(() => level * (1 + 0.01 * (r() + r() + r() - 1.5)));
    const sorted = [...boots].sort((a, b) => a - b);
    return {
      runId: `night-${String(i + 1).padStart(2, '0')}`,
      startedAt: `2026-11-${String(i + 1).padStart(2, '0')}T02:00:00Z`,
      value: ((sorted[1] ?? 0) + (sorted[2] ?? 0)) / 2,
      boots,
      unit: 'us',
      kernel: { spec: i === levels.length - 1 ? 'debug-6.12.yaml + slow.patch' : 'debug-6.12.yaml', release: '6.12.117-daxlab-0000', identity: {} },
      conditions: 'tcg thread=single clock=icount cpus=2 mem=2048M',
    };
  });
}

test('a 20% step tonight alerts from the previous night, naming tonight and both kernels', (t) => {
  const a = metricAlert(key, history([...Array(5).fill(100), 120], 1), 'lower', AB);
  t.truthy(a);
  t.deepEqual(a?.by, ['previous-night']);
  t.is(a?.since.runId, 'night-06');
  t.is(a?.baseline.runId, 'night-05');
  t.true((a?.changePct ?? 0) > 15 && (a?.changePct ?? 0) < 25, String(a?.changePct));
  const text = alertText(a as NonNullable<typeof a>);
  t.regex(text, /^REGRESSION mainline-dax\/truncate-latency:ext4-dax=always truncate\.p50 \+\d+\.\d%: .* since the night of 2026-11-06 \(night-06; seen by previous-night, p=0\.029/);
  t.regex(text, /after: {2}night-06 6\.12\.117-daxlab-0000 \(debug-6\.12\.yaml \+ slow\.patch\)/);
  // The same step on a higher-is-better metric is an improvement: no alert.
  t.is(metricAlert(key, history([...Array(5).fill(100), 120], 1), 'higher', AB), undefined);
});

test('a 10% step three nights ago is found by the change-point detector, from its first night', (t) => {
  const a = metricAlert(key, history([...Array(15).fill(100), 110, 110, 110], 2), 'lower', AB);
  t.true(a?.by.includes('change-point'), JSON.stringify(a?.by));
  t.is(a?.since.runId, 'night-16');
  t.is(a?.baseline.runId, 'night-15');
});

test('a regression that stays is compared with the last good night: still regressed, since its first night; fixed, no alert', (t) => {
  // Three nights: the step on night 2 is alerted then; night 3 against night 1 (the last good).
  const three = history([100, 120, 120], 3);
  const a = metricAlert(key, three, 'lower', AB);
  t.deepEqual(a?.by, ['last-good']);
  t.is(a?.since.runId, 'night-02');
  t.is(a?.baseline.runId, 'night-01');
  t.regex(alertText(a as NonNullable<typeof a>), /since the night of 2026-11-02 \(night-02, still regressed tonight; seen by last-good, p=0\.029, tonight\/the last good night night-01 in \[/);
  // Against last night alone, night 3 would be no change.
  t.is(metricAlert(key, three.slice(1), 'lower', AB), undefined);
  // The fix lands: back at the good level, nothing to alert.
  t.is(metricAlert(key, history([100, 100, 120, 120, 100], 3), 'lower', AB), undefined);
  t.deepEqual(lastGoodNight(history([100, 100, 120, 120, 100, 100], 3), 'lower', AB).good.runId, 'night-05');
});

test('noise, and one bad night that reverts, raise nothing on most seeds', (t) => {
  let noise = 0;
  let outlier = 0;
  for (let seed = 1; seed <= 40; seed++) {
    if (metricAlert(key, history(Array(12).fill(100), seed), 'lower', AB)) noise++;
    if (metricAlert(key, history([...Array(8).fill(100), 130, 100, 100, 100], seed), 'lower', AB)) outlier++;
  }
  t.log(`${noise}/40 noise-only and ${outlier}/40 reverted-bad-night histories alerted`);
  t.true(noise <= 4, `${noise}/40 noise-only histories alerted`);
  t.true(outlier <= 4, `${outlier}/40 histories with a reverted bad night alerted`);
  t.is(metricAlert(key, history([100], 1), 'lower', AB), undefined, 'one night has nothing to compare');
});

test('nights measured differently (another guest clock) are not compared: no alert from the clock, the step still found among nights measured alike', (t) => {
  const HOST = 'tcg thread=single clock=host cpus=2 mem=2048M';
  // icount makes every truncate 4x slower than host time; that is the clock, not the kernel.
  const icountTonight = history([...Array(5).fill(100), 400], 1).map((n, i) => (i === 5 ? n : { ...n, conditions: HOST }));
  t.is(metricAlert(key, icountTonight, 'lower', AB), undefined);
  // A host-clock night in the middle of icount nights is left out, and the 20% step tonight is
  // measured against the icount night before it.
  const mixed = history([100, 100, 100, 100, 25, 120], 2).map((n, i) => (i === 4 ? { ...n, conditions: HOST } : n));
  const a = metricAlert(key, mixed, 'lower', AB);
  t.is(a?.baseline.runId, 'night-04');
  t.true((a?.changePct ?? 0) > 15 && (a?.changePct ?? 0) < 25, String(a?.changePct));
});

test('measurement conditions of a real run: accelerator, TCG threading, clock, vCPUs, memory; pmem size left out', (t) => {
  const events = readFileSync('test/data/runs/segv-and-pass/events.jsonl', 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; guest?: object });
  const guest = events.find((e) => e.type === 'run-started')?.guest ?? {};
  t.is(measurementConditions('tcg', 'single', JSON.stringify(guest)), 'tcg thread=single clock=host cpus=2 mem=2048M');
  t.is(measurementConditions('tcg', 'single', JSON.stringify({ ...guest, clock: 'icount', pmemBytes: 2 ** 31 })), 'tcg thread=single clock=icount cpus=2 mem=2048M');
  t.is(measurementConditions('kvm', null, JSON.stringify({ ...guest, append: ['nokaslr'] })), 'kvm cpus=2 mem=2048M append=nokaslr');
  t.is(measurementConditions('tcg', 'single', JSON.stringify({ ...guest, pmemBytes: 2 ** 32 })), measurementConditions('tcg', 'single', JSON.stringify(guest)));
});

test('a finding title never seen on the kernel name before is an alert; a known one is not', (t) => {
  const seen = new Map([['mainline-dax', new Set(['WARNING in dax_disassociate_entry'])]]);
  const alerts = findingAlerts('night-07', [
    { kernel: 'mainline-dax', title: 'WARNING in dax_disassociate_entry' },
    { kernel: 'mainline-dax', title: 'possible deadlock in dax_layout_busy_page_range' },
    { kernel: 'debian-6.12', title: 'WARNING in dax_disassociate_entry' },
  ], (k) => seen.get(k) ?? new Set());
  t.deepEqual(alerts.map((a) => `${a.kernel}: ${a.title}`), ['mainline-dax: possible deadlock in dax_layout_busy_page_range', 'debian-6.12: WARNING in dax_disassociate_entry']);
  t.is(alertText(alerts[0] as NonNullable<(typeof alerts)[0]>), 'NEW FINDING on mainline-dax: possible deadlock in dax_layout_busy_page_range (first seen in night-07)');
});

test('history table: one line a night, the change point marked on the first night of the new level', async (t) => {
  const { renderHistory } = await import('../harness/nightly/history.ts');
  const { detectChangePoints } = await import('../harness/history/changepoint.ts');
  const nights = history([...Array(10).fill(100), ...Array(5).fill(130)], 3);
  const cps = detectChangePoints(nights.map((n) => n.value));
  const text = renderHistory(key, nights, cps);
  const lines = text.split('\n');
  t.is(lines[0], 'mainline-dax/truncate-latency:ext4-dax=always truncate.p50 (15 nights)');
  t.is(lines.length, 2 + 1 + 15);
  t.regex(lines[3 + 10] ?? '', /^2026-11-11 02:00 +night-11 .* 1\d\d\.\d us +4 +<- change \+\d+\.\d% p=/);
  t.is(lines.filter((l) => l.includes('<- change')).length, 1);
});
