// One-shot kernel reports: lockdep switches itself off after its first report, KASAN reports only
// its first error without kasan_multi_shot, and WARN_ON_ONCE / RCU_LOCKDEP_WARN / UBSAN warn once
// per call site. When one fired in a boot that went on to run other steps, those steps could not
// have shown it again: their pass says less than it seems. Pure.
import type { OneShotNote, StepResult } from './types.ts';

/** Why a report kind is one-shot per boot, or undefined for reports that repeat. */
export function oneShotReason(kind: string): string | undefined {
  if (kind === 'lockdep-rcu') return 'RCU_LOCKDEP_WARN reports once per call site and boot';
  if (kind.startsWith('lockdep-') && kind !== 'lockdep-off') return 'lockdep turns itself off after its first report';
  if (kind === 'kasan') return 'KASAN reports only the first error of a boot (without kasan_multi_shot)';
  if (kind === 'warning') return 'a WARN_ON_ONCE fires once per boot';
  if (kind === 'ubsan') return 'UBSAN reports each call site once per boot';
  return undefined;
}

/**
 * For each one-shot report in a step, the later steps of the same boot (in the order they ran)
 * that it could have hidden. `steps` in the order they ended, as summary.steps holds them.
 */
export function oneShotNotes(steps: readonly StepResult[]): OneShotNote[] {
  const notes: OneShotNote[] = [];
  const seen = new Set<string>();
  steps.forEach((st, i) => {
    for (const f of st.findings) {
      const why = oneShotReason(f.kind);
      const id = `${st.boot}\0${f.title}`;
      if (!why || seen.has(id)) continue;
      seen.add(id);
      const later = steps.slice(i + 1).filter((x) => x.boot === st.boot).map((x) => x.key);
      if (later.length) notes.push({ boot: st.boot, title: f.title, kind: f.kind, where: st.key, why, later });
    }
  });
  return notes;
}

/** One line for the terminal and the report. */
export function oneShotText(n: OneShotNote): string {
  const shown = n.later.slice(0, 3).join(', ') + (n.later.length > 3 ? ` (+${n.later.length - 3})` : '');
  return `'${n.title}' fired in ${n.where} (boot ${n.boot}); ${n.why}, so the ${n.later.length} later step${n.later.length > 1 ? 's' : ''} of that boot could not show it again: ${shown}. For one boot per variant: --boot-per-variant or boot: per-variant`;
}
