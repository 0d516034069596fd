// The A/B result as a terminal table in LKP's shape (base ±stddev, %change, patched ±stddev,
// metric), with the verdict, the interval of the change and the p-value beside it. Pure.
import { columns } from '../results/table.ts';
import { formatValue } from '../stats/summary.ts';
import type { AbComparison, AbMetric } from './types.ts';

/** `+12.3%`; `-` when there is no change to show (median(A) was 0). */
export const pct = (x: number | null, digits = 1): string => (x === null || !Number.isFinite(x) ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}%`);
const spread = (m: AbMetric['a']): string => (m.median ? `±${Math.round((100 * m.stddev) / Math.abs(m.median))}%` : '-');
const ciPct = (ci: [number, number] | null): string => (ci ? `[${pct(100 * (ci[0] - 1), 0)}, ${pct(100 * (ci[1] - 1), 0)}]` : '-');
const pval = (p: number): string => (p < 0.0001 ? '<0.0001' : p.toPrecision(2));

/** Rows: every metric with a verdict other than `no change` first, then the rest unless `changedOnly`. */
export function abTable(c: AbComparison, o: { changedOnly?: boolean } = {}): string {
  const rank = (m: AbMetric): number => ['regression', 'improvement', 'changed', 'inconclusive', 'no change'].indexOf(m.verdict);
  const ms = [...c.metrics].filter((m) => !o.changedOnly || m.verdict !== 'no change').sort((x, y) => rank(x) - rank(y) || x.key.localeCompare(y.key));
  const head = [c.a.name, '±stddev', '%change', c.b.name, '±stddev', 'metric', 'verdict', '95% CI', 'p(Holm)', 'n'];
  const clean = (s: string): string => s.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
  const rows = ms.map((m) => [
    formatValue(m.a.median, m.unit),
    spread(m.a),
    pct(m.changePct),
    formatValue(m.b.median, m.unit),
    spread(m.b),
    clean(m.key),
    m.better === 'none' && m.verdict !== 'changed' && m.verdict !== 'no change' ? `${m.verdict} (no direction)` : m.verdict,
    ciPct(m.ci),
    pval(m.pAdjusted),
    `${m.a.n}+${m.b.n}`,
  ]);
  return columns(head, rows, new Set([0, 1, 2, 3, 4, 8]));
}
