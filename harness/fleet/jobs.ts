// The worker fleet's jobs: a night of a nightly plan cut into units (one kernel's boot slot for
// one scenario, nightly/shard.ts), each a BullMQ job that runs as shard j of N, N the number of
// units, so `mergeRuns` joins job results exactly as it joins shards. Ids are deterministic (the
// same night enqueued twice is the same jobs), payloads and results are checked on the way in.
// Pure.
import { z } from 'zod';
import { workItems, type WorkItem } from '../plan/plan.ts';
import { bootSlots, shardUnits } from '../nightly/shard.ts';
import type { Scenario } from '../scenario/schema.ts';
import { UserError } from '../util/errors.ts';

export interface FleetUnit {
  /** 1-based; the job runs as shard `index`/`count`. */
  index: number;
  count: number;
  kernel: string;
  /** Boot slot of the plan (0: a plan of one boot). */
  slot: number;
  scenario: string;
  /** Work-item keys of the unit: a worker whose checkout plans other keys refuses the job. */
  keys: string[];
}

/** The night's units in shard order: unit j is what `shardItems(all, {index: j, count: N})` gives. */
export function fleetUnits(kernels: readonly { name: string }[], scenarios: Scenario[], boots: number): FleetUnit[] {
  // Binary names do not shape units (only the key, kernel, slot, scenario and timeout do).
  const all: WorkItem[] = bootSlots(kernels.flatMap((k) => workItems(k.name, scenarios, new Map())), boots);
  const units = shardUnits(all);
  return units.map((u, j) => ({ index: j + 1, count: units.length, kernel: u.kernel, slot: u.slot, scenario: u.scenario, keys: u.items.map((i) => i.key) }));
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `--night ID`: letters, digits, . _ - (it is part of job ids and a directory name). */
export function parseNightId(v: string): string {
  if (!ID.test(v)) throw new UserError(`--night must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got '${v}'`);
  return v;
}

/** Tonight by default: the UTC date, so a second enqueue on the same day is the same night. */
export function defaultNightId(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** BullMQ refuses ':' in queue names and job ids; plan names and night ids cannot hold one. */
export function queueName(planName: string): string {
  return `daxlab.${planName}`;
}

export function jobId(plan: { name: string; hash: string }, night: string, u: Pick<FleetUnit, 'index' | 'count'>): string {
  return `${plan.name}.${plan.hash}.${night}.${u.index}-of-${u.count}`;
}

const unitSchema = z.object({
  index: z.number().int().min(1),
  count: z.number().int().min(1),
  kernel: z.string(),
  slot: z.number().int().min(0),
  scenario: z.string(),
  keys: z.array(z.string()),
});

export const payloadSchema = z
  .object({
    v: z.literal(1),
    /** The plan file relative to the daxlab checkout: every worker runs the same checkout. */
    plan: z.object({ path: z.string().min(1), name: z.string(), hash: z.string() }),
    night: z.string().regex(ID),
    unit: unitSchema,
  })
  .strict();

export type JobPayload = z.infer<typeof payloadSchema>;

/** A job's result: its run directory's files, each gzip+base64, and who ran it. */
export const resultSchema = z
  .object({
    v: z.literal(1),
    jobId: z.string(),
    night: z.string(),
    unit: z.object({ index: z.number().int().min(1), count: z.number().int().min(1) }),
    runId: z.string(),
    status: z.enum(['completed', 'interrupted', 'failed']),
    worker: z.string(),
    /** File name in the run directory -> gzip+base64 of its bytes (events.jsonl, console-N.log, agent-N.log). */
    files: z.record(z.string().regex(/^(events\.jsonl|(console|agent)-\d+\.log)$/), z.string()),
    /** Logs cut to the result cap (the worker's local copy is whole). */
    truncated: z.array(z.string()).default([]),
  })
  .strict();

export type JobResult = z.infer<typeof resultSchema>;

/** Job data from Redis: whatever is there, the worker runs only a payload it understands. */
export function decodePayload(data: unknown): JobPayload {
  const r = payloadSchema.safeParse(data);
  if (!r.success) throw new Error(`not a daxlab job payload: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  const p = r.data;
  // A path that climbs out of the checkout is not a plan the enqueuer could have meant.
  if (p.plan.path.startsWith('/') || p.plan.path.split('/').includes('..')) throw new Error(`job plan path '${p.plan.path}' is not inside the checkout`);
  if (p.unit.index > p.unit.count) throw new Error(`job unit ${p.unit.index} of ${p.unit.count}`);
  return p;
}

/** A job's return value (BullMQ keeps it as JSON), or an error naming what is wrong with it. */
export function decodeResult(value: unknown): JobResult {
  const r = resultSchema.safeParse(typeof value === 'string' ? JSON.parse(value) : value);
  if (!r.success) throw new Error(`not a daxlab job result: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/**
 * One result per unit of the night, whatever arrived twice (a stalled job re-run, a collector
 * restarted): the first result of a job id wins, results of other nights or plans are dropped.
 */
export function pickResults(results: readonly JobResult[], jobIds: readonly string[]): JobResult[] {
  const want = new Set(jobIds);
  const byId = new Map<string, JobResult>();
  for (const r of results) if (want.has(r.jobId) && !byId.has(r.jobId)) byId.set(r.jobId, r);
  return [...byId.values()].sort((a, b) => a.unit.index - b.unit.index);
}

/** What a job reports as it goes (job.updateProgress): the queue's watchers print it. */
export const progressSchema = z.object({
  worker: z.string(),
  /** Steps with a result / steps of the unit. */
  done: z.number().int().min(0),
  total: z.number().int().min(0),
  /** What is happening now: `preparing`, `boot 1 started`, the last step's key and status. */
  current: z.string(),
});

export type JobProgress = z.infer<typeof progressSchema>;

export function decodeProgress(v: unknown): JobProgress | undefined {
  const r = progressSchema.safeParse(v);
  return r.success ? r.data : undefined;
}
