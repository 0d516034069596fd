// `daxlab enqueue`: one BullMQ job per unit of a night, on the plan's queue, with ids that make a
// second enqueue of the same night add nothing; then (unless --no-wait) follow the jobs until
// every one has finished, print their progress, and publish the night from their results.
import type { Job, Queue } from 'bullmq';
import { logLine } from '../util/log.ts';
import { decodeProgress, decodeResult, jobId, queueName, type FleetUnit, type JobPayload, type JobResult } from './jobs.ts';
import type { FleetPlan } from './plan.ts';
import { connectRedis, redisMessage, type RedisTarget } from './redis.ts';

export interface EnqueueSettings {
  redis: RedisTarget;
  fp: FleetPlan;
  night: string;
  /** Seconds between looks at the jobs while following them. */
  pollMs?: number;
}

export interface NightJobs {
  queue: string;
  ids: string[];
  added: number;
}

const JOB_OPTIONS = {
  // A job that throws (a kernel download failed on that machine) gets one more try, elsewhere if
  // another worker is free; a job a worker cannot run at all fails at once (UnrecoverableError).
  attempts: 2,
  backoff: { type: 'fixed', delay: 5000 },
  // Kept two weeks: a second enqueue of the night finds them (and their results) instead of
  // running the night again.
  removeOnComplete: { age: 14 * 86400 },
  removeOnFail: { age: 14 * 86400 },
};

export interface FollowOutcome {
  results: JobResult[];
  /** Unit index -> why it has no result. */
  failed: Map<number, string>;
}

type Say = (s: string) => void;

export async function withQueue<T>(o: EnqueueSettings, say: Say, fn: (q: Queue) => Promise<T>): Promise<T> {
  const connection = await connectRedis(o.redis, { log: say });
  const { Queue } = await import('bullmq');
  const q = new Queue(queueName(o.fp.plan.name), { connection });
  q.on('error', (e) => say(`queue: ${redisMessage(e, o.redis)}`));
  try {
    return await fn(q);
  } finally {
    await q.close().catch(() => undefined);
    connection.disconnect();
  }
}

export async function addNight(q: Queue, o: EnqueueSettings): Promise<NightJobs> {
  const ids: string[] = [];
  let added = 0;
  for (const u of o.fp.units) {
    const id = jobId(o.fp.ref, o.night, u);
    ids.push(id);
    // add() with an existing id is a no-op in BullMQ too; asking first only tells us which it was.
    if (await q.getJob(id)) continue;
    const payload: JobPayload = { v: 1, plan: o.fp.ref, night: o.night, unit: u };
    await q.add(`${u.kernel}/${u.scenario}${u.slot ? `@${u.slot}` : ''}`, payload, { ...JOB_OPTIONS, jobId: id });
    added++;
  }
  return { queue: q.name, ids, added };
}

const tagOf = (u: FleetUnit): string => `job ${u.index}/${u.count}`;

/** Look at the night's jobs until each has completed or failed for good, printing what changes. */
export async function followNight(q: Queue, o: EnqueueSettings, ids: readonly string[], say: Say): Promise<FollowOutcome> {
  const results: JobResult[] = [];
  const failed = new Map<number, string>();
  const last = new Map<string, string>();
  const open = new Set(ids);
  for (;;) {
    for (const [i, id] of ids.entries()) {
      if (!open.has(id)) continue;
      const u = o.fp.units[i] as FleetUnit;
      const job: Job | undefined = await q.getJob(id);
      const state = job ? await job.getState() : 'unknown';
      if (!job || state === 'unknown') {
        open.delete(id);
        failed.set(u.index, 'the job is gone from the queue (removed, or the queue was emptied)');
        say(`${tagOf(u)}: gone from the queue`);
        continue;
      }
      if (state === 'completed') {
        open.delete(id);
        try {
          const r = decodeResult(job.returnvalue);
          results.push(r);
          say(`${tagOf(u)}: done on ${r.worker}: ${r.status}`);
        } catch (e) {
          failed.set(u.index, (e as Error).message);
          say(`${tagOf(u)}: completed with an unusable result: ${(e as Error).message}`);
        }
        continue;
      }
      if (state === 'failed') {
        open.delete(id);
        failed.set(u.index, job.failedReason);
        say(`${tagOf(u)}: failed: ${job.failedReason}`);
        continue;
      }
      const p = decodeProgress(job.progress);
      const line = state === 'active' && p ? `running on ${p.worker}: [${p.done}/${p.total}] ${p.current}` : state === 'waiting' && job.attemptsStarted > 0 ? `waiting (attempt ${job.attemptsStarted} did not finish)` : state;
      if (last.get(id) !== line) say(`${tagOf(u)}: ${line}`);
      last.set(id, line);
    }
    if (!open.size) return { results, failed };
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

/** The stderr logger of the fleet commands, timed from `t0`. */
export function fleetLogger(t0 = Date.now()): Say {
  return (s) => void process.stderr.write(logLine(Date.now() - t0, s));
}
