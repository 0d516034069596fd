// Shared by the boot benchmarks: their command line (options, --help, usage errors), run
// `daxlab run` as a child process into a private temp dir, read back its summary and console
// logs, and small statistics (Wilson interval, quantiles).
import { mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { execa, type ResultPromise } from 'execa';
import { parseConsoleText, type Finding } from '../../harness/console/parser.ts';
import { quantile } from '../../harness/stats/summary.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DAXLAB = join(ROOT, 'bin', 'daxlab.js');
export const NOOP_SCENARIO = join(ROOT, 'bench', 'noop');

export type TcgThread = 'single' | 'multi';

/** A kernel report in a console log, with where it happened. */
export interface Report {
  boot: number;
  log: string;
  line: number;
  kind: string;
  title: string;
  corrupted: boolean;
  /** Agent step id, undefined outside any step. */
  step?: number;
  /** 'outside steps', 'setup: mkfs ext4', or 'step N: <work item>' */
  where: string;
  /** Rule id when daxlab itself labelled this report an emulator artifact (schema 2). */
  daxlabArtifact?: string;
}

export interface RunOutcome {
  exitCode: number | undefined;
  signal: string | undefined;
  /** The bench interrupted this run (Ctrl-C): not a measurement. */
  interrupted: boolean;
  wallMs: number;
  summary: BenchSummary | undefined;
  reports: Report[];
  /** Last lines of daxlab's stderr when it failed. */
  stderrTail: string[];
}

// --- command line -------------------------------------------------------------------------------

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;
type BenchArgsConfig<O extends OptionsConfig> = { options: O & typeof HELP; strict: true; allowPositionals: false };
/** What parseArgs gives for `options` (plus -h/--help), strict, no positionals. */
export type BenchValues<O extends OptionsConfig> = ReturnType<typeof parseArgs<BenchArgsConfig<O>>>['values'];

let usageText: string | undefined;

/**
 * Parse the bench's options (strict, no positionals, plus -h/--help): --help prints `usage` and
 * exits 0; a parse error goes to die(), which from now on prints `usage` too.
 */
export function benchArgs<const O extends OptionsConfig>(usage: string, options: O): BenchValues<O> {
  usageText = usage;
  const config: BenchArgsConfig<O> = { options: { ...options, ...HELP }, strict: true, allowPositionals: false };
  let values: BenchValues<O>;
  try {
    ({ values } = parseArgs(config));
  } catch (e) {
    return die((e as Error).message);
  }
  if ('help' in values && values.help === true) {
    process.stdout.write(usage + '\n');
    process.exit(0);
  }
  return values;
}

/** A command-line error: the message and the usage to stderr, exit 2. */
export function die(msg: string): never {
  process.stderr.write(`${msg}\n${usageText !== undefined ? `${usageText}\n` : ''}`);
  process.exit(2);
}

/** `value` of `flag` as an integer >= 1 (and <= max if given), or die(). */
export function positiveInt(flag: string, value: string, max?: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || (max !== undefined && n > max)) die(`${flag} must be ${max === undefined ? 'a positive integer' : `1..${max}`}, got '${value}'`);
  return n;
}

/** `value` of `flag` if it is one of `choices`, or die(). */
export function oneOf<const C extends readonly string[]>(flag: string, value: string, choices: C): C[number] {
  const choice = choices.find((c) => c === value);
  if (choice !== undefined) return choice;
  const list = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}` : choices.join('');
  return die(`${flag} must be ${list}, got '${value}'`);
}

// --- summary.json, as far as the benches read it ------------------------------------------
// Declared here rather than imported from harness/results/types.ts so the benches read both
// schema 1 (one `kernel` and `accel`) and schema 2 (`kernels[]`, each with its accel, and
// `retries`, `boots[].artifacts`).

export interface BenchBoot {
  index: number;
  end: string;
  timings: { helloMs?: number; firstReproMs?: number; exitMs: number };
  setup: { n: number; label: string }[];
  items: string[];
  /** Schema 2: reports daxlab itself labelled emulator artifacts (and retried). */
  artifacts?: { rule: string; title: string; line: number; step?: number | undefined }[];
}

export interface BenchStep {
  key: string;
  scenario: string;
  status: string;
  reason: string;
  durationMs: number;
  samples: Record<string, { unit: string; values: number[] }>;
  metrics: Record<string, { unit: string; value: number }>;
}

export interface BenchSummary {
  schema?: number;
  status: string;
  statusReason?: string;
  kernel?: { release?: string };
  accel?: { accel?: string; tcgThread?: string };
  kernels?: { release?: string; accel?: { accel?: string; tcgThread?: string } }[];
  boots: BenchBoot[];
  steps: BenchStep[];
  retries?: { boot: number; scope: string; reason: string; items: string[] }[];
}

export function summaryRelease(s: BenchSummary | undefined): string | undefined {
  return s?.kernel?.release ?? s?.kernels?.[0]?.release;
}

/** The TCG threading daxlab says it used (summary.accel or the run's kernels[].accel). */
export function summaryTcgThread(s: BenchSummary | undefined): string | undefined {
  return s?.accel?.tcgThread ?? s?.kernels?.[0]?.accel?.tcgThread;
}

/** Guest boots after the first, or retries daxlab recorded (schema 2 also retries single steps). */
export function summaryRetries(s: BenchSummary | undefined): number {
  if (!s) return 0;
  // Schema 2 records each retry; with -j, more boots than one is no retry. Schema 1: extra boots.
  return s.retries !== undefined ? s.retries.length : s.boots.length - 1;
}

// --- temp dirs and child processes, cleaned up on exit and on Ctrl-C -----------------------

const children = new Set<ResultPromise>();
const tempDirs = new Set<string>();
let interrupted = false;
let stopped = false;
let onInterrupt: (() => void) | undefined;

export function isInterrupted(): boolean {
  return interrupted;
}

/** Start no more runs (pool() returns once the running ones end). */
export function stopStarting(): void {
  stopped = true;
}

/**
 * A run without summary.json: bad input (daxlab exit 2: kernel spec, scenario, option) or daxlab
 * itself crashed. Not a result, and every later run would go the same way: say so, start no more
 * runs (stopStarting()) and set the exit code (2 for bad input, else 1).
 */
export function stopAfterFailedRun(r: RunOutcome): void {
  process.stderr.write(`daxlab ${r.exitCode === 2 ? 'rejected the run' : 'failed without writing a summary'} (exit ${r.exitCode ?? r.signal}); stopping:\n  ${r.stderrTail.join('\n  ')}\n`);
  stopStarting();
  process.exitCode = r.exitCode === 2 ? 2 : 1;
}

/** Ctrl-C: stop starting runs, let the running ones end (daxlab kills its QEMU), then `fn`. */
export function handleInterrupt(fn: () => void): void {
  onInterrupt = fn;
}

function removeTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', removeTempDirs);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) {
      // Second signal: do not wait for the children any longer.
      for (const c of children) c.kill('SIGKILL');
      removeTempDirs();
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}: waiting for ${children.size} running guest(s) to stop (again to force)\n`);
    // A terminal's Ctrl-C reaches the children already; a signal sent to us alone does not.
    for (const c of children) c.kill('SIGINT');
    onInterrupt?.();
  });
}

export function makeTempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

export function removeTempDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
}

// --- one daxlab run --------------------------------------------------------------------------

export interface RunOptions {
  scenarios: string[];
  kernel: string;
  tcgThread: TcgThread;
  /** Extra `daxlab run` options (one guest at a time unless these say `-j`: the last one wins). */
  extra?: string[];
}

/** `daxlab run SCENARIO... --accel tcg --tcg-thread M --out TMP`; the temp dir is gone afterwards. */
export async function daxlabRun(o: RunOptions): Promise<RunOutcome> {
  const tmp = makeTempDir('daxlab-bench-');
  const out = join(tmp, 'run');
  const t0 = Date.now();
  const child = execa('node', [DAXLAB, 'run', ...o.scenarios, '--kernel', o.kernel, '--accel', 'tcg', '--tcg-thread', o.tcgThread, '--out', out, '-j', '1', ...(o.extra ?? [])], {
    cwd: ROOT,
    reject: false,
    stdin: 'ignore',
    maxBuffer: 64 * 1024 * 1024,
  });
  children.add(child);
  try {
    const r = await child;
    const wallMs = Date.now() - t0;
    const summary = await readSummary(out);
    const reports = summary ? await consoleReports(out, summary) : [];
    await keepConsoles(out, reports);
    const stderr = typeof r.stderr === 'string' ? r.stderr : '';
    return {
      exitCode: r.exitCode,
      signal: r.signal,
      // Stopped by our Ctrl-C, not finished: a run that completed just before it still counts.
      interrupted: interrupted && !(r.exitCode === 0 || summary?.status === 'completed'),
      wallMs,
      summary,
      reports,
      stderrTail: r.exitCode === 0 ? [] : errorLines(stderr, summary ? 3 : 12),
    };
  } finally {
    children.delete(child);
    removeTempDir(tmp);
  }
}

const KEPT_CONSOLES = join(ROOT, 'results', 'bench', 'consoles');

/** Console logs with a kernel report outlive the temp dir: they are the evidence (and test data). */
async function keepConsoles(out: string, reports: Report[]): Promise<void> {
  const logs = [...new Set(reports.map((r) => r.log))];
  if (logs.length === 0) return;
  await mkdir(KEPT_CONSOLES, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '');
  for (const l of logs) await copyFile(join(out, l), join(KEPT_CONSOLES, `${stamp}-${basename(dirname(out))}-${l}`)).catch(() => undefined);
}

/** The first error line (a crash's message) and the last few lines of stderr. */
function errorLines(stderr: string, tail: number): string[] {
  const lines = stderr.split('\n').filter((l) => l.trim());
  const first = lines.find((l) => /\b(?:Error|error)\b|^daxlab: /.test(l));
  const last = lines.slice(-tail);
  return first !== undefined && !last.includes(first) ? [first, '...', ...last] : last;
}

async function readSummary(dir: string): Promise<BenchSummary | undefined> {
  const text = await readFile(join(dir, 'summary.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const s = JSON.parse(text) as BenchSummary;
  return Array.isArray(s.boots) && Array.isArray(s.steps) ? s : undefined;
}

/** Every kernel report in every console-N.log of the run, attributed to setup/repro steps. */
export async function consoleReports(dir: string, summary: BenchSummary): Promise<Report[]> {
  const logs = (await readdir(dir)).filter((n) => /^console-\d+\.log$/.test(n));
  logs.sort((a, b) => bootOfLog(a) - bootOfLog(b));
  const out: Report[] = [];
  for (const log of logs) {
    const bootIndex = bootOfLog(log);
    const boot = summary.boots.find((b) => b.index === bootIndex);
    const text = await readFile(join(dir, log), 'latin1');
    for (const f of parseConsoleText(text)) out.push(toReport(f, bootIndex, log, boot));
  }
  return out;
}

function bootOfLog(name: string): number {
  return Number(/(\d+)/.exec(name)?.[1] ?? 0);
}

function toReport(f: Finding, boot: number, log: string, rec: BenchBoot | undefined): Report {
  let where = 'outside steps';
  if (f.step !== undefined) {
    const setup = rec?.setup.find((s) => s.n === f.step);
    // Agent step ids number setup and reproducer steps together; setup ones are in the record.
    where = setup ? `setup: ${setup.label}` : `step ${f.step}${rec?.items.length === 1 ? `: ${rec.items[0]}` : ''}`;
  }
  const r: Report = { boot, log, line: f.line, kind: f.kind, title: f.title, corrupted: f.corrupted, where };
  if (f.step !== undefined) r.step = f.step;
  const labelled = rec?.artifacts?.find((a) => a.line === f.line);
  if (labelled) r.daxlabArtifact = labelled.rule;
  return r;
}

// --- statistics --------------------------------------------------------------------------------

/** Wilson score interval for k successes in n trials (95% by default). */
export function wilson(k: number, n: number, z = 1.959964): { lo: number; hi: number } {
  if (n === 0) return { lo: 0, hi: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

export { quantile };

export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function fmtMs(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x)) : '-';
}

/** Plain text table, columns padded; numbers right-aligned. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+(?:%| ms| s)?$|^-$/.test(r[i] ?? '')));
  const cell = (s: string, i: number): string => (numeric[i] ? s.padStart(w[i] ?? 0) : s.padEnd(w[i] ?? 0));
  const line = (r: string[]): string => r.map((c, i) => cell(c, i)).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/** A small worker pool: `jobs` tasks at a time, in order, until the list ends, Ctrl-C or stopStarting(). */
export async function pool<T>(tasks: T[], jobs: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!interrupted && !stopped && next < tasks.length) {
      const i = next++;
      await fn(tasks[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
}
