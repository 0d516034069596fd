// `daxlab run`: prepare (kernel, image, reproducers, accelerator), then boot guests until every
// work item has a result. Results are written as each step finishes; a guest that dies mid-step
// costs that step only, and the remaining items run in a fresh boot.
import { hostname, cpus as hostCpus, totalmem, release as hostRelease } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import type { AgentEvent } from '../agent/protocol.ts';
import { buildGuestImage, overlayArchive, type GuestImage } from '../image/initramfs.ts';
import { modulesForGroups, type ModuleGroup } from '../image/modules.ts';
import { resolveKernel } from '../kernel/resolve.ts';
import { agentScript, nextBootBatch, planBoot, workItems, type BootPlan, type WorkItem } from '../plan/plan.ts';
import { chooseAccel } from '../qemu/accel.ts';
import type { Accel } from '../qemu/args.ts';
import { runGuest, type GuestOutcome } from '../qemu/guest.ts';
import { compileReproducer } from '../repro/compile.ts';
import { parseReproOutput } from '../results/output.ts';
import { defaultResultsRoot, findRunDir, newRunId, ResultsStore } from '../results/store.ts';
import { SUMMARY_SCHEMA, type BootRecord, type RunSummary, type StepResult } from '../results/types.ts';
import { stepVerdict } from '../results/verdict.ts';
import { mergeRunFindings, withFindingVerdict } from '../results/findings.ts';
import { loadScenarioFile, resolveScenarios } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { setInterruptHandler } from '../util/cleanup.ts';
import { UserError } from '../util/errors.ts';
import { hashFile } from '../util/hash.ts';
import { ensureHostTools } from '../host/tools.ts';
import { BootConsole } from './boot-console.ts';

export interface RunOptions {
  scenarioArgs: string[];
  kernel: string;
  outDir?: string | undefined;
  accel: Accel | 'auto';
  /** qboot skips most of SeaBIOS's work (~3 s a boot under TCG); seabios is QEMU's default. */
  firmware?: 'qboot' | 'seabios' | undefined;
  cpus: number;
  memBytes: number;
  resume?: string | undefined;
  bootTimeoutS?: number | undefined;
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

const MAX_LINES_PER_STEP = 20000;
const QBOOT = '/usr/share/qemu/qboot.rom';

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
  } else {
    scenarios = await resolveScenarios(o.scenarioArgs);
    if (scenarios.length === 0) throw new UserError('no scenarios to run (no arguments and no catalog entry with default: true)');
  }
  // Reproducers first: a typo in a C file should not wait for a kernel download or build.
  const binaries = new Map<string, { name: string; data: Buffer }>();
  await timed(phases, 'compileMs', async () => {
    for (const s of scenarios) {
      const c = await compileReproducer(s.reproducerSource, o.log);
      binaries.set(s.id, { name: `${s.id}.bin`, data: await readFile(c.path) });
    }
  });
  await timed(phases, 'hostToolsMs', () => ensureHostTools(['qemu-system-x86_64'], o.firmware === 'seabios' ? [] : [QBOOT], o.log));
  const kernel = await timed(phases, 'kernelMs', () => resolveKernel(kernelSpec, o.log));
  o.log(`kernel ${kernel.release} (${kernel.spec})`);
  const image = await timed(phases, 'imageMs', () => buildGuestImage(kernel, o.log));
  o.log(`guest image ${image.key} ${(image.bytes / 1e6).toFixed(1)} MB${image.hit ? ' (cached)' : ''}`);
  const accel = await timed(phases, 'accelMs', () => chooseAccel(o.accel, kernel.bzImage, o.log));
  o.log(`accelerator: ${accel.accel} (${accel.reason}${accel.cached ? ', cached verdict' : ''})`);

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
      accel,
      image: { key: image.key, bytes: image.bytes, modules: image.modules, hit: image.hit },
      scenarios: await Promise.all(
        scenarios.map(async (s) => ({ id: s.id, title: s.title, file: s.file, reproducer: `${relative(process.cwd(), s.reproducerSource)} sha256:${(await hashFile(s.reproducerSource)).slice(0, 16)}`, allowFindings: s.allowFindings })),
      ),
      guest: { cpus: o.cpus, memBytes: o.memBytes, pmemBytes: Math.max(...scenarios.map((s) => s.pmemBytes)) },
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
  try {
    while (summary.pending.length > 0) {
      const pending = nextBootBatch(summary.pending.map((k) => byKey.get(k)).filter((i): i is WorkItem => i !== undefined));
      const bootIndex = summary.boots.length + 1;
      const pmemBytes = Math.max(...pending.map((i) => scenarioById.get(i.scenario)?.pmemBytes ?? 1024 ** 3));
      const plan = planBoot(pending, { pmemBytes });
      current = `boot ${bootIndex}`;
      const before = summary.steps.length;
      const outcome = await bootOnce({ o, store, plan, bootIndex, kernelBzImage: kernel.bzImage, image, accel: accel.accel, binaries, total, setCurrent: (c) => (current = c), allowFor: (id) => scenarioById.get(id)?.allowFindings ?? [] });
      const progressed = summary.steps.length > before;
      if (progressed) {
        noProgressBoots = 0;
        continue;
      }
      // Nothing ran. A guest that died in setup may be a one-off (TCG has been seen to oops in
      // text patching under load), so try once more; a boot that never came up would fail again.
      noProgressBoots++;
      const why = bootFailureReason(outcome.outcome, outcome.panic);
      const retryable = outcome.outcome.end === 'exit-without-bye' || outcome.outcome.end === 'watchdog';
      if (retryable && noProgressBoots < 2) {
        o.log(`boot ${bootIndex}: ${why}; retrying once in a fresh boot`);
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

function baseStep(it: WorkItem, boot: number): Omit<StepResult, 'status' | 'reason' | 'exitCode' | 'durationMs'> {
  return { key: it.key, scenario: it.scenario, variant: it.variant, rep: it.rep, boot, samples: {}, metrics: {}, infos: [], output: [], stderr: [], findings: [], finishedAt: new Date().toISOString() };
}

function errorStep(it: WorkItem, boot: number, reason: string, status: StepResult['status'] = 'error'): StepResult {
  return { ...baseStep(it, boot), status, reason, exitCode: null, durationMs: 0 };
}

interface BootArgs {
  o: RunOptions;
  store: ResultsStore;
  plan: BootPlan;
  bootIndex: number;
  kernelBzImage: string;
  image: GuestImage;
  accel: Accel;
  binaries: Map<string, { name: string; data: Buffer }>;
  total: number;
  setCurrent: (c: string) => void;
  allowFor: (scenario: string) => string[];
}

async function bootOnce(a: BootArgs): Promise<{ outcome: GuestOutcome; panic: string | undefined }> {
  const { o, store, plan, bootIndex } = a;
  const summary = store.summary;
  const stepByN = new Map(plan.steps.map((s) => [s.n, s]));
  const lines = new Map<number, { out: string[]; err: string[]; beganMs: number }>();
  const neededBins = new Set(plan.steps.flatMap((s) => (s.item ? [s.item.scenario] : [])));
  const groups: ModuleGroup[] = ['pmem', ...new Set(plan.steps.flatMap((s) => (s.item ? [s.item.variant.fs] : [])))];
  if (plan.scratchBytes > 0) groups.push('scratch');
  const modules = modulesForGroups(a.image.modules, a.image.moduleDeps, groups).map((m) => a.image.moduleFiles[m] ?? m);
  const overlay = overlayArchive(agentScript(plan), [...a.binaries].filter(([id]) => neededBins.has(id)).map(([, b]) => b), modules);
  const record: BootRecord = {
    index: bootIndex,
    argv: [],
    end: 'running',
    qemuExitCode: null,
    qemuSignal: null,
    qemuStderr: '',
    timings: { exitMs: 0 },
    consoleLog: `console-${bootIndex}.log`,
    agentLog: `agent-${bootIndex}.log`,
    setup: [],
    warnings: [],
    items: plan.steps.flatMap((s) => (s.item ? [s.item.key] : [])),
  };
  summary.boots.push(record);
  store.flush();
  const console = new BootConsole();
  const failedSetup = new Map<string, string>(); // group -> why
  const tcg = a.accel === 'tcg';
  o.log(`boot ${bootIndex}: ${record.items.length} runs in ${plan.groups.length} filesystem setups (${a.accel})`);

  const onEvent = (ev: AgentEvent, atMs: number): void => {
    if (ev.event === 'hello') {
      record.guestRelease = ev.release;
      o.log(`boot ${bootIndex}: guest up after ${(atMs / 1000).toFixed(1)}s (${ev.release}, kernel uptime ${ev.uptimeS}s)`);
      return;
    }
    if (ev.event === 'warn') {
      record.warnings.push(ev.text);
      return;
    }
    const step = stepByN.get(ev.step);
    if (!step) return;
    if (ev.event === 'begin') {
      lines.set(ev.step, { out: [], err: [], beganMs: atMs });
      a.setCurrent(`boot ${bootIndex} step ${ev.step} (${step.label})`);
    } else if (ev.event === 'out' || ev.event === 'err') {
      const l = lines.get(ev.step);
      const arr = l ? (ev.event === 'out' ? l.out : l.err) : undefined;
      if (arr && arr.length < MAX_LINES_PER_STEP) arr.push(ev.text);
    } else if (ev.event === 'skip') {
      if (step.kind !== 'repro' || !step.item) {
        record.setup.push({ n: step.n, label: step.label, group: step.group, status: 'skipped', exitCode: null, ms: 0, output: [ev.reason] });
      } else if (ev.reason === 'setup-failed') {
        store.addStep(errorStep(step.item, bootIndex, `setup failed: ${failedSetup.get(step.group) ?? 'unknown'}`));
      }
      // 'after-hang': the item stays pending and runs in the next boot.
    } else if (ev.event === 'end') {
      const l = lines.get(ev.step) ?? { out: [], err: [], beganMs: atMs };
      if (step.kind !== 'repro' || !step.item) {
        const ok = ev.status === 'done' && ev.exitCode === 0;
        record.setup.push({ n: step.n, label: step.label, group: step.group, status: ev.status, exitCode: ev.exitCode, ms: ev.ms, output: ok ? [] : [...l.err, ...l.out].slice(0, 50) });
        if (!ok && step.kind === 'setup') {
          const first = l.err.find((x) => x.trim()) ?? l.out.find((x) => x.trim()) ?? '';
          failedSetup.set(step.group, `${step.label} ${ev.status === 'done' ? `exited ${ev.exitCode}` : ev.status}${first ? `: ${first.slice(0, 200)}` : ''}`);
          o.log(`boot ${bootIndex}: setup '${step.label}' failed: ${failedSetup.get(step.group)}`);
        }
        store.flush();
        return;
      }
      const out = parseReproOutput(l.out);
      const v = stepVerdict({ status: ev.status, exitCode: ev.exitCode, timeoutS: step.timeoutS }, out);
      const result: StepResult = {
        ...baseStep(step.item, bootIndex),
        status: v.status,
        reason: v.reason,
        exitCode: ev.exitCode,
        durationMs: ev.ms,
        samples: out.samples,
        metrics: out.metrics,
        infos: out.infos,
        output: out.text,
        stderr: l.err.slice(0, 2000),
        findings: [],
      };
      store.addStep(withFindingVerdict(result, console.findingsFor(ev.step), a.allowFor(step.item.scenario)));
      const done = summary.steps.length;
      o.log(`[${done}/${a.total}] ${step.item.key}: ${v.status}${v.reason ? ` (${v.reason})` : ''} ${(ev.ms / 1000).toFixed(2)}s`);
    }
  };

  const outcome = await runGuest({
    bzImage: a.kernelBzImage,
    baseImage: a.image.path,
    overlay,
    accel: a.accel,
    cpus: o.cpus,
    memBytes: o.memBytes,
    pmemBytes: plan.pmemBytes,
    scratchBytes: plan.scratchBytes,
    scratchIops: plan.scratchIops,
    consoleLog: store.path(record.consoleLog),
    agentLog: store.path(record.agentLog),
    consoleCap: o.consoleCap,
    bios: o.firmware === 'seabios' ? undefined : QBOOT,
    bootTimeoutS: o.bootTimeoutS ?? (tcg ? 300 : 60),
    graceS: o.graceS ?? (tcg ? 60 : 20),
    onEvent,
    onConsoleLine: (line) => console.push(line),
    onSpawn: (argv) => {
      record.argv = argv;
      store.flush();
    },
  });
  record.end = outcome.end;
  record.qemuExitCode = outcome.qemuExitCode;
  record.qemuSignal = outcome.qemuSignal;
  record.qemuStderr = outcome.qemuStderr;
  record.timings = outcome.timings;
  if (outcome.logWriteError) store.writeError ??= outcome.logWriteError;
  if (outcome.consoleBytesDropped) record.warnings.push(`console capped: ${outcome.consoleBytesDropped} bytes dropped`);
  console.end();
  // A step that began but never ended: the guest died under it (panic, QEMU killed) or wedged.
  const recorded = new Set(summary.steps.map((s) => s.key));
  for (const [n, l] of lines) {
    const step = stepByN.get(n);
    if (!step?.item || recorded.has(step.item.key)) continue;
    const hung = outcome.stuckStep === n;
    const why = hung ? 'guest stopped answering during this step (host watchdog; SysRq task dump in the console log)' : `guest died during this step (${outcome.end}${console.lastPanic ? `: ${console.lastPanic}` : ''})`;
    const out = parseReproOutput(l.out);
    store.addStep({ ...errorStep(step.item, bootIndex, why, hung ? 'hung' : 'crashed'), samples: out.samples, metrics: out.metrics, infos: out.infos, output: out.text, stderr: l.err });
    o.log(`${step.item.key}: ${hung ? 'hung' : 'crashed'} (${why})`);
  }
  // Reports can finish printing after the agent said the step ended (separate serial ports):
  // now that the console is complete, attribute every finding and settle the verdicts again.
  const stepOfKey = new Map(plan.steps.flatMap((s) => (s.item ? [[s.item.key, s.n] as const] : [])));
  summary.steps = summary.steps.map((st) => {
    const n = st.boot === bootIndex ? stepOfKey.get(st.key) : undefined;
    return n === undefined ? st : withFindingVerdict(st, console.findingsFor(n), a.allowFor(st.scenario));
  });
  const whereOf = (n: number | undefined): string => {
    const s = n === undefined ? undefined : stepByN.get(n);
    return s?.item ? s.item.key : `boot ${bootIndex}: ${s ? s.label : 'outside steps'}`;
  };
  summary.findings = mergeRunFindings(summary.findings, console.all.map((f) => ({ finding: f, where: whereOf(f.step) })), bootIndex, record.consoleLog);
  if (console.all.length) o.log(`boot ${bootIndex}: console findings: ${[...new Set(console.all.map((f) => f.title))].join('; ')}`);
  store.flush();
  const t = outcome.timings;
  o.log(`boot ${bootIndex}: ${outcome.end} after ${(t.exitMs / 1000).toFixed(1)}s (agent up ${t.helloMs !== undefined ? (t.helloMs / 1000).toFixed(1) + 's' : 'never'}, first step ${t.firstStepMs !== undefined ? (t.firstStepMs / 1000).toFixed(1) + 's' : '-'})`);
  return { outcome, panic: console.lastPanic };
}
