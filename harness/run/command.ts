// `daxlab run`: options in, the runner, then the table, report.html and the exit status. The
// CLI's signal handlers (cli.ts) cancel the run through `cancel`; this module never exits.
import type { Command } from 'commander';
import { DEFAULT_KERNEL } from '../kernel/resolve.ts';
import { writeRunReport } from '../report/command.ts';
import { checkOutDir } from '../results/store.ts';
import { oneShotText } from '../results/once.ts';
import { renderTable, tableRows } from '../results/table.ts';
import { hasOverrides, parseOverrides, type OverrideFlags } from '../scenario/overrides.ts';
import { UserError } from '../util/errors.ts';
import { addGuestOptions, guestSettings, intFlag, type GuestFlags } from './guest-flags.ts';
import { progressRenderer } from './progress.ts';
import { run, type RunResult } from './runner.ts';
import { recordedCommand } from '../util/secrets.ts';

interface RunFlags extends GuestFlags, OverrideFlags {
  kernel?: string[];
  out?: string;
  jobs?: string;
  resume?: string;
}

const collect = (v: string, acc: string[] = []): string[] => [...acc, v];

export interface RunCancel {
  signal: AbortSignal;
  /** Called once results are being recorded: from then on a signal cancels instead of exiting. */
  recording: () => void;
}

export function registerRunCommand(program: Command, cancel: RunCancel): void {
  const cmd = program
    .command('run')
    .description('run scenarios (default: every catalog scenario marked default) on one or more kernels')
    .argument('[scenario...]', 'scenario YAML file, directory with scenario.yaml, or catalog id')
    .option('-k, --kernel <spec>', `kernel, repeatable ([NAME=]SPEC; default ${DEFAULT_KERNEL}): debian:6.12, debian:6.1, a bzImage path[,modules=DIR], a kernel spec YAML (images/kernels/*.yaml), or source=...,config=...,patches=...`, (v: string, acc: string[] = []) => [...acc, v])
    .option('-o, --out <dir>', 'results directory (default results/<run-id>)')
    .option('-j, --jobs <n>', 'guests at once (default: as many as host CPUs and free memory allow)')
    .option('--resume <run>', 'continue an interrupted run (run id, results dir or latest) without redoing finished steps')
    .option('--fs <list>', 'filesystems instead of the scenarios\' own: ext4, xfs (comma-separated or repeated)', collect)
    .option('--dax <list>', 'DAX modes instead of the scenarios\' own: always, never, inode', collect)
    .option('--repetitions <n>', 'repetitions of each variant instead of the scenarios\' own')
    .option('--timeout <duration>', 'step timeout instead of the scenarios\' own (seconds, or e.g. 90s, 2m)')
    .option('--pmem <size>', 'NVDIMM size instead of the scenarios\' own (e.g. 2G)')
    .option('--boot-per-variant', 'each filesystem/DAX variant in a boot of its own (for once-per-boot reports: lockdep, WARN_ON_ONCE)')
    .option('--monitor <list>', 'kernel-side monitors sampled around every run, on top of the scenarios\' own: vmstat, funclatency, dax_events, lock_stat; NAME=ARG+ARG picks counters, functions, events or top=N (comma-separated or repeated)', collect)
    .usage('[options] [scenario...] [-- reproducer args]');
  addGuestOptions(cmd).action(async (operands: string[], f: RunFlags) => {
      const guest = guestSettings(f);
      // Everything after `--` is the reproducer's; commander hands it over mixed into the operands.
      const dd = process.argv.indexOf('--');
      const reproArgs = dd >= 0 ? process.argv.slice(dd + 1) : [];
      const scenarios = operands.slice(0, operands.length - reproArgs.length);
      const overrides = parseOverrides(f, reproArgs);
      if (f.resume && hasOverrides(overrides)) throw new UserError('--resume runs the rest of the interrupted run as it started; give no --fs/--dax/--repetitions/--timeout/--pmem/--boot-per-variant/--monitor or reproducer arguments');
      if (f.resume && scenarios.length) throw new UserError('--resume takes the scenarios of the interrupted run; give no scenario arguments');
      if (f.resume && f.kernel) throw new UserError('--resume takes the kernels of the interrupted run; give no --kernel');
      const jobs = f.jobs === undefined ? 'auto' : intFlag('--jobs', f.jobs, 64);
      if (f.out) await checkOutDir(f.out);
      const r = await run({
        scenarioArgs: scenarios,
        kernels: f.kernel ?? [DEFAULT_KERNEL],
        outDir: f.out,
        accel: f.accel,
        tcgThread: f.tcgThread,
        guest,
        concurrency: jobs,
        resume: f.resume,
        overrides,
        command: recordedCommand(),
        progress: progressRenderer({ write: (s) => process.stderr.write(s), tty: Boolean(process.stderr.isTTY) && !process.env['CI'] }),
        signal: cancel.signal,
        onRecording: cancel.recording,
      });
      await reportRun(r, cancel);
    });
}

/**
 * What a finished (or interrupted) run prints: the table, findings, notes, kernels, status and
 * results path; writes report.html; sets the exit status. Shared by `run` and `nightly`.
 */
export async function reportRun(r: RunResult, cancel: RunCancel): Promise<void> {
  const s = r.summary;
  const many = s.kernels.length > 1;
  process.stdout.write('\n' + renderTable(tableRows(s.steps, { byKernel: many }), { width: process.stdout.isTTY ? process.stdout.columns : undefined }) + '\n\n');
  // report.html is a view like summary.json: not writing it leaves the results incomplete.
  const reportError = await writeRunReport(r.dir, s).then(
    () => undefined,
    (e: Error) => `writing report.html: ${e.message}`,
  );
  const writeError = r.writeError ?? reportError;
  if (s.findings.length) {
    process.stdout.write('console findings:\n');
    for (const fd of s.findings) {
      const where = fd.where.slice(0, 3).join(', ') + (fd.where.length > 3 ? ` (+${fd.where.length - 3})` : '');
      process.stdout.write(`  ${fd.title.replace(/[\x00-\x1f\x7f]/g, '?')}  [${fd.kind}] x${fd.count} in ${where}\n`);
    }
    process.stdout.write('\n');
  }
  for (const n of s.oneShot ?? []) process.stdout.write(`note: ${oneShotText(n).replace(/[\x00-\x1f\x7f]/g, '?')}\n`);
  if (s.oneShot?.length) process.stdout.write('\n');
  const sec = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);
  for (const k of s.kernels) {
    const boots = s.boots.filter((b) => b.kernel === k.name).map((b) => `boot ${b.index}: ${b.end}, agent up ${sec(b.timings.helloMs)}, first reproducer ${sec(b.timings.firstReproMs)}, total ${sec(b.timings.exitMs)}`);
    process.stdout.write(`kernel ${many ? `${k.name} ` : ''}${k.release} · accel ${k.accel.accel}${k.accel.tcgThread ? ` thread=${k.accel.tcgThread}` : ''} · ${boots.join(' · ')}\n`);
  }
  if (s.concurrency > 1) process.stdout.write(`guests at once: up to ${s.concurrency}\n`);
  process.stdout.write(`status: ${s.status}${s.statusReason ? ` (${s.statusReason})` : ''}\n`);
  process.stdout.write(`results: ${r.dir}\n`);
  if (writeError) process.stderr.write(`daxlab: results on disk are incomplete: ${writeError}\n`);
  if (s.status === 'interrupted') {
    process.stderr.write(`daxlab: interrupted (${String(cancel.signal.reason)}); results so far in ${r.dir}; continue with: daxlab run --resume ${s.runId}\n`);
    process.exitCode = cancel.signal.reason === 'SIGINT' ? 130 : 143;
    return;
  }
  const bad = s.steps.some((x) => x.status !== 'pass' && x.status !== 'skip');
  process.exitCode = s.status === 'completed' && !bad && !writeError ? 0 : 1;
}
