// `daxlab worker`: takes fleet jobs from a BullMQ queue and runs each with the engine, as shard j
// of N of its plan (run/runner.ts: the same run() as `daxlab nightly --shard`, preparing only the
// kernel the unit boots; the kernel cache makes the second job on a machine a hit). Progress goes
// to the job (job.updateProgress) and to stderr; the run goes back as the job's return value
// (fleet/result.ts). A worker that dies is noticed by its lock expiring: BullMQ's stalled check
// puts the job back in the queue and another worker runs it from scratch, in a directory of its
// own. A signal releases the running jobs (back to the queue at once) and stops the worker.
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { GuestSettings } from '../engine/types.ts';
import type { Accel, TcgThread } from '../qemu/args.ts';
import { defaultResultsRoot } from '../results/store.ts';
import { progressRenderer } from '../run/progress.ts';
import { run } from '../run/runner.ts';
import { UserError } from '../util/errors.ts';
import { logLine } from '../util/log.ts';
import { decodePayload, type JobPayload, type JobProgress, type JobResult } from './jobs.ts';
import { planGuest } from '../nightly/plan.ts';
import { loadFleetPlan, planPathOf } from './plan.ts';
import { connectRedis, redisMessage, type RedisTarget } from './redis.ts';
import { packRun } from './result.ts';

export interface WorkerSettings {
  redis: RedisTarget;
  queue: string;
  /** Jobs at once (each boots one guest at a time). */
  jobs: number;
  /** BullMQ lockDuration: how long a silent worker keeps its job before the job stalls. */
  lockMs: number;
  exitWhenIdle: boolean;
  accel: Accel | 'auto';
  tcgThread: TcgThread;
  guest: GuestSettings;
  signal: AbortSignal;
}

export const DEFAULT_LOCK_MS = 60_000;
export const LOCK_ENV = 'DAXLAB_WORKER_LOCK';

/** Stalls a job may have (dead workers) before it fails instead of going back to the queue. */
const MAX_STALLS = 2;

export async function runWorker(o: WorkerSettings): Promise<void> {
  const t0 = Date.now();
  const say = (s: string): void => void process.stderr.write(logLine(Date.now() - t0, s));
  const name = `${hostname()}/${process.pid}`;
  const connection = await connectRedis(o.redis, { log: say });
  const { Worker, Queue, UnrecoverableError, WaitingError } = await import('bullmq');
  let running = 0;

  const processor = async (job: Job, token?: string): Promise<JobResult> => {
    running++;
    try {
      return await runJob(job, token);
    } finally {
      running--;
    }
  };

  const runJob = async (job: Job, token?: string): Promise<JobResult> => {
    const id = job.id ?? '?';
    let p: JobPayload;
    try {
      p = decodePayload(job.data);
    } catch (e) {
      throw new UnrecoverableError((e as Error).message);
    }
    // This checkout's plan must be the enqueuer's: running another plan would merge nonsense.
    const fp = await loadFleetPlan(planPathOf(p)).catch((e: unknown) => {
      throw new UnrecoverableError(`${name}: plan ${p.plan.path}: ${e instanceof UserError ? e.oneLine() : String(e)}`);
    });
    if (fp.ref.hash !== p.plan.hash) throw new UnrecoverableError(`${name}: plan ${p.plan.path} here is ${fp.ref.hash}, the job is for ${p.plan.hash}: this worker's checkout differs from the enqueuer's`);
    const unit = fp.units[p.unit.index - 1];
    if (!unit || unit.count !== p.unit.count || unit.keys.join('\n') !== p.unit.keys.join('\n')) throw new UnrecoverableError(`${name}: unit ${p.unit.index}/${p.unit.count} of plan ${p.plan.path} plans other work items here than the job's (the scenarios differ between checkouts)`);
    const tag = `job ${p.unit.index}/${p.unit.count}`;
    say(`${tag} ${id}: ${unit.kernel}/${unit.scenario}${unit.slot ? `@${unit.slot}` : ''}, ${unit.keys.length} step${unit.keys.length === 1 ? '' : 's'} (attempt ${job.attemptsStarted})`);
    const progress: JobProgress = { worker: name, done: 0, total: unit.keys.length, current: 'preparing' };
    const report = (): void => void job.updateProgress(progress).catch(() => undefined);
    report();
    const render = progressRenderer({ write: (s) => void process.stderr.write(s.replace(/^(\[[^\]]*\] )/, `$1${tag}: `)), tty: false, t0 });
    // A fresh directory per attempt: a re-run after a stall never meets the first attempt's files
    // (nor the orphaned guest of a killed worker, whose sockets died with it).
    const root = defaultResultsRoot();
    const partial = join(root, `.fleet-${id}-${randomBytes(4).toString('hex')}.partial`);
    const r = await run({
      scenarioArgs: fp.plan.scenarioArgs,
      kernels: fp.plan.kernels.map((k) => `${k.name}=${k.spec}`),
      outDir: partial,
      accel: o.accel,
      tcgThread: o.tcgThread,
      guest: planGuest(fp.plan, o.guest),
      concurrency: 1,
      overrides: fp.plan.overrides,
      plan: { name: fp.plan.name, hash: fp.plan.hash, boots: fp.plan.boots, shard: { index: p.unit.index, count: p.unit.count } },
      // Not the worker's argv: it holds the Redis URL.
      command: ['worker', '--job', id],
      progress: (ev) => {
        render(ev);
        if (ev.kind === 'step') Object.assign(progress, { done: ev.done, total: ev.total, current: `${ev.key}: ${ev.status}` });
        else if (ev.kind === 'boot') progress.current = `boot ${ev.boot} ${ev.phase}`;
        else return;
        report();
      },
      signal: o.signal,
    }).catch((e: unknown) => {
      // Bad input here is a job that cannot run on any worker of this checkout.
      if (e instanceof UserError) throw new UnrecoverableError(`${name}: ${e.oneLine()}`);
      throw e;
    });
    // The local copy under its run id, once it is whole (a killed worker leaves only a .partial).
    const dir = join(root, r.summary.runId);
    if (!existsSync(dir)) renameSync(partial, dir);
    if (r.summary.status === 'interrupted' && o.signal.aborted) {
      // Released, not failed: another worker (or this one, restarted) runs it from scratch.
      say(`${tag}: released back to the queue (${String(o.signal.reason)}); local run ${dir}`);
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const result = packRun(existsSync(dir) ? dir : partial, { jobId: id, night: p.night, unit: { index: p.unit.index, count: p.unit.count }, worker: name }, r.summary);
    say(`${tag} ${id}: ${r.summary.status}: ${r.summary.statusReason ?? ''}; local run ${dir}`);
    return result;
  };

  const worker = new Worker<unknown, JobResult>(o.queue, processor, {
    connection,
    name,
    concurrency: o.jobs,
    lockDuration: o.lockMs,
    // Dead workers' jobs are looked for as often as a lock lasts, so one is back in the queue
    // between one and two lock durations after its worker died.
    stalledInterval: o.lockMs,
    maxStalledCount: MAX_STALLS,
    autorun: false,
  });
  worker.on('error', (e) => say(`worker: ${redisMessage(e, o.redis)}`));
  worker.on('stalled', (jobId) => say(`job ${jobId} stalled (its worker stopped renewing its lock): back in the queue`));
  worker.on('failed', (job, e) => say(`job ${job?.id ?? '?'} failed: ${e.message}`));

  const queue = new Queue(o.queue, { connection });
  queue.on('error', (e) => say(`queue: ${redisMessage(e, o.redis)}`));
  let idleTimer: NodeJS.Timeout | undefined;
  const stop = async (why: string): Promise<void> => {
    if (idleTimer) clearInterval(idleTimer);
    say(`stopping: ${why}`);
    await worker.close();
    await queue.close();
    connection.disconnect();
  };
  o.signal.addEventListener('abort', () => void stop(`${String(o.signal.reason)}; running jobs are released to the queue`), { once: true });
  if (o.exitWhenIdle) {
    // Idle is nothing left anywhere: a job held by a dead worker is still active until its lock
    // runs out and the stalled check puts it back, and this worker may be the one to run it.
    idleTimer = setInterval(() => {
      if (running > 0) return;
      void queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children').then((c) => {
        if (running === 0 && Object.values(c).every((n) => n === 0)) void stop('queue empty');
      }, () => undefined);
    }, 1000);
  }
  say(`worker ${name} on queue ${o.queue} at ${o.redis.display}: up to ${o.jobs} job${o.jobs > 1 ? 's' : ''} at once, lock ${o.lockMs / 1000}s`);
  await worker.run();
}
