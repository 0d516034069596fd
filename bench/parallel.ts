// Throughput of `daxlab run` under several shapes of parallelism: guests at once (-j) x vCPUs per
// guest (--guest-cpus), on one set of scenarios (default: the whole catalog) and one kernel, under
// TCG (one host thread per guest with --tcg-thread single, the default).
//
//   npx tsx bench/parallel.ts [--configs 1x2,1x1,2x1,2x2] [--scenarios a,b,...] [--kernel SPEC]
//                             [--reps R] [--tcg-thread single|multi] [--raw FILE]
//
// A config JxC is `daxlab run -j J --guest-cpus C`; the first one is the reference (1x2 is
// today's serial default shape). Runs go one at a time (the parallelism is inside daxlab). Each
// of R reps runs every config once, the order rotated by one per rep so drift and cache warmth
// hit every config alike. Per run: wall time (the whole `daxlab run`, preparation included;
// the prep column shows how much of it was kernel/image/compile work), steps done, steps per
// minute, guest boots, speed-up (steps/min over the reference's of the same rep; the wall ratio
// when both ran every step) and whether the content matches the reference's run of the same
// rep: the set of (step key, status), and for each key the sample names and how many values each
// had. Timings and sample values may differ; a status that differs is listed, not hidden: a
// timing-sensitive reproducer can flip under load. Sample counts differ legitimately for
// reproducers that loop for a fixed time (--seconds N).
//
// The host load, other QEMU processes already running and a hash of the daxlab sources
// (harness/, images/, scenarios/, bin/) are recorded before each run: on a shared machine both
// can change under a bench. Raw per-run JSON lines are appended as runs end (default
// results/bench/parallel-<time>.jsonl). Ctrl-C stops and prints what finished.
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { oneLineSafe } from '../harness/util/errors.ts';
import { benchArgs, daxlabRun, die, handleInterrupt, isInterrupted, median, oneOf, positiveInt, ROOT, stopAfterFailedRun, table, type TcgThread } from './lib/daxrun.ts';
import { catalogIds, compare, diffSummary, parseConfigs, perMin, qemuProcesses, record, rotatedTasks, sourceHash, type Config, type Diff, type RunRecord } from './lib/parallel.ts';

const USAGE = 'usage: npx tsx bench/parallel.ts [--configs 1x2,1x1,2x1,2x2] [--scenarios a,b,...] [--kernel SPEC] [--reps R] [--tcg-thread single|multi] [--raw FILE]';

const args = benchArgs(USAGE, {
  configs: { type: 'string', default: '1x2,1x1,2x1,2x2' },
  scenarios: { type: 'string' },
  kernel: { type: 'string', default: 'debian:6.12' },
  reps: { type: 'string', default: '1' },
  'tcg-thread': { type: 'string', default: 'single' },
  raw: { type: 'string' },
});

const parsed = parseConfigs(args.configs);
if (typeof parsed === 'string') die(`--configs: ${parsed}`);
const configs: Config[] = parsed;
const reps = positiveInt('--reps', args.reps);
const mode: TcgThread = oneOf('--tcg-thread', args['tcg-thread'], ['single', 'multi']);
const kernel = args.kernel;

const scenarios = args.scenarios !== undefined ? args.scenarios.split(',').map((s) => s.trim()).filter(Boolean) : await catalogIds().catch((e: unknown) => die((e as Error).message));
if (scenarios.length === 0) die('no scenarios');

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const rawFile = args.raw ?? join(ROOT, 'results', 'bench', `parallel-${stamp}.jsonl`);
mkdirSync(dirname(rawFile), { recursive: true });

// --- the runs -----------------------------------------------------------------------------------

const tasks = rotatedTasks(configs, reps);

const records: RunRecord[] = [];
const ref = configs[0] as Config;
const sec = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? '-' : (ms / 1000).toFixed(1));
const refOf = (r: RunRecord): RunRecord | undefined => records.find((x) => x.rep === r.rep && x.config.label === ref.label);
const speedup = (r: RunRecord): number => {
  const a = refOf(r);
  return a ? perMin(r) / perMin(a) : NaN;
};
const fmtX = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');
const statusCounts = (r: RunRecord): string => {
  const m = new Map<string, number>();
  for (const s of r.steps) m.set(s.status, (m.get(s.status) ?? 0) + 1);
  return [...m].map(([k, n]) => `${n} ${k}`).join(', ');
};
const load = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');

const initialSources = await sourceHash();
appendFileSync(
  rawFile,
  JSON.stringify({ type: 'meta', at: new Date().toISOString(), argv: process.argv.slice(2), kernel, tcgThread: mode, reps, configs, scenarios, hostCpus: cpus().length, memBytes: totalmem(), freeMemBytes: freemem(), loadavg: loadavg(), sources: initialSources }) + '\n',
);
process.stderr.write(
  `parallel: ${kernel}, ${scenarios.length} scenario(s) (${scenarios.join(', ')}), configs ${configs.map((c) => c.label).join(', ')} (jobs x guest-cpus; reference ${ref.label}), ${reps} rep(s) = ${tasks.length} runs, one at a time; TCG thread=${mode}; host ${cpus().length} CPUs, ${(freemem() / 2 ** 30).toFixed(1)} GiB free, load ${load(loadavg())}\nraw results: ${relative(process.cwd(), rawFile) || rawFile}\n`,
);
handleInterrupt(() => process.stderr.write('bench: interrupted; tables below cover the runs that finished\n'));

const t0 = Date.now();
let n = 0;
for (const t of tasks) {
  if (isInterrupted()) break;
  n++;
  const host = { loadBefore: loadavg(), otherQemuBefore: qemuProcesses(), freeMemBefore: freemem(), sources: await sourceHash() };
  const warn: string[] = [];
  if (host.otherQemuBefore > 0) warn.push(`${host.otherQemuBefore} other QEMU process(es) running`);
  if (host.sources !== initialSources) warn.push(`daxlab sources changed since the bench started (${initialSources} -> ${host.sources})`);
  process.stderr.write(oneLineSafe(`[${n}/${tasks.length}] rep ${t.rep} ${t.config.label}: daxlab run -j ${t.config.jobs} --guest-cpus ${t.config.guestCpus} ... (load ${load(host.loadBefore)}${warn.length ? `; ${warn.join('; ')}` : ''})`) + '\n');
  const r = await daxlabRun({ scenarios, kernel, tcgThread: mode, extra: ['-j', String(t.config.jobs), '--guest-cpus', String(t.config.guestCpus)] });
  if (r.interrupted) break;
  if (!r.summary) {
    stopAfterFailedRun(r);
    break;
  }
  const rec = record(t.rep, t.order, t.config, kernel, r, host);
  records.push(rec);
  appendFileSync(rawFile, JSON.stringify(rec) + '\n');

  const notes: string[] = [];
  if (rec.concurrency !== undefined && rec.concurrency !== t.config.jobs) notes.push(`daxlab says concurrency ${rec.concurrency}!`);
  if (rec.guestCpus !== undefined && rec.guestCpus !== t.config.guestCpus) notes.push(`daxlab says guest cpus ${rec.guestCpus}!`);
  if (rec.tcgThread !== undefined && rec.tcgThread !== mode) notes.push(`daxlab says thread=${rec.tcgThread}!`);
  if (rec.status !== 'completed') notes.push(`run ${rec.status ?? 'unknown'}${rec.statusReason ? `: ${rec.statusReason}` : ''}`);
  if (rec.retries) notes.push(`${rec.retries} retr${rec.retries === 1 ? 'y' : 'ies'}`);
  if (rec.reports.length) notes.push(`${rec.reports.length} kernel report(s): ${[...new Set(rec.reports.map((x) => `${x.title} [${x.where}]${x.daxlabArtifact ? ` (daxlab: ${x.daxlabArtifact})` : ''}`))].join('; ')}`);
  const a = refOf(rec);
  // The reference may come later in a rotated rep; the tables compare everything at the end.
  const cmp = rec.config.label === ref.label ? 'reference' : a ? `${fmtX(speedup(rec))} vs ${ref.label}, content ${diffSummary(compare(a, rec))}` : `${ref.label} of this rep not run yet`;
  process.stderr.write(
    oneLineSafe(
      `[${n}/${tasks.length}] rep ${t.rep} ${t.config.label}: ${sec(rec.wallMs)} s (prep ${sec(rec.prepMs)} s), ${rec.steps.length} steps (${statusCounts(rec)}), ${perMin(rec).toFixed(2)} steps/min, ${rec.boots.length} boot${rec.boots.length === 1 ? '' : 's'}; ${cmp}${notes.length ? `; ${notes.join('; ')}` : ''}`,
    ) + '\n',
  );
}

// --- tables -------------------------------------------------------------------------------------

process.stdout.write(`\nparallel: ${kernel}${records[0]?.release ? ` (${records[0].release})` : ''}, ${scenarios.length} scenario(s), ${records.length} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s, host ${cpus().length} CPUs, load now ${load(loadavg())}${isInterrupted() ? ' (interrupted)' : ''}\n\n`);

const sorted = [...records].sort((x, y) => x.rep - y.rep || configs.findIndex((c) => c.label === x.config.label) - configs.findIndex((c) => c.label === y.config.label));
const diffs = new Map<RunRecord, Diff[]>();
for (const r of sorted) {
  const a = refOf(r);
  if (a && a !== r) diffs.set(r, compare(a, r));
}
const rows = sorted.map((r) => {
  const d = diffs.get(r);
  return [
    String(r.rep),
    r.config.label,
    String(r.order + 1),
    sec(r.wallMs),
    sec(r.prepMs),
    String(r.steps.length),
    perMin(r).toFixed(2),
    String(r.boots.length),
    r.config.label === ref.label ? '1.00x' : fmtX(speedup(r)),
    sec(r.steps.reduce((s, x) => s + x.durationMs, 0)),
    r.config.label === ref.label ? 'ref' : d ? diffSummary(d) : 'no ref',
    load(r.host.loadBefore.slice(0, 1)),
    String(r.host.otherQemuBefore),
    r.status === 'completed' ? String(r.exitCode ?? '-') : `${r.exitCode ?? '-'} ${r.status ?? ''}`,
  ];
});
process.stdout.write(`per run (JxC = -j J --guest-cpus C; speed-up = steps/min over ${ref.label} of the same rep; step s = sum of step durations; load1 and other qemu: the host when the run started)\n`);
process.stdout.write(table(['rep', 'config', 'order', 'wall s', 'prep s', 'steps', 'steps/min', 'boots', 'speed-up', 'step s', 'content', 'load1', 'other qemu', 'exit'], rows) + '\n\n');

if (reps > 1) {
  const agg = configs.map((c) => {
    const rs = records.filter((r) => r.config.label === c.label);
    const flips = rs.reduce((s, r) => s + (diffs.get(r)?.filter((x) => x.kind === 'status').length ?? 0), 0);
    return [c.label, String(rs.length), sec(median(rs.map((r) => r.wallMs))), median(rs.map(perMin)).toFixed(2), c.label === ref.label ? '1.00x' : fmtX(median(rs.map(speedup).filter(Number.isFinite))), String(flips)];
  });
  process.stdout.write('per config (medians over reps)\n');
  process.stdout.write(table(['config', 'runs', 'wall s', 'steps/min', 'speed-up', 'status diffs'], agg) + '\n\n');
}

const withDiffs = [...diffs].filter(([, d]) => d.length);
if (withDiffs.length === 0) {
  process.stdout.write(diffs.size ? `content: every run matches ${ref.label} of its rep (step keys, statuses, sample names and counts)\n` : 'content: nothing to compare\n');
} else {
  process.stdout.write(`content differences vs ${ref.label} of the same rep (statuses of timing-sensitive reproducers can flip under load; counts of time-bound loops vary):\n`);
  for (const [r, d] of withDiffs) {
    process.stdout.write(`  rep ${r.rep} ${r.config.label}:\n`);
    for (const x of [...d].sort((p, q) => (p.kind === q.kind ? 0 : p.kind === 'status' ? -1 : q.kind === 'status' ? 1 : p.kind < q.kind ? -1 : 1))) process.stdout.write(oneLineSafe(`    ${x.kind}: ${x.text}`) + '\n');
  }
}
const contended = records.filter((r) => r.host.otherQemuBefore > 0 || r.host.sources !== initialSources);
if (contended.length) process.stdout.write(`caution: ${contended.length} run(s) started with other QEMU processes on the host or changed daxlab sources (see raw host fields)\n`);
const failed = records.filter((r) => r.status !== 'completed');
if (failed.length) process.stdout.write(`runs not completed: ${failed.map((r) => `rep ${r.rep} ${r.config.label} (${r.status}: ${r.statusReason ?? ''})`).join('; ')}\n`);
process.stdout.write(`\nraw: ${relative(process.cwd(), rawFile) || rawFile}\n`);
if (isInterrupted()) process.exitCode = 130;
