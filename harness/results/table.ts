// The table printed at the end of a run: one row per scenario and variant, repetitions folded.
import { variantName } from '../plan/plan.ts';
import { describe, formatValue } from '../stats/summary.ts';
import type { StepResult, StepStatus } from './types.ts';

export interface TableRow {
  /** Only when a run holds several kernels. */
  kernel?: string;
  scenario: string;
  variant: string;
  verdict: string;
  metrics: string;
  findings: string;
}

const MAX_CELL = 240;

const ORDER: StepStatus[] = ['fail', 'error', 'hung', 'crashed', 'timeout', 'skip', 'pass'];

/** Worst status first; `pass` only when every repetition passed. */
export function foldStatuses(statuses: StepStatus[]): string {
  const counts = new Map<StepStatus, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  const parts = ORDER.filter((s) => counts.has(s)).map((s) => (statuses.length > 1 ? `${s} ${counts.get(s)}/${statuses.length}` : s));
  return parts.join(', ') || '-';
}

export function tableRows(steps: StepResult[], o: { maxMetrics?: number; byKernel?: boolean } = {}): TableRow[] {
  const maxMetrics = o.maxMetrics ?? 3;
  const groups = new Map<string, StepResult[]>();
  for (const s of steps) {
    const k = `${o.byKernel ? s.kernel : ''}\0${s.scenario}\0${variantName(s.variant)}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)?.push(s);
  }
  const rows: TableRow[] = [];
  for (const [k, ss] of groups) {
    const [kernel = '', scenario = '', variant = ''] = k.split('\0');
    const parts: string[] = [];
    // Scalar metrics: median over repetitions. Samples: median of all samples.
    const metricNames = [...new Set(ss.flatMap((s) => Object.keys(s.metrics)))];
    for (const m of metricNames) {
      const vals = ss.flatMap((s) => (s.metrics[m] ? [s.metrics[m].value] : []));
      const unit = ss.find((s) => s.metrics[m])?.metrics[m]?.unit ?? '';
      parts.push(`${m}=${formatValue(describe(vals).median, unit)}`);
    }
    const sampleNames = [...new Set(ss.flatMap((s) => Object.keys(s.samples)))];
    for (const m of sampleNames) {
      const vals = ss.flatMap((s) => s.samples[m]?.values ?? []);
      const unit = ss.find((s) => s.samples[m])?.samples[m]?.unit ?? '';
      const d = describe(vals);
      parts.push(`${m} p50=${formatValue(d.median, unit)} p99=${formatValue(d.p99, unit)} (n=${d.n})`);
    }
    const titles = [...new Set(ss.flatMap((s) => s.findings.map((f) => f.title)))];
    rows.push({
      ...(o.byKernel ? { kernel } : {}),
      scenario,
      variant,
      verdict: foldStatuses(ss.map((s) => s.status)),
      metrics: parts.slice(0, maxMetrics).join('; '),
      findings: titles.length ? titles.slice(0, 2).join('; ') + (titles.length > 2 ? ` (+${titles.length - 2})` : '') : '',
    });
  }
  return rows;
}

/** Plain-text table; control characters from reproducer output are replaced, never printed. */
export function renderTable(rows: TableRow[]): string {
  // Cells are capped too: a metric name is whatever the reproducer printed, up to a whole line.
  const clean = (s: string): string => (s.length > MAX_CELL ? s.slice(0, MAX_CELL - 1) + '…' : s).replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
  const byKernel = rows.some((r) => r.kernel !== undefined);
  const head = [...(byKernel ? ['kernel'] : []), 'scenario', 'variant', 'verdict', 'metrics', 'findings'];
  const data = rows.map((r) => [...(byKernel ? [r.kernel ?? ''] : []), r.scenario, r.variant, r.verdict, r.metrics, r.findings].map(clean));
  const showFindings = data.some((r) => r[head.length - 1]);
  const cols = showFindings ? head.length : head.length - 1;
  return columns(head.slice(0, cols), data.map((r) => r.slice(0, cols)));
}

/** Aligned plain-text columns under a header and a rule; `right` holds right-aligned column indexes. */
export function columns(head: string[], data: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = head.map((h, i) => Math.max(h.length, ...data.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...data.map(line)].join('\n');
}
