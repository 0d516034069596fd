// Console findings in results: per step (with the scenario's allow list applied to the verdict)
// and per run (deduplicated by title). Pure.
import { groupByTitle } from '../console/dedup.ts';
import type { Finding } from '../console/parser.ts';
import { isAllowed, stepFindingVerdict } from '../console/verdict.ts';
import type { RunEvent } from './events.ts';
import type { RunFinding, StepFinding, StepResult } from './types.ts';

const MAX_TEXT = 64 * 1024;

export function stepFindings(findings: readonly Finding[], allow: readonly string[]): StepFinding[] {
  return findings.map((f) => ({ kind: f.kind, title: f.title, corrupted: f.corrupted, line: f.line, allowed: isAllowed(f, allow) }));
}

/**
 * The name of the place a console report fell in: the work item's key, else the setup step's
 * label (namespace, mkfs, mount) with its boot. The agent's own step counter never shows.
 */
export function whereInBoot(boot: number, step: { key?: string; label?: string } | undefined): string {
  return step?.key ?? `boot ${boot}: ${step?.label ?? 'outside steps'}`;
}

/** `boot:n` → the agent step n of that boot, from a run's events (step-began and setup-ended). */
export function stepNames(events: readonly RunEvent[]): Map<string, { key?: string; label?: string }> {
  const m = new Map<string, { key?: string; label?: string }>();
  for (const e of events) {
    if (e.type === 'step-began') m.set(`${e.boot}:${e.n}`, { key: e.key });
    else if (e.type === 'setup-ended') m.set(`${e.boot}:${e.n}`, { label: e.label });
  }
  return m;
}

type Verdict = Pick<StepResult, 'status' | 'reason'>;

/** A step whose console shows findings it does not allow fails, whatever the reproducer said. */
export function withFindingVerdict(step: Verdict, findings: readonly Pick<Finding, 'kind' | 'title'>[], allow: readonly string[]): Verdict {
  const v = stepFindingVerdict(findings, allow);
  if (!v.fail) return { status: step.status, reason: step.reason };
  const note = `kernel reported: ${v.reasons.join('; ')}`;
  // A kernel report is the kernel failing: that beats the reproducer's own pass, skip, or an
  // error that is usually just the report's side effect (the task was killed by the oops).
  if (step.status === 'pass' || step.status === 'skip' || step.status === 'error') {
    return { status: 'fail', reason: step.reason ? `${note} (reproducer: ${step.reason})` : note };
  }
  return { status: step.status, reason: step.reason.includes(note) ? step.reason : `${step.reason}; ${note}` };
}

/** One console report as the run records it: where it was, and the report. */
export type RunReport = Pick<Finding, 'kind' | 'title' | 'corrupted' | 'line' | 'text' | 'frames'> & { where: string; boot: number; consoleLog: string };

/** The run's distinct bugs (console/dedup.ts groupByTitle), each with every place it showed up. */
export function runFindings(reports: readonly RunReport[]): RunFinding[] {
  return groupByTitle(reports).map((g) => {
    const f = g.first;
    return {
      title: g.title,
      kind: g.members[0]?.kind ?? f.kind,
      count: g.members.length,
      where: [...new Set(g.members.map((m) => m.where))],
      boot: f.boot,
      consoleLog: f.consoleLog,
      line: f.line,
      corrupted: f.corrupted,
      text: f.text.slice(0, MAX_TEXT),
      // 64: up to 32 printed frames plus the inlined functions decoding added between them.
      frames: f.frames.slice(0, 64).map((fr) => ({ fn: fr.fn, offset: fr.offset, file: fr.file, line: fr.line, inlined: fr.inlined })),
    };
  });
}
