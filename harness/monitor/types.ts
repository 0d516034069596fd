// What a monitor turns a step's samples into: ordinary metrics (results/events.ts `metric`), and
// the monitors (or parts of one: `funclatency:xfs_break_dax_layouts`) the kernel could not give.

export interface MonitorMetric {
  /** `MONITOR.SUBJECT.FIELD`: `vmstat.pgfault`, `funclatency.dax_iomap_fault.p50`. */
  name: string;
  value: number;
  unit: string;
}

export interface SkippedMonitor {
  monitor: string;
  reason: string;
}
