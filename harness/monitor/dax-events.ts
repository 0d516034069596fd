// fs_dax tracepoint counts from histogram triggers (images/guest/agent.sh mon_dax_*): per event
// its `Hits:` total, and for the *_fault_done events the hits per VM_FAULT_* result, which say
// how many PMD faults fell back to PTEs and how many faults mapped a page (NOPAGE). Pure.
import type { MonitorMetric } from './types.ts';

/** include/linux/mm_types.h enum vm_fault_reason, the bits a DAX fault handler returns. */
const VM_FAULT: [number, string][] = [
  [0x000001, 'oom'],
  [0x000002, 'sigbus'],
  [0x000004, 'major'],
  [0x000010, 'hwpoison'],
  [0x000040, 'sigsegv'],
  [0x000100, 'nopage'],
  [0x000200, 'locked'],
  [0x000400, 'retry'],
  [0x000800, 'fallback'],
  [0x001000, 'done_cow'],
  [0x002000, 'needdsync'],
];

/** Lines `EVENT Hits: N`, `EVENT Dropped: N`, `EVENT { result: HEX } hitcount: N`. */
export function daxEventMetrics(lines: readonly string[]): MonitorMetric[] {
  const hits = new Map<string, number>();
  const byResult = new Map<string, number>();
  for (const l of lines) {
    const m = /^(dax_[a-z0-9_]+) +(?:Hits: *(\d+)|\{ result: *([0-9a-fx]+) *\} hitcount: *(\d+))/.exec(l.trim());
    if (!m?.[1]) continue;
    const ev = m[1];
    if (m[2] !== undefined) hits.set(ev, Number(m[2]));
    else if (m[3] !== undefined && m[4] !== undefined) {
      const bits = parseInt(m[3], 16);
      const names = VM_FAULT.filter(([b]) => bits & b).map(([, n]) => n);
      for (const n of names.length ? names : ['none']) {
        const k = `${ev.replace(/_done$/, '')}.${n}`;
        byResult.set(k, (byResult.get(k) ?? 0) + Number(m[4]));
      }
    }
  }
  return [
    ...[...hits].map(([ev, n]) => ({ name: `dax_events.${ev}`, value: n, unit: 'count' })),
    ...[...byResult].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => ({ name: `dax_events.${k}`, value: n, unit: 'count' })),
  ];
}
