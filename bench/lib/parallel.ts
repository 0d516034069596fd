// What the parallelism benches share (bench/parallel.ts, the JxC matrix, and the `parallel`
// item of `npm run bench`): configs JOBSxGUEST_CPUS, the rotated run order, one run's record
// (steps, statuses, sample counts, the host around it), steps per minute and the content
// comparison against the reference config's run of the same rep.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { oneLineSafe } from '../../harness/util/errors.ts';
import { DAXLAB, median, ROOT, summaryRelease, summaryRetries, summaryTcgThread, type BenchSummary, type RunOutcome } from './daxrun.ts';

/** `daxlab run -j jobs --guest-cpus guestCpus`, labelled `JxC`. */
export interface Config {
  label: string;
  jobs: number;
  guestCpus: number;
}

/** `1x2,2x2` -> configs; a string is the error (not JxC, none, one listed twice). */
export function parseConfigs(text: string): Config[] | string {
  const configs: Config[] = [];
  for (const c of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)x(\d+)$/.exec(c);
    const jobs = Number(m?.[1]);
    const guestCpus = Number(m?.[2]);
    if (!m || jobs < 1 || guestCpus < 1) return `'${c}' is not JOBSxGUEST_CPUS (e.g. 2x1)`;
    configs.push({ label: `${jobs}x${guestCpus}`, jobs, guestCpus });
  }
  if (configs.length === 0) return 'no configs';
  if (new Set(configs.map((c) => c.label)).size !== configs.length) return 'a config is listed twice';
  return configs;
}

export interface Task {
  rep: number;
  /** Position in the rep's (rotated) order, from 0. */
  order: number;
  config: Config;
}

/**
 * Every config once per rep, runs one at a time; the order rotated by one per rep, so drift and
 * cache warmth hit every config alike (with two configs: alternating, A B B A A B ...).
 */
export function rotatedTasks(configs: readonly Config[], reps: number): Task[] {
  const tasks: Task[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (let i = 0; i < configs.length; i++) tasks.push({ rep, order: i, config: configs[(i + rep - 1) % configs.length] as Config });
  }
  return tasks;
}

/** Every id of `daxlab catalog --json`. */
export async function catalogIds(): Promise<string[]> {
  const r = await execa('node', [DAXLAB, 'catalog', '--json'], { cwd: ROOT, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`daxlab catalog --json failed (exit ${r.exitCode}): ${oneLineSafe(String(r.stderr).slice(0, 500))}`);
  const parsed: unknown = JSON.parse(String(r.stdout));
  if (!Array.isArray(parsed)) throw new Error('daxlab catalog --json: not a list');
  return parsed.map((e: unknown) => {
    const id = typeof e === 'object' && e !== null && 'id' in e ? e.id : undefined;
    if (typeof id !== 'string') throw new Error('daxlab catalog --json: an entry without an id');
    return id;
  });
}

// --- what the bench reads beyond BenchSummary (summary.json schema 2) ---------------------------

export interface ParallelSummary extends BenchSummary {
  concurrency?: number;
  guest?: { cpus?: number; memBytes?: number };
  phases?: Record<string, number>;
}

/** Preparation (host tools, kernel, image, accelerator, compile) of a run, ms: every phase but the total. */
export function prepMs(s: ParallelSummary): number | undefined {
  if (!s.phases) return undefined;
  return Object.entries(s.phases).reduce((n, [k, ms]) => (k === 'totalMs' ? n : n + ms), 0);
}

// --- the host around a run --------------------------------------------------------------------

/** QEMU processes on the host right now (between our runs: someone else's). */
export function qemuProcesses(): number {
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
export async function sourceHash(): Promise<string> {
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

export interface StepRecord {
  key: string;
  scenario: string;
  status: string;
  reason: string;
  durationMs: number;
  /** Sample series: unit, how many values, their median. */
  samples: Record<string, { unit: string; n: number; median: number }>;
  metrics: Record<string, { unit: string; value: number }>;
}

export interface RunRecord {
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

export function record(rep: number, order: number, config: Config, kernel: string, r: RunOutcome, host: Omit<RunRecord['host'], 'loadAfter'>): RunRecord {
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

export interface Diff {
  kind: 'status' | 'missing' | 'extra' | 'samples';
  text: string;
}

/** What differs in content between `b` and the reference run `a`: statuses, keys, sample names and counts. */
export function compare(a: RunRecord, b: RunRecord): Diff[] {
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

export function diffSummary(d: Diff[]): string {
  if (d.length === 0) return 'same';
  const count = (k: Diff['kind']): number => d.filter((x) => x.kind === k).length;
  const parts: string[] = [];
  if (count('status')) parts.push(`${count('status')} status`);
  if (count('missing') + count('extra')) parts.push(`${count('missing') + count('extra')} key`);
  if (count('samples')) parts.push(`${count('samples')} samples`);
  return parts.join(', ');
}

/** Steps done per minute of the whole `daxlab run` (preparation included). */
export function perMin(r: Pick<RunRecord, 'wallMs' | 'steps'>): number {
  return r.wallMs > 0 ? r.steps.length / (r.wallMs / 60000) : NaN;
}
