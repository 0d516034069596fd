// Function latency from function_graph (images/guest/agent.sh FUNC_AWK folds the trace in the
// guest): per function `f NAME COUNT SUM_US MIN_US MAX_US` and `b NAME BUCKET:N ...` lines, where
// bucket 32e+j holds durations in 2^e * [1 + j/32, 1 + (j+1)/32) us (each octave cut in 32 equal
// parts: busybox awk has no log()), plus `lost N` when the ring buffer overwrote events.
// Percentiles come from the buckets (reported at their middle, within 1.6% of the truth, clamped
// to the exact min and max). Pure.
import type { MonitorMetric } from './types.ts';

export const BUCKETS_PER_OCTAVE = 32;

export interface FuncLatency {
  fn: string;
  count: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
  buckets: Map<number, number>;
}

export interface FuncLatencyParse {
  functions: FuncLatency[];
  lost: number;
}

export function parseFuncLatency(lines: readonly string[]): FuncLatencyParse {
  const byFn = new Map<string, FuncLatency>();
  let lost = 0;
  const get = (fn: string): FuncLatency => {
    let f = byFn.get(fn);
    if (!f) byFn.set(fn, (f = { fn, count: 0, sumUs: 0, minUs: 0, maxUs: 0, buckets: new Map() }));
    return f;
  };
  for (const l of lines) {
    const w = l.trim().split(/\s+/);
    if (w[0] === 'lost' && w.length === 2) lost += Number(w[1]) || 0;
    else if (w[0] === 'f' && w.length === 6 && w[1]) {
      const [count, sum, min, max] = w.slice(2).map(Number) as [number, number, number, number];
      if ([count, sum, min, max].every(Number.isFinite)) Object.assign(get(w[1]), { count, sumUs: sum, minUs: min, maxUs: max });
    } else if (w[0] === 'b' && w[1]) {
      const f = get(w[1]);
      for (const kv of w.slice(2)) {
        const [k, n] = kv.split(':').map(Number) as [number, number];
        if (Number.isInteger(k) && Number.isFinite(n)) f.buckets.set(k, (f.buckets.get(k) ?? 0) + n);
      }
    }
  }
  return { functions: [...byFn.values()].filter((f) => f.count > 0), lost };
}

/** The middle of bucket k, us. */
export function bucketMiddle(k: number): number {
  const e = Math.floor(k / BUCKETS_PER_OCTAVE);
  const j = k - e * BUCKETS_PER_OCTAVE;
  return 2 ** e * (1 + (j + 0.5) / BUCKETS_PER_OCTAVE);
}

/** The q-quantile (0..1) of a function's durations, us, from its buckets. */
export function bucketQuantile(f: FuncLatency, q: number): number {
  const ks = [...f.buckets.keys()].sort((a, b) => a - b);
  const total = ks.reduce((s, k) => s + (f.buckets.get(k) ?? 0), 0);
  if (!total) return f.minUs;
  const want = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const k of ks) {
    seen += f.buckets.get(k) ?? 0;
    if (seen >= want) return Math.min(f.maxUs, Math.max(f.minUs, bucketMiddle(k)));
  }
  return f.maxUs;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * count, mean, p50, p99 and max of each function called during the step; a function in `traced`
 * that was never called gets its count (0) only.
 */
export function funcLatencyMetrics(lines: readonly string[], traced: readonly string[] = []): MonitorMetric[] {
  const p = parseFuncLatency(lines);
  const out: MonitorMetric[] = [];
  for (const fn of traced) if (!p.functions.some((f) => f.fn === fn)) out.push({ name: `funclatency.${fn}.count`, value: 0, unit: 'count' });
  for (const f of p.functions) {
    const m = `funclatency.${f.fn}`;
    out.push(
      { name: `${m}.count`, value: f.count, unit: 'count' },
      { name: `${m}.mean`, value: round(f.sumUs / f.count), unit: 'us' },
      { name: `${m}.p50`, value: round(bucketQuantile(f, 0.5)), unit: 'us' },
      { name: `${m}.p99`, value: round(bucketQuantile(f, 0.99)), unit: 'us' },
      { name: `${m}.max`, value: round(f.maxUs), unit: 'us' },
    );
  }
  if (p.lost) out.push({ name: 'funclatency.lost_events', value: p.lost, unit: 'count' });
  return out;
}
