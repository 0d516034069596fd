// From what the agent reported about a reproducer step to a verdict. Pure.
import type { ReproOutput } from './output.ts';
import type { VerdictFrom } from '../scenario/schema.ts';
import type { StepStatus } from './types.ts';

export const EXIT_SKIP = 77;

const SIGNALS: Record<number, string> = { 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

export interface AgentStepEnd {
  status: 'done' | 'timeout' | 'hung';
  exitCode: number | null;
  timeoutS: number;
}

/** How a scenario wants its steps judged (scenario fields expect_exit, verdict_from). */
export interface Judging {
  /** The exit status that passes; default 0. */
  expectExit?: number | undefined;
  /** Undefined: both. */
  verdictFrom?: VerdictFrom | undefined;
}

/** Output lines worth quoting in a reason: a program that prints no verdict says why on stderr. */
export function lastWords(stderr: readonly string[], text: readonly string[]): string | undefined {
  const l = [...stderr].reverse().find((x) => x.trim() && !x.startsWith('[daxlab:')) ?? [...text].reverse().find((x) => x.trim());
  return l === undefined ? undefined : l.trim().slice(0, 200);
}

export function stepVerdict(end: AgentStepEnd, out: ReproOutput, j: Judging = {}, last?: string): { status: StepStatus; reason: string } {
  const said = out.verdict;
  if (end.status === 'hung') return { status: 'hung', reason: `still running ${end.timeoutS}s + SIGKILL later: stuck in the kernel` };
  // The console decides (a syzkaller reproducer loops until it is killed): a clean run passes.
  if (j.verdictFrom === 'console') {
    const how = end.status === 'timeout' ? `ran its ${end.timeoutS}s` : `exit status ${end.exitCode ?? '-'}`;
    return { status: 'pass', reason: `${how}; judged by the console (verdict_from: console)` };
  }
  if (end.status === 'timeout') return { status: 'timeout', reason: `no exit within ${end.timeoutS}s; killed` };
  const rc = end.exitCode;
  if (rc === null) return { status: 'error', reason: 'no exit status' };
  const expect = j.expectExit ?? 0;
  const quote = (r: string): string => (said?.reason ? r : last ? `${r}: ${last}` : r);
  if (expect !== 0) {
    if (rc === expect) {
      if (said && (said.verdict === 'fail' || said.verdict === 'error' || said.verdict === 'skip')) return { status: said.verdict, reason: said.reason };
      return { status: 'pass', reason: said?.reason || `exit status ${rc}, as expected` };
    }
    if (rc === EXIT_SKIP) return { status: 'skip', reason: said?.reason || 'reproducer skipped (exit 77)' };
    if (rc > 128 && rc < 160) return { status: 'error', reason: `killed by ${SIGNALS[rc - 128] ?? `signal ${rc - 128}`}${said ? ` (last verdict: ${said.reason})` : ''}` };
    return { status: 'fail', reason: quote(`exit status ${rc}, expected ${expect}${said?.reason ? `: ${said.reason}` : ''}`) };
  }
  if (rc > 128 && rc < 160) {
    const sig = SIGNALS[rc - 128] ?? `signal ${rc - 128}`;
    return { status: 'error', reason: `killed by ${sig}${said ? ` (last verdict: ${said.reason})` : ''}` };
  }
  if (rc === EXIT_SKIP) return { status: 'skip', reason: said?.reason || 'reproducer skipped (exit 77)' };
  if (rc === 1) return { status: 'fail', reason: said?.reason || quote('exit status 1') };
  if (rc !== 0) return { status: 'error', reason: said?.reason ? `exit ${rc}: ${said.reason}` : quote(`exit status ${rc}`) };
  // Exit 0 with a verdict line that disagrees: trust the stricter one.
  if (said && (said.verdict === 'fail' || said.verdict === 'error' || said.verdict === 'skip')) {
    return { status: said.verdict, reason: said.reason };
  }
  return { status: 'pass', reason: said?.reason ?? '' };
}
