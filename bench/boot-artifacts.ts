// Boot artifacts: how often a guest boot that does nothing shows a kernel report anyway (e.g.
// "Oops: int3 in sched_clock_cpu" from multi-threaded TCG racing the kernel's int3 text
// patching), per kernel and TCG threading mode, alone or several guests at a time (under load).
//
//   npx tsx bench/boot-artifacts.ts --boots N --jobs J --kernel SPEC [--kernel SPEC2 ...]
//       [--tcg-thread single|multi|both] [--raw FILE]
//
// Each run is `daxlab run bench/noop --kernel SPEC --accel tcg --tcg-thread M --out TMP`: the
// noop reproducer only prints a pass verdict (one step, after fsdax namespace + mkfs + mount).
// N runs per (kernel, mode), interleaved round-robin so drift hits every combination, J at a
// time. Every console-N.log of every run is parsed with parseConsoleText; every kernel report in
// it is an artifact (the boot does nothing) and is listed with where it happened (outside any
// step, in a setup step, in the no-op step). A "guest boot" is one QEMU boot (one console log):
// daxlab retries a run once in a fresh boot when the guest dies before any step, so one run can
// have two. The rate is guest boots with >= 1 report / guest boots, with a 95% Wilson score
// interval (computed here). Timings are agent up (helloMs) and first reproducer (firstReproMs),
// ms since QEMU started, p50/p90 over guest boots that got that far. Reports daxlab itself
// labels emulator artifacts (summary schema 2, boots[].artifacts) are counted all the same and
// marked as labelled; "retried" also counts retries daxlab recorded (summary.retries).
// Per-run raw results go to a JSON-lines file as each run ends (default
// results/bench/boot-artifacts-<time>.jsonl); Ctrl-C stops, keeps what finished, prints tables.
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { oneLineSafe } from '../harness/util/errors.ts';
import { benchArgs, daxlabRun, fmtMs, handleInterrupt, isInterrupted, NOOP_SCENARIO, oneOf, pct, pool, positiveInt, quantile, ROOT, stopAfterFailedRun, summaryRelease, summaryRetries, summaryTcgThread, table, wilson, type Report, type RunOutcome, type TcgThread } from './lib/daxrun.ts';

const USAGE = 'usage: npx tsx bench/boot-artifacts.ts --boots N --jobs J --kernel SPEC [--kernel SPEC ...] [--tcg-thread single|multi|both] [--raw FILE]';

const args = benchArgs(USAGE, {
  boots: { type: 'string', default: '10' },
  jobs: { type: 'string', default: '1' },
  kernel: { type: 'string', multiple: true },
  'tcg-thread': { type: 'string', default: 'both' },
  raw: { type: 'string' },
});
const boots = positiveInt('--boots', args.boots);
const jobs = positiveInt('--jobs', args.jobs, 16);
const kernels = args.kernel?.length ? args.kernel : ['debian:6.12'];
const modeArg = oneOf('--tcg-thread', args['tcg-thread'], ['single', 'multi', 'both']);
const modes: TcgThread[] = modeArg === 'both' ? ['single', 'multi'] : [modeArg];
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const rawFile = args.raw ?? join(ROOT, 'results', 'bench', `boot-artifacts-${stamp}.jsonl`);
mkdirSync(dirname(rawFile), { recursive: true });

interface GuestBoot {
  index: number;
  end: string;
  helloMs?: number | undefined;
  firstReproMs?: number | undefined;
  exitMs: number;
  reports: number;
}

/** One line of the raw file per finished run. */
interface RunRecord {
  type: 'run';
  at: string;
  kernel: string;
  release?: string | undefined;
  mode: TcgThread;
  /** summary.accel.tcgThread: what daxlab says it used. */
  accelThread?: string | undefined;
  jobs: number;
  n: number;
  exitCode: number | undefined;
  status?: string | undefined;
  statusReason?: string | undefined;
  steps: { key: string; status: string; reason: string }[];
  guestBoots: GuestBoot[];
  /** More than one guest boot, or retries daxlab recorded. */
  retried: boolean;
  retries: { boot: number; scope: string; reason: string; items: string[] }[];
  failed: boolean;
  reports: Report[];
  wallMs: number;
  stderrTail: string[];
}

function record(kernel: string, mode: TcgThread, n: number, r: RunOutcome): RunRecord {
  const s = r.summary;
  const steps = (s?.steps ?? []).map((st) => ({ key: st.key, status: st.status, reason: st.reason }));
  const guestBoots: GuestBoot[] = (s?.boots ?? []).map((b) => ({
    index: b.index,
    end: b.end,
    helloMs: b.timings.helloMs,
    firstReproMs: b.timings.firstReproMs,
    exitMs: b.timings.exitMs,
    reports: r.reports.filter((x) => x.boot === b.index).length,
  }));
  const failed = r.exitCode !== 0 || s?.status !== 'completed' || steps.length === 0 || steps.some((st) => st.status !== 'pass');
  return {
    type: 'run',
    at: new Date().toISOString(),
    kernel,
    release: summaryRelease(s),
    mode,
    accelThread: summaryTcgThread(s),
    jobs,
    n,
    exitCode: r.exitCode,
    status: s?.status,
    statusReason: s?.statusReason,
    steps,
    guestBoots,
    retried: summaryRetries(s) > 0,
    retries: s?.retries ?? [],
    failed,
    reports: r.reports,
    wallMs: r.wallMs,
    stderrTail: r.stderrTail,
  };
}

// Round-robin over (kernel, mode) so slow drift (thermal, other users) hits every combination.
const tasks: { kernel: string; mode: TcgThread; n: number }[] = [];
for (let n = 1; n <= boots; n++) for (const kernel of kernels) for (const mode of modes) tasks.push({ kernel, mode, n });

const records: RunRecord[] = [];
const sec = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);
appendFileSync(rawFile, JSON.stringify({ type: 'meta', at: new Date().toISOString(), argv: process.argv.slice(2), boots, jobs, kernels, modes, hostCpus: cpus().length, loadavg: loadavg() }) + '\n');
process.stderr.write(`boot-artifacts: ${tasks.length} runs (${boots} per kernel x mode), ${jobs} at a time; host ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}\nraw results: ${relative(process.cwd(), rawFile) || rawFile}\n`);
handleInterrupt(() => process.stderr.write('bench: interrupted; tables below cover the runs that finished\n'));

let done = 0;
const t0 = Date.now();
await pool(tasks, jobs, async (t) => {
  const r = await daxlabRun({ scenarios: [NOOP_SCENARIO], kernel: t.kernel, tcgThread: t.mode });
  if (r.interrupted) return;
  if (!r.summary) return stopAfterFailedRun(r);
  const rec = record(t.kernel, t.mode, t.n, r);
  records.push(rec);
  appendFileSync(rawFile, JSON.stringify(rec) + '\n');
  done++;
  const last = rec.guestBoots[rec.guestBoots.length - 1];
  const bad = rec.steps.find((st) => st.status !== 'pass');
  const why = bad ? `${bad.status}: ${bad.reason}` : (rec.statusReason ?? (rec.stderrTail.join(' | ') || `exit ${rec.exitCode}`));
  const verdict = rec.failed ? `FAILED (${why})` : 'pass';
  const reps = rec.reports.length ? `, ${rec.reports.length} report(s): ${[...new Set(rec.reports.map((x) => `${x.title} [${x.where}]${x.daxlabArtifact ? ` (daxlab: ${x.daxlabArtifact})` : ''}`))].join('; ')}` : ', 0 reports';
  const mismatch = rec.accelThread !== undefined && rec.accelThread !== t.mode ? ` (summary says thread=${rec.accelThread}!)` : '';
  process.stderr.write(
    oneLineSafe(`[${done}/${tasks.length}] ${t.kernel} ${t.mode}${mismatch} j${jobs} #${t.n}: ${verdict}, ${rec.guestBoots.length} guest boot${rec.guestBoots.length === 1 ? '' : 's'}${rec.retried ? ' (retried)' : ''}, ` +
      `agent up ${sec(last?.helloMs)}, first repro ${sec(last?.firstReproMs)}, total ${sec(last?.exitMs)}${reps}  (${sec(rec.wallMs)} wall)`) + '\n',
  );
});

// --- tables -------------------------------------------------------------------------------------
const groups = new Map<string, RunRecord[]>();
for (const k of kernels) for (const m of modes) groups.set(`${k}\u0000${m}`, []);
for (const r of records) groups.get(`${r.kernel}\u0000${r.mode}`)?.push(r);

const rows: string[][] = [];
const titleLines: string[] = [];
for (const [key, rs] of groups) {
  const [kernel = '', mode = ''] = key.split('\u0000');
  const gb = rs.flatMap((r) => r.guestBoots);
  const withReport = gb.filter((b) => b.reports > 0).length;
  const ci = wilson(withReport, gb.length);
  const hello = gb.map((b) => b.helloMs).filter((x): x is number => x !== undefined);
  const repro = gb.map((b) => b.firstReproMs).filter((x): x is number => x !== undefined);
  rows.push([
    kernel,
    mode,
    String(jobs),
    String(rs.length),
    String(gb.length),
    String(withReport),
    gb.length ? pct(withReport / gb.length) : '-',
    gb.length ? `${pct(ci.lo)}-${pct(ci.hi)}` : '-',
    String(rs.filter((r) => r.retried).length),
    String(rs.filter((r) => r.failed).length),
    fmtMs(quantile(hello, 0.5)),
    fmtMs(quantile(hello, 0.9)),
    fmtMs(quantile(repro, 0.5)),
    fmtMs(quantile(repro, 0.9)),
  ]);
  const titles = new Map<string, { n: number; kind: string; where: Set<string>; labelled: number }>();
  for (const rep of rs.flatMap((r) => r.reports)) {
    const t = titles.get(rep.title) ?? { n: 0, kind: rep.kind, where: new Set<string>(), labelled: 0 };
    t.n++;
    if (rep.daxlabArtifact) t.labelled++;
    t.where.add(rep.where);
    titles.set(rep.title, t);
  }
  titleLines.push(`${kernel} thread=${mode} jobs=${jobs}: ${titles.size ? '' : 'no reports'}`);
  for (const [title, t] of [...titles].sort((a, b) => b[1].n - a[1].n)) titleLines.push(`  ${String(t.n).padStart(4)}x  ${oneLineSafe(`${title}  [${t.kind}] in ${[...t.where].join(', ')}${t.labelled ? `; ${t.labelled} labelled emulator artifact by daxlab` : ''}`)}`);
}

process.stdout.write(`\nboot artifacts: ${records.length} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s, jobs=${jobs}, host ${cpus().length} CPUs, load now ${loadavg().map((x) => x.toFixed(2)).join(' ')}${isInterrupted() ? ' (interrupted)' : ''}\n\n`);
process.stdout.write(
  table(['kernel', 'thread', 'jobs', 'runs', 'boots', 'w/report', 'rate', '95% CI (Wilson)', 'retried', 'failed', 'up p50', 'up p90', 'repro p50', 'repro p90'], rows) + '\n',
);
process.stdout.write('(boots = guest boots, one console log each; up/repro = agent up / first reproducer, ms since QEMU start; retried/failed count runs)\n\n');
process.stdout.write('report titles:\n' + titleLines.join('\n') + '\n');
process.stdout.write(`\nraw: ${relative(process.cwd(), rawFile) || rawFile}\n`);
if (isInterrupted()) process.exitCode = 130;
