// `daxlab ab`: flags in, the A/B runner, then the LKP-shaped table (or ab.json with --json),
// report.html and the exit status: 0 no regression, 1 regression or new finding, 2 bad input.
import type { Command } from 'commander';
import { parseMonitorFlag } from '../monitor/spec.ts';
import { writeRunReport } from '../report/command.ts';
import { checkOutDir } from '../results/store.ts';
import { addGuestOptions, guestSettings, intFlag, type GuestFlags } from '../run/guest-flags.ts';
import type { RunCancel } from '../run/command.ts';
import { progressRenderer } from '../run/progress.ts';
import { parseDuration } from '../scenario/units.ts';
import { UserError } from '../util/errors.ts';
import { AB_DEFAULT_SCENARIOS, runAb } from './runner.ts';
import { abTable } from './table.ts';
import { recordedCommand } from '../util/secrets.ts';

interface AbFlags extends GuestFlags {
  base?: string;
  patched?: string;
  series?: string;
  aa?: string;
  boots: string;
  repetitions?: string;
  threshold: string;
  alpha: string;
  seed: string;
  budget?: string;
  bisect: boolean;
  out?: string;
  monitor?: string[];
  json?: boolean;
}

/** `5`, `5%` or `0.05` (a fraction below 1) -> 0.05. */
export function parseThreshold(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(v.trim());
  const n = m ? Number(m[1]) : NaN;
  const frac = m?.[2] === '%' || n >= 1 ? n / 100 : n;
  if (!(frac > 0 && frac < 1)) throw new UserError(`--threshold must be a percentage such as 5 or 5% (or a fraction such as 0.05), got '${v}'`);
  return frac;
}

export function registerAbCommand(program: Command, cancel: RunCancel): void {
  const cmd = program
    .command('ab')
    .description('A/B timing: interleaved boots of a base and a patched kernel, per-boot statistics, verdicts per metric, bisection of a regressing series')
    .argument('[scenario...]', `scenarios to time (default: ${AB_DEFAULT_SCENARIOS.join(', ')})`)
    .option('--base <spec>', 'the base kernel (any kernel spec; a source build for --series)')
    .option('--patched <spec>', 'the patched kernel (any kernel spec)')
    .option('--series <path>', 'the patched side is --base plus this series (mbox, directory of numbered patches, quilt series, git:REPO@A..B)')
    .option('--aa <spec>', 'A/A: the kernel against itself (the false-positive check)')
    .option('--boots <n>', 'boots per side (rounded up to whole ABBA blocks)', '6')
    .option('--repetitions <n>', "measured repetitions per boot, after one warm-up (default: the scenario's own)")
    .option('--threshold <pct>', 'smallest change that counts', '5%')
    .option('--alpha <p>', 'significance level of the Mann-Whitney test', '0.05')
    .option('--seed <n>', 'seed of the boot order and of the bootstrap', '1')
    .option('--budget <duration>', 'keep adding ABBA blocks while a metric is inconclusive, up to this wall time per comparison (e.g. 10m)')
    .option('--no-bisect', 'do not bisect a regressing --series')
    .option('-o, --out <dir>', 'results directory (default results/<run-id>)')
    .option('--json', 'print ab.json on stdout instead of the table')
    .option('--monitor <list>', 'kernel-side monitors sampled around every run (vmstat, funclatency, dax_events, lock_stat; NAME=ARG+ARG), compared like the reproducer\'s metrics', (v: string, acc: string[] = []) => [...acc, v]);
  addGuestOptions(cmd).action(async (scenarios: string[], f: AbFlags) => {
    const sides = [f.patched, f.series, f.aa].filter((x) => x !== undefined).length;
    if (sides !== 1) throw new UserError('ab needs exactly one of --patched SPEC, --series PATH, --aa SPEC');
    if (f.aa && f.base) throw new UserError('--aa SPEC compares SPEC with itself; give no --base');
    const base = f.aa ?? f.base;
    if (!base) throw new UserError('ab needs --base SPEC');
    const alpha = Number(f.alpha);
    if (!(alpha > 0 && alpha < 0.5)) throw new UserError(`--alpha must be between 0 and 0.5, got '${f.alpha}'`);
    const seed = Number(f.seed);
    if (!Number.isInteger(seed)) throw new UserError(`--seed must be an integer, got '${f.seed}'`);
    const budgetS = f.budget === undefined ? undefined : parseDuration(f.budget);
    if (f.budget !== undefined && !(budgetS && budgetS > 0)) throw new UserError(`--budget must be a duration such as 600, 90s or 10m, got '${f.budget}'`);
    const guest = guestSettings(f);
    if (f.out) await checkOutDir(f.out);
    const r = await runAb({
      base,
      patched: f.patched,
      series: f.series,
      aa: Boolean(f.aa),
      scenarioArgs: scenarios,
      monitors: f.monitor?.length ? parseMonitorFlag(f.monitor) : undefined,
      bootsPerSide: intFlag('--boots', f.boots, 1000, 2),
      repetitions: f.repetitions === undefined ? undefined : intFlag('--repetitions', f.repetitions, 10000),
      settings: { threshold: parseThreshold(f.threshold), alpha, confidence: 0.95, resamples: 10000, seed },
      budgetMs: budgetS === undefined ? undefined : budgetS * 1000,
      bisect: f.bisect,
      outDir: f.out,
      accel: f.accel,
      tcgThread: f.tcgThread,
      guest,
      command: recordedCommand(),
      progress: progressRenderer({ write: (s) => process.stderr.write(s), tty: Boolean(process.stderr.isTTY) && !process.env['CI'] }),
      signal: cancel.signal,
      onRecording: cancel.recording,
    });
    const reportError = await writeRunReport(r.dir, r.summary).then(
      () => undefined,
      (e: Error) => `writing report.html: ${e.message}`,
    );
    if (f.json) process.stdout.write(JSON.stringify(r.report, null, 2) + '\n');
    else {
      for (const c of r.report.comparisons) {
        const head = c.id === 'main' ? `${c.a.name} ${c.a.release} vs ${c.b.name} ${c.b.release}` : `bisect ${c.id}: ${c.b.spec}`;
        process.stdout.write(`\n${head} · ${c.boots.a}+${c.boots.b} boots · ${Math.round(c.wallMs / 1000)} s\n`);
        process.stdout.write(abTable(c, { changedOnly: c.id !== 'main' }) + '\n');
        for (const nf of c.newFindings) process.stdout.write(`new on ${c.b.name}: ${nf.title.replace(/[\x00-\x1f\x7f]/g, '?')} [${nf.kind}] in ${nf.where.slice(0, 2).join(', ')}\n`);
        for (const nf of c.newFailures) process.stdout.write(`fails only on ${c.b.name}: ${nf.item} (${nf.statuses.join(', ')})\n`);
        for (const cv of c.caveats ?? []) process.stdout.write(`caveat: ${cv}\n`);
      }
      const b = r.report.bisection;
      if (b) {
        process.stdout.write(`\nbisection (${b.targets.metrics.concat(b.targets.findings).join('; ')}):\n`);
        for (const st of b.steps) process.stdout.write(`  k=${st.k}: ${st.outcome}${st.detail ? ` (${st.detail.replace(/[\x00-\x1f\x7f]/g, '?')})` : ''}\n`);
        process.stdout.write(b.culprit ? `  first bad patch: ${b.culprit.index}/${r.report.series.length} ${b.culprit.subject.replace(/[\x00-\x1f\x7f]/g, '?')} (${b.culprit.file})\n` : `  ${b.status}: ${b.reason}\n`);
      }
      process.stdout.write(`\nverdict: ${r.report.verdict}\n`);
      process.stdout.write(`settings: threshold ${(r.report.settings.threshold * 100).toFixed(1)}%, alpha ${r.report.settings.alpha}, seed ${r.report.settings.seed}, accel ${r.report.accel.accel}${r.report.accel.tcgThread ? ` thread=${r.report.accel.tcgThread}` : ''}, clock ${r.report.accel.clock}, guest ${guest.cpus} vCPUs\n`);
      process.stdout.write(`results: ${r.dir} (ab.json, report.html)\n`);
    }
    const writeError = r.writeError ?? reportError;
    if (writeError) process.stderr.write(`daxlab: results on disk are incomplete: ${writeError}\n`);
    if (r.status === 'interrupted') {
      process.stderr.write(`daxlab: interrupted (${String(cancel.signal.reason)}); what was measured is in ${r.dir}\n`);
      process.exitCode = cancel.signal.reason === 'SIGINT' ? 130 : 143;
      return;
    }
    process.exitCode = r.status === 'failed' || writeError ? 1 : r.report.exitCode;
  });
}
