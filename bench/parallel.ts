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
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { execa } from 'execa';
import { oneLineSafe } from '../harness/util/errors.ts';
import { benchArgs, DAXLAB, daxlabRun, die, handleInterrupt, isInterrupted, median, oneOf, positiveInt, ROOT, stopAfterFailedRun, summaryRelease, summaryRetries, summaryTcgThread, table, type BenchSummary, type RunOutcome, type TcgThread } from './lib/daxrun.ts';

const USAGE = 'usage: npx tsx bench/parallel.ts [--configs 1x2,1x1,2x1,2x2] [--scenarios a,b,...] [--kernel SPEC] [--reps R] [--tcg-thread single|multi] [--raw FILE]';

const args = benchArgs(USAGE, {
  configs: { type: 'string', default: '1x2,1x1,2x1,2x2' },
  scenarios: { type: 'string' },
  kernel: { type: 'string', default: 'debian:6.12' },
  reps: { type: 'string', default: '1' },
  'tcg-thread': { type: 'string', default: 'single' },
  raw: { type: 'string' },
});

interface Config {
  label: string;
  jobs: number;
  guestCpus: number;
}

const configs: Config[] = args.configs.split(',').map((c) => c.trim()).filter(Boolean).map((c) => {
  const m = /^(\d+)x(\d+)$/.exec(c);
  const jobs = Number(m?.[1]);
  const guestCpus = Number(m?.[2]);
  if (!m || jobs < 1 || guestCpus < 1) die(`--configs: '${c}' is not JOBSxGUEST_CPUS (e.g. 2x1)`);
  return { label: `${jobs}x${guestCpus}`, jobs, guestCpus };
});
if (configs.length === 0) die('--configs: no configs');
if (new Set(configs.map((c) => c.label)).size !== configs.length) die('--configs: a config is listed twice');
const reps = positiveInt('--reps', args.reps);
const mode: TcgThread = oneOf('--tcg-thread', args['tcg-thread'], ['single', 'multi']);
const kernel = args.kernel;

/** Every id of `daxlab catalog --json`. */
async function catalogIds(): Promise<string[]> {
  const r = await execa('node', [DAXLAB, 'catalog', '--json'], { cwd: ROOT, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) die(`daxlab catalog --json failed (exit ${r.exitCode}): ${oneLineSafe(String(r.stderr).slice(0, 500))}`);
  const parsed: unknown = JSON.parse(String(r.stdout));
  if (!Array.isArray(parsed)) die('daxlab catalog --json: not a list');
  return parsed.map((e: unknown) => {
    const id = typeof e === 'object' && e !== null && 'id' in e ? e.id : undefined;
    if (typeof id !== 'string') die('daxlab catalog --json: an entry without an id');
    return id;
  });
}

const scenarios = args.scenarios !== undefined ? args.scenarios.split(',').map((s) => s.trim()).filter(Boolean) : await catalogIds();
if (scenarios.length === 0) die('no scenarios');

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const rawFile = args.raw ?? join(ROOT, 'results', 'bench', `parallel-${stamp}.jsonl`);
mkdirSync(dirname(rawFile), { recursive: true });

// --- what the bench reads beyond BenchSummary (summary.json schema 2) ---------------------------

interface ParallelSummary extends BenchSummary {
  concurrency?: number;
  guest?: { cpus?: number; memBytes?: number };
  phases?: Record<string, number>;
}

/** Preparation (host tools, kernel, image, accelerator, compile) of a run, ms: every phase but the total. */
function prepMs(s: ParallelSummary): number | undefined {
  if (!s.phases) return undefined;
  return Object.entries(s.phases).reduce((n, [k, ms]) => (k === 'totalMs' ? n : n + ms), 0);
}

// --- the host around a run --------------------------------------------------------------------

/** QEMU processes on the host right now (between our runs: someone else's). */
function qemuProcesses(): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('qemu-system')) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** Hash of the daxlab sources a run executes (work tree, tracked and untracked): others edit them too. */
async function sourceHash(): Promise<string> {
  const r = await execa('git', ['ls-files', '-co', '--exclude-standard', '--', 'harness', 'images', 'scenarios', 'bin', 'package.json'], { cwd: ROOT, reject: false });
  const h = createHash('sha256');
  for (const f of String(r.stdout).split('\n').filter(Boolean).sort()) {
    const p = join(ROOT, f);
    try {
      if (!statSync(p).isFile()) continue;
      h.update(f).update('\0').update(readFileSync(p)).update('\0');
    } catch {
      h.update(f).update('\0(deleted)\0');
    }
  }
  return h.digest('hex').slice(0, 12);
}

// --- one run's record -------------------------------------------------------------------------

interface StepRecord {
  key: string;
  scenario: string;
  status: string;
  reason: string;
  durationMs: number;
  /** Sample series: unit, how many values, their median. */
  samples: Record<string, { unit: string; n: number; median: number }>;
  metrics: Record<string, { unit: string; value: number }>;
}

interface RunRecord {
  type: 'run';
  at: string;
  rep: number;
  /** Position in the rep's (rotated) order, from 0. */
  order: number;
  config: Config;
  /** What daxlab says it used: guests at once and vCPUs per guest. */
  concurrency?: number | undefined;
  guestCpus?: number | undefined;
  tcgThread?: string | undefined;
  kernel: string;
  release?: string | undefined;
  exitCode: number | undefined;
  status?: string | undefined;
  statusReason?: string | undefined;
  wallMs: number;
  prepMs?: number | undefined;
  boots: { index: number; end: string; exitMs: number; items: number }[];
  retries: number;
  steps: StepRecord[];
  reports: { title: string; kind: string; where: string; daxlabArtifact?: string | undefined }[];
  host: { loadBefore: number[]; loadAfter: number[]; otherQemuBefore: number; freeMemBefore: number; sources: string };
  stderrTail: string[];
}

function record(rep: number, order: number, config: Config, r: RunOutcome, host: Omit<RunRecord['host'], 'loadAfter'>): RunRecord {
  const s = r.summary as ParallelSummary | undefined;
  return {
    type: 'run',
    at: new Date().toISOString(),
    rep,
    order,
    config,
    concurrency: s?.concurrency,
    guestCpus: s?.guest?.cpus,
    tcgThread: summaryTcgThread(s),
    kernel,
    release: summaryRelease(s),
    exitCode: r.exitCode,
    status: s?.status,
    statusReason: s?.statusReason,
    wallMs: r.wallMs,
    prepMs: s ? prepMs(s) : undefined,
    boots: (s?.boots ?? []).map((b) => ({ index: b.index, end: b.end, exitMs: b.timings.exitMs, items: b.items.length })),
    // Schema 2 records its retries; more boots than one are the point of -j, not retries.
    retries: s?.schema !== undefined && s.schema >= 2 ? (s.retries?.length ?? 0) : summaryRetries(s),
    steps: (s?.steps ?? []).map((st) => ({
      key: st.key,
      scenario: st.scenario,
      status: st.status,
      reason: st.reason,
      durationMs: st.durationMs,
      samples: Object.fromEntries(Object.entries(st.samples).map(([name, v]) => [name, { unit: v.unit, n: v.values.length, median: median(v.values) }])),
      metrics: st.metrics,
    })),
    reports: r.reports.map((x) => ({ title: x.title, kind: x.kind, where: x.where, daxlabArtifact: x.daxlabArtifact })),
    host: { ...host, loadAfter: loadavg() },
    stderrTail: r.stderrTail,
  };
}

// --- content comparison -------------------------------------------------------------------------

interface Diff {
  kind: 'status' | 'missing' | 'extra' | 'samples';
  text: string;
}

/** What differs in content between `b` and the reference run `a`: statuses, keys, sample names and counts. */
function compare(a: RunRecord, b: RunRecord): Diff[] {
  const out: Diff[] = [];
  const A = new Map(a.steps.map((s) => [s.key, s]));
  const B = new Map(b.steps.map((s) => [s.key, s]));
  for (const [key, sa] of A) {
    const sb = B.get(key);
    if (!sb) {
      out.push({ kind: 'missing', text: `${key}: ${sa.status} in ${a.config.label}, not run in ${b.config.label}` });
      continue;
    }
    if (sa.status !== sb.status) out.push({ kind: 'status', text: `${key}: ${a.config.label} ${sa.status}, ${b.config.label} ${sb.status}${sb.reason ? ` (${sb.reason})` : ''}` });
    const names = [...new Set([...Object.keys(sa.samples), ...Object.keys(sb.samples)])].sort();
    const parts: string[] = [];
    for (const n of names) {
      const na = sa.samples[n]?.n;
      const nb = sb.samples[n]?.n;
      if (na !== nb) parts.push(`${n} ${na ?? 'absent'} -> ${nb ?? 'absent'}`);
    }
    if (parts.length) out.push({ kind: 'samples', text: `${key}: samples ${parts.join(', ')}` });
  }
  for (const [key, sb] of B) if (!A.has(key)) out.push({ kind: 'extra', text: `${key}: ${sb.status} in ${b.config.label}, not run in ${a.config.label}` });
  return out;
}

function diffSummary(d: Diff[]): string {
  if (d.length === 0) return 'same';
  const count = (k: Diff['kind']): number => d.filter((x) => x.kind === k).length;
  const parts: string[] = [];
  if (count('status')) parts.push(`${count('status')} status`);
  if (count('missing') + count('extra')) parts.push(`${count('missing') + count('extra')} key`);
  if (count('samples')) parts.push(`${count('samples')} samples`);
  return parts.join(', ');
}

// --- the runs -----------------------------------------------------------------------------------

const tasks: { rep: number; order: number; config: Config }[] = [];
for (let rep = 1; rep <= reps; rep++) {
  for (let i = 0; i < configs.length; i++) tasks.push({ rep, order: i, config: configs[(i + rep - 1) % configs.length] as Config });
}

const records: RunRecord[] = [];
const ref = configs[0] as Config;
const sec = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? '-' : (ms / 1000).toFixed(1));
const perMin = (r: RunRecord): number => (r.wallMs > 0 ? r.steps.length / (r.wallMs / 60000) : NaN);
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
  const rec = record(t.rep, t.order, t.config, r, host);
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
