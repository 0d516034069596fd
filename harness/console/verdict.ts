// Whether console findings fail a step. A scenario may allow findings it expects (a WARN it
// provokes on purpose) by kind ("warning"), kind family ("lockdep" covers every lockdep-* kind)
// or exact title ("WARNING in dax_layout_busy_page_range").
import type { Finding } from './parser.ts';

export function isAllowed(f: Pick<Finding, 'kind' | 'title'>, allow: readonly string[]): boolean {
  for (const a of allow) {
    if (a === f.kind || a === f.title) return true;
    if (f.kind.startsWith(a + '-')) return true;
  }
  return false;
}

export function stepFindingVerdict(findings: readonly Pick<Finding, 'kind' | 'title'>[], allow: readonly string[]): { fail: boolean; reasons: string[] } {
  const counts = new Map<string, number>();
  for (const f of findings) {
    if (isAllowed(f, allow)) continue;
    counts.set(f.title, (counts.get(f.title) ?? 0) + 1);
  }
  const reasons = [...counts].map(([title, n]) => (n > 1 ? `${title} (x${n})` : title));
  return { fail: reasons.length > 0, reasons };
}
