// The A/B design, collection, bisection and series splitting: pure, no QEMU.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { nextBisectStep, stepOutcome, type BisectState } from '../harness/ab/bisect.ts';
import { betterFor, compareSlots } from '../harness/ab/collect.ts';
import { parseThreshold } from '../harness/ab/command.ts';
import { blockOrder, blocksFor, slotItems, slotsFor, type Slot } from '../harness/ab/design.ts';
import { verdictLine } from '../harness/ab/runner.ts';
import { rng } from '../harness/ab/stats.ts';
import type { AbComparison, AbSettings } from '../harness/ab/types.ts';
import { patchSubject, splitMbox } from '../harness/kernel/series.ts';
import type { RunSummary, StepResult } from '../harness/results/types.ts';
import type { Scenario } from '../harness/scenario/schema.ts';

const settings: AbSettings = { threshold: 0.05, alpha: 0.05, confidence: 0.95, resamples: 2000, seed: 7 };

test('blocks are ABBA or BAAB, balanced, and the same for the same seed', (t) => {
  const a = blockOrder(6, rng(3));
  t.deepEqual(a, blockOrder(6, rng(3)));
  t.is(a.length, 24);
  for (let i = 0; i < a.length; i += 4) t.true(['ABBA', 'BAAB'].includes(a.slice(i, i + 4).join('')));
  t.is(a.filter((s) => s === 'A').length, 12);
  t.true(new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => blockOrder(6, rng(s)).join(''))).size > 1, 'the seed decides the order');
  t.is(blocksFor(5), 3);
  t.is(blocksFor(6), 3);
});

const scenario = { id: 'tl', filesystems: ['ext4'], daxModes: ['always', 'never'], args: ['--iterations', '5'], timeoutS: 30, scratch: false, scratchIops: undefined, repetitions: 2 } as unknown as Scenario;

test('every slot runs every variant with a warm-up repetition 0, keys unique', (t) => {
  const slots = slotsFor(['A', 'B', 'B', 'A'], 5, 'base', 'patched');
  t.deepEqual(slots.map((s) => `${s.slot}${s.kernel}`), ['5base', '6patched', '7patched', '8base']);
  const items = slotItems(slots, [scenario], new Map([['tl', 'tl.bin']]), () => 2);
  t.is(items.length, 4 * 2 * 3);
  t.is(new Set(items.map((i) => i.key)).size, items.length);
  t.deepEqual(items.slice(0, 3).map((i) => i.key), ['base/tl:ext4:always:r0@5', 'base/tl:ext4:always:r1@5', 'base/tl:ext4:always:r2@5']);
  t.true(items.every((i) => i.slot !== undefined && !i.ownBoot));
});

/** Steps of a design with per-boot values from `value(side, boot, rep)`. */
function summaryOf(slots: Slot[], value: (side: 'A' | 'B', boot: number, rep: number) => number, o: { status?: (side: 'A' | 'B', boot: number, rep: number) => StepResult['status'] } = {}): Pick<RunSummary, 'steps' | 'findings' | 'boots'> {
  const steps: StepResult[] = [];
  for (const sl of slots) {
    for (let rep = 0; rep <= 3; rep++) {
      const v = value(sl.side, sl.slot, rep);
      steps.push({
        key: `${sl.kernel}/tl:ext4:always:r${rep}@${sl.slot}`, kernel: sl.kernel, scenario: 'tl', variant: { fs: 'ext4', dax: 'always' }, rep, slot: sl.slot, boot: sl.slot,
        status: o.status?.(sl.side, sl.slot, rep) ?? 'pass', reason: '', exitCode: 0, durationMs: 1,
        samples: { truncate: { unit: 'ns', values: [v * 0.9, v, v * 1.1] } }, metrics: { truncate_total: { unit: 's', value: v * 1e-7 }, iterations: { unit: 'count', value: 100 } },
        infos: [], output: [], stderr: [], findings: [], finishedAt: '',
      });
    }
  }
  return { steps, findings: [], boots: slots.map((s) => ({ index: s.slot, kernel: s.kernel }) as RunSummary['boots'][number]) };
}

const kA = { name: 'base', spec: 'x', release: '6.12', identity: {} };
const kB = { name: 'patched', spec: 'y', release: '6.12', identity: {} };

test('the boot is the unit: per-boot medians of the measured repetitions, warm-up dropped', (t) => {
  const slots = slotsFor(blockOrder(3, rng(1)), 1, 'base', 'patched');
  // The warm-up repetition is 100x slower: if it counted, B would look like A.
  const s = summaryOf(slots, (side, boot, rep) => (rep === 0 ? 100000 : (side === 'B' ? 2000 : 1000) * (1 + 0.01 * ((boot * 7 + rep) % 3))));
  const c = compareSlots({ id: 'main', summary: s, a: kA, b: kB, slots, settings, better: {}, wallMs: 0 });
  const m = c.metrics.find((x) => x.key === 'tl:ext4:always:truncate.p50');
  t.truthy(m);
  t.is(m?.a.n, 6, 'six boots of A, not 18 repetitions');
  t.true(m?.boots.every((b) => b.reps.length === 3), 'three measured repetitions per boot, the warm-up left out');
  t.is(m?.verdict, 'regression');
  t.true((m?.changePct ?? 0) > 90 && (m?.changePct ?? 0) < 110);
  t.is(m?.better, 'lower', 'time units: lower is better');
  t.is(c.metrics.find((x) => x.metric === 'iterations')?.verdict, 'no change');
  t.is(c.outcome, 'regression');
  t.deepEqual(c.boots, { a: 6, b: 6 });
  // Same data, same seed: the same interval.
  const again = compareSlots({ id: 'main', summary: s, a: kA, b: kB, slots, settings, better: {}, wallMs: 0 });
  t.deepEqual(again.metrics.map((x) => x.ci), c.metrics.map((x) => x.ci));
});

test('one wild boot on B does not make a regression', (t) => {
  const slots = slotsFor(blockOrder(4, rng(2)), 1, 'base', 'patched');
  const wild = slots.find((s) => s.side === 'B')?.slot;
  const s = summaryOf(slots, (_side, boot, rep) => (boot === wild ? 50000 : 1000 * (1 + 0.02 * ((boot * 5 + rep) % 4))));
  const c = compareSlots({ id: 'main', summary: s, a: kA, b: kB, slots, settings, better: {}, wallMs: 0 });
  const m = c.metrics.find((x) => x.key === 'tl:ext4:always:truncate.p50');
  t.not(m?.verdict, 'regression');
  t.not(c.outcome, 'regression');
});

test('steps that did not pass are left out of the timing and a failure only on B is reported', (t) => {
  const slots = slotsFor(blockOrder(2, rng(5)), 1, 'base', 'patched');
  const s = summaryOf(slots, () => 1000, { status: (side, _b, rep) => (side === 'B' && rep === 2 ? 'fail' : 'pass') });
  const c = compareSlots({ id: 'main', summary: s, a: kA, b: kB, slots, settings, better: {}, wallMs: 0 });
  t.deepEqual(c.excluded, { a: 0, b: 4 });
  t.deepEqual(c.newFailures, [{ item: 'tl:ext4:always', statuses: ['fail'] }]);
  t.is(c.outcome, 'regression');
});

test('a finding title seen only on B is new; one also on A is not', (t) => {
  const slots = slotsFor(['A', 'B', 'B', 'A'], 1, 'base', 'patched');
  const s = summaryOf(slots, () => 1000);
  const f = (title: string, where: string[]): RunSummary['findings'][number] => ({ title, kind: 'lockdep', count: where.length, where, boot: 1, consoleLog: '', line: 1, corrupted: false, text: '', frames: [] });
  s.findings.push(f('possible circular locking dependency detected in foo', ['patched/tl:ext4:always:r1@2', 'boot 3: mkfs ext4']));
  s.findings.push(f('WARNING in bar', ['base/tl:ext4:always:r1@1', 'patched/tl:ext4:always:r1@2']));
  const c = compareSlots({ id: 'main', summary: s, a: kA, b: kB, slots, settings, better: {}, wallMs: 0 });
  t.deepEqual(c.newFindings.map((x) => x.title), ['possible circular locking dependency detected in foo']);
  t.deepEqual(c.newFindings[0]?.where, ['patched/tl:ext4:always:r1@2', 'boot 3: mkfs ext4']);
  t.regex(c.caveats[0] ?? '', /lockdep .* switched itself off/, 'B ran without lockdep after its report: its timings say so');
});

test('declared directions win over the unit', (t) => {
  t.is(betterFor('cycles', 'count', { cycles: 'higher' }), 'higher');
  t.is(betterFor('truncate', 'ns', undefined), 'lower');
  t.is(betterFor('is_dax', 'bool', undefined), 'none');
});

const cmp = (verdicts: Record<string, string>, findings: string[] = []): AbComparison =>
  ({ id: 'k', metrics: Object.entries(verdicts).map(([key, verdict]) => ({ key, verdict, changePct: 10, p: 0.01 })), newFindings: findings.map((title) => ({ title, kind: 'lockdep', where: [] })), newFailures: [] }) as unknown as AbComparison;

test('bisection halves the range and pins patch 3 of 4', (t) => {
  const targets = { metrics: ['m'], findings: [], failures: [] };
  let st: BisectState = { good: 0, bad: 4, steps: [] };
  const culprit = 3;
  const tested: number[] = [];
  for (let k = nextBisectStep(st); k !== undefined; k = nextBisectStep(st)) {
    tested.push(k);
    const out = stepOutcome(cmp({ m: k >= culprit ? 'regression' : 'no change' }), targets);
    st = { good: out.outcome === 'good' ? k : st.good, bad: out.outcome === 'bad' ? k : st.bad, steps: [...st.steps, { k, comparison: `k${k}`, ...out }] };
  }
  t.deepEqual(tested, [2, 3]);
  t.deepEqual([st.good, st.bad], [2, 3]);
});

test('a bisection step that settles nothing stops the search', (t) => {
  const targets = { metrics: ['m'], findings: ['lockdep X'], failures: [] };
  t.is(stepOutcome(cmp({ m: 'inconclusive' }), targets).outcome, 'inconclusive');
  t.is(stepOutcome(cmp({ m: 'no change' }, ['lockdep X']), targets).outcome, 'bad', 'the finding reproduces');
  t.is(stepOutcome(cmp({ m: 'improvement' }), targets).outcome, 'good');
  const st: BisectState = { good: 0, bad: 8, steps: [{ k: 4, comparison: 'k4', outcome: 'inconclusive', detail: '' }] };
  t.is(nextBisectStep(st), undefined);
  t.is(nextBisectStep({ good: 0, bad: 8, steps: [{ k: 4, comparison: '', outcome: 'build-failed', detail: 'make' }] }), undefined);
  t.is(nextBisectStep({ good: 0, bad: 1, steps: [] }), undefined, 'a single patch is the culprit without a step');
});

test('an mbox of a series splits into its messages, subjects without the [PATCH n/m] tag', (t) => {
  const msg = (n: number, subj: string): string => `From 1234567890abcdef1234567890abcdef1234567${n} Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH ${n}/3] ${subj}\n\nbody\n---\ndiff --git a/x b/x\n`;
  const parts = splitMbox(msg(1, 'dax: one') + msg(2, 'dax: two\n continued') + msg(3, 'mm: three'));
  t.is(parts.length, 3);
  t.deepEqual(parts.map((p, i) => patchSubject(p, `p${i}`)), ['dax: one', 'dax: two continued', 'mm: three']);
  t.deepEqual(splitMbox('--- a/x\n+++ b/x\n'), ['--- a/x\n+++ b/x\n'], 'a plain diff is one patch');
  t.is(patchSubject('Fix the thing\n\n--- a/x\n', 'f'), 'Fix the thing');
});

test('thresholds: 5, 5% and 0.05 are the same; nonsense is bad input', (t) => {
  t.is(parseThreshold('5'), 0.05);
  t.is(parseThreshold('5%'), 0.05);
  t.is(parseThreshold('0.05'), 0.05);
  t.throws(() => parseThreshold('-3'));
  t.throws(() => parseThreshold('150%'));
});

test('the verdict line names regressions, findings and the culprit', (t) => {
  const c = { metrics: [{ key: 'tl:ext4:always:truncate.p50', verdict: 'regression', changePct: 212.3, better: 'lower' }], newFindings: [], newFailures: [], boots: { a: 6, b: 6 }, b: { name: 'patched' } } as unknown as AbComparison;
  const line = verdictLine(c, { culprit: { index: 3, subject: 'dax: slow', file: 'x', comparison: 'k3' }, status: 'found' } as never, 'completed', '');
  t.is(line, '1 regression (tl:ext4:always:truncate.p50 +212.3%) (6+6 boots); bisected to patch 3: dax: slow');
});

// Recorded A/A runs of the debug kernel (4 boots per side, truncate-latency on ext4 with DAX):
// one with the host clock, one with icount.
interface Recorded {
  a: AbComparison['a'];
  b: AbComparison['b'];
  slots: Slot[];
  steps: StepResult[];
  findings: RunSummary['findings'];
  boots: RunSummary['boots'];
}
const recorded = (name: string): Recorded => JSON.parse(readFileSync(new URL(`./data/ab/${name}.json`, import.meta.url), 'utf8')) as Recorded;
const compareRecorded = (r: Recorded, scaleB = 1): AbComparison => {
  const bSlots = new Set(r.slots.filter((s) => s.side === 'B').map((s) => s.slot));
  const steps = r.steps.map((st) =>
    st.slot !== undefined && bSlots.has(st.slot) && scaleB !== 1 ? { ...st, samples: Object.fromEntries(Object.entries(st.samples).map(([k, v]) => [k, { ...v, values: v.values.map((x) => x * scaleB) }])) } : st,
  );
  return compareSlots({ id: 'main', summary: { steps, findings: r.findings, boots: r.boots }, a: r.a, b: r.b, slots: r.slots, settings, better: {}, wallMs: 0 });
};

test('recorded A/A, host clock: boot-to-boot noise is large and nothing is called a change', (t) => {
  const c = compareRecorded(recorded('aa-host-clock'));
  const m = c.metrics.find((x) => x.metric === 'truncate.p50');
  t.truthy(m);
  t.true((m?.a.stddev ?? 0) / (m?.a.median ?? 1) > 0.1, 'the host clock: >10% boot-to-boot spread on this VM');
  t.true(c.metrics.every((x) => x.verdict !== 'regression' && x.verdict !== 'improvement'));
  t.not(c.outcome, 'regression');
});

test('recorded A/A, icount: the per-boot truncate median is the same in every boot (to 0.1%); a 10% slowdown injected into B is beyond the threshold but needs more than 4 boots, 3% is no change', (t) => {
  const r = recorded('aa-icount');
  const m = compareRecorded(r).metrics.find((x) => x.metric === 'truncate.p50');
  t.is(m?.verdict, 'no change');
  t.true((m?.ci?.[0] ?? 0) > 0.999 && (m?.ci?.[1] ?? 2) < 1.001, JSON.stringify(m?.ci));
  const values = m?.boots.map((b) => b.value) ?? [];
  t.true(Math.max(...values) / Math.min(...values) < 1.001, 'within 0.1% across boots');
  const slow = compareRecorded(r, 1.1).metrics.find((x) => x.metric === 'truncate.p50');
  // Perfectly separated at 4+4 boots: exact p = 2/70, below alpha alone, but Holm over the two
  // directed metrics doubles it. With this few boots the honest verdict is "more boots".
  t.is(slow?.p, 2 / 70);
  t.true(Math.abs((slow?.pAdjusted ?? 0) - 4 / 70) < 1e-12);
  t.is(slow?.verdict, 'inconclusive');
  t.true((slow?.ci?.[0] ?? 0) > 1.09, 'the interval says +10% all the same');
  t.is(compareRecorded(r, 1.03).metrics.find((x) => x.metric === 'truncate.p50')?.verdict, 'no change');
});

test('a family of noisy metrics: Holm keeps one borderline p from calling a regression', (t) => {
  // Recorded A/A run 3 of the bench (icount): truncate_total's p was 0.026, alone a "regression".
  const slots = slotsFor(['A', 'B', 'B', 'A', 'B', 'A', 'A', 'B', 'B', 'A', 'A', 'B'], 1, 'A', 'A2');
  const total = [0.1234, 0.1643, 0.1373, 0.1119, 0.192, 0.1432, 0.1139, 0.1705, 0.117, 0.1164, 0.1202, 0.1725];
  const s = summaryOf(slots, (_side, boot, rep) => (rep === 0 ? 1 : (total[boot - 1] as number) * 1e7));
  // A second directed metric, the same in every boot, makes the family two.
  for (const st of s.steps) st.metrics['other_ns'] = { unit: 'ns', value: 5 };
  const c = compareSlots({ id: 'main', summary: s, a: kA, b: kB, slots, settings, better: {}, wallMs: 0 });
  const m = c.metrics.find((x) => x.metric === 'truncate_total');
  t.true((m?.p ?? 1) < 0.05, `raw p ${m?.p}`);
  t.true((m?.pAdjusted ?? 0) >= 0.05, `adjusted p ${m?.pAdjusted}`);
  t.is(m?.verdict, 'inconclusive');
});
