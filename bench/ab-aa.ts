// A/A benchmark: N independent `daxlab ab --aa KERNEL` comparisons at the default settings. Prints
// the false-positive rate (comparisons with a regression or improvement verdict, with a Wilson
// interval), the boot-to-boot noise per metric, and the smallest change detected with power >= 0.9
// within a TCG time budget, estimated by resampling the measured per-boot values (an A/A pool per
// metric, B scaled by 1+shift) through the same statistics and verdict rule the tool uses.
// Every ab.json is kept in results/bench/ab-aa/ (recorded data for tests and re-analysis).
//   node --import tsx bench/ab-aa.ts --kernel images/kernels/debug-6.12.yaml --runs 20
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { judgeFamily } from '../harness/ab/collect.ts';
import { compareMetric, rng } from '../harness/ab/stats.ts';
import type { AbReport } from '../harness/ab/types.ts';
import { quantile } from '../harness/stats/summary.ts';
import { benchArgs, DAXLAB, makeTempDir, positiveInt, ROOT, wilson } from './lib/daxrun.ts';

const USAGE = `usage: bench/ab-aa.ts [--kernel SPEC] [--runs N] [--boots N] [--budget-min M] [--scenario PATH] [--json]
  --kernel      kernel spec (default images/kernels/debug-6.12.yaml)
  --runs        A/A comparisons (default 20)
  --boots       boots per side per comparison (default 6, the ab default)
  --budget-min  TCG minutes per comparison for the power estimate (default 10)
  --scenario    scenario (default bench/ab-aa: truncate-latency, ext4, dax=always)
  --seed-base   seed of comparison i is seed-base + i (default 1001; give benches run side by side other bases)
  --reuse       also analyse the ab.json files already kept in results/bench/ab-aa (--runs 0: only those)`;

const v = benchArgs(USAGE, {
  kernel: { type: 'string', default: 'images/kernels/debug-6.12.yaml' },
  runs: { type: 'string', default: '20' },
  boots: { type: 'string', default: '6' },
  'budget-min': { type: 'string', default: '10' },
  scenario: { type: 'string', default: join(ROOT, 'bench', 'ab-aa') },
  json: { type: 'boolean', default: false },
  reuse: { type: 'boolean', default: false },
  'seed-base': { type: 'string', default: '1001' },
});
const runs = v.runs === '0' && v.reuse ? 0 : positiveInt('--runs', v.runs, 1000);
const boots = positiveInt('--boots', v.boots, 100);
const budgetMin = positiveInt('--budget-min', v['budget-min'], 600);
const seedBase = positiveInt('--seed-base', v['seed-base']);
const keep = join(ROOT, 'results', 'bench', 'ab-aa');
mkdirSync(keep, { recursive: true });

const reports: AbReport[] = v.reuse ? readdirSync(keep).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(keep, f), 'utf8')) as AbReport) : [];
if (v.reuse) process.stderr.write(`reusing ${reports.length} kept A/A comparisons from ${keep}\n`);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
for (let i = 0; i < runs; i++) {
  const tmp = makeTempDir('daxlab-ab-aa-');
  const out = join(tmp, 'run');
  const t0 = Date.now();
  const r = await execa('node', [DAXLAB, 'ab', '--aa', v.kernel, v.scenario, '--boots', String(boots), '--seed', String(seedBase + i), '--accel', 'tcg', '-o', out], { cwd: ROOT, reject: false, stdin: 'ignore' });
  let ab: AbReport | undefined;
  try {
    ab = JSON.parse(readFileSync(join(out, 'ab.json'), 'utf8')) as AbReport;
  } catch {
    process.stderr.write(`run ${i + 1}: no ab.json (exit ${r.exitCode}):\n${r.stderr.split('\n').slice(-8).join('\n')}\n`);
    process.exit(1);
  }
  if (r.exitCode !== 0 && r.exitCode !== 1) {
    process.stderr.write(`run ${i + 1}: exit ${r.exitCode} (interrupted or failed): not kept\n`);
    break;
  }
  writeFileSync(join(keep, `${stamp}-${String(i + 1).padStart(2, '0')}.json`), JSON.stringify(ab, null, 2) + '\n');
  reports.push(ab);
  const main = ab.comparisons[0];
  const flagged = main?.metrics.filter((m) => m.verdict === 'regression' || m.verdict === 'improvement').map((m) => `${m.key} ${m.verdict}`) ?? [];
  process.stderr.write(`A/A ${i + 1}/${runs}: exit ${r.exitCode}, ${Math.round((Date.now() - t0) / 1000)} s, ${flagged.length ? flagged.join('; ') : 'nothing flagged'}\n`);
}

// Verdicts again from the kept per-boot values with today's rule (kept files may predate a change).
for (const ab of reports) {
  const main = ab.comparisons[0];
  if (!main) continue;
  for (const m of main.metrics) {
    const side = (s: 'A' | 'B'): number[] => m.boots.filter((b) => b.side === s).map((b) => b.value);
    Object.assign(m, compareMetric(side('A'), side('B'), { ...ab.settings, better: m.better }));
  }
  judgeFamily(main.metrics, ab.settings);
}

// False positives: a comparison counts once, however many of its metrics were flagged.
const directed = (ab: AbReport) => (ab.comparisons[0]?.metrics ?? []).filter((m) => m.better !== 'none');
const fp = reports.filter((ab) => directed(ab).some((m) => m.verdict === 'regression' || m.verdict === 'improvement')).length;
const fpCi = wilson(fp, reports.length);
const verdicts = new Map<string, number>();
for (const ab of reports) for (const m of directed(ab)) verdicts.set(m.verdict, (verdicts.get(m.verdict) ?? 0) + 1);

// Noise and power per directed metric, from per-boot values normalised by their comparison's
// median (so slow drift between comparisons does not count as boot noise).
const msPerBoot = quantile(reports.map((ab) => (ab.comparisons[0]?.wallMs ?? 0) / Math.max(1, (ab.comparisons[0]?.boots.a ?? 0) + (ab.comparisons[0]?.boots.b ?? 0))), 0.5);
const bootsIn = Math.max(2, Math.floor((budgetMin * 60_000) / msPerBoot / 2));
// A change at or below the threshold is "no change" by the rule, so power there is 0 by design.
const shifts = [0.02, 0.05, 0.06, 0.07, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2];
const keys = [...new Set(reports.flatMap((ab) => directed(ab).map((m) => m.key)))];
if (reports.length === 0) {
  process.stderr.write('no A/A comparisons to analyse\n');
  process.exit(1);
}
const settings = { ...reports[0]!.settings, resamples: 2000 };
const perMetric = keys.map((key) => {
  const pool: number[] = [];
  for (const ab of reports) {
    const m = ab.comparisons[0]?.metrics.find((x) => x.key === key);
    if (!m) continue;
    const med = quantile(m.boots.map((b) => b.value), 0.5);
    for (const b of m.boots) if (med > 0) pool.push(b.value / med);
  }
  const cv = Math.sqrt(pool.reduce((a, x) => a + (x - 1) ** 2, 0) / Math.max(1, pool.length - 1));
  const r = rng(42);
  const draw = (n: number): number[] => Array.from({ length: n }, () => pool[Math.floor(r() * pool.length)] as number);
  const power = shifts.map((s) => {
    const sims = 200;
    let hit = 0;
    for (let i = 0; i < sims; i++) {
      // Alone in its family (no Holm adjustment): the power of the rule for one metric.
      const c = compareMetric(draw(bootsIn), draw(bootsIn).map((x) => x * (1 + s)), { ...settings, seed: i, better: 'lower' });
      if (c.verdict === 'regression') hit++;
    }
    return { shift: s, power: hit / sims };
  });
  return { key, bootValues: pool.length, cv, power, smallest: power.find((p) => p.power >= 0.9)?.shift ?? null };
});

const result = {
  kernel: v.kernel,
  runs: reports.length,
  bootsPerSide: boots,
  falsePositives: fp,
  falsePositiveRate: fp / reports.length,
  falsePositiveCi95: fpCi,
  verdicts: Object.fromEntries(verdicts),
  msPerBoot: Math.round(msPerBoot),
  power: { budgetMin, bootsPerSide: bootsIn, metrics: perMetric },
  kept: keep,
};
if (v.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
else {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  process.stdout.write(`A/A on ${v.kernel}: ${fp}/${reports.length} comparisons flagged a regression or improvement (${pct(fp / reports.length)}, 95% CI ${pct(fpCi.lo)}-${pct(fpCi.hi)})\n`);
  process.stdout.write(`directed-metric verdicts: ${[...verdicts].map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  process.stdout.write(`time per boot ${(msPerBoot / 1000).toFixed(1)} s: ${budgetMin} min of TCG time = ${bootsIn} boots per side\n`);
  for (const m of perMetric) {
    process.stdout.write(`${m.key}: boot-to-boot CV ${pct(m.cv)} (${m.bootValues} boots); power at ${bootsIn}+${bootsIn} boots: ${m.power.map((p) => `${pct(p.shift)}→${pct(p.power)}`).join(' ')}; smallest change with power >= 0.9: ${m.smallest === null ? `none up to ${pct(shifts.at(-1)!)}` : pct(m.smallest)}\n`);
  }
  process.stdout.write(`ab.json of every comparison: ${keep}\n`);
}
