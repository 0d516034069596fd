import test from 'ava';
import { bestEnergySplit, detectChangePoints, latestChange, type ChangePoint } from '../harness/history/changepoint.ts';
import { BASE, SIGMA, syntheticSeries } from '../harness/history/synthetic.ts';

const indices = (cps: ChangePoint[]): number[] => cps.map((c) => c.index);
const noise = (n: number, seed: number): number[] => syntheticSeries('null', { n, effect: 0, seed }).values;
const SEEDS = Array.from({ length: 20 }, (_, i) => 100 + i);

// ---- the statistic against a brute-force reference (no shared code) ----

/** Q(X, Y) straight from the definition: pair averages over explicit loops. */
function bruteQ(x: number[], y: number[], e: number): number {
  const d = (a: number, b: number): number => Math.abs(a - b) ** e;
  let cross = 0;
  for (const a of x) for (const b of y) cross += d(a, b);
  const within = (z: number[]): number => {
    let s = 0;
    for (let i = 0; i < z.length; i++) for (let j = i + 1; j < z.length; j++) s += d(z[i]!, z[j]!);
    return s / ((z.length * (z.length - 1)) / 2);
  };
  const m = x.length;
  const n = y.length;
  return ((m * n) / (m + n)) * ((2 * cross) / (m * n) - within(x) - within(y));
}

function bruteBest(v: number[], minSize: number, e: number): { index: number; q: number } {
  let best = { index: -1, q: -Infinity };
  for (let t = minSize; t + minSize <= v.length; t++) {
    for (let k = t + minSize; k <= v.length; k++) {
      const q = bruteQ(v.slice(0, t), v.slice(t, k), e);
      if (q > best.q) best = { index: t, q };
    }
  }
  return best;
}

test('bestEnergySplit: the best (t, k) split and its Q match the definition, for several exponents and sizes', (t) => {
  for (const [i, e] of [0.5, 1, 1.5, 2].entries()) {
    for (const minSize of [2, 3, 5]) {
      const v = syntheticSeries('multi', { n: 31, effect: 2, seed: 40 + i, margin: 2 }).values;
      const got = bestEnergySplit(v, { minSize, exponent: e })!;
      const want = bruteBest(v, minSize, e);
      t.is(got.index, want.index, `exponent ${e}, minSize ${minSize}`);
      t.true(Math.abs(got.q - want.q) <= 1e-9 * Math.abs(want.q), `exponent ${e}, minSize ${minSize}: ${got.q} vs ${want.q}`);
    }
  }
  t.is(bestEnergySplit([1, 2, 3, 4, 5], { minSize: 3 }), null);
});

// ---- steps ----

test('a persistent step up or down of 3 or 5 sigma is found at its night (±1), with its direction and size', (t) => {
  for (const effect of [3, 5]) {
    let found = 0;
    for (const seed of SEEDS) {
      const s = syntheticSeries('step', { n: 60, effect, seed });
      const cps = detectChangePoints(s.values, { seed });
      const hit = cps.find((c) => Math.abs(c.index - s.truth[0]!) <= 1);
      if (hit === undefined) continue;
      found++;
      t.is(hit.direction, s.signs[0]! > 0 ? 'up' : 'down', `seed ${seed}`);
      // relChange is the median step, effect * 1% of the level.
      t.true(Math.abs(hit.relChange! - (s.signs[0]! * effect * SIGMA) / BASE) < 0.01, `seed ${seed}: ${hit.relChange}`);
      t.true(hit.p <= 0.01);
    }
    // The bench measures 97.5% (3 sigma) and 100% (5 sigma) recall at 60 nights.
    t.true(found >= (effect === 5 ? 20 : 18), `${effect} sigma: found ${found}/20`);
  }
});

test('a 1-sigma step at 60 nights is mostly missed; at 200 nights with 100 on each side it is found', (t) => {
  // Power grows with the number of nights: the detector trades small effects for few false alarms.
  let short = 0;
  let long = 0;
  for (const seed of SEEDS.slice(0, 10)) {
    const s = noise(200, seed);
    const stepped = s.map((x, i) => (i >= 100 ? x + SIGMA : x));
    if (detectChangePoints(stepped.slice(70, 130), { seed }).some((c) => Math.abs(c.index - 30) <= 3)) short++;
    if (detectChangePoints(stepped, { seed }).some((c) => Math.abs(c.index - 100) <= 3)) long++;
  }
  // Within ±3 nights: 40% at 60 nights and 75% at 200 over 20 seeds (4 and 8 of these 10).
  t.true(short <= 5, `60 nights: ${short}/10`);
  t.true(long >= 7 && long >= short + 3, `200 nights: ${long}/10, 60 nights: ${short}/10`);
});

test('several steps are all found, in order, with the medians of the segments between them', (t) => {
  let extra = 0;
  for (const seed of SEEDS.slice(0, 10)) {
    const s = syntheticSeries('multi', { n: 80, effect: 5, seed });
    const cps = detectChangePoints(s.values, { seed });
    s.truth.forEach((at, k) => {
      const hit = cps.find((c) => Math.abs(c.index - at) <= 1);
      t.truthy(hit, `seed ${seed}: ${indices(cps)} vs ${s.truth}`);
      t.is(hit?.direction, s.signs[k]! > 0 ? 'up' : 'down');
    });
    extra += cps.length - s.truth.length;
    cps.forEach((c, k) => {
      t.is(c.after.start, c.index);
      t.is(c.before.end, c.index);
      if (k > 0) t.deepEqual(c.before, cps[k - 1]!.after);
    });
    t.is(cps[0]!.before.start, 0);
    t.is(cps[cps.length - 1]!.after.end, 80);
    t.deepEqual([...cps.map((c) => c.order)].sort(), cps.map((_, i) => i + 1));
  }
  // Each further test is at alpha too: the bench's precision for these is 99.8%.
  t.true(extra <= 1, `${extra} extra change points`);
});

// ---- things that are not changes ----

test('a single noisy night that reverts is ignored, wherever it falls and however large; held for 3 nights it is a change', (t) => {
  let tried = 0;
  let flagged = 0;
  for (const seed of SEEDS.slice(0, 10)) {
    const base = noise(40, seed);
    t.deepEqual(detectChangePoints(base, { seed }), [], `seed ${seed}: the noise alone`);
    for (const at of [0, 1, 5, 20, 38, 39]) {
      for (const size of [10, 50, -50]) {
        const v = base.map((x, i) => (i === at ? x + size * SIGMA : x));
        tried++;
        if (detectChangePoints(v, { seed }).length > 0) flagged++;
      }
    }
    // The same 50-sigma excursion from night 37 to the end is a new regime of minSize nights.
    const held = base.map((x, i) => (i >= 37 ? x + 50 * SIGMA : x));
    t.deepEqual(indices(detectChangePoints(held, { seed })), [37], `seed ${seed}: held`);
  }
  // Not zero: an outlier is new data, and any series is flagged about alpha (1%) of the time. Here
  // 1 of 180 (a -50 sigma night 38 on top of four low nights, split at 35).
  t.true(flagged / tried <= 0.02, `${flagged}/${tried} series with one outlier flagged`);
});

test('null series (Gaussian, skewed) are flagged at about the alpha rate, and no more', (t) => {
  for (const [alpha, lo, hi] of [
    [0.01, 0, 0.03],
    [0.1, 0.06, 0.14],
    [0.3, 0.24, 0.36],
  ] as const) {
    let flagged = 0;
    const count = 300;
    for (let i = 0; i < count; i++) if (detectChangePoints(noise(24, 9000 + i), { alpha, seed: i }).length > 0) flagged++;
    t.true(flagged / count >= lo && flagged / count <= hi, `alpha ${alpha}: ${flagged}/${count}`);
  }
  let skewed = 0;
  for (let i = 0; i < 100; i++) if (detectChangePoints(syntheticSeries('null-skewed', { n: 60, effect: 0, seed: 7000 + i }).values, { seed: i }).length > 0) skewed++;
  t.true(skewed <= 4, `skewed: ${skewed}/100`);
});

test('constant series, ties and a two-valued series', (t) => {
  t.deepEqual(detectChangePoints(new Array<number>(50).fill(42)), []);
  t.deepEqual(detectChangePoints(new Array<number>(50).fill(0)), []);
  // Two values at random (every distance 0 or 1, Q ties everywhere): nothing.
  const coin = noise(40, 3).map((x) => (x > BASE ? 11 : 10));
  t.deepEqual(detectChangePoints(coin), []);
  // The same coin flips two units higher from night 25: the step is found exactly.
  const stepped = coin.map((x, i) => (i >= 25 ? x + 2 : x));
  const cps = detectChangePoints(stepped);
  t.deepEqual(indices(cps), [25]);
  t.is(cps[0]!.direction, 'up');
  // Constant, then another constant: found at the switch.
  t.deepEqual(indices(detectChangePoints([...new Array<number>(15).fill(7), ...new Array<number>(15).fill(9)])), [15]);
});

test('short series: fewer than 2*minSize nights give nothing; too few arrangements cannot reach alpha', (t) => {
  t.deepEqual(detectChangePoints([]), []);
  t.deepEqual(detectChangePoints([1]), []);
  t.deepEqual(detectChangePoints([1, 1, 100, 100, 100]), []);
  t.deepEqual(detectChangePoints([1, 1, 1, 100, 100], { minSize: 2, alpha: 0.5 }).length, 1);
  // 6 nights split 3|3: at best 2 of the 20 arrangements are as extreme, p ~ 0.1.
  const six = [1, 1, 1, 100, 100, 100];
  t.deepEqual(detectChangePoints(six), []);
  const loose = detectChangePoints(six, { alpha: 0.2 });
  t.deepEqual(indices(loose), [3]);
  t.true(loose[0]!.p > 0.05 && loose[0]!.p <= 0.2, `p ${loose[0]!.p}`);
  // 12 nights split 6|6 can: 2/924.
  t.deepEqual(indices(detectChangePoints([...new Array<number>(6).fill(1), ...new Array<number>(6).fill(100)].map((x, i) => x + (i % 3) * 0.1))), [6]);
});

// ---- drifts and variance ----

test('a slow drift is found as a staircase of rises; latestChange reports it from its first step', (t) => {
  for (const seed of SEEDS.slice(0, 8)) {
    // 10 sigma (10%) spread evenly over nights 10..59.
    const v = noise(60, seed).map((x, i) => x + (i >= 10 ? (10 * SIGMA * (i - 9)) / 50 : 0));
    const l = latestChange(v, 'lower', { seed });
    t.true(l.changePoints.length >= 2, `seed ${seed}: ${indices(l.changePoints)}`);
    t.true(l.changePoints.every((c) => c.direction === 'up'), `seed ${seed}`);
    t.is(l.verdict, 'regression');
    t.is(l.since, l.changePoints[0]!.index);
    t.true(l.since! >= 10 && l.since! <= 25, `seed ${seed}: since ${l.since}`);
    t.true(l.relChange! > 0.05 && l.relChange! < 0.12, `seed ${seed}: ${l.relChange}`);
  }
});

test('a change of spread alone: direction none, not a regression (clearer with exponent 0.5)', (t) => {
  let found = 0;
  let foundE1 = 0;
  for (const seed of SEEDS.slice(0, 10)) {
    // 40 quiet nights, then 40 with ten times the noise at the same level.
    const v = noise(80, seed).map((x, i) => (i >= 40 ? BASE + 10 * (x - BASE) : x));
    if (detectChangePoints(v, { seed }).some((c) => Math.abs(c.index - 40) <= 2)) foundE1++;
    const l = latestChange(v, 'lower', { exponent: 0.5, seed });
    const hit = l.changePoints.find((c) => Math.abs(c.index - 40) <= 2);
    if (hit !== undefined) {
      found++;
      t.is(hit.direction, 'none', `seed ${seed}`);
      t.true(hit.after.stddev > 4 * hit.before.stddev);
    }
    t.true(l.verdict === 'changed' || l.verdict === 'no change', `seed ${seed}: ${l.verdict}`);
  }
  t.true(found >= 9, `exponent 0.5: found ${found}/10`);
  t.true(foundE1 < found, `exponent 1: found ${foundE1}/10`);
});

// ---- latestChange ----

/** Nights at the given levels (in sigmas), each level held for `len` nights. */
function levels(len: number, seed: number, ...ls: number[]): number[] {
  const v = noise(len * ls.length, seed);
  return v.map((x, i) => x + ls[Math.floor(i / len)]! * SIGMA);
}

test('latestChange: regression or improvement by the better direction, since the latest change', (t) => {
  const up = levels(20, 1, 0, 6);
  const l = latestChange(up, 'lower');
  t.is(l.verdict, 'regression');
  t.is(l.since, 20);
  t.is(l.latest!.index, 20);
  t.deepEqual([l.baseline!.start, l.baseline!.end, l.current!.start, l.current!.end], [0, 20, 20, 40]);
  t.is(l.relChange, (l.current!.median - l.baseline!.median) / l.baseline!.median);
  t.true(Math.abs(l.relChange! - 0.06) < 0.02, `${l.relChange}`);
  t.is(latestChange(up, 'higher').verdict, 'improvement');
  t.is(latestChange(up, 'none').verdict, 'changed');
  t.is(latestChange(levels(20, 1, 6, 0), 'lower').verdict, 'improvement');
  const flat = latestChange(noise(40, 1), 'lower');
  t.deepEqual({ ...flat, changePoints: [] }, { verdict: 'no change', since: null, latest: null, baseline: null, current: null, relChange: null, changePoints: [] });
});

test('latestChange: a fixed regression is an improvement now; two steps the same way are one run', (t) => {
  const fixed = latestChange(levels(15, 2, 0, 6, 0), 'lower');
  t.deepEqual(indices(fixed.changePoints), [15, 30]);
  t.is(fixed.verdict, 'improvement');
  t.is(fixed.since, 30);
  const twice = latestChange(levels(15, 2, 0, 6, 12), 'lower');
  t.deepEqual(indices(twice.changePoints), [15, 30]);
  t.is(twice.verdict, 'regression');
  t.is(twice.since, 15);
  t.is(twice.latest!.index, 30);
  t.true(Math.abs(twice.relChange! - 0.12) < 0.02, `${twice.relChange}`);
  // Down, then up again: the run is only the last step.
  const back = latestChange(levels(15, 2, 6, 0, 6), 'lower');
  t.is(back.verdict, 'regression');
  t.is(back.since, 30);
  t.deepEqual([back.baseline!.start, back.baseline!.end], [15, 30]);
});

// ---- input and determinism ----

test('NaN, Infinity and bad options are rejected', (t) => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const v = [1, 2, 3, bad, 5, 6];
    t.throws(() => detectChangePoints(v), { instanceOf: RangeError, message: /values\[3\] is (NaN|-?Infinity)/ });
  }
  // Rejected even when the series is too short to split.
  t.throws(() => detectChangePoints([NaN]), { instanceOf: RangeError });
  const v = noise(20, 1);
  for (const o of [{ alpha: 0 }, { alpha: 1 }, { permutations: 0 }, { permutations: 1.5 }, { minSize: 1 }, { seed: 0.5 }, { exponent: 0 }, { exponent: 2.5 }, { alpha: NaN }]) {
    t.throws(() => detectChangePoints(v, o), { instanceOf: RangeError }, JSON.stringify(o));
  }
  // An alpha that no permutation p can reach is an error, not a detector that never fires.
  t.throws(() => detectChangePoints(v, { alpha: 0.001 }), { instanceOf: RangeError, message: 'alpha 0.001 needs at least 999 permutations, got 199' });
  t.notThrows(() => detectChangePoints(v, { alpha: 0.001, permutations: 999 }));
  t.notThrows(() => detectChangePoints(v, { alpha: 0.5, permutations: 1 }));
});

test('the same series and seed give the same change points and p-values; the seed drives the draws', (t) => {
  const s = syntheticSeries('multi', { n: 60, effect: 2, seed: 11 });
  const a = detectChangePoints(s.values, { seed: 5, alpha: 0.3 });
  t.deepEqual(detectChangePoints(s.values, { seed: 5, alpha: 0.3 }), a);
  t.true(a.length > 0);
  // A borderline split's p-value depends on which permutations were drawn.
  const weak = syntheticSeries('step', { n: 40, effect: 1.5, seed: 7 }).values;
  const ps = [1, 2, 3, 4, 5].map((seed) => detectChangePoints(weak, { seed, alpha: 0.3 })[0]?.p);
  t.true(ps.every((p) => p !== undefined && p > 0.05));
  t.true(new Set(ps).size > 1, `p by seed: ${ps}`);
  // The input is not modified.
  const copy = [...s.values];
  detectChangePoints(s.values);
  t.deepEqual(s.values, copy);
});
