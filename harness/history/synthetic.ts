// Seeded synthetic nightly series with known change points, for the detector's tests and bench
// (test/changepoint.test.ts, bench/changepoint.ts). Pure. Noise is Gaussian around BASE with
// standard deviation SIGMA (1% of the level, about what a per-boot median of a TCG timing shows
// between boots); effects are in units of SIGMA.

import { rng } from '../ab/stats.ts';

export const BASE = 1000;
export const SIGMA = 10;

export type SeriesKind = 'null' | 'null-skewed' | 'step' | 'outlier' | 'drift' | 'variance' | 'multi';

export interface SyntheticSeries {
  kind: SeriesKind;
  /** Size of the effect in SIGMAs (variance: the factor on SIGMA after the change). */
  effect: number;
  values: number[];
  /**
   * Nights where a new regime starts. Empty for null, null-skewed and outlier series (an outlier
   * reverts: no change). A drift's is where the ramp starts (it has no single right answer).
   */
  truth: number[];
  /** For a step, the sign of each change (+1 up, -1 down). */
  signs: number[];
}

/** Standard normal deviate (Box-Muller; 1 - u keeps the log finite). */
export function gauss(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** A uniform integer in [lo, hi]. */
function between(next: () => number, lo: number, hi: number): number {
  return lo + Math.floor(next() * (hi - lo + 1));
}

/**
 * One series of `n` nights. Change positions are drawn at least `margin` nights from either end
 * (and from each other for multi), so a detector with that minimum segment size can find them.
 *   null          Gaussian noise only.
 *   null-skewed   log-normal noise of the same spread (timing noise has a long right tail).
 *   step          one level shift of ±effect·SIGMA.
 *   outlier       one night effect·SIGMA away (either sign), anywhere but night 0; no change.
 *   drift         a linear ramp from a start night to the end, effect·SIGMA in all.
 *   variance      the noise's SIGMA multiplied by effect from the change on; same level.
 *   multi         three level shifts of ±effect·SIGMA, at least 2·margin apart (n >= 6·margin).
 */
export function syntheticSeries(kind: SeriesKind, o: { n: number; effect: number; seed: number; margin?: number }): SyntheticSeries {
  const next = rng(o.seed);
  const margin = o.margin ?? 5;
  const { n, effect } = o;
  const noise = Array.from({ length: n }, () => gauss(next));
  const level = new Array<number>(n).fill(0);
  let scale = new Array<number>(n).fill(1);
  const truth: number[] = [];
  const signs: number[] = [];
  const sign = (): number => (next() < 0.5 ? -1 : 1);
  switch (kind) {
    case 'null':
      break;
    case 'null-skewed': {
      // Log-normal with sd(log) 0.5, rescaled to mean 0 and sd 1.
      const s = 0.5;
      const m = Math.exp(s * s / 2);
      const sd = Math.sqrt((Math.exp(s * s) - 1) * Math.exp(s * s));
      for (let i = 0; i < n; i++) noise[i] = (Math.exp(s * noise[i]!) - m) / sd;
      break;
    }
    case 'step': {
      const c = between(next, margin, n - margin);
      const d = sign();
      for (let i = c; i < n; i++) level[i] = d * effect;
      truth.push(c);
      signs.push(d);
      break;
    }
    case 'outlier': {
      const c = between(next, 1, n - 1);
      level[c] = sign() * effect;
      break;
    }
    case 'drift': {
      const c = between(next, margin, Math.floor(n / 2));
      for (let i = c; i < n; i++) level[i] = (effect * (i - c + 1)) / (n - c);
      truth.push(c);
      signs.push(1);
      break;
    }
    case 'variance': {
      const c = between(next, margin, n - margin);
      scale = scale.map((_, i) => (i >= c ? effect : 1));
      truth.push(c);
      break;
    }
    case 'multi': {
      // Sorted offsets in [0, span], then spread 2·margin apart: c_k = margin + cut_k + 2·margin·k.
      const span = n - 6 * margin;
      if (span < 0) throw new RangeError(`multi needs n >= ${6 * margin}, got ${n}`);
      const cuts = [0, 1, 2].map(() => Math.floor(next() * (span + 1))).sort((a, b) => a - b);
      let lvl = 0;
      cuts.forEach((cut, k) => {
        const c = margin + cut + 2 * margin * k;
        const d = sign();
        lvl += d * effect;
        for (let i = c; i < n; i++) level[i] = lvl;
        truth.push(c);
        signs.push(d);
      });
      break;
    }
  }
  const values = noise.map((z, i) => BASE + SIGMA * (level[i]! + scale[i]! * z));
  return { kind, effect, values, truth, signs };
}
