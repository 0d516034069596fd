// Change-point detection over one nightly series: the values of one (kernel name, scenario,
// variant, metric) in night order, one value a night (itself a per-boot median). Pure: no I/O, no
// clock, no global randomness; the permutation draws come from a seed, so the same series and
// options give the same change points.
//
// Method: E-Divisive with means (Matteson & James 2014, "A nonparametric approach for multiple
// change point analysis of multivariate data"), the algorithm behind MongoDB's CI change points and
// Apache Otava (formerly Hunter). Written here because npm has no maintained E-Divisive: the only
// change-point package in the registry lists is a Bayesian online detector (bayesian-changepoint),
// another method, unmaintained and mislabelled.
//
//   Statistic. For X = x[s..t) and Y = x[t..k), with m = t-s and n = k-t and d(a,b) = |a-b|^e,
//     E = 2 mean_{X×Y} d - mean_{pairs in X} d - mean_{pairs in Y} d,   Q = m n / (m+n) · E.
//   "Means": the statistic averages pairwise distances (Twitter's E-Divisive with Medians is the
//   other member of the family). For 0 < e < 2, E estimates the energy distance, which is zero only
//   when X and Y have the same distribution, so the detector answers to changes of level, of
//   spread (variance) and of shape; e = 2 collapses E to 2(mean X - mean Y)^2, a change of mean
//   only. The default e = 1 (as in the paper, MongoDB and Otava) is the most sensitive to level
//   shifts; spread changes are found less readily (bench/changepoint.ts, 60 nights: a 5x jump in
//   sigma is flagged in 22% of series with e = 1 and 50% with e = 0.5, which loses a little on
//   steps: a 3-sigma step 3 nights old is found in 50% vs 40%).
//   A single outlier is ignored: with e = 1 an outlier of size M inside Y adds about 2M/n to the
//   cross term and the same to Y's own term, which cancel (what is left, 2(mean X - mean of Y's
//   other nights)/n, does not grow with M), and the permutation null can place the outlier in a
//   window too. A step moves every cross pair. Series with one outlier are flagged at the same
//   rate as pure noise (alpha), not more.

//   Search. Divisive: in a segment [s,e) the candidate is the (t, k) with s+minSize <= t and
//   t+minSize <= k <= e that maximises Q(x[s..t), x[t..k)) (k < e lets Y stop before a later change
//   muddies it); the segment splits at t. Among all current segments the one with the largest Q is
//   tested; if significant, it splits and the search goes on, else it stops.
//
//   Significance. Permutation test: each segment's values are shuffled and its best Q recomputed,
//   `permutations` times; the null value of draw r is the maximum over all current segments (as
//   the candidate is the maximum). p = (1 + #{null >= observed}) / (1 + permutations), never 0
//   (Phipson & Smyth 2010), and significant when p <= alpha: for this p, P(p <= alpha) <= alpha
//   under the null, so a null series gets a change point with probability at most alpha. The
//   smallest possible p is 1/(permutations+1), and a short series has few distinct arrangements:
//   2m nights split m|m have C(2m,m), of which the split and its mirror are as extreme, so
//   p >= 2/C(2m,m): 0.1 for 6 nights, 0.029 for 8, 0.008 for 10. At the default alpha 0.01 the
//   first change point needs about 12 nights of history; the A/B comparison covers younger ones.
//   Each segment's draws come from a generator seeded by (seed, segment bounds), so a segment's
//   null does not depend on the order in which segments were found.
//
//   Cost: O(n^2) per evaluation of a segment of n values (prefix sums of pairwise distances), so
//   O(permutations · sum of n_i^2) over the segments ever created: milliseconds for 200 nights.
//
// What it reports, and what it does not do:
//   - index: the first night of the new regime (never 0). Nights closer than minSize to either end
//     cannot be change points: a regression is visible once minSize nights of it exist.
//   - A slow drift has no single change; E-Divisive cuts it where the halves differ most (near the
//     middle of the ramp once enough has accumulated) and, if it goes on, into a staircase of
//     same-direction change points. latestChange() reports such a run from its first step.
//   - direction: up/down only when the level moved (Mann-Whitney between the neighbouring
//     segments, p < alpha, the sign of the Hodges-Lehmann shift); a change of spread or shape at
//     the same level is a change point with direction 'none'.
//   - A burst of two bad nights can pass for a regime of minSize = 3 nights (split before and
//     after it: up, then down); latestChange() then sees the later down step, not a regression.
//   - Small steps need many nights: at 1% noise a 1-sigma step is found (±1 night) in 17% of
//     60-night series, a 2-sigma one in 77%, 3 sigma 97.5% (bench/changepoint.ts).

import { hodgesLehmann, mannWhitney, rng } from '../ab/stats.ts';
import type { Better } from '../ab/types.ts';
import { mean, quantile, stddev } from '../stats/summary.ts';

export interface ChangePointOptions {
  /** Significance level of each permutation test (default 0.01). */
  alpha?: number;
  /** Permutations per segment (default 199; the smallest p is 1/(permutations+1)). */
  permutations?: number;
  /** Fewest nights in a segment, at least 2 (default 3). */
  minSize?: number;
  /** Seed of the permutation draws, used as a 32-bit integer (default 1). */
  seed?: number;
  /** Distance exponent e in (0, 2] (default 1; below 2 every distribution change counts). */
  exponent?: number;
}

/** Nights [start, end) between neighbouring change points (or the series ends). */
export interface SegmentStats {
  start: number;
  end: number;
  n: number;
  median: number;
  mean: number;
  stddev: number;
}

export interface ChangePoint {
  /** First night (index into the series) of the new regime. */
  index: number;
  /** Permutation p of the test that accepted it. */
  p: number;
  /** The statistic Q at the split (in the metric's unit for exponent 1). */
  q: number;
  /** 1 for the change point found first, and so on (the strongest split is usually first). */
  order: number;
  /** The segment ending at index and the one starting there (bounded by the neighbouring change points). */
  before: SegmentStats;
  after: SegmentStats;
  /** after.median / before.median - 1 (relative to |before.median|); null when before.median is 0. */
  relChange: number | null;
  /** Level moved up or down (Mann-Whitney p < alpha); 'none': spread or shape changed at the same level. */
  direction: 'up' | 'down' | 'none';
  /** Two-sided Mann-Whitney p between before and after. */
  locationP: number;
}

interface Resolved {
  alpha: number;
  permutations: number;
  minSize: number;
  seed: number;
  exponent: number;
}

export const CHANGEPOINT_DEFAULTS: Readonly<Resolved> = { alpha: 0.01, permutations: 199, minSize: 3, seed: 1, exponent: 1 };

function resolve(o: ChangePointOptions): Resolved {
  const d = CHANGEPOINT_DEFAULTS;
  const r: Resolved = {
    alpha: o.alpha ?? d.alpha,
    permutations: o.permutations ?? d.permutations,
    minSize: o.minSize ?? d.minSize,
    seed: o.seed ?? d.seed,
    exponent: o.exponent ?? d.exponent,
  };
  if (!(r.alpha > 0 && r.alpha < 1)) throw new RangeError(`alpha must be in (0,1), got ${r.alpha}`);
  if (!Number.isInteger(r.permutations) || r.permutations < 1) throw new RangeError(`permutations must be a positive integer, got ${r.permutations}`);
  if (!Number.isInteger(r.minSize) || r.minSize < 2) throw new RangeError(`minSize must be an integer >= 2, got ${r.minSize}`);
  if (!Number.isInteger(r.seed)) throw new RangeError(`seed must be an integer, got ${r.seed}`);
  if (!(r.exponent > 0 && r.exponent <= 2)) throw new RangeError(`exponent must be in (0,2], got ${r.exponent}`);
  // Otherwise no p could ever be <= alpha and the detector would silently find nothing.
  if (r.alpha * (r.permutations + 1) < 1 - 1e-9) throw new RangeError(`alpha ${r.alpha} needs at least ${Math.ceil(1 / r.alpha - 1 - 1e-9)} permutations, got ${r.permutations}`);
  return r;
}

/**
 * Change points of a series in night order, sorted by index. Fewer than 2*minSize values: none.
 * Throws RangeError on a non-finite value (NaN, ±Infinity) or a bad option.
 */
export function detectChangePoints(values: readonly number[], opts: ChangePointOptions = {}): ChangePoint[] {
  const o = resolve(opts);
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`values[${i}] is ${v}: every night's value must be a finite number`);
  });
  const n = values.length;
  if (n < 2 * o.minSize) return [];

  const work = new Workspace(n);
  const segs: Seg[] = [evaluate(values, 0, n, o, work)];
  const found: { index: number; p: number; q: number; order: number }[] = [];
  for (;;) {
    const open = segs.filter((s) => s.best !== null);
    if (open.length === 0) break;
    const cand = open.reduce((a, b) => (b.best!.q > a.best!.q ? b : a));
    const observed = cand.best!.q;
    // Rounding can make an arrangement with the same Q come out a hair larger or smaller; ties
    // count as "as extreme" (a constant series gives p = 1, not a spurious split).
    const tol = 1e-9 * Math.max(Math.abs(observed), ...open.map((s) => s.scale));
    // p <= alpha needs exceed <= alpha(1+permutations) - 1; past that the answer is known, so the
    // last (non-significant) test usually stops after a handful of draws.
    const maxExceed = Math.floor(o.alpha * (1 + o.permutations) + 1e-9) - 1;
    let exceed = 0;
    for (let r = 0; r < o.permutations && exceed <= maxExceed; r++) {
      let max = -Infinity;
      for (const s of open) max = Math.max(max, nullAt(s, r, o, work));
      if (max >= observed - tol) exceed++;
    }
    if (exceed > maxExceed) break;
    const p = (1 + exceed) / (1 + o.permutations);
    const t = cand.best!.t;
    found.push({ index: t, p, q: observed, order: found.length + 1 });
    segs.splice(segs.indexOf(cand), 1, evaluate(values, cand.start, t, o, work), evaluate(values, t, cand.end, o, work));
  }

  found.sort((a, b) => a.index - b.index);
  return found.map((f, i) => {
    const before = segmentStats(values, i === 0 ? 0 : found[i - 1]!.index, f.index);
    const after = segmentStats(values, f.index, i + 1 < found.length ? found[i + 1]!.index : n);
    const xs = values.slice(before.start, before.end);
    const ys = values.slice(after.start, after.end);
    const locationP = mannWhitney(xs, ys).p;
    const hl = hodgesLehmann(xs, ys);
    const direction = locationP < o.alpha && hl !== 0 ? (hl > 0 ? 'up' : 'down') : 'none';
    const relChange = before.median === 0 ? null : (after.median - before.median) / Math.abs(before.median);
    return { ...f, before, after, relChange, direction, locationP };
  });
}

interface Seg {
  start: number;
  end: number;
  /** Best split (absolute index t) and its Q; null when the segment is too short to split. */
  best: { t: number; q: number } | null;
  /** Typical size of Q here (for the tie tolerance). */
  scale: number;
  /** Best Q of each permutation drawn so far (drawn on demand, in order, from `next`). */
  nulls: number[];
  perm: Float64Array;
  next: () => number;
}

function evaluate(values: readonly number[], start: number, end: number, o: Resolved, work: Workspace): Seg {
  const len = end - start;
  const perm = Float64Array.from(values.slice(start, end));
  const next = rng(segmentSeed(o.seed, start, end));
  if (len < 2 * o.minSize) return { start, end, best: null, scale: 0, nulls: [], perm, next };
  const best = bestSplit(perm, o.minSize, o.exponent, work);
  const scale = (work.w[len]! / ((len * (len - 1)) / 2)) * len; // mean pairwise distance · len
  return { start, end, best: { t: start + best.t, q: best.q }, scale, nulls: [], perm, next };
}

/** The segment's r-th permutation null value, drawing the ones before it if not drawn yet. */
function nullAt(s: Seg, r: number, o: Resolved, work: Workspace): number {
  const perm = s.perm;
  while (s.nulls.length <= r) {
    // Fisher-Yates from the previous arrangement: still uniform, and no copy per draw.
    for (let i = perm.length - 1; i > 0; i--) {
      const j = Math.floor(s.next() * (i + 1));
      const tmp = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = tmp;
    }
    s.nulls.push(bestSplit(perm, o.minSize, o.exponent, work).q);
  }
  return s.nulls[r]!;
}

/**
 * The best split of the whole series by the statistic above, without a test: index t (first night
 * of Y) and Q, maximised over t and Y's end k as in the search. null when shorter than 2*minSize.
 * Exposed for tests and for plotting the statistic; detectChangePoints is the detector.
 */
export function bestEnergySplit(values: readonly number[], opts: { minSize?: number; exponent?: number } = {}): { index: number; q: number } | null {
  const o = resolve(opts);
  if (values.length < 2 * o.minSize) return null;
  const best = bestSplit(Float64Array.from(values), o.minSize, o.exponent, new Workspace(values.length));
  return { index: best.t, q: best.q };
}

/** A distinct generator per segment: the seed mixed with both bounds (mersenne mixes further). */
function segmentSeed(seed: number, start: number, end: number): number {
  return (seed ^ Math.imul(start + 1, 0x9e3779b1) ^ Math.imul(end + 1, 0x85ebca6b)) | 0;
}

/** Reused buffer for the pairwise-distance sums of the longest segment. */
class Workspace {
  readonly stride: number;
  /** w[a*stride + b] = sum of d(x_i, x_j) over a <= i < j < b (segment-relative). */
  readonly w: Float64Array;
  constructor(n: number) {
    this.stride = n + 1;
    this.w = new Float64Array(this.stride * this.stride);
  }
}

/**
 * The (t, k) maximising Q(xs[0..t), xs[t..k)) with t >= minSize, k - t >= minSize; t relative to
 * xs. Also leaves, in work.w, the within sums of every interval (w[0*stride + len] is all pairs).
 */
function bestSplit(xs: Float64Array, minSize: number, exponent: number, work: Workspace): { t: number; q: number } {
  const len = xs.length;
  const S = work.stride;
  const w = work.w;
  // w(a, b) = w(a, b-1) + sum_{a <= i < b-1} d(x_i, x_{b-1}), the column sum built as a falls.
  // Exponent 1 (the default) spelled out: the hot loop of the whole detector.
  for (let b = 1; b <= len; b++) {
    w[(b - 1) * S + b] = 0;
    const xb = xs[b - 1]!;
    let col = 0;
    if (exponent === 1) {
      for (let a = b - 2; a >= 0; a--) {
        col += Math.abs(xs[a]! - xb);
        w[a * S + b] = w[a * S + b - 1]! + col;
      }
    } else {
      for (let a = b - 2; a >= 0; a--) {
        col += Math.abs(xs[a]! - xb) ** exponent;
        w[a * S + b] = w[a * S + b - 1]! + col;
      }
    }
  }
  let bestQ = -Infinity;
  let bestT = minSize;
  for (let t = minSize; t + minSize <= len; t++) {
    const m = t;
    const wx = w[t]!; // w(0, t)
    const withinX = (2 * wx) / (m * (m - 1));
    for (let k = t + minSize; k <= len; k++) {
      const nY = k - t;
      const wy = w[t * S + k]!;
      const cross = w[k]! - wx - wy;
      const e = (2 * cross) / (m * nY) - withinX - (2 * wy) / (nY * (nY - 1));
      const q = ((m * nY) / (m + nY)) * e;
      if (q > bestQ) {
        bestQ = q;
        bestT = t;
      }
    }
  }
  return { t: bestT, q: bestQ };
}

function segmentStats(values: readonly number[], start: number, end: number): SegmentStats {
  const xs = values.slice(start, end);
  return { start, end, n: xs.length, median: quantile(xs, 0.5), mean: mean(xs), stddev: stddev(xs) };
}

export type ChangeVerdict = 'regression' | 'improvement' | 'changed' | 'no change';

export interface LatestChange {
  /**
   * From the latest change of level (direction up/down): regression or improvement by `better`;
   * changed for better=none, or when the only change points changed spread, not level; no change
   * when there is no change point.
   */
  verdict: ChangeVerdict;
  /**
   * First night of the trailing run of change points with the latest one's direction (a drift or
   * a staircase of steps is reported from its first step); null with no change.
   */
  since: number | null;
  /** The latest change of level (or, for 'changed' without one, the latest change point). */
  latest: ChangePoint | null;
  /** The segment before `since` and the last segment of the series. */
  baseline: SegmentStats | null;
  current: SegmentStats | null;
  /** current.median / baseline.median - 1 (relative to |baseline.median|); null when undefined. */
  relChange: number | null;
  changePoints: ChangePoint[];
}

/**
 * Whether the series' latest change of level is a regression for a metric whose better direction
 * is `better` (harness/ab/collect.ts betterFor), and since which night. Changes of spread only
 * (direction 'none') are skipped over: they neither start nor interrupt a run.
 */
export function latestChange(values: readonly number[], better: Better, opts: ChangePointOptions = {}): LatestChange {
  const cps = detectChangePoints(values, opts);
  const none: LatestChange = { verdict: 'no change', since: null, latest: null, baseline: null, current: null, relChange: null, changePoints: cps };
  if (cps.length === 0) return none;
  const current = cps[cps.length - 1]!.after;
  const leveled = cps.filter((c) => c.direction !== 'none');
  const latest = leveled[leveled.length - 1];
  if (latest === undefined) {
    const last = cps[cps.length - 1]!;
    return { ...none, verdict: 'changed', since: last.index, latest: last, baseline: last.before, current, relChange: last.relChange };
  }
  let first = leveled.length - 1;
  while (first > 0 && leveled[first - 1]!.direction === latest.direction) first--;
  const since = leveled[first]!.index;
  const prevIndex = cps.filter((c) => c.index < since).map((c) => c.index).pop() ?? 0;
  const baseline = segmentStats(values, prevIndex, since);
  const relChange = baseline.median === 0 ? null : (current.median - baseline.median) / Math.abs(baseline.median);
  const verdict: ChangeVerdict = better === 'none' ? 'changed' : (latest.direction === 'up') === (better === 'higher') ? 'improvement' : 'regression';
  return { verdict, since, latest, baseline, current, relChange, changePoints: cps };
}
