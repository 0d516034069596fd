// One guest boot of a run: the per-boot archive (plan, modules, reproducers), agent events turned
// into step results as they arrive, and, once the console is complete, findings attributed to
// steps and the verdicts settled.
import type { AgentEvent } from '../agent/protocol.ts';
import { overlayArchive, type GuestImage } from '../image/initramfs.ts';
import { modulesForGroups, type ModuleGroup } from '../image/modules.ts';
import { agentScript, type BootPlan, type WorkItem } from '../plan/plan.ts';
import type { Accel } from '../qemu/args.ts';
import { runGuest, type GuestOutcome } from '../qemu/guest.ts';
import { mergeRunFindings, withFindingVerdict } from '../results/findings.ts';
import { parseReproOutput } from '../results/output.ts';
import type { ResultsStore } from '../results/store.ts';
import type { BootRecord, StepResult } from '../results/types.ts';
import { stepVerdict } from '../results/verdict.ts';
import { BootConsole, type BootArtifact } from './boot-console.ts';
import type { RunOptions } from './runner.ts';

const MAX_LINES_PER_STEP = 20000;
export const QBOOT = '/usr/share/qemu/qboot.rom';

function baseStep(it: WorkItem, boot: number): Omit<StepResult, 'status' | 'reason' | 'exitCode' | 'durationMs'> {
  return { key: it.key, scenario: it.scenario, variant: it.variant, rep: it.rep, boot, samples: {}, metrics: {}, infos: [], output: [], stderr: [], findings: [], finishedAt: new Date().toISOString() };
}

export function errorStep(it: WorkItem, boot: number, reason: string, status: StepResult['status'] = 'error'): StepResult {
  return { ...baseStep(it, boot), status, reason, exitCode: null, durationMs: 0 };
}

export interface BootArgs {
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

export interface BootResult {
  outcome: GuestOutcome;
  panic: string | undefined;
  /** Emulator artifacts seen; their steps and every later one were not recorded (still pending). */
  artifacts: BootArtifact[];
}

export async function bootOnce(a: BootArgs): Promise<BootResult> {
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
  const console = new BootConsole(a.accel);
  // An emulator artifact makes the rest of the boot worthless: stop the guest at once.
  const stop = new AbortController();
  const tainted = (n: number): boolean => console.taintedFrom !== undefined && n >= console.taintedFrom;
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
      } else if (ev.reason === 'setup-failed' && !tainted(step.n)) {
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
      if (tainted(step.n)) return; // stays pending
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
      const settled = withFindingVerdict(result, console.findingsFor(ev.step), a.allowFor(step.item.scenario));
      store.addStep(settled);
      const done = summary.steps.length;
      o.log(`[${done}/${a.total}] ${step.item.key}: ${settled.status}${settled.reason ? ` (${settled.reason})` : ''} ${(ev.ms / 1000).toFixed(2)}s`);
    }
  };

  const outcome = await runGuest({
    bzImage: a.kernelBzImage,
    baseImage: a.image.path,
    overlay,
    accel: a.accel,
    tcgThread: o.tcgThread,
    cpus: o.cpus,
    memBytes: o.memBytes,
    pmemBytes: plan.pmemBytes,
    scratchBytes: plan.scratchBytes,
    scratchIops: plan.scratchIops,
    consoleLog: store.path(record.consoleLog),
    agentLog: store.path(record.agentLog),
    consoleCap: o.consoleCap,
    bios: o.firmware === 'seabios' ? undefined : QBOOT,
    extraCmdline: o.append ?? [],
    bootTimeoutS: o.bootTimeoutS ?? (tcg ? 300 : 60),
    graceS: o.graceS ?? (tcg ? 60 : 20),
    onEvent,
    onConsoleLine: (line) => {
      for (const art of console.push(line)) {
        o.log(`boot ${bootIndex}: emulator artifact (${art.title}; ${art.rule}): stopping this boot, its work is retried`);
        stop.abort();
      }
    },
    signal: stop.signal,
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
  record.artifacts = console.artifacts;
  // A step that began but never ended: the guest died under it (panic, QEMU killed) or wedged.
  const recorded = new Set(summary.steps.map((s) => s.key));
  for (const [n, l] of lines) {
    const step = stepByN.get(n);
    if (!step?.item || recorded.has(step.item.key)) continue;
    if (tainted(n)) continue; // stays pending
    const hung = outcome.stuckStep === n;
    const why = hung ? 'guest stopped answering during this step (host watchdog; SysRq task dump in the console log)' : `guest died during this step (${outcome.end}${console.lastPanic ? `: ${console.lastPanic}` : ''})`;
    const out = parseReproOutput(l.out);
    store.addStep({ ...errorStep(step.item, bootIndex, why, hung ? 'hung' : 'crashed'), samples: out.samples, metrics: out.metrics, infos: out.infos, output: out.text, stderr: l.err });
    o.log(`${step.item.key}: ${hung ? 'hung' : 'crashed'} (${why})`);
  }
  // Reports can finish printing after the agent said the step ended (separate serial ports):
  // now that the console is complete, attribute every finding and settle the verdicts again.
  const stepOfKey = new Map(plan.steps.flatMap((s) => (s.item ? [[s.item.key, s.n] as const] : [])));
  // An artifact reported late (after its step ended) takes back what it tainted.
  const late = summary.steps.filter((st) => st.boot === bootIndex && tainted(stepOfKey.get(st.key) ?? 0));
  if (late.length) {
    summary.steps = summary.steps.filter((st) => !late.includes(st));
    summary.pending.push(...late.map((st) => st.key));
  }
  summary.steps = summary.steps.map((st) => {
    const n = st.boot === bootIndex ? stepOfKey.get(st.key) : undefined;
    if (n === undefined) return st;
    const settled = withFindingVerdict(st, console.findingsFor(n), a.allowFor(st.scenario));
    if (settled.status !== st.status) o.log(`${st.key}: now ${settled.status} (${settled.reason}): the report finished printing after the step ended`);
    return settled;
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
  return { outcome, panic: console.lastPanic, artifacts: console.artifacts };
}
