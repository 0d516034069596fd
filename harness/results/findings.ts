// Console findings in results: per step (with the scenario's allow list applied to the verdict)
// and per run (deduplicated by title). Pure.
import type { Finding } from '../console/parser.ts';
import { isAllowed, stepFindingVerdict } from '../console/verdict.ts';
import type { RunFinding, StepFinding, StepResult } from './types.ts';

const MAX_TEXT = 64 * 1024;

export function stepFindings(findings: readonly Finding[], allow: readonly string[]): StepFinding[] {
  return findings.map((f) => ({ kind: f.kind, title: f.title, corrupted: f.corrupted, line: f.line, allowed: isAllowed(f, allow) }));
}

/** A step whose console shows findings it does not allow fails, whatever the reproducer said. */
export function withFindingVerdict(step: StepResult, findings: readonly Finding[], allow: readonly string[]): StepResult {
  const v = stepFindingVerdict(findings, allow);
  const out: StepResult = { ...step, findings: stepFindings(findings, allow) };
  if (!v.fail) return out;
  const note = `kernel reported: ${v.reasons.join('; ')}`;
  // A kernel report is the kernel failing: that beats the reproducer's own pass, skip, or an
  // error that is usually just the report's side effect (the task was killed by the oops).
  if (step.status === 'pass' || step.status === 'skip' || step.status === 'error') {
    return { ...out, status: 'fail', reason: step.reason ? `${note} (reproducer: ${step.reason})` : note };
  }
  return { ...out, reason: step.reason.includes(note) ? step.reason : `${step.reason}; ${note}` };
}

export function mergeRunFindings(into: RunFinding[], found: readonly { finding: Finding; where: string }[], boot: number, consoleLog: string): RunFinding[] {
  const byTitle = new Map(into.map((f) => [f.title, f]));
  for (const { finding: f, where } of found) {
    let g = byTitle.get(f.title);
    if (!g) {
      g = {
        title: f.title,
        kind: f.kind,
        count: 0,
        where: [],
        boot,
        consoleLog,
        line: f.line,
        corrupted: f.corrupted,
        text: f.text.slice(0, MAX_TEXT),
        frames: f.frames.slice(0, 32).map((fr) => ({ fn: fr.fn, offset: fr.offset, file: fr.file, line: fr.line })),
      };
      byTitle.set(f.title, g);
    } else if (g.corrupted && !f.corrupted) {
      // keep a complete report as the example
      Object.assign(g, { boot, consoleLog, line: f.line, corrupted: false, text: f.text.slice(0, MAX_TEXT) });
    }
    g.count++;
    if (!g.where.includes(where)) g.where.push(where);
  }
  return [...byTitle.values()];
}
