// Change-point detector benchmark: many seeded synthetic nightly series of each kind with known
// truth (harness/history/synthetic.ts) through detectChangePoints, printing per kind and effect
// size the precision and recall (a detected change point is right within ±tolerance nights of an
// unmatched true one), the false-positive rate on series without a change (null, skewed null,
// single outliers), what drifts get, how many nights of a new regime a step needs before it is
// found, and the run time per series length. Pure computation, no guest.
//   npx tsx bench/changepoint.ts [--n 60] [--reps 200]
import { CHANGEPOINT_DEFAULTS, detectChangePoints, type ChangePoint, type ChangePointOptions } from '../harness/history/changepoint.ts';
import { syntheticSeries, type SeriesKind } from '../harness/history/synthetic.ts';
import { quantile } from '../harness/stats/summary.ts';
import { benchArgs, die, positiveInt, wilson } from './lib/daxrun.ts';

const USAGE = `usage: bench/changepoint.ts [--n N] [--reps N] [--alpha A] [--permutations N] [--min-size N] [--exponent E] [--tolerance N] [--seed-base N] [--json]
  --n             nights per series (default 60)
  --reps          series per kind and effect size (default 200)
  --alpha, --permutations, --min-size, --exponent   detector options (defaults ${CHANGEPOINT_DEFAULTS.alpha}, ${CHANGEPOINT_DEFAULTS.permutations}, ${CHANGEPOINT_DEFAULTS.minSize}, ${CHANGEPOINT_DEFAULTS.exponent})
  --tolerance     nights a detection may be off and still count (default 1)
  --seed-base     series i of a cell has seed seed-base + i (default 1; the detector's seed is i too)
  --json          one JSON object instead of the tables`;

const v = benchArgs(USAGE, {
  n: { type: 'string', default: '60' },
  reps: { type: 'string', default: '200' },
  alpha: { type: 'string', default: String(CHANGEPOINT_DEFAULTS.alpha) },
  permutations: { type: 'string', default: String(CHANGEPOINT_DEFAULTS.permutations) },
  'min-size': { type: 'string', default: String(CHANGEPOINT_DEFAULTS.minSize) },
  exponent: { type: 'string', default: String(CHANGEPOINT_DEFAULTS.exponent) },
  tolerance: { type: 'string', default: '1' },
  'seed-base': { type: 'string', default: '1' },
  json: { type: 'boolean', default: false },
});
const n = positiveInt('--n', v.n, 10000);
const reps = positiveInt('--reps', v.reps, 100000);
const alpha = Number(v.alpha);
if (!(alpha > 0 && alpha < 1)) die(`--alpha must be in (0,1), got '${v.alpha}'`);
const permutations = positiveInt('--permutations', v.permutations, 100000);
const minSize = positiveInt('--min-size', v['min-size'], 1000);
if (minSize < 2) die(`--min-size must be at least 2, got '${v['min-size']}'`);
const exponent = Number(v.exponent);
if (!(exponent > 0 && exponent <= 2)) die(`--exponent must be in (0,2], got '${v.exponent}'`);
const tolerance = Number(v.tolerance);
if (!Number.isInteger(tolerance) || tolerance < 0) die(`--tolerance must be an integer >= 0, got '${v.tolerance}'`);
const seedBase = positiveInt('--seed-base', v['seed-base']);
const margin = Math.max(minSize, 5);
if (n < 6 * margin) die(`--n must be at least ${6 * margin} for the multi-step series, got ${n}`);
const detector: ChangePointOptions = { alpha, permutations, minSize, exponent };

const CELLS: { kind: SeriesKind; effects: number[] }[] = [
  { kind: 'null', effects: [0] },
  { kind: 'null-skewed', effects: [0] },
  { kind: 'outlier', effects: [5, 10, 50] },
  { kind: 'step', effects: [0.5, 1, 1.5, 2, 3, 5] },
  { kind: 'multi', effects: [2, 3, 5] },
  { kind: 'variance', effects: [2, 3, 5] },
  { kind: 'drift', effects: [2, 5, 10] },
];

interface Cell {
  kind: SeriesKind;
  effect: number;
  series: number;
  truths: number;
  detected: number;
  matched: number;
  precision: number | null;
  recall: number | null;
  /** Series with at least one change point, and its Wilson interval. */
  flagged: number;
  flaggedCi: { lo: number; hi: number };
  /** Matched steps whose direction (up/down) is the true sign; variance: matched with direction 'none'. */
  directionRight: number;
  /** drift: first change point's offset from the ramp's start (median, nights). */
  firstOffset: number | null;
  msPerSeries: number;
}

/** One-to-one matching of detections to truths within ±tolerance, nearest first. */
function match(found: ChangePoint[], truth: number[]): Map<number, ChangePoint> {
  const pairs = truth.flatMap((t, ti) => found.map((c) => ({ ti, c, d: Math.abs(c.index - t) }))).filter((x) => x.d <= tolerance).sort((a, b) => a.d - b.d);
  const out = new Map<number, ChangePoint>();
  const used = new Set<ChangePoint>();
  for (const p of pairs) {
    if (out.has(p.ti) || used.has(p.c)) continue;
    out.set(p.ti, p.c);
    used.add(p.c);
  }
  return out;
}

function runCell(kind: SeriesKind, effect: number): Cell {
  let truths = 0;
  let detected = 0;
  let matched = 0;
  let flagged = 0;
  let directionRight = 0;
  const offsets: number[] = [];
  let ms = 0;
  for (let i = 0; i < reps; i++) {
    const s = syntheticSeries(kind, { n, effect, seed: seedBase + i, margin });
    const t0 = performance.now();
    const found = detectChangePoints(s.values, { ...detector, seed: i });
    ms += performance.now() - t0;
    if (found.length > 0) flagged++;
    if (kind === 'drift') {
      // A drift has no single right night: count it as found when anything is flagged.
      truths += 1;
      detected += found.length;
      if (found.length > 0) {
        matched += 1;
        offsets.push(found[0]!.index - s.truth[0]!);
        if (found.every((c) => c.direction !== 'down')) directionRight++;
      }
      continue;
    }
    const m = match(found, s.truth);
    truths += s.truth.length;
    detected += found.length;
    matched += m.size;
    for (const [ti, c] of m) {
      if (kind === 'variance' ? c.direction === 'none' : c.direction === (s.signs[ti]! > 0 ? 'up' : 'down')) directionRight++;
    }
  }
  return {
    kind,
    effect,
    series: reps,
    truths,
    detected,
    matched,
    precision: kind === 'drift' || detected === 0 ? null : matched / detected,
    recall: truths === 0 ? null : matched / truths,
    flagged,
    flaggedCi: wilson(flagged, reps),
    directionRight,
    firstOffset: offsets.length ? quantile(offsets, 0.5) : null,
    msPerSeries: ms / reps,
  };
}

/** Fraction of steps found (within ±tolerance) with only k nights of the new regime at the end. */
function delayTable(effects: number[], ks: number[], before: number): { effect: number; k: number; found: number }[] {
  const out: { effect: number; k: number; found: number }[] = [];
  for (const effect of effects) {
    for (const k of ks) {
      let found = 0;
      for (let i = 0; i < reps; i++) {
        const base = syntheticSeries('null', { n: before + k, effect: 0, seed: seedBase + i });
        const d = i % 2 ? 1 : -1;
        const values = base.values.map((x, j) => (j >= before ? x + d * effect * 10 : x));
        const cps = detectChangePoints(values, { ...detector, seed: i });
        if (cps.some((c) => Math.abs(c.index - before) <= tolerance)) found++;
      }
      out.push({ effect, k, found: found / reps });
    }
  }
  return out;
}

function timing(lengths: number[]): { n: number; kind: SeriesKind; meanMs: number; maxMs: number }[] {
  const out: { n: number; kind: SeriesKind; meanMs: number; maxMs: number }[] = [];
  const count = Math.min(reps, 50);
  for (const len of lengths) {
    for (const kind of ['null', 'step'] as const) {
      const times: number[] = [];
      for (let i = 0; i < count; i++) {
        const s = syntheticSeries(kind, { n: len, effect: 3, seed: seedBase + i, margin: Math.min(margin, Math.floor(len / 2)) });
        const t0 = performance.now();
        detectChangePoints(s.values, { ...detector, seed: i });
        times.push(performance.now() - t0);
      }
      out.push({ n: len, kind, meanMs: times.reduce((a, b) => a + b, 0) / times.length, maxMs: Math.max(...times) });
    }
  }
  return out;
}

const started = performance.now();
// Warm the JIT so the first cell's time is not mostly compilation.
for (let i = 0; i < 20; i++) detectChangePoints(syntheticSeries('step', { n, effect: 3, seed: 1e6 + i }).values, detector);
const cells = CELLS.flatMap((c) => c.effects.map((e) => runCell(c.kind, e)));
const delays = delayTable([1, 2, 3, 5], [3, 4, 5, 6, 8], 30);
const times = timing([10, 30, 60, 120, 200]);
const totalS = (performance.now() - started) / 1000;

if (v.json) {
  process.stdout.write(JSON.stringify({ settings: { n, reps, tolerance, ...detector, seedBase }, cells, delays, times, totalS }, null, 2) + '\n');
  process.exit(0);
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const pad = (s: string | number, w: number): string => String(s).padStart(w);
const out: string[] = [];
out.push(`change points: ${reps} series per cell, ${n} nights, noise sigma 1% of the level; alpha ${alpha}, ${permutations} permutations, minSize ${minSize}, exponent ${exponent}, tolerance ±${tolerance} night(s)`);
out.push('');
out.push(`${'kind'.padEnd(12)}${pad('effect', 7)}${pad('truths', 8)}${pad('found', 7)}${pad('right', 7)}${pad('precision', 10)}${pad('recall', 8)}${pad('flagged', 9)}  ${'(95% CI)'.padEnd(15)}${pad('dir ok', 7)}${pad('ms', 7)}`);
for (const c of cells) {
  const unit = c.kind === 'variance' ? 'x' : c.kind.startsWith('null') ? '' : 's';
  const effect = c.kind.startsWith('null') ? '-' : `${c.effect}${unit}`;
  const ci = `${pct(c.flaggedCi.lo)}-${pct(c.flaggedCi.hi)}`;
  const dir = c.matched ? pct(c.directionRight / c.matched) : '-';
  out.push(`${c.kind.padEnd(12)}${pad(effect, 7)}${pad(c.truths, 8)}${pad(c.detected, 7)}${pad(c.matched, 7)}${pad(pct(c.precision), 10)}${pad(pct(c.recall), 8)}${pad(pct(c.flagged / c.series), 9)}  ${ci.padEnd(15)}${pad(dir, 7)}${pad(c.msPerSeries.toFixed(2), 7)}`);
}
out.push('');
out.push('effect: steps, outliers and drifts in sigmas (a drift: its total rise), variance as the factor on sigma.');
out.push('flagged: series with any change point (the false-positive rate for null, null-skewed and outlier).');
out.push('right: detections within the tolerance of a true change; drift: a series counts as found when anything is flagged.');
out.push('dir ok: of the right ones, direction up/down matching the step (variance: direction none; drift: no down).');
const drift = cells.filter((c) => c.kind === 'drift');
out.push(`drift: first change point a median ${drift.map((c) => `${c.firstOffset ?? '-'} (${c.effect}s)`).join(', ')} nights after the ramp starts.`);
out.push('');
out.push(`a step at night 30, found (±${tolerance}) with k nights of it at the end of the series:`);
const ks = [...new Set(delays.map((d) => d.k))];
out.push(`${'effect'.padEnd(8)}${ks.map((k) => pad(`k=${k}`, 8)).join('')}`);
for (const effect of [...new Set(delays.map((d) => d.effect))]) {
  out.push(`${`${effect}s`.padEnd(8)}${ks.map((k) => pad(pct(delays.find((d) => d.effect === effect && d.k === k)!.found), 8)).join('')}`);
}
out.push('');
out.push('run time per series (ms):');
for (const t of times) out.push(`  n=${pad(t.n, 3)} ${t.kind.padEnd(5)} mean ${t.meanMs.toFixed(2).padStart(7)}  max ${t.maxMs.toFixed(2).padStart(7)}`);
out.push(`total ${totalS.toFixed(1)} s`);
process.stdout.write(out.join('\n') + '\n');
