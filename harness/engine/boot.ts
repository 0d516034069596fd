// One guest boot of a run, as events: the per-boot archive (plan, modules, reproducers), agent
// events turned into step events as they arrive (samples the moment they cross the channel), and,
// once the console is complete, findings attributed to steps and late verdict changes.
import type { AgentEvent } from '../agent/protocol.ts';
import { overlayArchive } from '../image/initramfs.ts';
import { modulesForGroups, type ModuleGroup } from '../image/modules.ts';
import { agentScript, moduleListPath, NAMESPACE_LABEL, TEMPLATE_FALLBACK, templateLabel, type BootPlan, type BootStep, type WorkItem } from '../plan/plan.ts';
import { runGuest, type GuestOutcome } from '../qemu/guest.ts';
import { stepFindings, whereInBoot, withFindingVerdict } from '../results/findings.ts';
import { parseReproOutput } from '../results/output.ts';
import type { EventOf } from '../results/events.ts';
import type { StepResult } from '../results/types.ts';
import { lastWords, stepVerdict } from '../results/verdict.ts';
import { decodeReports } from '../console/symbolizer.ts';
import { StepMonitors } from '../monitor/collect.ts';
import { BootClock, phasesText } from '../results/boot-phases.ts';
import { BootConsole, type BootArtifact } from './boot-console.ts';
import { forgetTemplate, harvestInfoBlock, type PmemTemplate } from './pmem-template.ts';
import type { RunRecorder } from './recorder.ts';
import type { GuestSettings, PreparedKernel, ProgressFn } from './types.ts';

const MAX_LINES_PER_STEP = 20000;
export const QBOOT = '/usr/share/qemu/qboot.rom';

export interface BootArgs {
  rec: RunRecorder;
  plan: BootPlan;
  bootIndex: number;
  kernel: PreparedKernel;
  guest: GuestSettings;
  binaries: Map<string, { name: string; data: Buffer }>;
  allowFor: (scenario: string) => string[];
  progress: ProgressFn;
  /** The run is being cancelled: the guest is killed and unfinished steps stay pending. */
  signal: AbortSignal;
  /** Steps recorded so far in the whole run, for "[done/total]". */
  counter: { done: number; total: number };
  /** The NVDIMM starts from this pmem template (the plan was made with `template`). */
  template?: PmemTemplate | undefined;
}

export interface BootResult {
  outcome: GuestOutcome;
  panic: string | undefined;
  /** Emulator artifacts seen; their steps and every later one were not recorded (still pending). */
  artifacts: BootArtifact[];
  /** Items that got a result in this boot. */
  recorded: number;
}

interface StepLines {
  /** Output lines that are not samples or metrics (verdict, info, text), capped. */
  out: string[];
  err: string[];
}

type StepEnded = Omit<EventOf<'step-ended'>, 'v' | 'at'>;

export function errorStepEvent(boot: number, key: string, reason: string, status: StepResult['status'] = 'error'): StepEnded {
  return { type: 'step-ended', boot, key, status, reason, exitCode: null, durationMs: 0, infos: [], output: [], stderr: [], findings: [] };
}

export async function bootOnce(a: BootArgs): Promise<BootResult> {
  const { rec, plan, bootIndex: boot, kernel: pk } = a;
  const log = (text: string): void => a.progress({ kind: 'line', text });
  const stepByN = new Map(plan.steps.map((s) => [s.n, s]));
  const lines = new Map<number, StepLines>();
  const monitors = new Map<number, StepMonitors>();
  const neededBins = new Set(plan.steps.flatMap((s) => (s.item ? [s.item.scenario] : [])));
  // Modules of filesystems with an `insmod` step go in lists of their own, each without what an
  // earlier list already inserted.
  const late = plan.steps.flatMap((s) => (s.loads ? [s.loads] : []));
  const groups: ModuleGroup[] = ['pmem', ...new Set(plan.steps.flatMap((s) => (s.item && !late.includes(s.item.variant.fs) ? [s.item.variant.fs] : [])))];
  if (plan.scratchBytes > 0) groups.push('scratch');
  const file = (m: string): string => pk.image.moduleFiles[m] ?? m;
  const modules = modulesForGroups(pk.image.modules, pk.image.moduleDeps, groups);
  const laterModules: Record<string, string[]> = {};
  const inserted = new Set(modules);
  for (const fs of late) {
    groups.push(fs);
    const more = modulesForGroups(pk.image.modules, pk.image.moduleDeps, groups).filter((m) => !inserted.has(m));
    for (const m of more) inserted.add(m);
    laterModules[moduleListPath(fs)] = more.map(file);
  }
  const overlay = overlayArchive(agentScript(plan), [...a.binaries].filter(([id]) => neededBins.has(id)).map(([, b]) => b), modules.map(file), laterModules);
  const items = plan.steps.flatMap((s) => (s.item ? [s.item.key] : []));
  const consoleLog = `console-${boot}.log`;
  const agentLog = `agent-${boot}.log`;
  const warnings: string[] = [];
  const console = new BootConsole(pk.accel.accel);
  const clock = new BootClock();
  const failedSetup = new Map<string, string>(); // group -> why
  const ended = new Set<string>(); // items with a step-ended in this boot
  // An emulator artifact makes the rest of the boot worthless: stop the guest at once.
  const stop = new AbortController();
  const tainted = (n: number): boolean => console.taintedFrom !== undefined && n >= console.taintedFrom;
  /** A verdict with the console's reports on step `n` applied, and those reports. */
  const judge = (n: number, scenario: string, v: Pick<StepResult, 'status' | 'reason'>) => {
    const fs = console.findingsFor(n);
    const allow = a.allowFor(scenario);
    // verdict_from: exit keeps the reports as findings but lets the exit status decide.
    const byExit = stepByN.get(n)?.item?.verdictFrom === 'exit';
    return { ...(byExit ? { status: v.status, reason: v.reason } : withFindingVerdict(v, fs, allow)), findings: stepFindings(fs, allow) };
  };
  const tcg = pk.accel.accel === 'tcg';
  log(`boot ${boot}: ${items.length} runs in ${plan.groups.length} filesystem setups on ${pk.name} (${pk.accel.accel})`);

  const endStep = (e: StepEnded, item: WorkItem, ms: number): void => {
    rec.emit(e);
    ended.add(item.key);
    a.counter.done++;
    a.progress({ kind: 'step', done: a.counter.done, total: a.counter.total, key: item.key, status: e.status, reason: e.reason, ms });
  };

  const setupEnded = (step: BootStep, status: 'done' | 'timeout' | 'hung' | 'skipped', exitCode: number | null, ms: number, output: string[]): void => {
    rec.emit({ type: 'setup-ended', boot, n: step.n, label: step.label, group: step.group, status, exitCode, ms, output });
  };
  // The kernel's info block is worth keeping after a create-namespace that worked, unless a
  // destructive item (namespace teardown) shares the boot.
  const templateStep = a.template ? templateLabel(a.template.fs) : undefined;
  let harvest = false;
  let dropping: Promise<void> | undefined;
  const canHarvest = !a.template && !plan.steps.some((s) => s.item?.ownBoot);

  const onEvent = (ev: AgentEvent, atMs: number): void => {
    clock.agentEvent(ev, atMs);
    if (ev.event === 'hello') {
      rec.emit({ type: 'guest-up', boot, release: ev.release, ms: atMs });
      log(`boot ${boot}: guest up after ${(atMs / 1000).toFixed(1)}s (${ev.release}, kernel uptime ${ev.uptimeS}s)`);
      return;
    }
    if (ev.event === 'warn') {
      warnings.push(ev.text);
      return;
    }
    const step = stepByN.get(ev.step);
    if (!step) return;
    if (ev.event === 'begin') {
      lines.set(ev.step, { out: [], err: [] });
      if (step.item?.monitors) monitors.set(ev.step, new StepMonitors(step.item.monitors));
      if (step.item) {
        rec.emit({ type: 'step-began', boot, key: step.item.key, n: step.n });
        a.progress({ kind: 'began', boot, key: step.item.key });
      }
    } else if (ev.event === 'out' || ev.event === 'err') {
      const l = lines.get(ev.step);
      if (!l) return;
      if (ev.event === 'out' && step.item) {
        // Samples and metrics are results the moment they arrive: a crash later keeps them.
        const p = parseReproOutput([ev.text]);
        const [name, sm] = Object.entries(p.samples)[0] ?? [];
        if (name !== undefined && sm) {
          for (const value of sm.values) rec.emit({ type: 'sample', boot, key: step.item.key, name, value, unit: sm.unit });
          return;
        }
        const [mname, m] = Object.entries(p.metrics)[0] ?? [];
        if (mname !== undefined && m) {
          rec.emit({ type: 'metric', boot, key: step.item.key, name: mname, value: m.value, unit: m.unit });
          return;
        }
      }
      const arr = ev.event === 'out' ? l.out : l.err;
      if (arr.length < MAX_LINES_PER_STEP) arr.push(ev.text);
    } else if (ev.event === 'mon') {
      monitors.get(ev.step)?.sample(ev.name, ev.phase, ev.text);
    } else if (ev.event === 'monskip') {
      monitors.get(ev.step)?.skip(ev.name, ev.reason);
    } else if (ev.event === 'skip') {
      if (step.kind !== 'repro' || !step.item) {
        setupEnded(step, 'skipped', null, 0, [ev.reason]);
      } else if (ev.reason === 'setup-failed' && !tainted(step.n)) {
        endStep(errorStepEvent(boot, step.item.key, `setup failed: ${failedSetup.get(step.group) ?? 'unknown'}`), step.item, 0);
      }
      // 'after-hang': the item stays pending and runs in the next boot.
    } else if (ev.event === 'end') {
      const l = lines.get(ev.step) ?? { out: [], err: [] };
      if (step.kind !== 'repro' || !step.item) {
        const ok = ev.status === 'done' && ev.exitCode === 0;
        if (ok && canHarvest && step.label === NAMESPACE_LABEL) harvest = true;
        const fellBack = step.label === templateStep && l.err.some((x) => x.startsWith(TEMPLATE_FALLBACK));
        if (fellBack) {
          log(`boot ${boot}: the pmem template did not come up as fsdax; the guest made the namespace and filesystem itself, and the template is dropped`);
          if (a.template) dropping = forgetTemplate(pk, plan.pmemBytes, a.template).catch(() => undefined);
        }
        // The template step's one line says how the filesystem was made: kept even when it worked.
        setupEnded(step, ev.status, ev.exitCode, ev.ms, ok && step.label !== templateStep ? [] : [...l.err, ...l.out].slice(0, 50));
        if (!ok && step.kind === 'setup') {
          const first = l.err.find((x) => x.trim()) ?? l.out.find((x) => x.trim()) ?? '';
          failedSetup.set(step.group, `${step.label} ${ev.status === 'done' ? `exited ${ev.exitCode}` : ev.status}${first ? `: ${first.slice(0, 200)}` : ''}`);
          log(`boot ${boot}: setup '${step.label}' failed: ${failedSetup.get(step.group)}`);
        }
        return;
      }
      if (tainted(step.n)) return; // stays pending
      // Monitor metrics are ordinary metrics of the step, recorded before its end like the reproducer's.
      const mon = monitors.get(ev.step)?.finish();
      monitors.delete(ev.step);
      for (const m of mon?.metrics ?? []) rec.emit({ type: 'metric', boot, key: step.item.key, name: m.name, value: m.value, unit: m.unit });
      const out = parseReproOutput(l.out);
      const v = stepVerdict({ status: ev.status, exitCode: ev.exitCode, timeoutS: step.timeoutS }, out, step.item, lastWords(l.err, out.text));
      const j = judge(ev.step, step.item.scenario, v);
      endStep(
        {
          type: 'step-ended',
          boot,
          key: step.item.key,
          status: j.status,
          reason: j.reason,
          exitCode: ev.exitCode,
          durationMs: ev.ms,
          infos: [...out.infos, ...(mon?.skipped ?? []).map((x) => `monitor ${x.monitor} skipped: ${x.reason}`)],
          output: out.text,
          stderr: l.err.slice(0, 2000),
          findings: j.findings,
          ...(mon?.skipped.length ? { skippedMonitors: mon.skipped } : {}),
        },
        step.item,
        ev.ms,
      );
    }
  };

  const signal = AbortSignal.any([a.signal, stop.signal]);
  const g = a.guest;
  const outcome = await runGuest({
    bzImage: pk.entry.path,
    baseImage: pk.image.path,
    overlay,
    accel: pk.accel.accel,
    tcgThread: pk.tcgThread,
    cpus: g.cpus,
    memBytes: g.memBytes,
    pmemBytes: plan.pmemBytes,
    scratchBytes: plan.scratchBytes,
    scratchIops: plan.scratchIops,
    consoleLog: rec.path(consoleLog),
    agentLog: rec.path(agentLog),
    consoleCap: g.consoleCap,
    bios: g.firmware === 'seabios' ? undefined : QBOOT,
    clock: g.clock,
    extraCmdline: g.append ?? [],
    bootTimeoutS: g.bootTimeoutS ?? (tcg ? 300 : 60),
    graceS: g.graceS ?? (tcg ? 60 : 20),
    onEvent,
    onConsoleLine: (line, atMs) => {
      clock.console(line, atMs);
      for (const art of console.push(line)) {
        rec.emit({ type: 'artifact', boot, ...art }); // console lines only come after onSpawn: the boot is recorded
        log(`boot ${boot}: emulator artifact (${art.title}; ${art.rule}): stopping this boot, its work is retried`);
        stop.abort();
      }
    },
    onSpawn: (argv) => {
      const t = a.template;
      const pmem = t ? { how: 'template' as const, template: t.key, fs: t.fs, made: t.made } : { how: 'guest' as const, made: 'ndctl create-namespace and mkfs in the guest' };
      rec.emit({ type: 'boot-started', boot, kernel: pk.name, items, argv, consoleLog, agentLog, pmem });
      a.progress({ kind: 'boot', boot, kernel: pk.name, phase: 'started', detail: `${items.length} runs` });
    },
    signal,
    pmemImage: a.template?.image,
    afterExit: async (nv) => {
      if (harvest) await harvestInfoBlock(pk, plan.pmemBytes, nv).then((info) => info && log(`boot ${boot}: kept the kernel's fsdax info block (data at ${info.dataoff}): later boots of ${pk.name} start from a pmem template`));
    },
  });
  if (outcome.logWriteError) {
    warnings.push(`log not written completely: ${outcome.logWriteError}`);
    rec.noteWriteError(outcome.logWriteError);
  }
  if (outcome.consoleBytesDropped) warnings.push(`console capped: ${outcome.consoleBytesDropped} bytes dropped`);
  for (const art of console.end()) rec.emit({ type: 'artifact', boot, ...art });
  const cancelled = a.signal.aborted;
  // A step that began but never ended: the guest died under it (panic, QEMU killed) or wedged.
  // Cancelled by the user: it stays pending, to run on --resume.
  for (const [n, l] of lines) {
    const step = stepByN.get(n);
    if (!step?.item || ended.has(step.item.key) || tainted(n) || cancelled) continue;
    const hung = outcome.stuckStep === n;
    const why = hung ? 'guest stopped answering during this step (host watchdog; SysRq task dump in the console log)' : `guest died during this step (${outcome.end}${console.lastPanic ? `: ${console.lastPanic}` : ''})`;
    const out = parseReproOutput(l.out);
    const j = judge(n, step.item.scenario, { status: hung ? 'hung' : 'crashed', reason: why });
    endStep({ ...errorStepEvent(boot, step.item.key, j.reason, j.status), infos: out.infos, output: out.text, stderr: l.err.slice(0, 2000), findings: j.findings }, step.item, 0);
    log(`${step.item.key}: ${hung ? 'hung' : 'crashed'} (${why})`);
  }
  // Reports can finish printing after the agent said the step ended (separate serial ports):
  // now that the console is complete, look again at every step of this boot.
  const nOfKey = new Map(plan.steps.flatMap((s) => (s.item ? [[s.item.key, s.n] as const] : [])));
  for (const st of rec.summary.steps.filter((x) => x.boot === boot)) {
    const n = nOfKey.get(st.key);
    if (n === undefined) continue;
    if (tainted(n)) {
      rec.emit({ type: 'step-discarded', boot, key: st.key, reason: 'emulator artifact reported after the step ended' });
      continue;
    }
    const j = judge(n, st.scenario, st);
    if (j.status !== st.status || j.findings.length !== st.findings.length) {
      rec.emit({ type: 'verdict-revised', boot, key: st.key, status: j.status, reason: j.reason, findings: j.findings, cause: 'a console report finished printing after the step ended' });
      if (j.status !== st.status) log(`${st.key}: now ${j.status} (${j.reason}): the report finished printing after the step ended`);
    }
  }
  const whereOf = (n: number | undefined): string => {
    const s = n === undefined ? undefined : stepByN.get(n);
    return whereInBoot(boot, s ? (s.item ? { key: s.item.key } : { label: s.label }) : undefined);
  };
  // file:line for the frames when the kernel has a vmlinux with debug info (titles stay as printed).
  const decoded = await decodeReports(pk.kernel, pk.name, console.all.map((f) => ({ frames: f.frames.slice(0, 32), text: f.text })), log);
  for (const [i, f] of console.all.entries()) {
    const frames = decoded?.[i] ?? f.frames.slice(0, 32);
    rec.emit({ type: 'finding', boot, where: whereOf(f.step), title: f.title, kind: f.kind, consoleLog, line: f.line, corrupted: f.corrupted, text: f.text.slice(0, 64 * 1024), frames: frames.map((fr) => ({ fn: fr.fn, offset: fr.offset, file: fr.file, line: fr.line, inlined: fr.inlined })) });
  }
  if (console.all.length) log(`boot ${boot}: console findings: ${[...new Set(console.all.map((f) => f.title))].join('; ')}`);
  const t = outcome.timings;
  const phases =
    t.spawnMs === undefined
      ? undefined
      : clock.phases({ spawnMs: t.spawnMs, firstByteMs: t.firstConsoleMs, clock: g.clock === 'icount' && tcg ? 'icount' : 'host', steps: plan.steps.map((s) => ({ n: s.n, kind: s.kind, label: s.label, group: s.group, loads: s.loads })), modules: modules.length });
  rec.emit({ type: 'boot-ended', boot, end: outcome.end, qemuExitCode: outcome.qemuExitCode, qemuSignal: outcome.qemuSignal, qemuStderr: outcome.qemuStderr, timings: outcome.timings, warnings, ...(phases ? { phases } : {}) });
  if (phases?.toFirstReproMs !== undefined) log(`boot ${boot}: QEMU start to first reproducer ${(phases.toFirstReproMs / 1000).toFixed(2)}s: ${phasesText(phases)}`);
  const sec = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);
  const detail = `${outcome.end} after ${sec(t.exitMs)} (agent up ${t.helloMs !== undefined ? sec(t.helloMs) : 'never'}, first step ${sec(t.firstStepMs)})`;
  log(`boot ${boot}: ${detail}`);
  a.progress({ kind: 'boot', boot, kernel: pk.name, phase: 'ended', detail });
  await dropping;
  return { outcome, panic: console.lastPanic, artifacts: console.artifacts, recorded: ended.size };
}
