// Statistics for A/B timing comparison: per-boot values of a base kernel (A) against a patched
// one (B). Pure: no I/O, no clock, no global randomness (every random draw comes from a seed).
//
// Verdict rule (the project's documented rule; verdictFor implements it). t = threshold (0.05 is
// 5%), ratio = median(B) / median(A), [lo, hi] its percentile-bootstrap interval, p the two-sided
// Mann-Whitney p-value, hl the Hodges-Lehmann shift B - A.
//
//   1. Fewer than 2 values on either side: inconclusive.
//   2. No interval (ratio or ci null: median(A) is 0, or A holds a value <= 0, see bootstrapRatioCI):
//      both sides all one identical value: no change; else if p < alpha the direction is the sign
//      of hl (hl > 0 means B is larger: regression for better=lower, improvement for
//      better=higher, changed for better=none; hl = 0 gives no direction: inconclusive);
//      else inconclusive.
//   3. lo >= 1-t and hi <= 1+t (the whole interval within ±t): no change, whatever p is (a
//      significant change smaller than the threshold is no change at this threshold).
//   4. p < alpha and lo > 1+t (B larger beyond the threshold): regression for better=lower,
//      improvement for better=higher, changed for better=none.
//   5. p < alpha and hi < 1-t (B smaller beyond the threshold): improvement for better=lower,
//      regression for better=higher, changed for better=none.
//   6. Anything else: inconclusive (the interval straddles 1±t, or p >= alpha with an interval
//      beyond the threshold, e.g. too few boots for the test to reach alpha). More boots may
//      settle it.

import { mersenne } from 'pure-rand/generator/mersenne';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { describe, quantile } from '../stats/summary.ts';
import type { AbSettings, Better, Describe, MetricComparison, MetricVerdict } from './types.ts';

/**
 * Seeded PRNG in [0,1): pure-rand's Mersenne Twister with 53-bit floats. Mersenne rather than
 * pure-rand's faster xoroshiro128+ because the latter's seeding does not mix the seed: its first
 * outputs for seeds 0,1,2,... are all ~1.0 and then nearly linear in the seed, which would
 * correlate seeded simulations. The seed is used as a 32-bit integer (seed | 0).
 */
export function rng(seed: number): () => number {
  const g = mersenne(seed | 0);
  return () => uniformFloat64(g);
}

/** Pooled sample sizes up to this use the exact (conditional) null distribution of U. */
export const EXACT_MAX_N = 60;

export interface MannWhitney {
  /** U for B vs A: pairs with b > a, plus half the ties. NaN when either side is empty. */
  u: number;
  p: number;
  method: 'exact' | 'normal';
}

/**
 * Two-sided Mann-Whitney U test with midranks for ties. Exact p (conditional on the observed tie
 * pattern) for |a|+|b| <= EXACT_MAX_N, else the normal approximation with tie-corrected variance
 * and continuity correction. Either side empty or all values identical: p = 1 (no evidence).
 */
export function mannWhitney(a: number[], b: number[]): MannWhitney {
  const na = a.length;
  const nb = b.length;
  const n = na + nb;
  const method = n <= EXACT_MAX_N ? 'exact' : 'normal';
  if (na === 0 || nb === 0) return { u: NaN, p: 1, method };

  // Pooled doubled midranks: a tie group at sorted positions i..j (1-based) gets i + j, an integer,
  // so the exact distribution can be indexed by rank sum without fractions.
  const pooled = [...a.map((v) => ({ v, fromB: false })), ...b.map((v) => ({ v, fromB: true }))];
  pooled.sort((x, y) => x.v - y.v);
  const dranks = new Array<number>(n);
  const tieSizes: number[] = [];
  let dsumB = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && pooled[j + 1]!.v === pooled[i]!.v) j++;
    const dr = i + 1 + (j + 1);
    for (let k = i; k <= j; k++) {
      dranks[k] = dr;
      if (pooled[k]!.fromB) dsumB += dr;
    }
    tieSizes.push(j - i + 1);
    i = j + 1;
  }
  const u = dsumB / 2 - (nb * (nb + 1)) / 2;
  if (tieSizes.length === 1) return { u, p: 1, method };

  if (method === 'exact') {
    // The smaller side keeps the table small; by symmetry the two-sided p is the same.
    const k = Math.min(na, nb);
    const dsumK = nb <= na ? dsumB : n * (n + 1) - dsumB;
    return { u, p: exactTwoSidedP(dranks, k, dsumK), method };
  }

  const ties = tieSizes.reduce((acc, t) => acc + (t ** 3 - t), 0);
  const sigma = Math.sqrt(((na * nb) / 12) * (n + 1 - ties / (n * (n - 1))));
  // Continuity correction towards the mean, clamped at 0 (R's wilcox.test lets |U - mean| < 0.5
  // overshoot past the mean; only possible with ties, and then the evidence is nil anyway).
  const z = Math.max(0, Math.abs(u - (na * nb) / 2) - 0.5) / sigma;
  return { u, p: Math.min(1, erfc(z / Math.SQRT2)), method };
}

/**
 * Two-sided exact p of the rank sum of a size-k subset of `dranks` (doubled midranks, ascending),
 * by counting subsets per rank sum: count[j][s] = number of size-j subsets summing to s. Counts are
 * doubles: C(60,30) exceeds 2^53, but only ratios are used and sums of positives keep ~1e-16
 * relative error. Each step only visits the sums a size-j subset of the items so far can reach,
 * and only the j that can still grow to k: a few ms for 30+30.
 */
function exactTwoSidedP(dranks: number[], k: number, observed: number): number {
  const n = dranks.length;
  const prefix = [0];
  for (const r of dranks) prefix.push(prefix[prefix.length - 1]! + r);
  const maxSum = prefix[n]! - prefix[n - k]!;
  const width = maxSum + 1;
  const count = new Float64Array((k + 1) * width);
  count[0] = 1;
  for (let i = 0; i < n; i++) {
    const r = dranks[i]!;
    const jLow = Math.max(1, k - (n - 1 - i));
    for (let j = Math.min(i + 1, k); j >= jLow; j--) {
      const row = j * width;
      const prev = (j - 1) * width;
      // Ascending ranks: a size-j subset of items 0..i sums to at most the last j of them and at
      // least the first j.
      const top = Math.min(maxSum, prefix[i + 1]! - prefix[i + 1 - j]!);
      const bottom = Math.max(r, prefix[j]!);
      for (let s = top; s >= bottom; s--) count[row + s]! += count[prev + s - r]!;
    }
  }
  let total = 0;
  let le = 0;
  let ge = 0;
  for (let s = 0; s <= maxSum; s++) {
    const c = count[k * width + s]!;
    total += c;
    if (s <= observed) le += c;
    if (s >= observed) ge += c;
  }
  return Math.min(1, (2 * Math.min(le, ge)) / total);
}

/**
 * Complementary error function, Numerical Recipes' Chebyshev fit (erfcc): relative error below
 * 1.2e-7 everywhere, ample for a p-value. A few lines; not worth a dependency.
 */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    );
  return x >= 0 ? r : 2 - r;
}

/** Hodges-Lehmann shift: the median of all pairwise differences b_j - a_i. NaN if a side is empty. */
export function hodgesLehmann(a: number[], b: number[]): number {
  const diffs: number[] = [];
  for (const y of b) for (const x of a) diffs.push(y - x);
  return quantile(diffs, 0.5);
}

/**
 * Percentile-bootstrap interval of median(B) / median(A): each side resampled with replacement
 * independently (the boot is the unit), `resamples` times, from one generator seeded with `seed`,
 * so the same data and seed give the identical interval.
 *
 * null when either side is empty or any A value is <= 0. Only then can every resampled median(A)
 * be guaranteed > 0: with a 0 among the values some resample's median(A) can be 0 (ratio infinite
 * or 0/0), and with non-positive values the ratio's direction no longer says which side is
 * larger. The choice depends on the data alone, not on the seed; timing metrics are positive, and
 * verdictFor falls back to p and the Hodges-Lehmann sign when there is no interval.
 */
export function bootstrapRatioCI(
  a: number[],
  b: number[],
  o: { seed: number; resamples: number; confidence: number },
): [number, number] | null {
  if (!Number.isInteger(o.resamples) || o.resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${o.resamples}`);
  if (!(o.confidence > 0 && o.confidence < 1)) throw new RangeError(`confidence must be in (0,1), got ${o.confidence}`);
  if (a.length === 0 || b.length === 0 || a.some((v) => !(v > 0))) return null;
  const next = rng(o.seed);
  const bufA = new Float64Array(a.length);
  const bufB = new Float64Array(b.length);
  const ratios = new Array<number>(o.resamples);
  for (let r = 0; r < o.resamples; r++) {
    const ma = resampledMedian(a, bufA, next);
    const mb = resampledMedian(b, bufB, next);
    ratios[r] = mb / ma;
  }
  const tail = (1 - o.confidence) / 2;
  return [quantile(ratios, tail), quantile(ratios, 1 - tail)];
}

/**
 * Median of one resample drawn into `buf`. The bootstrap's hot loop: a typed-array sort in place
 * instead of summary.quantile's copy and comparator sort; same definition (mean of the two middle
 * values for an even count).
 */
function resampledMedian(xs: number[], buf: Float64Array, next: () => number): number {
  const n = xs.length;
  for (let i = 0; i < n; i++) buf[i] = xs[Math.floor(next() * n)]!;
  buf.sort();
  const mid = n >> 1;
  return n % 2 ? buf[mid]! : (buf[mid - 1]! + buf[mid]!) / 2;
}

export type MetricStats = Omit<MetricComparison, 'key' | 'scenario' | 'variant' | 'metric' | 'unit' | 'better' | 'pAdjusted'>;

/** All statistics and the verdict for one metric's per-boot values of A and B. */
export function compareMetric(a: number[], b: number[], o: AbSettings & { better: Better }): MetricStats {
  const da: Describe = describe(a);
  const db: Describe = describe(b);
  const ratio = a.length > 0 && b.length > 0 && da.median !== 0 ? db.median / da.median : null;
  const ci = bootstrapRatioCI(a, b, o);
  const { u, p, method } = mannWhitney(a, b);
  const hl = hodgesLehmann(a, b);
  const first = a[0];
  const aAllEqualB = first !== undefined && b.length > 0 && [...a, ...b].every((v) => v === first);
  const verdict = verdictFor({ ratio, ci, p, hl, aAllEqualB, na: a.length, nb: b.length }, o);
  return {
    a: da,
    b: db,
    changePct: ratio === null ? null : 100 * (ratio - 1),
    ratio,
    ci,
    p,
    u,
    pMethod: method,
    hl,
    verdict,
  };
}

/**
 * The verdict rule at the top of this module. `aAllEqualB`: every value of both sides is one and
 * the same. `na`/`nb`: sample sizes; when given and either is below 2 the verdict is inconclusive.
 */
export function verdictFor(
  x: { ratio: number | null; ci: [number, number] | null; p: number; hl: number; aAllEqualB?: boolean; na?: number; nb?: number },
  o: { threshold: number; alpha: number; better: Better },
): MetricVerdict {
  if ((x.na !== undefined && x.na < 2) || (x.nb !== undefined && x.nb < 2)) return 'inconclusive';
  const significant = x.p < o.alpha;
  if (x.ratio === null || x.ci === null) {
    if (x.aAllEqualB) return 'no change';
    // hl = 0 (or NaN) gives no direction.
    if (!significant || !(x.hl > 0 || x.hl < 0)) return 'inconclusive';
    return directional(x.hl > 0, o.better);
  }
  const [lo, hi] = x.ci;
  const t = o.threshold;
  if (lo >= 1 - t && hi <= 1 + t) return 'no change';
  if (significant && lo > 1 + t) return directional(true, o.better);
  if (significant && hi < 1 - t) return directional(false, o.better);
  return 'inconclusive';
}

/**
 * Holm's step-down adjustment: p-values of one family of tests (the directed metrics of one
 * comparison) made comparable with alpha, so that the chance of any false regression or
 * improvement in the whole comparison stays at alpha however many metrics a scenario emits.
 */
export function holm(ps: readonly number[]): number[] {
  const order = ps.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(ps.length);
  let run = 0;
  order.forEach(([p, i], k) => {
    run = Math.max(run, Math.min(1, (ps.length - k) * p));
    out[i] = run;
  });
  return out;
}

/** Verdict for a significant change beyond the threshold; `larger`: B is larger than A. */
function directional(larger: boolean, better: Better): MetricVerdict {
  if (better === 'none') return 'changed';
  return larger === (better === 'higher') ? 'improvement' : 'regression';
}
