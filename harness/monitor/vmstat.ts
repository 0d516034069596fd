// /proc/vmstat: `name value` lines. A step's metric is the end value minus the begin value of
// each counter the step asked for. Pure.
import type { MonitorMetric } from './types.ts';

export function parseVmstat(lines: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const m = /^([a-z][a-z0-9_]*) (-?\d+)$/.exec(l.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], Number(m[2]));
  }
  return out;
}

/**
 * Deltas of the counters present at both ends. `nr_*` entries are gauges (pages in a state now),
 * not event counters; their difference is still what the step left behind, so it is kept too.
 */
export function vmstatMetrics(begin: readonly string[], end: readonly string[]): MonitorMetric[] {
  const a = parseVmstat(begin);
  const b = parseVmstat(end);
  return [...b].flatMap(([name, v]) => {
    const v0 = a.get(name);
    return v0 === undefined ? [] : [{ name: `vmstat.${name}`, value: v - v0, unit: 'count' }];
  });
}

/** Asked-for counters this kernel's /proc/vmstat lacks (event counters need CONFIG_VM_EVENT_COUNTERS). */
export function missingCounters(asked: readonly string[], end: readonly string[]): string[] {
  const have = parseVmstat(end);
  return asked.filter((c) => !have.has(c));
}
