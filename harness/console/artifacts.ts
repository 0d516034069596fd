// Emulator artifacts: console reports that are the emulator's fault, not the kernel's. Under TCG
// a report matching a rule here is labelled `emulator-artifact`: it never becomes a finding or a
// failed verdict, and the work it hit is retried. Under KVM nothing is an artifact. Pure.
import type { Finding } from './parser.ts';

export interface ArtifactRule {
  id: string;
  /** Accelerators under which the rule applies. */
  accel: readonly string[];
  /** Why this is the emulator: shown in the summary next to every retry it causes. */
  why: string;
  match: (f: Pick<Finding, 'kind' | 'title' | 'text'>) => boolean;
}

/** Byte before the `<..>` marker of the first `Code:` line: the opcode the CPU trapped on. */
export function trappedByte(text: string): string | undefined {
  const code = text.split('\n').find((l) => /\bCode: /.test(l));
  return code ? /([0-9a-f]{2}) <[0-9a-f]{2}>/.exec(code)?.[1] : undefined;
}

export const ARTIFACT_RULES: readonly ArtifactRule[] = [
  {
    // The kernel patches live code (static keys, alternatives) by writing int3 first and
    // finishing the instruction behind it. Multi-threaded TCG can run a stale copy of the int3 on
    // another vCPU after the patch is done; the trap handler then finds no patch in progress and
    // oopses. The tell: the Code: dump shows the finished instruction, not 0xcc, at the trap.
    // Seen here as "Oops: int3 in put_page" and "Oops: int3 in sched_clock_cpu" (Debian 6.12).
    id: 'tcg-stale-int3',
    accel: ['tcg'],
    why: 'int3 trap on an instruction the kernel had already finished patching (TCG cross-vCPU code modification)',
    match: (f) => {
      if (f.kind !== 'oops' || !/^Oops: int3\b/.test(f.title)) return false;
      const b = trappedByte(f.text);
      return b !== undefined && b !== 'cc'; // no Code: bytes, no evidence: a finding as usual
    },
  },
];

export function artifactRule(f: Pick<Finding, 'kind' | 'title' | 'text'>, accel: string, rules: readonly ArtifactRule[] = ARTIFACT_RULES): ArtifactRule | undefined {
  return rules.find((r) => r.accel.includes(accel) && r.match(f));
}
