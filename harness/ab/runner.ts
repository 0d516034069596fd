// `daxlab ab` over the engine: prepare base and patched kernels, run interleaved boots one at a
// time into one run directory (events.jsonl like any run), compare, extend while inconclusive
// within the budget, and bisect a regressing series on its patch index. ab.json is rewritten after
// every comparison, so an interrupted A/B keeps what it concluded so far.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execute } from '../engine/execute.ts';
import { compileScenarios, itemRecord, kernelRecord, nameKernelSpecs, prepareKernel } from '../engine/prepare.ts';
import type { RunRecorder } from '../engine/recorder.ts';
import type { GuestSettings, PreparedKernel, ProgressFn } from '../engine/types.ts';
import { ensureHostTools } from '../host/tools.ts';
import { QBOOT } from '../engine/boot.ts';
import { buildKernel, loadBuildSpecFile } from '../kernel/build.ts';
import type { BuildSpec } from '../kernel/buildspec.ts';
import { parsePatchRef } from '../kernel/buildspec.ts';
import { expandPatches } from '../kernel/patches.ts';
import { patchSubject, splitMbox } from '../kernel/series.ts';
import { resolveKernel } from '../kernel/resolve.ts';
import { parseKernelSpec } from '../kernel/spec.ts';
import type { Kernel } from '../kernel/types.ts';
import { ICOUNT_SHIFT, type Accel, type TcgThread } from '../qemu/args.ts';
import type { RunSummary } from '../results/types.ts';
import { startRecording } from '../run/runner.ts';
import { mergeMonitors, type MonitorRequest } from '../monitor/spec.ts';
import { resolveScenarios } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { UserError } from '../util/errors.ts';
import { registerTempDir } from '../util/cleanup.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { nextBisectStep, stepOutcome, type BisectState } from './bisect.ts';
import { compareSlots } from './collect.ts';
import { blockOrder, blocksFor, slotItems, slotsFor, type Slot } from './design.ts';
import { rng } from './stats.ts';
import { pct } from './table.ts';
import { AB_SCHEMA, type AbComparison, type AbKernel, type AbReport, type AbSettings, type Bisection, type SeriesPatch } from './types.ts';
import type { WorkItem } from '../plan/plan.ts';

export const AB_FILE = 'ab.json';
/** Without scenario arguments: the measurement the 2018 thread made. */
export const AB_DEFAULT_SCENARIOS = ['truncate-latency'];

export interface AbOptions {
  base: string;
  /** The patched side as a kernel spec; or `series` (base + these patches); or neither with `aa`. */
  patched?: string | undefined;
  series?: string | undefined;
  aa: boolean;
  scenarioArgs: string[];
  bootsPerSide: number;
  /** Measured repetitions per boot (plus one warm-up); default: each scenario's own. */
  repetitions?: number | undefined;
  settings: AbSettings;
  budgetMs?: number | undefined;
  bisect: boolean;
  outDir?: string | undefined;
  accel: Accel | 'auto';
  tcgThread: TcgThread;
  guest: GuestSettings;
  command: string[];
  progress: ProgressFn;
  signal?: AbortSignal | undefined;
  onRecording?: (() => void) | undefined;
  /** Kernel-side monitors on top of the scenarios' own (--monitor): their metrics get verdicts of their own. */
  monitors?: MonitorRequest | undefined;
}

export interface AbResult {
  dir: string;
  report: AbReport;
  summary: RunSummary;
  status: 'completed' | 'interrupted' | 'failed';
  writeError?: string | undefined;
}

/** A series as single patches with their subjects (an mbox of N messages is N patches). */
interface SplitPatch extends SeriesPatch {
  text: string;
}

async function splitSeries(path: string): Promise<SplitPatch[]> {
  const scratch: string[] = [];
  try {
    const files = await expandPatches([parsePatchRef(path, process.cwd())], async () => {
      const d = await mkdtemp(join(tmpdir(), 'daxlab-ab-'));
      registerTempDir(d);
      scratch.push(d);
      return d;
    });
    const out: SplitPatch[] = [];
    for (const f of files) {
      const parts = f.kind === 'mbox' ? splitMbox(f.text) : [f.text];
      for (const [i, text] of parts.entries()) {
        const label = f.label.startsWith('/') ? relative(process.cwd(), f.label) : f.label;
        out.push({ index: out.length + 1, subject: patchSubject(text, label), file: parts.length > 1 ? `${label} [${i + 1}/${parts.length}]` : label, text });
      }
    }
    if (out.length === 0) throw new UserError(`--series ${path}: no patches`);
    return out;
  } finally {
    for (const d of scratch) await rm(d, { recursive: true, force: true });
  }
}

async function baseBuildSpec(spec: string): Promise<BuildSpec> {
  const p = parseKernelSpec(spec);
  if (p.kind === 'build-file') return loadBuildSpecFile(p.path);
  if (p.kind === 'build') return p.build;
  throw new UserError(`--series needs a source-built --base (a kernel spec .yaml or source=...), not '${spec}': a prebuilt kernel cannot be patched`);
}

const abKernel = (pk: PreparedKernel): AbKernel => ({ name: pk.name, spec: pk.kernel.spec, release: pk.kernel.release, identity: pk.kernel.identity });

export async function runAb(o: AbOptions): Promise<AbResult> {
  const log = (text: string): void => o.progress({ kind: 'line', text });
  const signal = o.signal ?? new AbortController().signal;
  if (!o.patched && !o.series && !o.aa) throw new UserError('ab needs --patched SPEC, --series PATH, or --aa');
  // Bad input first, cheapest first: scenarios, specs, the series; then compile; then kernels.
  const scenarios = (await resolveScenarios(o.scenarioArgs.length ? o.scenarioArgs : AB_DEFAULT_SCENARIOS)).map((s) => ({ ...s, monitors: mergeMonitors(s.monitors, o.monitors) }));
  for (const s of scenarios) if (s.ownBoot) throw new UserError(`${s.file}: scenario ${s.id} tears the guest's devices down (own_boot) and cannot share a boot with repetitions; it cannot be A/B-timed`);
  const names = o.aa ? [{ name: 'A', spec: o.base }, { name: 'A2', spec: o.base }] : nameKernelSpecs([`base=${o.base}`, `patched=${o.patched ?? `${o.base}+series`}`]);
  parseKernelSpec(o.base);
  if (o.patched) parseKernelSpec(o.patched);
  const baseSpec = o.series ? await baseBuildSpec(o.base) : undefined;
  const series = o.series ? await splitSeries(o.series) : [];
  await ensureHostTools(['qemu-system-x86_64'], o.guest.firmware === 'seabios' ? [] : [QBOOT], log);
  const binaries = await compileScenarios(scenarios, log);
  const binaryNames = new Map([...binaries].map(([id, b]) => [id, b.name]));

  const buildPrefix = async (k: number, label: string, patchFiles: string[]): Promise<Kernel> => {
    if (!baseSpec || !o.series) throw new Error('no series');
    const patches = k === series.length && patchFiles.length === 0 ? [parsePatchRef(o.series, process.cwd())] : patchFiles.map((f) => parsePatchRef(f, process.cwd()));
    return (await buildKernel({ ...baseSpec, patches: [...baseSpec.patches, ...patches] }, label, log)).kernel;
  };
  const prepOpts = { accel: o.accel, tcgThread: o.tcgThread, entry: o.guest.entry, log };
  const [na, nb] = names as [{ name: string; spec: string }, { name: string; spec: string }];
  const baseK = await resolveKernel(o.base, log);
  const patchedK = o.aa ? baseK : o.patched ? await resolveKernel(o.patched, log) : await buildPrefix(series.length, `${o.base} + ${o.series}`, []);
  const A = await prepareKernel(na.name, na.spec, prepOpts, baseK);
  const B = await prepareKernel(nb.name, patchedK.spec, prepOpts, patchedK);
  if (A.accel.accel !== B.accel.accel) throw new Error(`base and patched kernels got different accelerators (${A.accel.accel} vs ${B.accel.accel}): a timing comparison across them means nothing`);

  // Under TCG the A/B default clock is icount: host speed is no part of what is compared.
  const clock = A.accel.accel === 'tcg' ? (o.guest.clock ?? 'icount') : 'host';
  if (o.guest.clock === 'icount' && clock !== 'icount') log(`--clock icount needs TCG; ${A.accel.accel} guests use the host clock`);
  const guest: GuestSettings = { ...o.guest, clock };
  log(`guest clock: ${clock === 'icount' ? `icount (virtual time, ${2 ** ICOUNT_SHIFT} ns per instruction: timings count the work done, not the host's speed)` : 'host wall time'}`);
  const rec = await startRecording({ outDir: o.outDir, command: o.command, scenarios, guest, concurrency: 1 });
  o.onRecording?.();
  log(`results: ${rec.dir}`);
  const kernels: PreparedKernel[] = [A, B];
  for (const pk of kernels) rec.emit({ type: 'kernel-ready', kernel: kernelRecord(pk), phases: pk.phases });
  const t0 = Date.now();
  const rand = rng(o.settings.seed);
  const reps = (s: Scenario): number => o.repetitions ?? s.repetitions;
  const better = Object.fromEntries(scenarios.map((s) => [s.id, s.metricBetter]));
  const items: WorkItem[] = [];
  let nextSlot = 1;
  const comparisons: AbComparison[] = [];
  let bisection: Bisection | undefined;
  let status: AbResult['status'] = 'completed';
  let reason = '';

  const report = (): AbReport => {
    const main = comparisons[0];
    const exitCode: 0 | 1 = main?.outcome === 'regression' ? 1 : 0;
    return {
      schema: AB_SCHEMA,
      runId: rec.summary.runId,
      createdAt: new Date().toISOString(),
      command: o.command,
      settings: { ...o.settings, bootsPerSide: o.bootsPerSide, repetitions: Object.fromEntries(scenarios.map((s) => [s.id, reps(s)])), warmup: 1, budgetMs: o.budgetMs ?? null, design: 'ABBA/BAAB blocks, seeded' },
      accel: { accel: A.accel.accel, ...(A.accel.accel === 'tcg' ? { tcgThread: o.tcgThread } : {}), clock },
      guest: { cpus: o.guest.cpus, memBytes: o.guest.memBytes },
      series: series.map(({ index, subject, file }) => ({ index, subject, file })),
      comparisons,
      ...(bisection ? { bisection } : {}),
      exitCode,
      verdict: verdictLine(comparisons[0], bisection, status, reason),
    };
  };
  const writeReport = (): void => {
    const file = rec.path(AB_FILE);
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(report(), null, 2) + '\n');
      renameSync(`${file}.tmp`, file);
    } catch (e) {
      rec.noteWriteError(`writing ${file}: ${(e as Error).message}`);
    }
  };

  /** One A/B comparison: initial blocks, then one more block at a time while inconclusive and within budget. */
  const compare = async (id: string, a: PreparedKernel, b: PreparedKernel): Promise<AbComparison | undefined> => {
    const tc = Date.now();
    const slots: Slot[] = [];
    const addBlocks = (n: number): void => {
      const more = slotsFor(blockOrder(n, rand), nextSlot, a.name, b.name);
      nextSlot += more.length;
      slots.push(...more);
      const its = slotItems(more, scenarios, binaryNames, reps);
      items.push(...its);
      rec.emit({ type: 'items-planned', items: its.map(itemRecord) });
    };
    addBlocks(blocksFor(o.bootsPerSide));
    log(`A/B ${id}: ${a.name} vs ${b.name}, ${slots.length} boots (${slots.map((s) => s.side).join('')}), one at a time`);
    let ran = 0;
    for (;;) {
      const tb = Date.now();
      const fresh = slots.length - ran;
      ran = slots.length;
      const r = await execute({ rec, kernels, items, scenarios, binaries, guest, concurrency: 1, signal, progress: o.progress, stopOnDeadKernel: true });
      const cmp = compareSlots({ id, summary: rec.summary, a: abKernel(a), b: abKernel(b), slots, settings: o.settings, better, wallMs: Date.now() - tc });
      const i = comparisons.findIndex((c) => c.id === id);
      if (i >= 0) comparisons[i] = cmp;
      else comparisons.push(cmp);
      writeReport();
      if (r.cancelled) {
        status = 'interrupted';
        reason = String(signal.reason ?? 'cancelled');
        return undefined;
      }
      if (r.failure) {
        status = 'failed';
        // Seen here: Debian's 6.1 hangs bringing up its second CPU under icount.
        reason = clock === 'icount' && /did not boot|before running any step/.test(r.failure) ? `${r.failure} (with --clock icount; some kernels do not boot that way: try --clock host)` : r.failure;
        return undefined;
      }
      const open = cmp.metrics.filter((m) => m.verdict === 'inconclusive' && m.better !== 'none');
      const perBlock = ((Date.now() - tb) / Math.max(1, fresh)) * 4;
      if (!o.budgetMs || open.length === 0 || cmp.outcome === 'regression') return cmp;
      if (Date.now() - tc + perBlock > o.budgetMs) {
        log(`A/B ${id}: ${open.length} metric(s) still inconclusive; the budget does not allow another block (~${Math.round(perBlock / 1000)} s)`);
        return cmp;
      }
      log(`A/B ${id}: ${open.length} metric(s) inconclusive (${open.slice(0, 3).map((m) => m.key).join(', ')}${open.length > 3 ? ', ...' : ''}); adding a block of 4 boots`);
      addBlocks(1);
    }
  };

  try {
    const main = await compare('main', A, B);
    if (main && main.outcome === 'regression' && o.series && o.bisect) {
      const seriesDir = rec.path('series');
      mkdirSync(seriesDir, { recursive: true });
      const files = series.map((p) => {
        const f = join(seriesDir, `${String(p.index).padStart(4, '0')}.patch`);
        writeFileSync(f, p.text);
        return f;
      });
      const targets = {
        metrics: main.metrics.filter((m) => m.verdict === 'regression').map((m) => m.key),
        findings: main.newFindings.map((f) => f.title),
        failures: main.newFailures.map((f) => f.item),
      };
      let st: BisectState = { good: 0, bad: series.length, steps: [] };
      const done = (b: Bisection): void => {
        bisection = b;
        writeReport();
      };
      done(bisectionOf(st, targets, series, 'bisecting'));
      for (let k = nextBisectStep(st); k !== undefined && status === 'completed'; k = nextBisectStep(st)) {
        log(`bisect: base + patches 1..${k} of ${series.length} (known good ${st.good}, known bad ${st.bad})`);
        let pk: PreparedKernel;
        try {
          const kernel = await buildPrefix(k, `${o.base} + ${o.series} [1..${k}]`, files.slice(0, k));
          pk = await prepareKernel(`k${k}`, kernel.spec, prepOpts, kernel);
        } catch (e) {
          const msg = (e as Error).message.split('\n')[0] ?? '';
          const outcome = msg.startsWith('patch does not apply') ? 'apply-failed' : 'build-failed';
          st = { ...st, steps: [...st.steps, { k, comparison: '', outcome, detail: msg }] };
          break;
        }
        kernels.push(pk);
        rec.emit({ type: 'kernel-ready', kernel: kernelRecord(pk), phases: pk.phases });
        const cmp = await compare(`k${k}`, A, pk);
        if (!cmp) break;
        const out = stepOutcome(cmp, targets);
        st = { good: out.outcome === 'good' ? k : st.good, bad: out.outcome === 'bad' ? k : st.bad, steps: [...st.steps, { k, comparison: cmp.id, ...out }] };
        done(bisectionOf(st, targets, series, 'bisecting'));
        if (out.outcome === 'inconclusive') break;
      }
      done(bisectionOf(st, targets, series, status === 'completed' ? 'done' : status));
    }
  } catch (e) {
    status = 'failed';
    reason = `internal error: ${(e as Error).message}`;
    throw e;
  } finally {
    rec.emit({ type: 'run-ended', status, reason: reason || verdictLine(comparisons[0], bisection, status, reason), phases: { hostToolsMs: 0, compileMs: 0, totalMs: Date.now() - t0 } });
    writeReport();
    rec.writeSummary();
    rec.close();
  }
  return { dir: rec.dir, report: report(), summary: rec.summary, status, writeError: rec.writeError };
}

function bisectionOf(st: BisectState, targets: { metrics: string[]; findings: string[]; failures: string[] }, series: SeriesPatch[], phase: string): Bisection {
  const last = st.steps.at(-1);
  const stopped = last && last.outcome !== 'good' && last.outcome !== 'bad';
  const found = st.bad - st.good === 1;
  const culpritPatch = series[st.bad - 1];
  const culpritCmp = st.bad === series.length ? 'main' : (st.steps.find((s) => s.k === st.bad)?.comparison ?? '');
  const status: Bisection['status'] = found ? 'found' : stopped || phase !== 'bisecting' ? (last && /failed/.test(last.outcome) ? 'failed' : 'inconclusive') : 'inconclusive';
  const reason = found
    ? `first bad patch: ${st.bad} of ${series.length}`
    : stopped
      ? `stopped at k=${last.k}: ${last.outcome}${last.detail ? ` (${last.detail})` : ''}; the culprit is one of patches ${st.good + 1}..${st.bad}`
      : phase === 'bisecting'
        ? `in progress: the culprit is one of patches ${st.good + 1}..${st.bad}`
        : `${phase}: the culprit is one of patches ${st.good + 1}..${st.bad}`;
  return {
    targets: { metrics: targets.metrics, findings: [...targets.findings, ...targets.failures.map((f) => `new failure: ${f}`)] },
    steps: st.steps,
    status,
    ...(found && culpritPatch ? { culprit: { ...culpritPatch, comparison: culpritCmp } } : {}),
    range: { good: st.good, bad: st.bad },
    reason,
  };
}

/** The one line a maintainer reads first. */
export function verdictLine(main: AbComparison | undefined, b: Bisection | undefined, status: string, reason: string): string {
  if (!main || main.boots.a + main.boots.b === 0) return `nothing measured (${status}${reason ? `: ${reason}` : ''})`;
  const reg = main.metrics.filter((m) => m.verdict === 'regression');
  const imp = main.metrics.filter((m) => m.verdict === 'improvement');
  const inc = main.metrics.filter((m) => m.verdict === 'inconclusive' && m.better !== 'none');
  const parts: string[] = [];
  if (reg.length) parts.push(`${reg.length} regression${reg.length > 1 ? 's' : ''} (${reg.slice(0, 2).map((m) => `${m.key} ${m.changePct === null ? '' : pct(m.changePct)}`).join(', ')}${reg.length > 2 ? ', ...' : ''})`);
  if (main.newFindings.length) parts.push(`${main.newFindings.length} new console finding${main.newFindings.length > 1 ? 's' : ''} on ${main.b.name} (${main.newFindings[0]?.title ?? ''})`);
  if (main.newFailures.length) parts.push(`${main.newFailures.length} item(s) failing only on ${main.b.name}`);
  if (imp.length) parts.push(`${imp.length} improvement${imp.length > 1 ? 's' : ''}`);
  if (inc.length) parts.push(`${inc.length} inconclusive`);
  const head = parts.length ? parts.join('; ') : 'no change beyond the threshold';
  const bis = b ? (b.culprit ? `; bisected to patch ${b.culprit.index}: ${b.culprit.subject}` : `; bisection ${b.status}: ${b.reason}`) : '';
  const tail = status !== 'completed' ? ` [${status}${reason ? `: ${reason}` : ''}]` : '';
  return `${head} (${main.boots.a}+${main.boots.b} boots)${bis}${tail}`;
}
