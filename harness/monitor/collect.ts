// One step's monitor samples as they cross the agent channel (`mon` and `monskip` events), turned
// into metrics when the step ends. The one place that knows which parser reads which monitor. Pure.
import { daxEventMetrics } from './dax-events.ts';
import { funcLatencyMetrics } from './funclatency.ts';
import { lockStatMetrics } from './lockstat.ts';
import { LOCK_STAT_TOP, MONITORS, type MonitorName, type MonitorRequest } from './spec.ts';
import type { MonitorMetric, SkippedMonitor } from './types.ts';
import { missingCounters, vmstatMetrics } from './vmstat.ts';

/** Lines kept per monitor and phase: the agent bounds them already; this bounds a misbehaving guest. */
const MAX_LINES = 2000;

export class StepMonitors {
  private readonly lines = new Map<string, string[]>();
  private readonly skipped: SkippedMonitor[] = [];

  constructor(private readonly request: MonitorRequest) {}

  /** A `mon NAME PHASE TEXT` line of this step. */
  sample(name: string, phase: string, text: string): void {
    if (!(MONITORS as readonly string[]).includes(name) || (phase !== 'begin' && phase !== 'end')) return;
    const k = `${name} ${phase}`;
    let l = this.lines.get(k);
    if (!l) this.lines.set(k, (l = []));
    if (l.length < MAX_LINES) l.push(text);
  }

  /** A `monskip NAME REASON` line: said once per monitor (or function, or event) and step. */
  skip(monitor: string, reason: string): void {
    if (!this.skipped.some((s) => s.monitor === monitor)) this.skipped.push({ monitor: monitor.slice(0, 200), reason: reason.slice(0, 300) });
  }

  private of(m: MonitorName, phase: 'begin' | 'end'): string[] {
    return this.lines.get(`${m} ${phase}`) ?? [];
  }

  finish(): { metrics: MonitorMetric[]; skipped: SkippedMonitor[] } {
    const metrics: MonitorMetric[] = [];
    for (const m of MONITORS) {
      const words = this.request[m];
      if (!words) continue;
      // A monitor the guest neither sampled nor skipped (an agent without monitors, a step cut
      // short) is said to be skipped too: a step never silently lacks what it asked for.
      if (this.skipped.some((s) => s.monitor === m)) continue;
      if (!this.lines.has(`${m} end`)) {
        this.skip(m, 'no samples from the guest');
        continue;
      }
      if (m === 'vmstat') {
        metrics.push(...vmstatMetrics(this.of(m, 'begin'), this.of(m, 'end')));
        const missing = missingCounters(words, this.of(m, 'end'));
        if (missing.length) this.skip(missing.length === words.length ? 'vmstat' : `vmstat:${missing.join(',')}`, `not in this kernel's /proc/vmstat (event counters need CONFIG_VM_EVENT_COUNTERS): ${missing.join(', ')}`);
      }
      else if (m === 'funclatency') metrics.push(...funcLatencyMetrics(this.of(m, 'end'), words.filter((f) => !this.skipped.some((s) => s.monitor === `funclatency:${f}`))));
      else if (m === 'dax_events') metrics.push(...daxEventMetrics(this.of(m, 'end')));
      else metrics.push(...lockStatMetrics(this.of(m, 'end'), topOf(words)));
    }
    return { metrics: metrics.filter((x) => Number.isFinite(x.value)), skipped: this.skipped };
  }
}

const topOf = (words: readonly string[]): number => Number(words.find((w) => w.startsWith('top='))?.slice(4) ?? LOCK_STAT_TOP) || LOCK_STAT_TOP;
