// `daxlab enqueue PLAN --redis URL` and `daxlab worker --redis URL`: a nightly plan run as BullMQ
// jobs by workers on any number of machines (fleet/). bullmq and ioredis load only in these two
// commands' actions.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DB_ENV, DEFAULT_DB_FILE, parseDbTarget } from '../history/db/target.ts';
import { defaultResultsRoot } from '../results/store.ts';
import type { RunCancel } from '../run/command.ts';
import { addGuestOptions, guestSettings, intFlag, type GuestFlags } from '../run/guest-flags.ts';
import { parseDuration } from '../scenario/units.ts';
import { UserError } from '../util/errors.ts';
import { displayPath } from '../util/paths.ts';
import { publishJobResults } from './collect.ts';
import { addNight, fleetLogger, followNight, withQueue } from './enqueue.ts';
import { defaultNightId, parseNightId, queueName } from './jobs.ts';
import { loadFleetPlan } from './plan.ts';
import { parseRedisTarget, REDIS_ENV, REDIS_PASSWORD_ENV } from './redis.ts';
import { DEFAULT_LOCK_MS, LOCK_ENV, runWorker } from './worker.ts';

const REDIS_HELP = `Redis server: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or rediss:// (default $${REDIS_ENV}; a password not in the URL comes from $${REDIS_PASSWORD_ENV})`;

interface EnqueueFlags {
  redis?: string;
  night?: string;
  wait: boolean;
  out?: string;
  db?: string | boolean;
}

interface WorkerFlags extends GuestFlags {
  redis?: string;
  plan?: string;
  queue?: string;
  jobs: string;
  exitWhenIdle?: boolean;
  lockDuration?: string;
}

/** `--lock-duration` (else $DAXLAB_WORKER_LOCK), in ms: seconds or e.g. 90s, 2m. */
export function lockMs(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const v = flag ?? env[LOCK_ENV];
  if (v === undefined || v === '') return DEFAULT_LOCK_MS;
  const s = parseDuration(v);
  if (s === undefined || s < 1 || s > 3600) throw new UserError(`${flag !== undefined ? '--lock-duration' : LOCK_ENV} must be 1s..1h (seconds, or e.g. 90s, 2m), got '${v}'`);
  return Math.round(s * 1000);
}

export function registerFleetCommands(program: Command, cancel: RunCancel): void {
  program
    .command('enqueue')
    .description("run a nightly plan's night as BullMQ jobs (one per kernel boot and scenario) for daxlab worker on any machine; waits for them and merges the night")
    .argument('<plan>', 'nightly plan YAML inside the daxlab checkout (workers find it in theirs)')
    .option('--redis <url>', REDIS_HELP)
    .option('--night <id>', 'night id: the same night enqueued again adds no job (default: the UTC date)')
    .option('--no-wait', 'only enqueue; a later enqueue of the same --night follows the jobs and merges the night')
    .option('-o, --out <dir>', 'results directory of the merged night (default results/<plan>-<night>)')
    .option('--db [url]', `also import the night into the history database and compare it with its history (default database: $${DB_ENV}, else <results>/${DEFAULT_DB_FILE})`)
    .action(async (planFile: string, f: EnqueueFlags) => {
      // Everything that can be refused is refused before Redis is asked anything.
      const fp = await loadFleetPlan(planFile);
      const redis = parseRedisTarget(f.redis);
      const night = f.night === undefined ? defaultNightId() : parseNightId(f.night);
      const target = f.db === undefined || f.db === false ? undefined : parseDbTarget(f.db === true ? undefined : f.db);
      const out = f.out ?? join(defaultResultsRoot(), `${fp.plan.name}-${night}`);
      if (f.wait && existsSync(out)) throw new UserError(`--out ${displayPath(out)} already exists (the night was collected already, or give another --out)`);
      const say = fleetLogger();
      const o = { redis, fp, night };
      const done = await withQueue(o, say, async (q) => {
        const n = await addNight(q, o);
        process.stdout.write(`night ${night} of plan ${fp.plan.name}: ${n.ids.length} job${n.ids.length === 1 ? '' : 's'} on queue ${n.queue} at ${redis.display} (${n.added} added, ${n.ids.length - n.added} already there)\n`);
        return f.wait ? { ids: n.ids, ...(await followNight(q, o, n.ids, say)) } : undefined;
      });
      if (!done) return;
      for (const [i, why] of done.failed) process.stderr.write(`daxlab: job ${i}/${fp.units.length} has no result: ${why}\n`);
      process.exitCode = (await publishJobResults(done.results, done.ids, out, target)).exitCode;
    });

  const cmd = program
    .command('worker')
    .description('run daxlab enqueue jobs from Redis with the engine, one guest per job, until stopped (a signal hands running jobs back to the queue)')
    .option('--redis <url>', REDIS_HELP)
    .option('--plan <plan>', "take the jobs of this nightly plan (its queue; the worker checks each job's plan hash against it)")
    .option('--queue <name>', `queue name instead of --plan (daxlab enqueue uses ${queueName('PLAN-NAME')})`)
    .option('-j, --jobs <n>', 'jobs at once', '1')
    .option('--exit-when-idle', 'exit once no job of the queue is waiting, running or delayed')
    .option('--lock-duration <duration>', `how long a job stays with a worker that stopped answering before it goes to another (default ${DEFAULT_LOCK_MS / 1000}s, or $${LOCK_ENV})`);
  addGuestOptions(cmd).action(async (f: WorkerFlags) => {
    if ((f.plan === undefined) === (f.queue === undefined)) throw new UserError('give --plan PLAN or --queue NAME (one of them)');
    const queue = f.plan !== undefined ? queueName((await loadFleetPlan(f.plan)).plan.name) : (f.queue as string);
    const redis = parseRedisTarget(f.redis);
    const settings = { redis, queue, jobs: intFlag('--jobs', f.jobs, 64), lockMs: lockMs(f.lockDuration), exitWhenIdle: Boolean(f.exitWhenIdle), accel: f.accel, tcgThread: f.tcgThread, guest: guestSettings(f), signal: cancel.signal };
    // From here a signal releases the running jobs instead of killing the process.
    cancel.recording();
    await runWorker(settings);
    // Stopped by a signal: say which, as `daxlab run` does.
    if (cancel.signal.aborted) process.exitCode = cancel.signal.reason === 'SIGINT' ? 130 : 143;
  });
}
