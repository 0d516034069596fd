// daxlab command line. Bad input exits 2 with one line; a run whose steps did not all pass exits 1.
import { Command, CommanderError, Option } from 'commander';
import { registerCatalogCommand } from './catalog/command.ts';
import { registerFindingsCommand } from './console/command.ts';
import { registerKernelCommands } from './kernel/command.ts';
import { registerReportCommand, writeRunReport } from './report/command.ts';
import { DEFAULT_KERNEL } from './kernel/resolve.ts';
import { checkOutDir } from './results/store.ts';
import { renderTable, tableRows } from './results/table.ts';
import { run } from './run/runner.ts';
import { parseSize } from './scenario/units.ts';
import { oneLineSafe, UserError, USER_ERROR_EXIT } from './util/errors.ts';

const t0 = Date.now();
function log(s: string): void {
  // Log lines quote the guest (verdict reasons, setup output, finding titles): no raw controls.
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${oneLineSafe(s)}\n`);
}

/** `--append`: words for the kernel command line (QEMU gets it as one argv element, no shell). */
function kernelArgs(s: string): string[] {
  if (/[\x00-\x1f\x7f]/.test(s)) throw new UserError('--append: control characters are not allowed on a kernel command line');
  const words = s.trim().split(/\s+/).filter(Boolean);
  if (words.join(' ').length > 1024) throw new UserError('--append: longer than 1024 characters (the x86 command line holds 2048 with daxlab\'s own)');
  return words;
}

const program = new Command();
program
  .name('daxlab')
  .description('Boot kernels in QEMU with emulated NVDIMM and run filesystem-DAX reproducers')
  // Usage errors are bad input like any other: one line, no help screen after it.
  .configureOutput({ outputError: (msg, write) => write(`daxlab: ${msg.trim().replace(/^error: /, '')} (see --help)\n`) })
  .exitOverride();

program
  .command('run')
  .description('run scenarios (default: every catalog scenario marked default) on one kernel')
  .argument('[scenario...]', 'scenario YAML file, directory with scenario.yaml, or catalog id')
  .option('-k, --kernel <spec>', 'debian:6.12, debian:6.1, a bzImage path[,modules=DIR], a kernel spec YAML (images/kernels/*.yaml), or source=...,config=...,patches=...', DEFAULT_KERNEL)
  .option('-o, --out <dir>', 'results directory (default results/<run-id>)')
  .addOption(new Option('--accel <accel>', 'accelerator; auto probes KVM and falls back to TCG').choices(['auto', 'kvm', 'tcg']).default('auto'))
  .addOption(new Option('--tcg-thread <mode>', 'TCG vCPU threading: single (one host thread, no live-patching races) or multi').choices(['single', 'multi']).default('single'))
  .addOption(new Option('--firmware <fw>', 'guest firmware: qboot (fast) or seabios (QEMU default)').choices(['qboot', 'seabios']).default('qboot'))
  .option('--cpus <n>', 'guest CPUs', '2')
  .option('--mem <size>', 'guest RAM', '2G')
  .option('--resume <run>', 'continue an interrupted run (run id or results dir) without redoing finished steps')
  .option('--append <args>', 'extra kernel command-line arguments (e.g. "dyndbg=+p nokaslr")')
  .option('--boot-timeout <s>', 'seconds until a guest that has not booted is killed')
  .option('--grace <s>', 'seconds of silence past a step timeout before the host declares the guest wedged')
  .action(async (scenarios: string[], opts: { kernel: string; out?: string; accel: 'auto' | 'kvm' | 'tcg'; tcgThread: 'single' | 'multi'; firmware: 'qboot' | 'seabios'; cpus: string; mem: string; resume?: string; append?: string; bootTimeout?: string; grace?: string }) => {
    const cpus = Number(opts.cpus);
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64) throw new UserError(`--cpus must be 1..64, got '${opts.cpus}'`);
    const mem = parseSize(opts.mem);
    if (!mem || mem < 256 * 1024 ** 2) throw new UserError(`--mem must be a size of at least 256M, got '${opts.mem}'`);
    if (opts.resume && scenarios.length) throw new UserError('--resume takes the scenarios of the interrupted run; give no scenario arguments');
    const bootTimeoutS = opts.bootTimeout ? Number(opts.bootTimeout) : undefined;
    if (bootTimeoutS !== undefined && !(bootTimeoutS > 0)) throw new UserError(`--boot-timeout must be a positive number of seconds`);
    const graceS = opts.grace ? Number(opts.grace) : undefined;
    if (graceS !== undefined && !(graceS > 0)) throw new UserError(`--grace must be a positive number of seconds`);
    if (opts.out) await checkOutDir(opts.out);
    const append = opts.append === undefined ? undefined : kernelArgs(opts.append);
    const r = await run({
      scenarioArgs: scenarios,
      kernel: opts.kernel,
      outDir: opts.out,
      accel: opts.accel,
      tcgThread: opts.tcgThread,
      firmware: opts.firmware,
      cpus,
      memBytes: mem,
      resume: opts.resume,
      bootTimeoutS,
      graceS,
      append,
      command: process.argv.slice(2),
      log,
    });
    process.stdout.write('\n' + renderTable(tableRows(r.summary.steps)) + '\n\n');
    await writeRunReport(r.dir, r.summary).catch((e: Error) => log(`report.html not written: ${e.message}`));
    if (r.summary.findings.length) {
      process.stdout.write('console findings:\n');
      for (const f of r.summary.findings) {
        const where = f.where.slice(0, 3).join(', ') + (f.where.length > 3 ? ` (+${f.where.length - 3})` : '');
        process.stdout.write(`  ${f.title.replace(/[\x00-\x1f\x7f]/g, '?')}  [${f.kind}] x${f.count} in ${where}\n`);
      }
      process.stdout.write('\n');
    }
    const sec = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);
    const boots = r.summary.boots.map((b) => `boot ${b.index}: ${b.end}, agent up ${sec(b.timings.helloMs)}, first reproducer ${sec(b.timings.firstReproMs)}, total ${sec(b.timings.exitMs)}`);
    process.stdout.write(`kernel ${r.summary.kernel.release} · accel ${r.summary.accel.accel}${r.summary.accel.tcgThread ? ` thread=${r.summary.accel.tcgThread}` : ''} · ${boots.join(' · ')}\n`);
    process.stdout.write(`status: ${r.summary.status}${r.summary.statusReason ? ` (${r.summary.statusReason})` : ''}\n`);
    process.stdout.write(`results: ${r.dir}\n`);
    const bad = r.summary.steps.some((s) => s.status !== 'pass' && s.status !== 'skip');
    if (r.writeError) process.stderr.write(`daxlab: results on disk are incomplete: ${r.writeError}\n`);
    process.exitCode = r.summary.status === 'completed' && !bad && !r.writeError ? 0 : 1;
  });

registerKernelCommands(program);
registerCatalogCommand(program);
registerFindingsCommand(program);
registerReportCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof UserError) {
    process.stderr.write(e.oneLine() + '\n');
    process.exitCode = USER_ERROR_EXIT;
  } else if (e instanceof CommanderError) {
    // help and version exit 0; usage errors are bad input
    process.exitCode = e.exitCode === 0 ? 0 : USER_ERROR_EXIT;
  } else {
    throw e;
  }
}
