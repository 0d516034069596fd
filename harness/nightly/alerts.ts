// Each night against its history, per (kernel name, scenario, variant, metric): a change point
// in the series of nightly values (history/changepoint.ts: persistent shifts and slow creep,
// confirmed only after a few nights) and tonight's boots against the previous night's (the A/B
// statistics: a step that appears tonight). A finding title never seen on that kernel name
// before is an alert too. Pure.
import { compareMetric } from '../ab/stats.ts';
import type { AbSettings, Better } from '../ab/types.ts';
import { CHANGEPOINT_DEFAULTS, latestChange } from '../history/changepoint.ts';
import { comparableNights, type NightValue, type SeriesKey } from '../history/db/queries.ts';
import { formatValue } from '../stats/summary.ts';
import { variantName } from '../plan/plan.ts';

export interface NightRef {
  runId: string;
  startedAt: string;
  value: number;
  kernel: NightValue['kernel'];
}

export interface MetricAlert {
  kind: 'regression';
  key: SeriesKey;
  unit: string;
  /** The first night of the new level. */
  since: NightRef;
  /** The last night before it, and tonight. */
  baseline: NightRef;
  current: NightRef;
  changePct: number | null;
  /**
   * What saw it: the change-point detector over the nights, and/or tonight's boots against the
   * last good night's (previous-night when that is last night; last-good when the nights since
   * were regressed too: still regressed).
   */
  by: ('change-point' | 'previous-night' | 'last-good')[];
  /** previous-night/last-good: Mann-Whitney p and the bootstrap interval of tonight/that night. */
  p?: number | undefined;
  ci?: [number, number] | null | undefined;
}

export interface FindingAlert {
  kind: 'new-finding';
  kernel: string;
  title: string;
  runId: string;
}

export type Alert = MetricAlert | FindingAlert;

const ref = (n: NightValue): NightRef => ({ runId: n.runId, startedAt: n.startedAt, value: n.value, kernel: n.kernel });

/** Nights walked back from tonight to find the last good one: bounds the work on a long history. */
export const BASELINE_WINDOW = 14;

/**
 * The last good night before tonight, and the first regressed night after it: walking the last
 * `BASELINE_WINDOW` nights forward from the oldest (taken as good), a night whose boots are a
 * regression against the last good night's is not good and does not become the baseline. One
 * bad night that was reverted leaves the baseline where it was.
 */
export function lastGoodNight(nights: readonly NightValue[], better: Better, ab: AbSettings): { good: NightValue; firstBad?: NightValue | undefined } {
  const start = Math.max(0, nights.length - 1 - BASELINE_WINDOW);
  let good = nights[start] as NightValue;
  let firstBad: NightValue | undefined;
  for (const n of nights.slice(start + 1, -1)) {
    if (compareMetric(good.boots, n.boots, { ...ab, better }).verdict === 'regression') firstBad ??= n;
    else {
      good = n;
      firstBad = undefined;
    }
  }
  return { good, firstBad };
}

/**
 * The alert for one series whose last night is tonight, or undefined. Only nights measured as
 * tonight was count: a new guest clock, accelerator or guest shape is not a kernel change.
 */
export function metricAlert(key: SeriesKey, history: readonly NightValue[], better: Better, ab: AbSettings): MetricAlert | undefined {
  const nights = comparableNights(history);
  if (nights.length < 2 || better === 'none') return undefined;
  const tonight = nights[nights.length - 1] as NightValue;
  const prev = nights[nights.length - 2] as NightValue;
  const by: MetricAlert['by'] = [];
  let since: NightValue | undefined;
  let baseline = prev;
  // A change point is confirmed minSize nights after it happened: alert while it is that recent.
  const lc = latestChange(nights.map((n) => n.value), better, { seed: ab.seed });
  if (lc.verdict === 'regression' && lc.since !== null && lc.since >= nights.length - CHANGEPOINT_DEFAULTS.minSize) {
    by.push('change-point');
    since = nights[lc.since] as NightValue;
    baseline = nights[lc.since - 1] ?? prev;
  }
  const { good, firstBad } = lastGoodNight(nights, better, ab);
  const cmp = compareMetric(good.boots, tonight.boots, { ...ab, better });
  if (cmp.verdict === 'regression') {
    by.push(good === prev ? 'previous-night' : 'last-good');
    if (!since) {
      since = firstBad ?? tonight;
      baseline = good;
    }
  }
  if (!by.length || !since) return undefined;
  const changePct = baseline.value === 0 ? null : 100 * (tonight.value / baseline.value - 1);
  const stat = by.includes('previous-night') || by.includes('last-good') ? { p: cmp.p, ci: cmp.ci } : {};
  return { kind: 'regression', key, unit: tonight.unit, since: ref(since), baseline: ref(baseline), current: ref(tonight), changePct, by, ...stat };
}

/** Titles of tonight that no earlier night of the same kernel name had. */
export function findingAlerts(runId: string, tonight: readonly { kernel: string; title: string }[], seenBefore: (kernel: string) => ReadonlySet<string>): FindingAlert[] {
  return tonight.filter((f) => !seenBefore(f.kernel).has(f.title)).map((f) => ({ kind: 'new-finding', kernel: f.kernel, title: f.title, runId }));
}

const identity = (k: NightValue['kernel']): string => `${k.release} (${k.spec})`;

/** One alert as the terminal shows it, first thing in a nightly's output. */
export function alertText(a: Alert): string {
  if (a.kind === 'new-finding') return `NEW FINDING on ${a.kernel}: ${a.title} (first seen in ${a.runId})`;
  const pct = a.changePct === null ? '' : ` ${a.changePct >= 0 ? '+' : ''}${a.changePct.toFixed(1)}%`;
  const vs = a.by.includes('last-good') ? `the last good night ${a.baseline.runId}` : 'last night';
  const stat = a.p !== undefined ? `, p=${a.p.toPrecision(2)}${a.ci ? `, tonight/${vs} in [${a.ci[0].toFixed(3)}, ${a.ci[1].toFixed(3)}]` : ''}` : '';
  const still = a.since.runId !== a.current.runId ? ', still regressed tonight' : '';
  return [
    `REGRESSION ${a.key.kernel}/${a.key.scenario}:${variantName(a.key.variant)} ${a.key.metric}${pct}: ${formatValue(a.baseline.value, a.unit)} -> ${formatValue(a.current.value, a.unit)} since the night of ${a.since.startedAt.slice(0, 10)} (${a.since.runId}${still}; seen by ${a.by.join(' and ')}${stat})`,
    `    before: ${a.baseline.runId} ${identity(a.baseline.kernel)}`,
    `    after:  ${a.since.runId} ${identity(a.since.kernel)}`,
  ].join('\n');
}
