// From a run's steps to the A/B comparison of one (A, B) pair of slot sets. Pure.
// The boot is the unit: each metric's value per boot is the median over that boot's measured
// repetitions (the warm-up repetition is dropped), and a sample metric's value per repetition is
// the median of its samples. So a noisy boot moves one value, never the whole comparison.
import { monitorOfMetric } from '../monitor/spec.ts';
import { quantile } from '../stats/summary.ts';
import type { RunSummary, StepResult } from '../results/types.ts';
import { variantName } from '../plan/plan.ts';
import { WARMUP_REP, type Slot } from './design.ts';
import { compareMetric, holm, verdictFor } from './stats.ts';
import type { AbComparison, AbKernel, AbMetric, AbSettings, Better, BootValue, NewFinding } from './types.ts';

const TIME_UNITS = new Set(['ns', 'us', 'ms', 's']);

/** Declared direction, else lower for time units (latency), else none. */
export function betterFor(name: string, unit: string, declared: Record<string, Better> | undefined): Better {
  return declared?.[name] ?? (TIME_UNITS.has(unit) ? 'lower' : 'none');
}

interface Series {
  scenario: string;
  variant: string;
  metric: string;
  base: string;
  unit: string;
  /** boot -> side, slot, per-repetition values */
  byBoot: Map<number, { side: 'A' | 'B'; slot: number; reps: [number, number][] }>;
}

/** Per-repetition values of one step: metrics as they are, samples as their median (`NAME.p50`). */
export function stepValues(st: StepResult): { name: string; base: string; unit: string; value: number }[] {
  const out = Object.entries(st.metrics).map(([name, m]) => ({ name, base: name, unit: m.unit, value: m.value }));
  for (const [name, s] of Object.entries(st.samples)) if (s.values.length) out.push({ name: `${name}.p50`, base: name, unit: s.unit, value: quantile(s.values, 0.5) });
  return out.filter((v) => Number.isFinite(v.value));
}

const itemOf = (st: StepResult): string => `${st.scenario}:${st.variant.fs}:${st.variant.dax}`;

export interface CompareInput {
  id: string;
  summary: Pick<RunSummary, 'steps' | 'findings' | 'boots'>;
  a: AbKernel;
  b: AbKernel;
  slots: Slot[];
  settings: AbSettings;
  /** scenario id -> declared metric directions */
  better: Record<string, Record<string, Better>>;
  wallMs: number;
}

export function compareSlots(o: CompareInput): AbComparison {
  const sideOf = new Map(o.slots.map((s) => [s.slot, s.side] as const));
  const steps = o.summary.steps.filter((st) => st.slot !== undefined && sideOf.has(st.slot));
  const series = new Map<string, Series>();
  const excluded = { a: 0, b: 0 };
  for (const st of steps) {
    const side = sideOf.get(st.slot as number) as 'A' | 'B';
    if (st.rep === WARMUP_REP) continue;
    if (st.status !== 'pass') {
      excluded[side === 'A' ? 'a' : 'b']++;
      continue;
    }
    for (const v of stepValues(st)) {
      const key = `${itemOf(st)}:${v.name}`;
      let s = series.get(key);
      if (!s) series.set(key, (s = { scenario: st.scenario, variant: variantName(st.variant), metric: v.name, base: v.base, unit: v.unit, byBoot: new Map() }));
      let b = s.byBoot.get(st.boot);
      if (!b) s.byBoot.set(st.boot, (b = { side, slot: st.slot as number, reps: [] }));
      b.reps.push([st.rep, v.value]);
    }
  }
  const metrics: AbMetric[] = [];
  for (const [key, s] of [...series].sort(([x], [y]) => x.localeCompare(y))) {
    const boots: BootValue[] = [...s.byBoot]
      .sort(([x], [y]) => x - y)
      .map(([boot, b]) => {
        const reps = b.reps.sort((x, y) => x[0] - y[0]).map(([, v]) => v);
        return { side: b.side, boot, slot: b.slot, value: quantile(reps, 0.5), reps };
      });
    const better = betterFor(s.base, s.unit, o.better[s.scenario]);
    const a = boots.filter((x) => x.side === 'A').map((x) => x.value);
    const b = boots.filter((x) => x.side === 'B').map((x) => x.value);
    metrics.push({ key, scenario: s.scenario, variant: s.variant, metric: s.metric, unit: s.unit, better, ...compareMetric(a, b, { ...o.settings, better }), pAdjusted: NaN, boots });
  }
  judgeFamily(metrics, o.settings);
  const newFindings = findingsNewOnB(o.summary, o.a.name, o.b.name, steps);
  const newFailures = failuresNewOnB(steps, sideOf);
  const bootsOf = (side: 'A' | 'B'): number[] => [...new Set(steps.filter((st) => sideOf.get(st.slot as number) === side).map((st) => st.boot))];
  const regressed = metrics.some((m) => m.verdict === 'regression') || newFindings.length > 0 || newFailures.length > 0;
  const open = metrics.some((m) => m.verdict === 'inconclusive' && m.better !== 'none');
  const caveats: string[] = [];
  // The kernel turns lockdep off after its first report: B's later steps ran without its cost.
  if (newFindings.some((f) => f.kind.startsWith('lockdep'))) caveats.push(`lockdep reported on ${o.b.name} and then switched itself off (debug_locks), so ${o.b.name}'s timings after the report are not comparable with ${o.a.name}'s`);
  return {
    id: o.id,
    a: o.a,
    b: o.b,
    boots: { a: bootsOf('A').length, b: bootsOf('B').length },
    slots: o.slots.map((s) => ({ slot: s.slot, side: s.side, boots: [...new Set(steps.filter((st) => st.slot === s.slot).map((st) => st.boot))].sort((x, y) => x - y) })),
    metrics,
    newFindings,
    newFailures,
    caveats,
    excluded,
    outcome: regressed ? 'regression' : open ? 'inconclusive' : 'no regression',
    wallMs: o.wallMs,
  };
}

/**
 * The verdicts of one comparison as a family: directed metrics' p-values are Holm-adjusted before
 * the rule (stats.ts verdictFor) is applied, so a scenario with eight latency metrics does not get
 * eight chances at a false regression. Metrics without a direction keep their own p.
 */
export function judgeFamily(metrics: AbMetric[], s: AbSettings): void {
  // Each monitor's metrics (harness/monitor/) are a family of their own: asking lock_stat for ten
  // classes must not dilute the reproducer's verdicts, nor the reproducer's lock_stat's.
  const families = new Map<string, AbMetric[]>();
  for (const m of metrics) {
    if (m.better === 'none') continue;
    const f = monitorOfMetric(m.metric) ?? '';
    families.set(f, [...(families.get(f) ?? []), m]);
  }
  for (const directed of families.values()) {
    const adj = holm(directed.map((m) => m.p));
    directed.forEach((m, i) => (m.pAdjusted = adj[i] ?? 1));
  }
  for (const m of metrics) {
    if (m.better === 'none') m.pAdjusted = m.p;
    const values = m.boots.map((b) => b.value);
    const allEqual = values.length > 0 && values.every((v) => v === values[0]);
    m.verdict = verdictFor({ ratio: m.ratio, ci: m.ci, p: m.pAdjusted, hl: m.hl, aAllEqualB: allEqual, na: m.a.n, nb: m.b.n }, { threshold: s.threshold, alpha: s.alpha, better: m.better });
  }
}

/** Titles found in B's steps or boots of these slots that A's never showed. */
function findingsNewOnB(s: Pick<RunSummary, 'findings' | 'boots'>, a: string, b: string, steps: StepResult[]): NewFinding[] {
  const stepKernel = new Map(steps.map((st) => [st.key, st.kernel]));
  const bootsHere = new Set(steps.map((st) => st.boot));
  const bootKernel = new Map(s.boots.filter((x) => bootsHere.has(x.index)).map((x) => [x.index, x.kernel]));
  const kernelOf = (where: string): string | undefined => {
    const m = /^boot (\d+):/.exec(where);
    return m ? bootKernel.get(Number(m[1])) : stepKernel.get(where);
  };
  const out: NewFinding[] = [];
  for (const f of s.findings) {
    const on = f.where.map((w) => ({ w, k: kernelOf(w) })).filter((x) => x.k !== undefined);
    const onB = on.filter((x) => x.k === b).map((x) => x.w);
    if (onB.length && !on.some((x) => x.k === a)) out.push({ title: f.title, kind: f.kind, where: onB });
  }
  return out;
}

/** scenario:fs:dax items that passed on every A boot and failed (or worse) on some B boot. */
function failuresNewOnB(steps: StepResult[], sideOf: Map<number, 'A' | 'B'>): { item: string; statuses: string[] }[] {
  const by = new Map<string, { a: string[]; b: string[] }>();
  for (const st of steps) {
    const k = itemOf(st);
    if (!by.has(k)) by.set(k, { a: [], b: [] });
    by.get(k)?.[sideOf.get(st.slot as number) === 'A' ? 'a' : 'b'].push(st.status);
  }
  const out: { item: string; statuses: string[] }[] = [];
  for (const [item, x] of by) {
    const ok = (st: string): boolean => st === 'pass' || st === 'skip';
    if (x.a.length && x.a.every(ok) && x.b.some((st) => !ok(st))) out.push({ item, statuses: [...new Set(x.b.filter((st) => !ok(st)))] });
  }
  return out;
}
