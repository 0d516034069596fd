// Descriptive statistics for samples. Pure; shared by the results table and, later, A/B comparison.

export function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Linear-interpolated quantile, q in [0,1]. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function stddev(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

export interface Describe {
  n: number;
  min: number;
  median: number;
  mean: number;
  p90: number;
  p99: number;
  max: number;
  stddev: number;
}

export function describe(xs: number[]): Describe {
  return {
    n: xs.length,
    min: xs.length ? Math.min(...xs) : NaN,
    median: quantile(xs, 0.5),
    mean: mean(xs),
    p90: quantile(xs, 0.9),
    p99: quantile(xs, 0.99),
    max: xs.length ? Math.max(...xs) : NaN,
    stddev: stddev(xs),
  };
}

/** Human units: ns/us/ms/s chosen by magnitude; other units printed as is. */
export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '-';
  const time: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
  const f = time[unit];
  if (f !== undefined) {
    const ns = v * f;
    if (ns >= 1e9) return `${(ns / 1e9).toPrecision(4)} s`;
    if (ns >= 1e6) return `${(ns / 1e6).toPrecision(4)} ms`;
    if (ns >= 1e3) return `${(ns / 1e3).toPrecision(4)} us`;
    return `${ns.toPrecision(4)} ns`;
  }
  const num = Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return unit && unit !== 'count' ? `${num} ${unit}` : num;
}
