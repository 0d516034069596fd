import test from 'ava';
import { bootstrapRatioCI, compareMetric, EXACT_MAX_N, hodgesLehmann, holm, mannWhitney, rng, verdictFor } from '../harness/ab/stats.ts';
import type { Better, MetricVerdict } from '../harness/ab/types.ts';

// ---- independent reference implementations (brute force, no shared code with stats.ts) ----

/** Midrank of every pooled value: values below, plus the mean position within its tie group. */
function midranks(pooled: number[]): number[] {
  return pooled.map((v) => pooled.filter((w) => w < v).length + (pooled.filter((w) => w === v).length + 1) / 2);
}

/** U for B vs A by counting pairs. */
function pairU(a: number[], b: number[]): number {
  let u = 0;
  for (const y of b) for (const x of a) u += y > x ? 1 : y === x ? 0.5 : 0;
  return u;
}

/** Exact two-sided p by enumerating every way of choosing |a| of the pooled midranks. */
function bruteExactP(a: number[], b: number[]): number {
  const ranks = midranks([...a, ...b]);
  const observed = ranks.slice(0, a.length).reduce((s, r) => s + r, 0);
  let total = 0;
  let le = 0;
  let ge = 0;
  const choose = (start: number, left: number, sum: number): void => {
    if (left === 0) {
      total++;
      // Midranks are multiples of 0.5, so the sums compare exactly.
      if (sum <= observed) le++;
      if (sum >= observed) ge++;
      return;
    }
    for (let i = start; i <= ranks.length - left; i++) choose(i + 1, left - 1, sum + ranks[i]!);
  };
  choose(0, a.length, 0);
  return Math.min(1, (2 * Math.min(le, ge)) / total);
}

/** Standard normal deviate by Box-Muller. */
function gauss(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

function lognormalBoots(next: () => number, n: number, median: number, sigma: number): number[] {
  return Array.from({ length: n }, () => median * Math.exp(sigma * gauss(next)));
}

const settings = { threshold: 0.05, alpha: 0.05, confidence: 0.95, resamples: 2000 };

// ---- rng ----

test('rng: same seed gives the same sequence in [0,1); different seeds differ', (t) => {
  const take = (seed: number) => {
    const next = rng(seed);
    return Array.from({ length: 50 }, () => next());
  };
  t.deepEqual(take(7), take(7));
  t.notDeepEqual(take(7), take(8));
  for (const v of [...take(0), ...take(1), ...take(-3)]) t.true(v >= 0 && v < 1);
  // Neighbouring seeds are not correlated at the start (xoroshiro128+'s raw seeding is).
  t.true(Math.abs(take(0)[0]! - take(1)[0]!) > 1e-3 || Math.abs(take(1)[0]! - take(2)[0]!) > 1e-3);
  const next = rng(1);
  const m = Array.from({ length: 20000 }, () => next()).reduce((s, v) => s + v, 0) / 20000;
  t.true(Math.abs(m - 0.5) < 0.01, `mean ${m}`);
});

// ---- Mann-Whitney ----

test('mannWhitney: fully separated 5 vs 5 has exact p = 2/C(10,5) = 2/252', (t) => {
  const r = mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
  t.is(r.method, 'exact');
  t.is(r.u, 25);
  t.true(Math.abs(r.p - 2 / 252) < 1e-12, String(r.p));
  const rev = mannWhitney([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]);
  t.is(rev.u, 0);
  t.true(Math.abs(rev.p - 2 / 252) < 1e-12);
});

test('mannWhitney: exact p with ties equals brute-force enumeration of all splits', (t) => {
  const a = [1, 2, 2, 3, 3, 3, 4];
  const b = [2, 3, 4, 4, 5, 5];
  const r = mannWhitney(a, b);
  t.is(r.method, 'exact');
  t.is(r.u, pairU(a, b));
  t.is(r.u, 33.5);
  const brute = bruteExactP(a, b);
  t.true(Math.abs(r.p - brute) < 1e-12, `${r.p} vs ${brute}`);
  // scipy.stats.permutation_test over all 1716 splits (statistic: U) gives 0.10023310023310024 =
  // 172/1716. (scipy's mannwhitneyu(method='exact') says 174/1716: it ignores ties.)
  t.true(Math.abs(r.p - 172 / 1716) < 1e-12);
});

test('mannWhitney: exact p matches brute force on random tie-heavy samples', (t) => {
  const next = rng(2024);
  for (let c = 0; c < 40; c++) {
    const na = 1 + Math.floor(next() * 9);
    const nb = 1 + Math.floor(next() * 9);
    const levels = 1 + Math.floor(next() * 5);
    const draw = (n: number, shift: number) => Array.from({ length: n }, () => Math.floor(next() * levels) + shift);
    const a = draw(na, 0);
    const b = draw(nb, Math.floor(next() * 2));
    const r = mannWhitney(a, b);
    t.is(r.u, pairU(a, b), `u for ${a} | ${b}`);
    t.true(Math.abs(r.p - bruteExactP(a, b)) < 1e-12, `p for ${a} | ${b}: ${r.p} vs ${bruteExactP(a, b)}`);
  }
});

test('mannWhitney: U_b + U_a = n_a * n_b', (t) => {
  const next = rng(5);
  for (let c = 0; c < 20; c++) {
    const a = Array.from({ length: 3 + c }, () => Math.round(next() * 10));
    const b = Array.from({ length: 40 - c }, () => Math.round(next() * 10));
    const ub = mannWhitney(a, b).u;
    const ua = mannWhitney(b, a).u;
    t.is(ub + ua, a.length * b.length);
    t.is(ub, pairU(a, b));
  }
});

test('mannWhitney: normal approximation with tie correction and continuity correction', (t) => {
  // 40 + 30 > EXACT_MAX_N, heavy ties. Reference p-values from
  // scipy.stats.mannwhitneyu(b, a, method='asymptotic', use_continuity=True), which is R's
  // wilcox.test(exact=FALSE, correct=TRUE): z = (|U - na*nb/2| - 0.5) / sigma,
  // sigma^2 = na*nb/12 * ((N+1) - sum(t^3 - t) / (N(N-1))).
  const a = Array.from({ length: 40 }, (_, i) => i % 7);
  const b = Array.from({ length: 30 }, (_, i) => (i % 7) + 2);
  t.true(a.length + b.length > EXACT_MAX_N);
  const r = mannWhitney(a, b);
  t.is(r.method, 'normal');
  t.is(r.u, 888);
  t.is(r.u, pairU(a, b));
  t.true(Math.abs(r.p - 0.0005811708709390482) / 0.0005811708709390482 < 1e-5, String(r.p));

  // The z of the formula, computed here from tie counts: ties at values 0..8.
  const pooled = [...a, ...b];
  const counts = new Map<number, number>();
  for (const v of pooled) counts.set(v, (counts.get(v) ?? 0) + 1);
  const n = pooled.length;
  const tieSum = [...counts.values()].reduce((s, c) => s + c ** 3 - c, 0);
  const sigma = Math.sqrt(((40 * 30) / 12) * (n + 1 - tieSum / (n * (n - 1))));
  const z = (Math.abs(888 - 600) - 0.5) / sigma;
  t.true(Math.abs(z - 3.4402528917) < 1e-9, String(z)); // scipy norm.isf(0.0005811708709390482 / 2)

  const a2 = Array.from({ length: 35 }, (_, i) => i % 10);
  const b2 = Array.from({ length: 35 }, (_, i) => (i % 10) + (i % 3 === 0 ? 1 : 0));
  const r2 = mannWhitney(a2, b2);
  t.is(r2.method, 'normal');
  t.is(r2.u, 653.5);
  t.true(Math.abs(r2.p - 0.6325140730668173) < 1e-6, String(r2.p));
});

test('mannWhitney: exact up to EXACT_MAX_N pooled values, normal beyond', (t) => {
  const a = Array.from({ length: 30 }, (_, i) => i);
  t.is(mannWhitney(a, a.map((v) => v + 0.5)).method, 'exact');
  t.is(mannWhitney(a, [...a, 100].map((v) => v + 0.5)).method, 'normal');
  // Near the boundary the two agree roughly (same data, one value apart).
  const e = mannWhitney(a, a.map((v) => v + 4.5)).p;
  const nrm = mannWhitney(a, [...a.map((v) => v + 4.5), 15.5]).p;
  t.true(Math.abs(e - nrm) < 0.1, `${e} vs ${nrm}`);
});

test('mannWhitney: degenerate cases give p = 1', (t) => {
  t.is(mannWhitney([], [1, 2]).p, 1);
  t.true(Number.isNaN(mannWhitney([], [1, 2]).u));
  t.is(mannWhitney([1, 2], []).p, 1);
  const same = mannWhitney([3, 3, 3], [3, 3]);
  t.is(same.p, 1);
  t.is(same.u, 3);
  const sameBig = mannWhitney(Array(40).fill(3) as number[], Array(40).fill(3) as number[]);
  t.is(sameBig.method, 'normal');
  t.is(sameBig.p, 1);
});

// ---- Hodges-Lehmann ----

test('hodgesLehmann: median of pairwise differences, by hand', (t) => {
  // b - a: 1,0,-1, 3,2,1, 6,5,4 -> sorted -1,0,1,1,2,3,4,5,6 -> 2
  t.is(hodgesLehmann([1, 2, 3], [2, 4, 7]), 2);
  // 1,0,3,2 -> 0,1,2,3 -> 1.5
  t.is(hodgesLehmann([0, 1], [1, 3]), 1.5);
  t.is(hodgesLehmann([5, 5], [5]), 0);
  t.true(Number.isNaN(hodgesLehmann([], [1])));
});

// ---- bootstrap ----

test('bootstrapRatioCI: seeded, contains the point ratio, constant data gives [1,1]', (t) => {
  const a = [100, 102, 98, 101, 99, 103];
  const b = [110, 112, 108, 111, 109, 113];
  const o = { seed: 1, resamples: 2000, confidence: 0.95 };
  const ci = bootstrapRatioCI(a, b, o);
  t.truthy(ci);
  t.deepEqual(bootstrapRatioCI(a, b, o), ci);
  t.notDeepEqual(bootstrapRatioCI(a, b, { ...o, seed: 2 }), ci);
  const [lo, hi] = ci!;
  const point = 110.5 / 100.5;
  t.true(lo <= point && point <= hi, `${lo} ${point} ${hi}`);
  t.true(lo > 1.05 && hi < 1.15, `${lo} ${hi}`);
  t.deepEqual(bootstrapRatioCI([5, 5, 5], [5, 5, 5, 5], o), [1, 1]);
  t.deepEqual(bootstrapRatioCI([4, 4], [6, 6], o), [1.5, 1.5]);
  // A wider confidence gives a wider (or equal) interval.
  const wide = bootstrapRatioCI(a, b, { ...o, confidence: 0.99 })!;
  t.true(wide[0] <= lo && wide[1] >= hi);
});

test('bootstrapRatioCI: null when a resampled median(A) could be 0 or a side is empty', (t) => {
  const o = { seed: 1, resamples: 100, confidence: 0.95 };
  t.is(bootstrapRatioCI([0, 0, 0], [1, 2, 3], o), null);
  t.is(bootstrapRatioCI([0, 5, 6, 7], [1, 2, 3], o), null);
  t.is(bootstrapRatioCI([-1, 1], [1, 2], o), null);
  t.is(bootstrapRatioCI([], [1, 2], o), null);
  t.is(bootstrapRatioCI([1, 2], [], o), null);
  t.truthy(bootstrapRatioCI([1, 2], [0, 0], o));
  t.throws(() => bootstrapRatioCI([1], [1], { ...o, resamples: 0 }), { instanceOf: RangeError });
  t.throws(() => bootstrapRatioCI([1], [1], { ...o, confidence: 1 }), { instanceOf: RangeError });
});

// ---- verdict rule ----

test('verdictFor: every branch for lower, higher and none', (t) => {
  const o = (better: Better) => ({ threshold: 0.05, alpha: 0.05, better });
  type Case = [string, Parameters<typeof verdictFor>[0], Better, MetricVerdict];
  const sig = 0.01;
  const ns = 0.2;
  const cases: Case[] = [
    // Interval beyond 1+t, significant.
    ['up, lower', { ratio: 1.2, ci: [1.1, 1.3], p: sig, hl: 2 }, 'lower', 'regression'],
    ['up, higher', { ratio: 1.2, ci: [1.1, 1.3], p: sig, hl: 2 }, 'higher', 'improvement'],
    ['up, none', { ratio: 1.2, ci: [1.1, 1.3], p: sig, hl: 2 }, 'none', 'changed'],
    // Interval beyond 1-t, significant.
    ['down, lower', { ratio: 0.8, ci: [0.7, 0.9], p: sig, hl: -2 }, 'lower', 'improvement'],
    ['down, higher', { ratio: 0.8, ci: [0.7, 0.9], p: sig, hl: -2 }, 'higher', 'regression'],
    ['down, none', { ratio: 0.8, ci: [0.7, 0.9], p: sig, hl: -2 }, 'none', 'changed'],
    // Beyond the threshold but p >= alpha: inconclusive.
    ['up, not significant', { ratio: 1.2, ci: [1.1, 1.3], p: ns, hl: 2 }, 'lower', 'inconclusive'],
    ['down, not significant', { ratio: 0.8, ci: [0.7, 0.9], p: ns, hl: -2 }, 'higher', 'inconclusive'],
    ['up, not significant, none', { ratio: 1.2, ci: [1.1, 1.3], p: ns, hl: 2 }, 'none', 'inconclusive'],
    ['p = alpha is not significant', { ratio: 1.2, ci: [1.1, 1.3], p: 0.05, hl: 2 }, 'lower', 'inconclusive'],
    // Within ±t: no change whatever p is.
    ['within, significant', { ratio: 1.02, ci: [1.01, 1.03], p: sig, hl: 1 }, 'lower', 'no change'],
    ['within, not significant', { ratio: 1, ci: [0.97, 1.04], p: ns, hl: 0 }, 'higher', 'no change'],
    ['within, none', { ratio: 0.98, ci: [0.96, 0.99], p: sig, hl: -1 }, 'none', 'no change'],
    ['within, on the edges', { ratio: 1, ci: [0.95, 1.05], p: sig, hl: 0 }, 'lower', 'no change'],
    // Straddling a threshold: inconclusive even when significant.
    ['straddles 1+t', { ratio: 1.06, ci: [1.02, 1.1], p: sig, hl: 1 }, 'lower', 'inconclusive'],
    ['straddles 1-t', { ratio: 0.94, ci: [0.9, 0.98], p: sig, hl: -1 }, 'higher', 'inconclusive'],
    ['straddles both', { ratio: 1, ci: [0.9, 1.1], p: ns, hl: 0 }, 'none', 'inconclusive'],
    ['lo exactly 1+t is not beyond', { ratio: 1.1, ci: [1.05, 1.2], p: sig, hl: 1 }, 'lower', 'inconclusive'],
    // No ratio / interval (median(A) == 0): p and the sign of hl.
    ['zero, all equal', { ratio: null, ci: null, p: 1, hl: 0, aAllEqualB: true }, 'lower', 'no change'],
    ['zero, hl > 0, lower', { ratio: null, ci: null, p: sig, hl: 3 }, 'lower', 'regression'],
    ['zero, hl > 0, higher', { ratio: null, ci: null, p: sig, hl: 3 }, 'higher', 'improvement'],
    ['zero, hl < 0, lower', { ratio: null, ci: null, p: sig, hl: -3 }, 'lower', 'improvement'],
    ['zero, hl < 0, higher', { ratio: null, ci: null, p: sig, hl: -3 }, 'higher', 'regression'],
    ['zero, hl > 0, none', { ratio: null, ci: null, p: sig, hl: 3 }, 'none', 'changed'],
    ['zero, hl < 0, none', { ratio: null, ci: null, p: sig, hl: -3 }, 'none', 'changed'],
    ['zero, hl = 0', { ratio: null, ci: null, p: sig, hl: 0 }, 'lower', 'inconclusive'],
    ['zero, not significant', { ratio: null, ci: null, p: ns, hl: 3 }, 'lower', 'inconclusive'],
    ['ratio but no interval', { ratio: 2, ci: null, p: sig, hl: 3 }, 'lower', 'regression'],
    // Too few values.
    ['one value of A', { ratio: 2, ci: [2, 2], p: sig, hl: 3, na: 1, nb: 5 }, 'lower', 'inconclusive'],
    ['one value of B', { ratio: 2, ci: [2, 2], p: sig, hl: 3, na: 5, nb: 1 }, 'none', 'inconclusive'],
    ['no values', { ratio: null, ci: null, p: 1, hl: NaN, aAllEqualB: false, na: 0, nb: 0 }, 'lower', 'inconclusive'],
    ['two each is enough', { ratio: 2, ci: [2, 2], p: sig, hl: 3, na: 2, nb: 2 }, 'lower', 'regression'],
  ];
  for (const [name, x, better, want] of cases) t.is(verdictFor(x, o(better)), want, name);
});

// ---- compareMetric ----

test('compareMetric: fields for a clear slowdown, constant data and zero medians', (t) => {
  const o = { ...settings, seed: 3, better: 'lower' as const };
  const a = [100, 101, 99, 102, 98, 100];
  const b = a.map((v) => v * 2);
  const r = compareMetric(a, b, o);
  t.is(r.a.n, 6);
  t.is(r.a.median, 100);
  t.is(r.b.median, 200);
  t.is(r.a.min, 98);
  t.is(r.b.max, 204);
  t.is(r.ratio, 2);
  t.is(r.changePct, 100);
  t.true(r.ci !== null && r.ci[0] > 1.9 && r.ci[0] <= 2 && r.ci[1] >= 2 && r.ci[1] < 2.1, String(r.ci));
  t.is(r.u, 36);
  t.is(r.pMethod, 'exact');
  t.true(Math.abs(r.p - 2 / 924) < 1e-12);
  t.is(r.hl, 100);
  t.is(r.verdict, 'regression');
  t.deepEqual(compareMetric(a, b, o), r);
  t.is(compareMetric(a, b, { ...o, better: 'higher' }).verdict, 'improvement');
  t.is(compareMetric(a, b, { ...o, better: 'none' }).verdict, 'changed');

  const same = compareMetric([7, 7, 7], [7, 7, 7], o);
  t.is(same.verdict, 'no change');
  t.is(same.p, 1);
  t.deepEqual(same.ci, [1, 1]);

  const zeros = compareMetric([0, 0, 0], [0, 0, 0, 0], o);
  t.is(zeros.ratio, null);
  t.is(zeros.changePct, null);
  t.is(zeros.ci, null);
  t.is(zeros.verdict, 'no change');

  const fromZero = compareMetric([0, 0, 0, 0, 0, 0], [3, 4, 5, 3, 4, 5], o);
  t.is(fromZero.ratio, null);
  t.is(fromZero.verdict, 'regression');
  t.is(compareMetric([0, 0, 0, 0, 0, 0], [3, 4, 5, 3, 4, 5], { ...o, better: 'higher' }).verdict, 'improvement');
  t.is(compareMetric([0, 0, 0], [3, 4, 5], o).verdict, 'inconclusive'); // p = 0.1 at 3 + 3

  t.is(compareMetric([100], [200, 201, 202], o).verdict, 'inconclusive');
  const empty = compareMetric([], [1, 2], o);
  t.is(empty.verdict, 'inconclusive');
  t.is(empty.ratio, null);
  t.is(empty.p, 1);
});

// ---- simulations ----

test('A/A false-positive rate: at most 5% regressions or improvements', (t) => {
  const next = rng(20240501);
  const sims = 400;
  const count = new Map<MetricVerdict, number>();
  let significant = 0;
  for (let i = 0; i < sims; i++) {
    const sigma = 0.05 + (0.1 * (i % 21)) / 20;
    const a = lognormalBoots(next, 6, 1000, sigma);
    const b = lognormalBoots(next, 6, 1000, sigma);
    const r = compareMetric(a, b, { ...settings, resamples: 1000, seed: i, better: 'lower' });
    count.set(r.verdict, (count.get(r.verdict) ?? 0) + 1);
    if (r.p < settings.alpha) significant++;
  }
  const positives = (count.get('regression') ?? 0) + (count.get('improvement') ?? 0);
  const rate = positives / sims;
  t.log(`A/A sigma 0.05-0.15, 6+6 boots: ${positives}/${sims} = ${(100 * rate).toFixed(2)}% regression or improvement`);
  t.log(`  verdicts ${JSON.stringify(Object.fromEntries(count))}; p < alpha in ${significant}/${sims}`);
  t.true(rate <= 0.05, `false-positive rate ${rate}`);
  // The test alone holds its level (exact 6+6: P(p < 0.05) = 0.041 under the null; 400 runs).
  t.true(significant / sims <= 0.075, `Mann-Whitney level ${significant / sims}`);
});

test('A/A at low noise: mostly no change, never a regression or improvement', (t) => {
  const next = rng(31337);
  const sims = 200;
  const count = new Map<MetricVerdict, number>();
  for (let i = 0; i < sims; i++) {
    const a = lognormalBoots(next, 8, 1000, 0.01);
    const b = lognormalBoots(next, 8, 1000, 0.01);
    const v = compareMetric(a, b, { ...settings, resamples: 1000, seed: i, better: 'lower' }).verdict;
    count.set(v, (count.get(v) ?? 0) + 1);
  }
  t.log(`A/A sigma 0.01, 8+8 boots: ${JSON.stringify(Object.fromEntries(count))}`);
  t.is((count.get('regression') ?? 0) + (count.get('improvement') ?? 0), 0);
  t.true((count.get('no change') ?? 0) / sims >= 0.9);
});

test('power: a true 10% slowdown at sigma 0.02 with 8 boots is a regression in >= 90% of runs', (t) => {
  const next = rng(777);
  const sims = 200;
  let hits = 0;
  for (let i = 0; i < sims; i++) {
    const a = lognormalBoots(next, 8, 1000, 0.02);
    const b = lognormalBoots(next, 8, 1100, 0.02);
    if (compareMetric(a, b, { ...settings, resamples: 1000, seed: i, better: 'lower' }).verdict === 'regression') hits++;
  }
  t.log(`power: ${hits}/${sims} = ${((100 * hits) / sims).toFixed(1)}% detected as regression`);
  t.true(hits / sims >= 0.9, `power ${hits / sims}`);
});

test('power: a 200x slowdown at 6 boots is always a regression with p < 0.01', (t) => {
  const next = rng(99);
  for (let i = 0; i < 50; i++) {
    const sigma = 0.05 + (0.1 * (i % 11)) / 10;
    const a = lognormalBoots(next, 6, 1000, sigma);
    const b = lognormalBoots(next, 6, 200_000, sigma);
    const r = compareMetric(a, b, { ...settings, resamples: 500, seed: i, better: 'lower' });
    t.is(r.verdict, 'regression');
    t.true(r.p < 0.01, String(r.p));
  }
});

test('Holm: step-down adjusted p-values, monotone in the raw order, capped at 1', (t) => {
  const adj = holm([0.01, 0.04, 0.03, 0.5]);
  // sorted 0.01, 0.03, 0.04, 0.5 -> 0.04, max(0.04, 0.09), max(0.09, 0.08), max(0.09, 0.5)
  t.deepEqual(adj.map((x) => Number(x.toFixed(4))), [0.04, 0.09, 0.09, 0.5]);
  t.deepEqual(holm([0.9, 0.8]), [1, 1]);
  t.deepEqual(holm([]), []);
});
