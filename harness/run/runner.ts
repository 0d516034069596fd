// `daxlab run` over the engine: check the input (cheapest first), prepare each kernel its work
// items use once, record the run as events, execute the items, write the views. Cancellation is the
// caller's AbortSignal; nothing here exits the process or installs signal handlers.
import { hostname, cpus as hostCpus, totalmem, release as hostRelease } from 'node:os';
import { relative, join } from 'node:path';
import { execa } from 'execa';
import { autoConcurrency, hostShape } from '../engine/concurrency.ts';
import { execute } from '../engine/execute.ts';
import { compileScenarios, itemRecord, kernelRecord, nameKernelSpecs, prepareKernel, timed } from '../engine/prepare.ts';
import { RunRecorder } from '../engine/recorder.ts';
import { QBOOT } from '../engine/boot.ts';
import type { GuestSettings, PreparedKernel, ProgressFn } from '../engine/types.ts';
import { ensureHostTools } from '../host/tools.ts';
import { loadBuildSpecFile } from '../kernel/build.ts';
import { resolveKernel } from '../kernel/resolve.ts';
import { parseKernelSpec } from '../kernel/spec.ts';
import type { Kernel } from '../kernel/types.ts';
import { workItems, type WorkItem } from '../plan/plan.ts';
import type { Accel, TcgThread } from '../qemu/args.ts';
import { defaultResultsRoot, findRunDir, newRunId } from '../results/store.ts';
import { runOutcome } from '../results/table.ts';
import type { RunPlan, RunSummary } from '../results/types.ts';
import { bootSlots, shardItems } from '../nightly/shard.ts';
import { loadScenarioFile, resolveScenarios } from '../scenario/load.ts';
import { applyOverrides, describeOverrides, hasOverrides, type ScenarioOverrides } from '../scenario/overrides.ts';
import type { Scenario } from '../scenario/schema.ts';
import { UserError } from '../util/errors.ts';
import { hashFile } from '../util/hash.ts';

export interface RunOptions {
  scenarioArgs: string[];
  /** Kernel specs, each optionally `NAME=SPEC`; several kernels make one run. */
  kernels: string[];
  outDir?: string | undefined;
  accel: Accel | 'auto';
  /** TCG vCPU threading (qemu/args.ts TcgThread); ignored under KVM. */
  tcgThread: TcgThread;
  guest: GuestSettings;
  /** Guests at once; auto: as many as host CPUs and free memory allow (engine/concurrency.ts). */
  concurrency: number | 'auto';
  resume?: string | undefined;
  /** Command-line changes to every scenario; a resumed run keeps those it started with. */
  overrides?: ScenarioOverrides | undefined;
  /** A nightly plan's run: its name and hash, boots per kernel, and the shard this run is. */
  plan?: RunPlan | undefined;
  command: string[];
  progress: ProgressFn;
  /** Cancels the run: guests are killed, finished steps stay, the rest is pending for --resume. */
  signal?: AbortSignal | undefined;
  /** Called once the results directory exists, before any guest boots. */
  onRecording?: (() => void) | undefined;
}

export interface RunResult {
  dir: string;
  summary: RunSummary;
  /** Results could not be written completely (disk full...): what is on disk is partial. */
  writeError?: string | undefined;
}

async function qemuVersion(): Promise<string> {
  const r = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  return r.stdout.split('\n')[0] ?? 'unknown';
}

/** A new run directory and its run-started event (host, scenarios, guest shape). */
export async function startRecording(o: { outDir?: string | undefined; command: string[]; scenarios: readonly Scenario[]; guest: GuestSettings; concurrency: number; overrides?: ScenarioOverrides | undefined; plan?: RunPlan | undefined }): Promise<RunRecorder> {
  const runId = newRunId();
  const rec = RunRecorder.create(o.outDir ?? join(defaultResultsRoot(), runId));
  const { guest, scenarios } = o;
  rec.emit({
    type: 'run-started',
    runId,
    command: o.command,
    host: { hostname: hostname(), release: hostRelease(), cpus: hostCpus().length, memBytes: totalmem(), node: process.version, qemu: await qemuVersion() },
    scenarios: await Promise.all(
      scenarios.map(async (s) => ({ id: s.id, title: s.title, file: s.file, reproducer: `${relative(process.cwd(), s.reproducerSource)} sha256:${(await hashFile(s.reproducerSource)).slice(0, 16)}`, allowFindings: s.allowFindings })),
    ),
    guest: { cpus: guest.cpus, memBytes: guest.memBytes, pmemBytes: Math.max(...scenarios.map((s) => s.pmemBytes)), ...(guest.append?.length ? { append: guest.append } : {}), ...(guest.clock === 'icount' ? { clock: 'icount' as const } : {}) },
    concurrency: o.concurrency,
    ...(o.overrides && hasOverrides(o.overrides) ? { overrides: o.overrides } : {}),
    ...(o.plan ? { plan: o.plan } : {}),
  });
  return rec;
}

export async function run(o: RunOptions): Promise<RunResult> {
  const tStart = Date.now();
  const log = (text: string): void => o.progress({ kind: 'line', text });
  const signal = o.signal ?? new AbortController().signal;
  // Everything that can be rejected as bad input is checked before a results dir exists.
  let resumed: RunRecorder | undefined;
  let scenarios: Scenario[];
  let specs: { name: string; spec: string }[];
  let guest = o.guest;
  let tcgThread = o.tcgThread;
  let plan = o.plan;
  if (o.resume) {
    resumed = RunRecorder.open(await findRunDir(o.resume));
    const s = resumed.summary;
    if (s.status === 'completed' && s.pending.length === 0) {
      resumed.close();
      throw new UserError(`run ${s.runId} is already complete`);
    }
    scenarios = applyOverrides(await Promise.all(s.scenarios.map((x) => loadScenarioFile(x.file))), s.overrides ?? {});
    specs = s.kernels.map((k) => ({ name: k.name, spec: k.spec }));
    // A resumed run boots its guests the way the run started.
    guest = { ...o.guest, cpus: s.guest.cpus, memBytes: s.guest.memBytes, append: s.guest.append, clock: s.guest.clock };
    tcgThread = s.kernels[0]?.accel.tcgThread === 'multi' ? 'multi' : 'single';
    plan = s.plan;
  } else {
    scenarios = await resolveScenarios(o.scenarioArgs);
    if (scenarios.length === 0) throw new UserError('no scenarios to run (no arguments and no catalog entry with default: true)');
    scenarios = applyOverrides(scenarios, o.overrides ?? {});
    specs = nameKernelSpecs(o.kernels);
  }
  try {
    // Fail fast, cheapest first: kernel specs, then the reproducers, then prebuilt kernels (a file
    // or one package), and only then source builds, so a C typo never waits for make.
    const phases: Record<string, number> = {};
    const parsed = specs.map((k) => ({ ...k, parsed: parseKernelSpec(k.spec) }));
    for (const k of parsed) if (k.parsed.kind === 'build-file') await loadBuildSpecFile(k.parsed.path);
    await timed(phases, 'hostToolsMs', () => ensureHostTools(['qemu-system-x86_64'], guest.firmware === 'seabios' ? [] : [QBOOT], log));
    // gcc takes a second; a first download of a Debian kernel takes a minute: compile first.
    const binaries = await timed(phases, 'compileMs', () => compileScenarios(scenarios, log));
    // The items first: a shard (a fleet job) prepares only the kernels its items use, so a
    // machine never builds or downloads a kernel it will not boot.
    const binaryNames = new Map([...binaries].map(([id, b]) => [id, b.name]));
    const all = bootSlots(parsed.flatMap((k) => workItems(k.name, scenarios, binaryNames)), plan?.boots ?? 1);
    let items: WorkItem[] = plan?.shard ? shardItems(all, plan.shard) : all;
    if (resumed && plan?.shard) {
      // A resumed shard knows only the kernels it prepared, so the split above saw a smaller
      // matrix: its items are the ones it planned.
      const planned = new Set([...resumed.summary.steps.map((x) => x.key), ...resumed.summary.pending]);
      items = all.filter((i) => planned.has(i.key));
    }
    const used = parsed.filter((k) => items.some((i) => i.kernel === k.name));
    const resolved = new Map<string, Kernel>();
    for (const k of used) if (k.parsed.kind === 'debian' || k.parsed.kind === 'bzimage') resolved.set(k.name, await timed(phases, `${k.name}/kernelMs`, () => resolveKernel(k.spec, log)));
    const kernels: PreparedKernel[] = [];
    for (const k of used) {
      const pk = await prepareKernel(k.name, k.spec, { accel: o.accel, tcgThread, entry: guest.entry, log }, resolved.get(k.name));
      const early = phases[`${k.name}/kernelMs`];
      if (early !== undefined) pk.phases['kernelMs'] = early;
      kernels.push(pk);
    }
    if (resumed) {
      for (const pk of kernels) {
        const was = resumed.summary.kernels.find((k) => k.name === pk.name);
        // e.g. apt now has a newer debian:6.12: half a run on each kernel would compare nothing.
        if (was && JSON.stringify(was.identity) !== JSON.stringify(pk.kernel.identity)) {
          throw new UserError(`cannot resume ${resumed.summary.runId}: kernel ${pk.name} ('${pk.kernel.spec}') now resolves to a different kernel (${JSON.stringify(pk.kernel.identity)}, the run used ${JSON.stringify(was.identity)})`);
        }
      }
    }
    // No kernels: a shard the split left empty (more shards than units); it boots nothing.
    const autoJ = kernels.length ? Math.min(...kernels.map((pk) => autoConcurrency(hostShape(), { accel: pk.accel.accel, tcgThread, cpus: guest.cpus, memBytes: guest.memBytes }))) : 1;
    const concurrency = o.concurrency === 'auto' ? autoJ : o.concurrency;

    let rec: RunRecorder;
    if (resumed) {
      rec = resumed;
      rec.emit({ type: 'run-resumed', command: o.command });
    } else {
      rec = await startRecording({ outDir: o.outDir, command: o.command, scenarios, guest, concurrency, overrides: o.overrides, plan });
    }
    o.onRecording?.();
    for (const pk of kernels) rec.emit({ type: 'kernel-ready', kernel: kernelRecord(pk), phases: pk.phases });
    rec.emit({ type: 'items-planned', items: items.map(itemRecord) });
    const summary = rec.summary;
    if (resumed) log(`resuming ${summary.runId}: ${summary.steps.length} steps done, ${summary.pending.length} to go`);
    log(`results: ${rec.dir}`);
    if (summary.overrides) log(`scenario overrides: ${describeOverrides(summary.overrides)}`);
    log(`up to ${concurrency} guest${concurrency > 1 ? 's' : ''} at once (${guest.cpus} vCPU${guest.cpus > 1 ? 's' : ''} each${o.concurrency === 'auto' ? '; -j to change' : ''})`);

    let status: 'completed' | 'interrupted' | 'failed' = 'completed';
    let reason = '';
    try {
      const r = await execute({ rec, kernels, items, scenarios, binaries, guest, concurrency, signal, progress: o.progress });
      if (r.cancelled) {
        status = 'interrupted';
        const open = rec.view.openSteps();
        reason = `${String(signal.reason ?? 'cancelled')}${open.length ? ` during ${open.join(', ')}` : ''}`;
      } else if (r.failure) {
        status = 'failed';
        reason = r.failure;
      } else {
        reason = outcomeLine(rec.summary);
      }
    } catch (e) {
      status = 'failed';
      reason = `internal error: ${(e as Error).message}`;
      throw e;
    } finally {
      rec.emit({ type: 'run-ended', status, reason, phases: { hostToolsMs: phases['hostToolsMs'] ?? 0, compileMs: phases['compileMs'] ?? 0, totalMs: Date.now() - tStart } });
      rec.writeSummary();
      rec.close();
    }
    return { dir: rec.dir, summary: rec.summary, writeError: rec.writeError };
  } catch (e) {
    resumed?.close();
    throw e;
  }
}

/** `4 steps: 3 pass, 1 hung; 2 boots` — what a nightly report or a person wants first. */
export function outcomeLine(s: Pick<RunSummary, 'steps' | 'boots' | 'findings'>): string {
  const parts = runOutcome(s.steps.map((st) => st.status)).text;
  const findings = s.findings.length ? `; ${s.findings.length} distinct console finding${s.findings.length > 1 ? 's' : ''}` : '';
  return `${s.steps.length} steps: ${parts}; ${s.boots.length} boot${s.boots.length === 1 ? '' : 's'}${findings}`;
}
