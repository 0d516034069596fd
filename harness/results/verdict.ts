// From what the agent reported about a reproducer step to a verdict. Pure.
import type { ReproOutput } from './output.ts';
import type { StepStatus } from './types.ts';

export const EXIT_SKIP = 77;

const SIGNALS: Record<number, string> = { 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

export interface AgentStepEnd {
  status: 'done' | 'timeout' | 'hung';
  exitCode: number | null;
  timeoutS: number;
}

export function stepVerdict(end: AgentStepEnd, out: ReproOutput): { status: StepStatus; reason: string } {
  const said = out.verdict;
  if (end.status === 'timeout') return { status: 'timeout', reason: `no exit within ${end.timeoutS}s; killed` };
  if (end.status === 'hung') return { status: 'hung', reason: `still running ${end.timeoutS}s + SIGKILL later: stuck in the kernel` };
  const rc = end.exitCode;
  if (rc === null) return { status: 'error', reason: 'no exit status' };
  if (rc > 128 && rc < 160) {
    const sig = SIGNALS[rc - 128] ?? `signal ${rc - 128}`;
    return { status: 'error', reason: `killed by ${sig}${said ? ` (last verdict: ${said.reason})` : ''}` };
  }
  if (rc === EXIT_SKIP) return { status: 'skip', reason: said?.reason || 'reproducer skipped (exit 77)' };
  if (rc === 1) return { status: 'fail', reason: said?.reason || 'exit status 1' };
  if (rc !== 0) return { status: 'error', reason: said?.reason ? `exit ${rc}: ${said.reason}` : `exit status ${rc}` };
  // Exit 0 with a verdict line that disagrees: trust the stricter one.
  if (said && (said.verdict === 'fail' || said.verdict === 'error' || said.verdict === 'skip')) {
    return { status: said.verdict, reason: said.reason };
  }
  return { status: 'pass', reason: said?.reason ?? '' };
}
