// The engine's loop: boot guests (up to `concurrency` at once) on prepared kernels until every
// pending work item has a result, the run is cancelled, or a kernel cannot boot at all. A guest
// that dies mid-step costs that step only; what is left runs in a fresh boot. Everything it learns
// goes to the recorder as events; it never exits the process.
import { firstFilesystem, planBoot, sameBoot, shareForGuest, type WorkItem } from '../plan/plan.ts';
import { modulesForGroups } from '../image/modules.ts';
import { pmemTemplate } from './pmem-template.ts';
import type { GuestOutcome } from '../qemu/guest.ts';
import type { Scenario } from '../scenario/schema.ts';
import { bootOnce, errorStepEvent, type BootResult } from './boot.ts';
import type { RunRecorder } from './recorder.ts';
import type { GuestSettings, PreparedKernel, ProgressFn } from './types.ts';

export interface ExecuteOptions {
  rec: RunRecorder;
  kernels: readonly PreparedKernel[];
  /** Every item of the run; those without a result in the recorder are run. */
  items: readonly WorkItem[];
  scenarios: readonly Scenario[];
  binaries: Map<string, { name: string; data: Buffer }>;
  guest: GuestSettings;
  /** Guests at once. Timing comparisons (A/B) want 1. */
  concurrency: number;
  signal: AbortSignal;
  progress: ProgressFn;
  /** Stop every guest once one kernel cannot boot (an A/B design with one side gone compares nothing). */
  stopOnDeadKernel?: boolean | undefined;
}

export interface ExecuteResult {
  /** Set when a kernel never got a guest up (its items are errors). */
  failure?: string | undefined;
  cancelled: boolean;
}

export async function execute(o: ExecuteOptions): Promise<ExecuteResult> {
  const { rec } = o;
  const byKey = new Map(o.items.map((i) => [i.key, i]));
  const kernels = new Map(o.kernels.map((k) => [k.name, k]));
  const scenarioById = new Map(o.scenarios.map((s) => [s.id, s]));
  const inFlight = new Set<string>();
  const noProgress = new Map<string, number>(); // kernel -> boots in a row that ran nothing
  const artifactRetries = new Map<string, number>();
  const deadKernels = new Set<string>();
  const counter = { done: rec.summary.steps.length, total: o.items.length };
  let failure: string | undefined;
  let running = 0;
  let nextBoot = rec.summary.boots.length + 1;
  const log = (text: string): void => o.progress({ kind: 'line', text });

  const available = (): WorkItem[] => rec.summary.pending.flatMap((k) => {
    const it = byKey.get(k);
    return it && !inFlight.has(k) && !deadKernels.has(it.kernel) ? [it] : [];
  });

  const settle = (pk: PreparedKernel, batch: WorkItem[], plan: ReturnType<typeof planBoot>, boot: number, r: BootResult): void => {
    if (r.artifacts.length) {
      // The emulator's fault, not the kernel's: what it tainted runs once more in a fresh boot;
      // an item hit twice ends as an error naming the artifact, never as a kernel failure.
      const why = `emulator artifact: ${r.artifacts.map((x) => `${x.title} (${x.rule})`).join('; ')}`;
      const from = Math.min(...r.artifacts.map((x) => x.fromStep));
      const pending = new Set(rec.summary.pending);
      const hit = plan.steps.flatMap((st) => (st.item && st.n >= from && pending.has(st.item.key) ? [st.item.key] : []));
      const again = hit.filter((k) => (artifactRetries.get(k) ?? 0) >= 1);
      for (const k of hit) artifactRetries.set(k, (artifactRetries.get(k) ?? 0) + 1);
      const retry = hit.filter((k) => !again.includes(k));
      const firstStep = plan.steps.find((st) => st.item)?.n ?? 1;
      log(`boot ${boot}: ${why}; ${retry.length} item(s) retried in a fresh boot${again.length ? `, ${again.length} hit twice: error` : ''}`);
      if (retry.length) rec.emit({ type: 'retry', boot, scope: from <= firstStep ? 'boot' : 'step', reason: why, items: retry });
      for (const k of again) rec.emit(errorStepEvent(boot, k, `${why}, on its retry too`));
      noProgress.set(pk.name, 0);
      return;
    }
    if (r.recorded > 0 || r.outcome.end === 'aborted') {
      noProgress.set(pk.name, 0);
      return;
    }
    // Nothing ran. A guest that died in setup may be a one-off, so try once more; a boot that
    // never came up would fail again.
    const n = (noProgress.get(pk.name) ?? 0) + 1;
    noProgress.set(pk.name, n);
    const why = bootFailureReason(r.outcome, r.panic);
    const retryable = r.outcome.end === 'exit-without-bye' || r.outcome.end === 'watchdog';
    if (retryable && n < 2) {
      log(`boot ${boot}: ${why}; retrying once in a fresh boot`);
      rec.emit({ type: 'retry', boot, scope: 'boot', reason: why, items: batch.map((i) => i.key) });
      return;
    }
    // This kernel does not boot: its items are errors; other kernels go on.
    deadKernels.add(pk.name);
    for (const k of rec.summary.pending) if (byKey.get(k)?.kernel === pk.name) rec.emit(errorStepEvent(boot, k, why));
    failure ??= o.kernels.length > 1 ? `${pk.name}: ${why}` : why;
    if (o.stopOnDeadKernel) stopAll();
  };

  // An unexpected error in one guest stops the others before it is thrown: no guest outlives execute().
  const inner = new AbortController();
  const signal = AbortSignal.any([o.signal, inner.signal]);
  const stopAll = (): void => inner.abort('a kernel cannot boot');
  let error: unknown;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: unknown): void => {
      error ??= e;
      inner.abort();
    };
    const launch = (): void => {
      while (running < o.concurrency && !signal.aborted) {
        const avail = available();
        const first = avail[0];
        if (!first) break;
        const pk = kernels.get(first.kernel);
        if (!pk) {
          fail(new Error(`work item ${first.key} names kernel '${first.kernel}', which was not prepared`));
          break;
        }
        const batch = shareForGuest(avail.filter((i) => i.kernel === pk.name && sameBoot(i, first)), o.concurrency - running);
        const pmemBytes = Math.max(...batch.map((i) => scenarioById.get(i.scenario)?.pmemBytes ?? 1024 ** 3));
        const boot = nextBoot++;
        for (const i of batch) inFlight.add(i.key);
        running++;
        // Filesystems that are modules on this kernel: their insmod can wait for their first group.
        const moduleFs = (['ext4', 'xfs'] as const).filter((fs) => modulesForGroups(pk.image.modules, pk.image.moduleDeps, [fs]).length > 0);
        let plan = planBoot(batch, { pmemBytes, moduleFs });
        const start = async (): Promise<BootResult> => {
          const fs = firstFilesystem(batch);
          const template = o.guest.pmemTemplate !== false && fs ? await pmemTemplate(pk, pmemBytes, fs) : undefined;
          if (template) {
            plan = planBoot(batch, { pmemBytes, moduleFs, template: template.fs });
            if (template.built) log(`boot ${boot}: made a pmem template (${template.made})`);
          }
          return bootOnce({ rec, plan, bootIndex: boot, kernel: pk, guest: o.guest, binaries: o.binaries, allowFor: (id) => scenarioById.get(id)?.allowFindings ?? [], progress: o.progress, signal, counter, template });
        };
        start()
          .then((r) => settle(pk, batch, plan, boot, r))
          .catch(fail)
          .finally(() => {
            running--;
            for (const i of batch) inFlight.delete(i.key);
            launch();
          });
      }
      if (running === 0) {
        if (error === undefined) resolve();
        else reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    launch();
  });
  return { failure, cancelled: o.signal.aborted };
}

export function bootFailureReason(out: GuestOutcome, panic: string | undefined): string {
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
