// What the CI formats (junit.ts, kcidb.ts) say about a run, worked out once from its summary:
// sample summaries, a step's headline number, the work items that never ran, and the console
// findings that fell outside reproducer steps (mkfs, mount, namespace setup). Pure.
import type { Variant } from '../plan/plan.ts';
import { DAX_MODES, FILESYSTEMS } from '../scenario/schema.ts';
import { describe } from '../stats/summary.ts';
import type { RunFinding, RunSummary, StepResult } from '../results/types.ts';

export interface SampleSummary {
  name: string;
  unit: string;
  n: number;
  p50: number;
  p99: number;
}

/** n, p50 and p99 of each sample series, as the results table computes them (stats/summary.ts). */
export function sampleSummaries(step: StepResult): SampleSummary[] {
  return Object.entries(step.samples).map(([name, s]) => {
    const d = describe(s.values);
    return { name, unit: s.unit, n: d.n, p50: d.median, p99: d.p99 };
  });
}

/**
 * The one number a step stands for: its first sample series' median (what the reproducer
 * measures), else its first scalar metric that is not a yes/no flag (`is_dax`).
 */
export function headline(step: StepResult): { name: string; value: number; unit: string } | undefined {
  const s = sampleSummaries(step).find((x) => Number.isFinite(x.p50));
  if (s) return { name: `${s.name}.p50`, value: s.p50, unit: s.unit };
  const m = Object.entries(step.metrics).find(([, v]) => v.unit !== 'bool' && Number.isFinite(v.value));
  return m ? { name: m[0], value: m[1].value, unit: m[1].unit } : undefined;
}

export interface PendingItem {
  key: string;
  kernel: string;
  scenario: string;
  variant: Variant;
  rep: number;
}

const KEY = new RegExp(`^(.+)/([a-z0-9][a-z0-9._-]*):(${FILESYSTEMS.join('|')}):(${DAX_MODES.join('|')}):r(\\d+)(?:@\\d+)?$`);

/** Work items planned but never run (an interrupted or failed run), from their keys (plan/plan.ts). */
export function pendingItems(summary: RunSummary): PendingItem[] {
  return summary.pending.flatMap((key) => {
    const m = KEY.exec(key);
    if (!m) return [];
    const [, kernel = '', scenario = '', fs, dax, rep = '0'] = m;
    return [{ key, kernel, scenario, variant: { fs, dax } as Variant, rep: Number(rep) }];
  });
}

/** Why a pending item did not run, from the run's state. */
export function notRunReason(summary: RunSummary): string {
  switch (summary.status) {
    case 'interrupted':
      return `not run: the run was interrupted (daxlab run --resume ${summary.runId} runs the rest)`;
    case 'failed':
      return `not run: the run failed${summary.statusReason ? ` (${summary.statusReason})` : ''}`;
    case 'running':
      return 'not run yet: the run is still going, or its process died before it ended';
    case 'completed':
      return 'not run';
  }
}

export interface SetupFinding {
  boot: number;
  /** The setup step's label (`mkfs ext4`), or `outside steps`. */
  label: string;
  /** The kernel of that boot. */
  kernel: string;
  finding: RunFinding;
}

/** Console findings whose `where` is a setup step (`boot N: LABEL`, results/findings.ts whereInBoot). */
export function setupFindings(summary: RunSummary): SetupFinding[] {
  const out: SetupFinding[] = [];
  for (const f of summary.findings) {
    for (const w of f.where) {
      const m = /^boot (\d+): (.*)$/s.exec(w);
      if (!m) continue;
      const boot = Number(m[1]);
      out.push({ boot, label: m[2] ?? '', kernel: summary.boots.find((b) => b.index === boot)?.kernel ?? '', finding: f });
    }
  }
  return out;
}

/** The run's findings by title, for the report text behind a step's finding. */
export function findingsByTitle(summary: RunSummary): Map<string, RunFinding> {
  return new Map(summary.findings.map((f) => [f.title, f]));
}

/** When a step began: it ended at finishedAt after durationMs. */
export function stepStart(step: StepResult): Date {
  return new Date(Date.parse(step.finishedAt) - step.durationMs);
}
