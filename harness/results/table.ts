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
  /** One entry per metric: samples (p50/p99, the thing measured) first, then scalar metrics. */
  metrics: string[];
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

/** A run's outcome from its steps: worst first (`1 fail, 7 pass`); ok only if all passed or skipped. */
export function runOutcome(statuses: StepStatus[]): { ok: boolean; text: string } {
  const counts = new Map<StepStatus, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  const text = ORDER.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`).join(', ');
  return { ok: statuses.length > 0 && statuses.every((s) => s === 'pass' || s === 'skip'), text: text || 'no steps' };
}

export function tableRows(steps: StepResult[], o: { byKernel?: boolean } = {}): TableRow[] {
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
    // Samples: median and p99 of all samples. Scalar metrics: median over repetitions.
    const sampleNames = [...new Set(ss.flatMap((s) => Object.keys(s.samples)))];
    for (const m of sampleNames) {
      const vals = ss.flatMap((s) => s.samples[m]?.values ?? []);
      const unit = ss.find((s) => s.samples[m])?.samples[m]?.unit ?? '';
      const d = describe(vals);
      parts.push(`${m} p50=${formatValue(d.median, unit)} p99=${formatValue(d.p99, unit)} (n=${d.n})`);
    }
    const metricNames = [...new Set(ss.flatMap((s) => Object.keys(s.metrics)))];
    for (const m of metricNames) {
      const vals = ss.flatMap((s) => (s.metrics[m] ? [s.metrics[m].value] : []));
      const unit = ss.find((s) => s.metrics[m])?.metrics[m]?.unit ?? '';
      parts.push(`${m}=${formatValue(describe(vals).median, unit)}`);
    }
    const titles = [...new Set(ss.flatMap((s) => s.findings.map((f) => f.title)))];
    rows.push({
      ...(o.byKernel ? { kernel } : {}),
      scenario,
      variant,
      verdict: foldStatuses(ss.map((s) => s.status)),
      metrics: parts,
      findings: titles.length ? titles.slice(0, 2).join('; ') + (titles.length > 2 ? ` (+${titles.length - 2})` : '') : '',
    });
  }
  return rows;
}

export interface RenderTableOptions {
  /** Terminal width to fit (process.stdout.columns); without it every metric is shown. */
  width?: number;
}

const clean = (s: string): string => (s.length > MAX_CELL ? s.slice(0, MAX_CELL - 1) + '…' : s).replace(/[\x00-\x1f\x7f-\x9f]/g, '?');

/**
 * As many of `parts` as fit in `room` columns joined by '; ', the rest counted as `+N more`.
 * The first part is always shown (cut with '…' if it alone is too wide): a row never loses
 * its headline number to the width.
 */
export function fitParts(parts: readonly string[], room: number): string {
  const sep = '; ';
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const rest = parts.length - i - 1;
    const more = rest ? `${sep}+${rest} more` : '';
    const next = (out ? out + sep : '') + (parts[i] ?? '');
    if (next.length + more.length <= room) {
      out = next;
      continue;
    }
    if (i === 0) {
      const tail = `${sep}+${parts.length - 1} more`;
      const keep = Math.max(8, room - (parts.length > 1 ? tail.length : 0) - 1);
      return (parts[0] ?? '').slice(0, keep) + '…' + (parts.length > 1 ? tail : '');
    }
    return `${out}${sep}+${parts.length - i} more`;
  }
  return out;
}

/** Plain-text table; control characters from reproducer output are replaced, never printed. */
export function renderTable(rows: TableRow[], o: RenderTableOptions = {}): string {
  // Cells are capped too: a metric name is whatever the reproducer printed, up to a whole line.
  const byKernel = rows.some((r) => r.kernel !== undefined);
  const head = [...(byKernel ? ['kernel'] : []), 'scenario', 'variant', 'verdict', 'findings', 'metrics'];
  // Findings titles are listed in full under the table; on a terminal their cell is kept short.
  const findingsCap = o.width === undefined ? MAX_CELL : Math.max(24, Math.floor(o.width / 4));
  const cap = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  const fixed = rows.map((r) => [...(byKernel ? [r.kernel ?? ''] : []), r.scenario, r.variant, r.verdict, cap(r.findings, findingsCap)].map(clean));
  const showFindings = fixed.some((r) => r[r.length - 1]);
  const keep = (cells: string[]): string[] => (showFindings ? cells : cells.slice(0, -1));
  const fixedHead = keep(head.slice(0, -1));
  // Metrics come last so they get what the other columns leave of the line.
  const used = fixedHead.reduce((n, h, i) => n + Math.max(h.length, ...fixed.map((r) => keep(r)[i]?.length ?? 0)) + 2, 0);
  const room = o.width === undefined ? Infinity : Math.max(24, o.width - used);
  const data = rows.map((r, i) => [...keep(fixed[i] ?? []), fitParts(r.metrics.map(clean), room)]);
  return columns([...fixedHead, 'metrics'], data);
}

/** Aligned plain-text columns under a header and a rule; `right` holds right-aligned column indexes. */
export function columns(head: string[], data: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = head.map((h, i) => Math.max(h.length, ...data.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...data.map(line)].join('\n');
}
