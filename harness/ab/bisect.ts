// Bisection on a series' patch index. Pure: given what is known (prefix `good` of the series does
// not show the regression, prefix `bad` does), which prefix to A/B next, and how to read a step's
// comparison against the base. A step that neither shows nor clears the regression stops the search
// with the range it has: it is reported, never guessed over.
import { pct } from './table.ts';
import type { AbComparison, BisectStepOutcome } from './types.ts';

export interface BisectState {
  /** Longest prefix known good (0 = the base itself). */
  good: number;
  /** Shortest prefix known bad (the whole series at first). */
  bad: number;
  steps: { k: number; comparison: string; outcome: BisectStepOutcome; detail: string }[];
}

/** The next prefix length to test, or undefined when the culprit is pinned (bad = good + 1) or the search stopped. */
export function nextBisectStep(s: BisectState): number | undefined {
  const last = s.steps.at(-1);
  if (last && last.outcome !== 'good' && last.outcome !== 'bad') return undefined;
  if (s.bad - s.good <= 1) return undefined;
  return Math.floor((s.good + s.bad) / 2);
}

export interface BisectTargets {
  /** Metric keys that regressed on the whole series. */
  metrics: string[];
  /** Console finding titles new on the whole series. */
  findings: string[];
  /** Items (scenario:fs:dax) that failed only on the whole series. */
  failures: string[];
}

/**
 * bad: any target reproduces (a target metric regresses, a target finding or failure appears).
 * good: none does, and every target metric is settled (no change or improvement).
 * inconclusive: otherwise.
 */
export function stepOutcome(c: AbComparison, t: BisectTargets): { outcome: BisectStepOutcome; detail: string } {
  const byKey = new Map(c.metrics.map((m) => [m.key, m]));
  const regressed = t.metrics.filter((k) => byKey.get(k)?.verdict === 'regression');
  const found = t.findings.filter((title) => c.newFindings.some((f) => f.title === title));
  const failed = t.failures.filter((i) => c.newFailures.some((f) => f.item === i));
  const change = (k: string): string => {
    const m = byKey.get(k);
    return m?.changePct === null || m?.changePct === undefined ? k : `${k} ${pct(m.changePct)} (p=${m.p.toPrecision(2)})`;
  };
  if (regressed.length || found.length || failed.length) {
    return { outcome: 'bad', detail: [...regressed.map(change), ...found.map((f) => `finding: ${f}`), ...failed.map((f) => `failure: ${f}`)].join('; ') };
  }
  const open = t.metrics.filter((k) => {
    const v = byKey.get(k)?.verdict;
    return v !== 'no change' && v !== 'improvement';
  });
  if (open.length) return { outcome: 'inconclusive', detail: open.map((k) => `${change(k)}: ${byKey.get(k)?.verdict ?? 'not measured'}`).join('; ') };
  return { outcome: 'good', detail: t.metrics.length ? t.metrics.map(change).join('; ') : 'target findings absent' };
}
