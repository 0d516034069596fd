// summary.json as a view of events.jsonl: a reducer that folds events, in order, into a
// RunSummary. The engine feeds it the same events it writes, so what it holds in memory and what
// `daxlab report RUN` rebuilds from disk cannot disagree. Pure.
import type { EventOf, ItemRecord, RunEvent } from './events.ts';
import { runFindings, type RunReport } from './findings.ts';
import { oneShotNotes } from './once.ts';
import { SUMMARY_SCHEMA, type BootRecord, type RunSummary, type StepResult } from './types.ts';

interface OpenStep {
  samples: StepResult['samples'];
  metrics: StepResult['metrics'];
}

export class RunView {
  private s: RunSummary | undefined;
  private readonly items = new Map<string, ItemRecord>();
  private readonly open = new Map<string, OpenStep>(); // `${boot} ${key}`
  private readonly began = new Map<string, string>(); // `${boot} ${key}` -> key, until step-ended
  private readonly reports: RunReport[] = [];

  get summary(): RunSummary {
    if (!this.s) throw new Error('event log does not start with run-started');
    return this.s;
  }

  /** Items whose step began and has not ended (what a cancellation interrupts). */
  openSteps(): string[] {
    return [...this.began.values()];
  }

  static of(events: readonly RunEvent[]): RunView {
    const v = new RunView();
    for (const e of events) v.apply(e);
    return v;
  }

  apply(e: RunEvent): void {
    if (e.type === 'run-started') {
      this.s = {
        schema: SUMMARY_SCHEMA,
        runId: e.runId,
        status: 'running',
        startedAt: e.at,
        command: e.command,
        host: e.host,
        kernels: [],
        scenarios: e.scenarios,
        guest: e.guest,
        concurrency: e.concurrency,
        ...(e.overrides ? { overrides: e.overrides } : {}),
        ...(e.plan ? { plan: e.plan } : {}),
        phases: {},
        boots: [],
        steps: [],
        findings: [],
        pending: [],
        retries: [],
      };
      return;
    }
    const s = this.summary;
    switch (e.type) {
      case 'run-resumed':
        s.status = 'running';
        delete s.statusReason;
        delete s.finishedAt;
        s.command = [...s.command, '--resume', ...e.command];
        s.concurrency = Math.max(s.concurrency, 1);
        return;
      case 'kernel-ready': {
        const i = s.kernels.findIndex((k) => k.name === e.kernel.name);
        if (i >= 0) s.kernels[i] = e.kernel;
        else s.kernels.push(e.kernel);
        for (const [k, ms] of Object.entries(e.phases)) s.phases[`${e.kernel.name}/${k}`] = ms;
        return;
      }
      case 'items-planned': {
        const done = new Set(s.steps.map((x) => x.key));
        for (const it of e.items) {
          this.items.set(it.key, it);
          if (!done.has(it.key) && !s.pending.includes(it.key)) s.pending.push(it.key);
        }
        return;
      }
      case 'boot-started':
        s.boots.push({ index: e.boot, kernel: e.kernel, argv: e.argv, end: 'running', qemuExitCode: null, qemuSignal: null, qemuStderr: '', timings: { exitMs: 0 }, consoleLog: e.consoleLog, agentLog: e.agentLog, setup: [], warnings: [], items: e.items, artifacts: [], ...(e.pmem ? { pmem: e.pmem } : {}) });
        return;
      case 'guest-up':
        this.boot(e.boot).guestRelease = e.release;
        return;
      case 'setup-ended':
        this.boot(e.boot).setup.push({ n: e.n, label: e.label, group: e.group, status: e.status, exitCode: e.exitCode, ms: e.ms, output: e.output });
        return;
      case 'step-began':
        this.began.set(`${e.boot} ${e.key}`, e.key);
        this.openStep(e);
        return;
      case 'sample': {
        const o = this.openStep(e);
        (o.samples[e.name] ??= { unit: e.unit, values: [] }).values.push(e.value);
        return;
      }
      case 'metric':
        this.openStep(e).metrics[e.name] = { unit: e.unit, value: e.value };
        return;
      case 'step-ended':
        this.stepEnded(s, e);
        return;
      case 'verdict-revised': {
        const st = s.steps.find((x) => x.key === e.key && x.boot === e.boot);
        if (!st) return;
        (st.revisions ??= []).push({ status: e.status, reason: e.reason, cause: e.cause });
        st.status = e.status;
        st.reason = e.reason;
        st.findings = e.findings;
        this.noteOneShots(s);
        return;
      }
      case 'step-discarded':
        s.steps = s.steps.filter((x) => !(x.key === e.key && x.boot === e.boot));
        if (!s.pending.includes(e.key)) s.pending.push(e.key);
        this.noteOneShots(s);
        return;
      case 'finding':
        this.reports.push(e);
        s.findings = runFindings(this.reports);
        return;
      case 'artifact':
        (this.boot(e.boot).artifacts ??= []).push({ rule: e.rule, why: e.why, title: e.title, line: e.line, step: e.step, fromStep: e.fromStep });
        return;
      case 'retry':
        for (const k of e.items) this.began.delete(`${e.boot} ${k}`);
        (s.retries ??= []).push({ boot: e.boot, scope: e.scope, reason: e.reason, items: e.items });
        return;
      case 'boot-ended': {
        // A cancelled boot ends 'aborted' with its interrupted steps still open; any other end
        // gave every step that matters a step-ended.
        if (e.end !== 'aborted') for (const k of [...this.began.keys()]) if (k.startsWith(`${e.boot} `)) this.began.delete(k);
        const b = this.boot(e.boot);
        Object.assign(b, { end: e.end, qemuExitCode: e.qemuExitCode, qemuSignal: e.qemuSignal, qemuStderr: e.qemuStderr, timings: e.timings });
        if (e.phases) b.phases = e.phases;
        b.warnings.push(...e.warnings);
        return;
      }
      case 'run-ended':
        s.status = e.status;
        s.statusReason = e.reason;
        s.finishedAt = e.at;
        // A resumed run's wall time adds up; the other phases are those of the latest session.
        for (const [k, ms] of Object.entries(e.phases)) s.phases[k] = k === 'totalMs' ? (s.phases[k] ?? 0) + ms : ms;
        return;
    }
  }

  private boot(n: number): BootRecord {
    const b = this.summary.boots.find((x) => x.index === n);
    if (!b) throw new Error(`event for boot ${n} before its boot-started`);
    return b;
  }

  private openStep(e: { boot: number; key: string }): OpenStep {
    const k = `${e.boot} ${e.key}`;
    let o = this.open.get(k);
    if (!o) {
      o = { samples: Object.create(null) as OpenStep['samples'], metrics: Object.create(null) as OpenStep['metrics'] };
      this.open.set(k, o);
    }
    return o;
  }

  private stepEnded(s: RunSummary, e: EventOf<'step-ended'>): void {
    const it = this.items.get(e.key);
    const o = this.open.get(`${e.boot} ${e.key}`);
    this.open.delete(`${e.boot} ${e.key}`);
    this.began.delete(`${e.boot} ${e.key}`);
    const step: StepResult = {
      key: e.key,
      kernel: it?.kernel ?? '',
      scenario: it?.scenario ?? '',
      variant: it?.variant ?? { fs: 'ext4', dax: 'always' },
      rep: it?.rep ?? 0,
      ...(it?.slot !== undefined ? { slot: it.slot } : {}),
      boot: e.boot,
      status: e.status,
      reason: e.reason,
      exitCode: e.exitCode,
      durationMs: e.durationMs,
      samples: o?.samples ?? {},
      metrics: o?.metrics ?? {},
      infos: e.infos,
      output: e.output,
      stderr: e.stderr,
      findings: e.findings,
      ...(e.skippedMonitors?.length ? { skippedMonitors: e.skippedMonitors } : {}),
      finishedAt: e.at,
    };
    s.steps = s.steps.filter((x) => x.key !== e.key);
    s.steps.push(step);
    s.pending = s.pending.filter((k) => k !== e.key);
    this.noteOneShots(s);
  }

  private noteOneShots(s: RunSummary): void {
    const notes = oneShotNotes(s.steps);
    if (notes.length) s.oneShot = notes;
    else delete s.oneShot;
  }
}
