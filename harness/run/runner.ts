// `daxlab run`: prepare (reproducers, kernel, image, accelerator), then boot guests until every
// work item has a result. Results are written as each step finishes; a guest that dies mid-step
// costs that step only, and the remaining items run in a fresh boot.
import { hostname, cpus as hostCpus, totalmem, release as hostRelease } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { buildGuestImage } from '../image/initramfs.ts';
import { resolveKernel } from '../kernel/resolve.ts';
import { parseKernelSpec } from '../kernel/spec.ts';
import { loadBuildSpecFile } from '../kernel/build.ts';
import type { Kernel } from '../kernel/types.ts';
import { nextBootBatch, planBoot, workItems, type WorkItem } from '../plan/plan.ts';
import { chooseAccel } from '../qemu/accel.ts';
import type { Accel, TcgThread } from '../qemu/args.ts';
import type { GuestOutcome } from '../qemu/guest.ts';
import { compileReproducer } from '../repro/compile.ts';
import { defaultResultsRoot, findRunDir, newRunId, ResultsStore } from '../results/store.ts';
import { SUMMARY_SCHEMA, type RunSummary } from '../results/types.ts';
import { loadScenarioFile, resolveScenarios } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { setInterruptHandler } from '../util/cleanup.ts';
import { UserError } from '../util/errors.ts';
import { hashFile } from '../util/hash.ts';
import { ensureHostTools } from '../host/tools.ts';
import { bootOnce, errorStep, QBOOT } from './boot.ts';

export interface RunOptions {
  scenarioArgs: string[];
  kernel: string;
  outDir?: string | undefined;
  accel: Accel | 'auto';
  /** TCG vCPU threading (qemu/args.ts TcgThread); ignored under KVM. */
  tcgThread: TcgThread;
  /** qboot skips most of SeaBIOS's work (~3 s a boot under TCG); seabios is QEMU's default. */
  firmware?: 'qboot' | 'seabios' | undefined;
  cpus: number;
  memBytes: number;
  resume?: string | undefined;
  bootTimeoutS?: number | undefined;
  /** Extra kernel command-line words, after daxlab's own (a later `rdinit=` or `--` wins). */
  append?: string[] | undefined;
  graceS?: number | undefined;
  consoleCap?: number | undefined;
  command: string[];
  log: (s: string) => void;
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

async function timed<T>(phases: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    phases[name] = Date.now() - t;
  }
}

export async function run(o: RunOptions): Promise<RunResult> {
  const phases: Record<string, number> = {};
  const tStart = Date.now();
  // Everything that can be rejected as bad input is checked before a results dir exists.
  let resumed: ResultsStore | undefined;
  let scenarios: Scenario[];
  let kernelSpec = o.kernel;
  if (o.resume) {
    resumed = await ResultsStore.open(await findRunDir(o.resume));
    if (resumed.summary.status === 'completed' && resumed.summary.pending.length === 0) {
      throw new UserError(`run ${resumed.summary.runId} is already complete`);
    }
    scenarios = await Promise.all(resumed.summary.scenarios.map((s) => loadScenarioFile(s.file)));
    kernelSpec = resumed.summary.kernel.spec;
    // A resumed run boots its guests the way the run started.
    o = { ...o, append: resumed.summary.guest.append, tcgThread: resumed.summary.accel.tcgThread === 'multi' ? 'multi' : 'single' };
  } else {
    scenarios = await resolveScenarios(o.scenarioArgs);
    if (scenarios.length === 0) throw new UserError('no scenarios to run (no arguments and no catalog entry with default: true)');
  }
  // Fail fast, cheapest first: the kernel spec, then a prebuilt kernel (a file or one package),
  // then the reproducers, and only then a source build, so a C typo never waits for make.
  const spec = parseKernelSpec(kernelSpec);
  if (spec.kind === 'build-file') await loadBuildSpecFile(spec.path);
  const sourceBuild = spec.kind === 'build' || spec.kind === 'build-file';
  await timed(phases, 'hostToolsMs', () => ensureHostTools(['qemu-system-x86_64'], o.firmware === 'seabios' ? [] : [QBOOT], o.log));
  const getKernel = (): Promise<Kernel> => timed(phases, 'kernelMs', () => resolveKernel(kernelSpec, o.log));
  let kernel = sourceBuild ? undefined : await getKernel();
  const binaries = new Map<string, { name: string; data: Buffer }>();
  await timed(phases, 'compileMs', async () => {
    for (const s of scenarios) {
      const c = await compileReproducer(s.reproducerSource, o.log);
      binaries.set(s.id, { name: `${s.id}.bin`, data: await readFile(c.path) });
    }
  });
  kernel ??= await getKernel();
  o.log(`kernel ${kernel.release} (${kernel.spec})`);
  if (resumed && JSON.stringify(resumed.summary.kernel.identity) !== JSON.stringify(kernel.identity)) {
    // e.g. apt now has a newer debian:6.12: half a run on each kernel would compare nothing.
    throw new UserError(`cannot resume ${resumed.summary.runId}: '${kernelSpec}' now resolves to a different kernel (${JSON.stringify(kernel.identity)}, the run used ${JSON.stringify(resumed.summary.kernel.identity)})`);
  }
  const image = await timed(phases, 'imageMs', () => buildGuestImage(kernel, o.log));
  o.log(`guest image ${image.key} ${(image.bytes / 1e6).toFixed(1)} MB${image.hit ? ' (cached)' : ''}`);
  const accel = await timed(phases, 'accelMs', () => chooseAccel(o.accel, kernel.bzImage, o.log));
  o.log(`accelerator: ${accel.accel}${accel.accel === 'tcg' ? ` thread=${o.tcgThread}` : ''} (${accel.reason}${accel.cached ? ', cached verdict' : ''})`);

  const items = workItems(scenarios, new Map([...binaries].map(([id, b]) => [id, b.name])));
  let store: ResultsStore;
  if (resumed) {
    store = resumed;
    const done = new Set(store.summary.steps.map((s) => s.key));
    store.summary.pending = items.filter((i) => !done.has(i.key)).map((i) => i.key);
    store.summary.status = 'running';
    delete store.summary.statusReason;
    store.summary.command.push('--resume', ...o.command);
    o.log(`resuming ${store.summary.runId}: ${done.size} steps done, ${store.summary.pending.length} to go`);
  } else {
    const runId = newRunId();
    const dir = o.outDir ?? join(defaultResultsRoot(), runId);
    const summary: RunSummary = {
      schema: SUMMARY_SCHEMA,
      runId,
      status: 'running',
      startedAt: new Date(tStart).toISOString(),
      command: o.command,
      host: { hostname: hostname(), release: hostRelease(), cpus: hostCpus().length, memBytes: totalmem(), node: process.version, qemu: await qemuVersion() },
      kernel: { spec: kernel.spec, release: kernel.release, banner: kernel.banner, identity: kernel.identity },
      accel: accel.accel === 'tcg' ? { ...accel, tcgThread: o.tcgThread } : accel,
      image: { key: image.key, bytes: image.bytes, modules: image.modules, hit: image.hit },
      scenarios: await Promise.all(
        scenarios.map(async (s) => ({ id: s.id, title: s.title, file: s.file, reproducer: `${relative(process.cwd(), s.reproducerSource)} sha256:${(await hashFile(s.reproducerSource)).slice(0, 16)}`, allowFindings: s.allowFindings })),
      ),
      guest: { cpus: o.cpus, memBytes: o.memBytes, pmemBytes: Math.max(...scenarios.map((s) => s.pmemBytes)), ...(o.append?.length ? { append: o.append } : {}) },
      phases,
      boots: [],
      steps: [],
      findings: [],
      pending: items.map((i) => i.key),
    };
    store = await ResultsStore.create(dir, summary);
  }
  const summary = store.summary;
  summary.phases = { ...summary.phases, ...phases };
  o.log(`results: ${store.dir}`);

  let current = '';
  setInterruptHandler((sig) => {
    summary.status = 'interrupted';
    summary.statusReason = `${sig}${current ? ` during ${current}` : ''}`;
    summary.finishedAt = new Date().toISOString();
    store.flush();
    process.stderr.write(`\ndaxlab: interrupted (${sig}); results so far in ${store.dir}; continue with: daxlab run --resume ${summary.runId}\n`);
  });

  const byKey = new Map(items.map((i) => [i.key, i]));
  const scenarioById = new Map(scenarios.map((s) => [s.id, s]));
  const total = items.length;
  let noProgressBoots = 0;
  const artifactRetries = new Map<string, number>();
  try {
    while (summary.pending.length > 0) {
      const pending = nextBootBatch(summary.pending.map((k) => byKey.get(k)).filter((i): i is WorkItem => i !== undefined));
      const bootIndex = summary.boots.length + 1;
      const pmemBytes = Math.max(...pending.map((i) => scenarioById.get(i.scenario)?.pmemBytes ?? 1024 ** 3));
      const plan = planBoot(pending, { pmemBytes });
      current = `boot ${bootIndex}`;
      const before = summary.steps.length;
      const booted = await bootOnce({ o, store, plan, bootIndex, kernelBzImage: kernel.bzImage, image, accel: accel.accel, binaries, total, setCurrent: (c) => (current = c), allowFor: (id) => scenarioById.get(id)?.allowFindings ?? [] });
      if (booted.artifacts.length) {
        // The emulator's fault, not the kernel's: what it tainted runs once more in a fresh boot;
        // an item hit twice ends as an error naming the artifact, never as a kernel failure.
        const why = `emulator artifact: ${booted.artifacts.map((x) => `${x.title} (${x.rule})`).join('; ')}`;
        // Everything from the first tainted step on: discarded results and steps never started.
        const from = Math.min(...booted.artifacts.map((x) => x.fromStep));
        const hit = plan.steps.flatMap((st) => (st.item && st.n >= from && summary.pending.includes(st.item.key) ? [st.item.key] : []));
        const again = hit.filter((k) => (artifactRetries.get(k) ?? 0) >= 1);
        for (const k of hit) artifactRetries.set(k, (artifactRetries.get(k) ?? 0) + 1);
        const firstStep = plan.steps.find((st) => st.item)?.n ?? 1;
        const retry = hit.filter((k) => !again.includes(k));
        o.log(`boot ${bootIndex}: ${why}; ${retry.length} item(s) retried in a fresh boot${again.length ? `, ${again.length} hit twice: error` : ''}`);
        if (retry.length) (summary.retries ??= []).push({ boot: bootIndex, scope: from <= firstStep ? 'boot' : 'step', reason: why, items: retry });
        for (const k of again) {
          const it = byKey.get(k);
          if (it) store.addStep(errorStep(it, bootIndex, `${why}, on its retry too`));
        }
        store.flush();
        noProgressBoots = 0;
        continue;
      }
      const progressed = summary.steps.length > before;
      if (progressed) {
        noProgressBoots = 0;
        continue;
      }
      // Nothing ran. A guest that died in setup may be a one-off (TCG has been seen to oops in
      // text patching under load), so try once more; a boot that never came up would fail again.
      noProgressBoots++;
      const why = bootFailureReason(booted.outcome, booted.panic);
      const retryable = booted.outcome.end === 'exit-without-bye' || booted.outcome.end === 'watchdog';
      if (retryable && noProgressBoots < 2) {
        o.log(`boot ${bootIndex}: ${why}; retrying once in a fresh boot`);
        (summary.retries ??= []).push({ boot: bootIndex, scope: 'boot', reason: why, items: pending.map((i) => i.key) });
        continue;
      }
      for (const it of pending) if (summary.pending.includes(it.key)) store.addStep(errorStep(it, bootIndex, why));
      summary.status = 'failed';
      summary.statusReason = why;
      break;
    }
    if (summary.status === 'running') {
      summary.status = 'completed';
      summary.statusReason = outcomeLine(summary);
    }
  } finally {
    setInterruptHandler(undefined);
    summary.finishedAt = new Date().toISOString();
    summary.phases['totalMs'] = (summary.phases['totalMs'] ?? 0) + (Date.now() - tStart);
    store.flush();
  }
  return { dir: store.dir, summary, writeError: store.writeError };
}

/** `4 steps: 3 pass, 1 hung; 2 boots` — what a nightly report or a person wants first. */
export function outcomeLine(s: Pick<RunSummary, 'steps' | 'boots' | 'findings'>): string {
  const counts = new Map<string, number>();
  for (const st of s.steps) counts.set(st.status, (counts.get(st.status) ?? 0) + 1);
  const parts = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
  const findings = s.findings.length ? `; ${s.findings.length} distinct console finding${s.findings.length > 1 ? 's' : ''}` : '';
  return `${s.steps.length} steps: ${parts}; ${s.boots.length} boot${s.boots.length === 1 ? '' : 's'}${findings}`;
}

function bootFailureReason(out: GuestOutcome, panic: string | undefined): string {
  const err = out.qemuStderr.split('\n').find((l) => l.trim());
  switch (out.end) {
    case 'boot-timeout':
      return 'guest did not boot (no agent hello before the boot timeout)';
    case 'spawn-failed':
      return `QEMU failed to start: ${err ?? `exit ${out.qemuExitCode}`}`;
    default:
      return `guest stopped before running any step (${out.end}${panic ? `: kernel panic: ${panic}` : err ? `: ${err}` : ''})`;
  }
}
