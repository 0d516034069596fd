// /proc/lock_stat after a step (cleared and switched on at its start, images/guest/agent.sh
// mon_lock_*): class lines `NAME: con-bounces contentions waittime-min -max -total -avg
// acq-bounces acquisitions holdtime-min -max -total -avg` (times in us, two decimals; `-W`/`-R`
// suffixes split rwlocks' write and read sides), and the agent's `total CLASSES ACQ CON WAIT`.
// The step's metrics: the top classes by total wait time and the sums. Pure.
import type { MonitorMetric } from './types.ts';

export interface LockClassStat {
  name: string;
  contentions: number;
  waitMaxUs: number;
  waitTotalUs: number;
  acquisitions: number;
}

export function parseLockStat(lines: readonly string[]): { classes: LockClassStat[]; total?: { classes: number; acquisitions: number; contentions: number; waitTotalUs: number } } {
  const classes: LockClassStat[] = [];
  let total: { classes: number; acquisitions: number; contentions: number; waitTotalUs: number } | undefined;
  for (const l of lines) {
    const t = /^total (\d+) (\d+) (\d+) ([\d.]+)$/.exec(l.trim());
    if (t) {
      total = { classes: Number(t[1]), acquisitions: Number(t[2]), contentions: Number(t[3]), waitTotalUs: Number(t[4]) };
      continue;
    }
    const at = l.lastIndexOf(':');
    if (at < 0 || l.includes('[<')) continue;
    const v = l.slice(at + 1).trim().split(/\s+/).map(Number);
    const name = l.slice(0, at).trim();
    if (v.length !== 12 || !v.every(Number.isFinite) || !name) continue;
    classes.push({ name: name.replace(/\s+/g, '_'), contentions: v[1] as number, waitMaxUs: v[3] as number, waitTotalUs: v[4] as number, acquisitions: v[7] as number });
  }
  return total ? { classes, total } : { classes };
}

export function lockStatMetrics(lines: readonly string[], top: number): MonitorMetric[] {
  const p = parseLockStat(lines);
  const out: MonitorMetric[] = [];
  if (p.total) {
    out.push(
      { name: 'lock_stat.all.contentions', value: p.total.contentions, unit: 'count' },
      { name: 'lock_stat.all.wait_total', value: p.total.waitTotalUs, unit: 'us' },
      { name: 'lock_stat.all.acquisitions', value: p.total.acquisitions, unit: 'count' },
    );
  }
  const kept = [...p.classes].sort((a, b) => b.waitTotalUs - a.waitTotalUs || b.contentions - a.contentions).slice(0, top);
  for (const c of kept) {
    const m = `lock_stat.${c.name}`;
    out.push(
      { name: `${m}.contentions`, value: c.contentions, unit: 'count' },
      { name: `${m}.wait_total`, value: c.waitTotalUs, unit: 'us' },
      { name: `${m}.wait_max`, value: c.waitMaxUs, unit: 'us' },
      { name: `${m}.acquisitions`, value: c.acquisitions, unit: 'count' },
    );
  }
  return out;
}
