// The worker fleet on a real Redis server (test/redis-server.ts) and real debian:6.12 guests: a
// night of three jobs, two `daxlab worker` processes, one killed with SIGKILL in the middle of a
// job; the job runs again on the other worker and the merged night holds each planned step once.
// Credentials never appear in any output or results file; a server that is down or refuses the
// password is one line, exit 2; only the fleet commands load bullmq and ioredis.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Queue } from 'bullmq';
import { loadFleetPlan } from '../harness/fleet/plan.ts';
import { queueName } from '../harness/fleet/jobs.ts';
import type { RunSummary } from '../harness/results/types.ts';
import { root, waitFor } from './helpers.ts';
import { freePort, startRedis } from './redis-server.ts';

const PLAN = 'test/data/fleet/three-boots.yaml';
// Characters a URL must encode, so a leak in either spelling is caught.
const PASSWORD = 'fl33t:s3cret@pw';
const ENCODED = encodeURIComponent(PASSWORD);
// The machine's own settings must not leak in.
const CLEAN: Record<string, string | undefined> = { DAXLAB_REDIS: undefined, REDISCLI_AUTH: undefined, DAXLAB_WORKER_LOCK: undefined, DAXLAB_DB: undefined };

const node = (args: string[], env: Record<string, string | undefined> = {}, o: { detached?: boolean } = {}): ResultPromise =>
  execa('node', ['bin/daxlab.js', ...args], { cwd: root, reject: false, all: true, env: { ...CLEAN, ...env }, timeout: 10 * 60 * 1000, ...o });

/** Every file under `dir`, recursively (hidden ones too: a killed worker's .partial run). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name)) : [join(dir, d.name)]));
}

const leaks = (texts: readonly string[]): boolean => texts.some((s) => s.includes(PASSWORD) || s.includes(ENCODED) || s.includes('s3cret'));

/** Live output of a child process, for waiting on a line. */
function capture(child: ResultPromise): { text: () => string } {
  let buf = '';
  child.all?.on('data', (d: Buffer) => void (buf += d.toString()));
  return { text: () => buf };
}

async function groupPids(pgid: number): Promise<number[]> {
  const r = await execa('pgrep', ['-g', String(pgid)], { reject: false });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

test('a worker killed mid-job: the job re-runs on the other worker, the merged night has every planned step once', async (t) => {
  const t0 = Date.now();
  const redis = await startRedis({ password: PASSWORD });
  t.teardown(() => redis.stop());
  const tmp = mkdtempSync(join(tmpdir(), 'daxlab-fleet-'));
  const resA = join(tmp, 'results-a');
  const resB = join(tmp, 'results-b');
  const out = join(tmp, 'night');
  const night = `kill-${process.pid}`;
  const url = redis.url();
  const outputs: string[] = [];

  const enq = await node(['enqueue', PLAN, '--redis', url, '--night', night, '--no-wait']);
  outputs.push(String(enq.all));
  t.is(enq.exitCode, 0, String(enq.all));
  t.regex(String(enq.stdout), new RegExp(`^night ${night} of plan fleet-three: 3 jobs on queue daxlab\\.fleet-three at redis://127\\.0\\.0\\.1:${redis.port} \\(3 added, 0 already there\\)$`));
  // The same night again adds nothing.
  const again = await node(['enqueue', PLAN, '--redis', url, '--night', night, '--no-wait']);
  outputs.push(String(again.all));
  t.regex(String(again.stdout), /\(0 added, 3 already there\)$/);
  const q = new Queue(queueName('fleet-three'), { connection: { host: '127.0.0.1', port: redis.port, password: PASSWORD } });
  t.teardown(() => q.close());
  t.deepEqual(await q.getJobCounts('waiting', 'active', 'completed', 'failed'), { waiting: 3, active: 0, completed: 0, failed: 0 });

  // Worker A gets a job first; B starts once A is busy, so the job A dies with is B's to re-run.
  const lock = ['--lock-duration', '4s'];
  const a = node(['worker', '--plan', PLAN, '--redis', url, ...lock], { DAXLAB_RESULTS: resA }, { detached: true });
  const aOut = capture(a);
  const [, jobIndex, killedId = ''] = await waitFor('worker A to start a job', () => /job (\d)\/3 (\S+): deb\/tl-one@\d, 1 step \(attempt 1\)/.exec(aOut.text()) ?? undefined, 300_000, a);
  const b = node(['worker', '--plan', PLAN, '--redis', url, ...lock, '--exit-when-idle'], { DAXLAB_RESULTS: resB });
  const bOut = capture(b);
  // In the middle of the job: its guest is up and running the step.
  await waitFor('worker A guest up', () => new RegExp(`job ${jobIndex}/3: boot 1: guest up`).test(aOut.text()), 300_000, a);
  const pgid = a.pid as number;
  process.kill(pgid, 'SIGKILL');
  const tKill = Date.now();
  await a;
  outputs.push(aOut.text());
  // The orphans of A (its QEMU) are ours to watch: how they end is part of the answer.
  const orphans = await groupPids(pgid);
  t.teardown(async () => {
    for (const p of await groupPids(pgid)) process.kill(p, 'SIGKILL');
  });

  const esc = killedId.replace(/\./g, '\\.');
  await waitFor('the stalled check to see the dead worker', () => new RegExp(`job ${esc} stalled`).test(bOut.text()), 300_000, b);
  const stallS = (Date.now() - tKill) / 1000;
  const rerun = await waitFor('worker B to re-run the killed job', () => new RegExp(`job ${jobIndex}/3 ${killedId.replace(/\./g, '\\.')}: deb/tl-one@\\d, 1 step \\(attempt 2\\)`).test(bOut.text()), 300_000, b);
  const recoveryS = (Date.now() - tKill) / 1000;
  t.true(rerun);
  const br = await b;
  outputs.push(String(br.all));
  t.is(br.exitCode, 0, String(br.all).slice(-3000));
  t.regex(String(br.all), new RegExp(`job ${killedId.replace(/\./g, '\\.')} stalled \\(its worker stopped renewing its lock\\): back in the queue`));
  t.regex(String(br.all), /stopping: queue empty/);

  let orphanS: number | undefined;
  if (orphans.length) {
    for (const end = Date.now() + 120_000; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
      if ((await groupPids(pgid)).length === 0) {
        orphanS = (Date.now() - tKill) / 1000;
        break;
      }
    }
  }
  // A's run of the killed job stays a .partial: never mistaken for a finished run.
  const partials = readdirSync(resA).filter((d) => d.endsWith('.partial'));
  t.is(partials.length, 1, readdirSync(resA).join(' '));
  // The guest A left behind (no cleanup ran) keeps its NVDIMM temp dir: remove ours.
  const ev = readFileSync(join(resA, partials[0] as string, 'events.jsonl'), 'utf8');
  const guestDir = /mem-path=([^,"]+)\/nv0\.img/.exec(ev)?.[1];
  if (guestDir?.startsWith(tmpdir())) rmSync(guestDir, { recursive: true, force: true });

  // Collect: the night merged from the three job results.
  const col = await node(['enqueue', PLAN, '--redis', url, '--night', night, '--out', out, '--db', join(tmp, 'history.sqlite')]);
  outputs.push(String(col.all));
  t.is(col.exitCode, 0, String(col.all));
  t.regex(String(col.stdout), /\(0 added, 3 already there\)/);
  t.regex(String(col.stderr), new RegExp(`job ${jobIndex}/3: done on [^ ]+/${b.pid}: completed`), 'the killed job counted is the re-run');
  t.regex(String(col.stdout), /: imported into sqlite:.*history\.sqlite \(3 steps, 3 boots, 1 kernel/);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  const fp = await loadFleetPlan(join(root, PLAN));
  t.deepEqual(s.steps.map((x) => x.key).sort(), fp.units.flatMap((u) => u.keys).sort(), 'every planned step once: none lost, none doubled');
  t.true(s.steps.every((x) => x.status === 'pass'));
  t.deepEqual(s.boots.map((x) => x.index), [1, 2, 3]);
  t.is(s.status, 'completed');
  t.true(existsSync(join(out, 'junit.xml')) && existsSync(join(out, 'kcidb.json')) && existsSync(join(out, 'report.html')));
  t.deepEqual(await q.getJobCounts('waiting', 'active', 'completed', 'failed'), { waiting: 0, active: 0, completed: 3, failed: 0 });

  // No password anywhere: not in what any process printed, not in any file a run wrote.
  const files = [...filesUnder(resA), ...filesUnder(resB), ...filesUnder(out)];
  t.true(files.length > 10);
  t.false(leaks(outputs), 'no password in any output');
  t.deepEqual(files.filter((f) => statSync(f).size < 64 * 1024 * 1024 && leaks([readFileSync(f, 'latin1')])), [], 'no password in any results file');
  t.log(`kill -> job back in the queue: ${stallS.toFixed(1)}s, -> re-run started on B: ${recoveryS.toFixed(1)}s (lock 4s; B finishes its own job first); orphaned QEMU processes of A: ${orphans.length}, ${orphanS === undefined ? 'still running after 120 s (killed by the test)' : `gone ${orphanS.toFixed(1)}s after the kill`}; test ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  if (orphans.length) t.not(orphanS, undefined, 'the orphaned guest powers off by itself');
});

test('SIGTERM mid-job: the worker hands the job back to the queue at once and exits 143', async (t) => {
  const redis = await startRedis({ password: PASSWORD });
  t.teardown(() => redis.stop());
  const res = mkdtempSync(join(tmpdir(), 'daxlab-fleet-term-'));
  const enq = await node(['enqueue', PLAN, '--redis', redis.url(), '--night', 'term', '--no-wait']);
  t.is(enq.exitCode, 0, String(enq.all));
  const w = node(['worker', '--plan', PLAN, '--redis', redis.url()], { DAXLAB_RESULTS: res });
  const out = capture(w);
  const [, index] = await waitFor('a guest up', () => /job (\d)\/3: boot 1: guest up/.exec(out.text()) ?? undefined, 300_000, w);
  w.kill('SIGTERM');
  const r = await w;
  t.is(r.exitCode, 143, String(r.all));
  t.regex(String(r.all), new RegExp(`job ${index}/3: released back to the queue \\(SIGTERM\\)`));
  const q = new Queue(queueName('fleet-three'), { connection: { host: '127.0.0.1', port: redis.port, password: PASSWORD } });
  t.teardown(() => q.close());
  // Not waiting for a lock to expire: all three are in the queue for the next worker now.
  t.deepEqual(await q.getJobCounts('waiting', 'active', 'completed', 'failed'), { waiting: 3, active: 0, completed: 0, failed: 0 });
  t.false(leaks([String(r.all)]));
});

test('Redis down, no password, wrong password: one line, exit 2, password never printed; a bad plan enqueues nothing', async (t) => {
  const down = await freePort();
  for (const cmd of [['enqueue', PLAN, '--no-wait'], ['worker', '--plan', PLAN]]) {
    const r = await node([...cmd, '--redis', `redis://:${ENCODED}@127.0.0.1:${down}`]);
    t.is(r.exitCode, 2, String(r.all));
    t.is(String(r.stderr), `daxlab: cannot connect to redis://127.0.0.1:${down}: connection refused`);
    t.is(String(r.stdout), '');
  }
  const redis = await startRedis({ password: PASSWORD });
  t.teardown(() => redis.stop());
  const none = await node(['enqueue', PLAN, '--no-wait', '--redis', redis.url({ password: false })]);
  t.is(none.exitCode, 2);
  t.is(String(none.stderr), `daxlab: cannot connect to redis://127.0.0.1:${redis.port}: the server wants a password and none was given (in the URL or $REDISCLI_AUTH)`);
  const wrong = await node(['worker', '--plan', PLAN, '--redis', redis.url({ password: 's3cret-but-wrong' })]);
  t.is(wrong.exitCode, 2);
  t.is(String(wrong.stderr), `daxlab: cannot connect to redis://127.0.0.1:${redis.port}: wrong user name or password`);
  // The password from the environment, as redis-cli takes it.
  const env = await node(['enqueue', PLAN, '--no-wait', '--night', 'env', '--redis', redis.url({ password: false })], { REDISCLI_AUTH: PASSWORD });
  t.is(env.exitCode, 0, String(env.all));
  t.regex(String(env.stdout), /\(3 added, 0 already there\)$/);
  t.false(leaks([none.all, wrong.all, env.all].map(String)));
  // A bad plan is a file:line error before Redis is asked anything.
  const bad = await node(['enqueue', 'test/data/fleet/bad-plan.yaml', '--redis', redis.url()]);
  t.is(bad.exitCode, 2);
  t.is(String(bad.stderr), 'test/data/fleet/bad-plan.yaml:6: boots: must be at least 1, got 0');
  const q = new Queue(queueName('fleet-bad'), { connection: { host: '127.0.0.1', port: redis.port, password: PASSWORD } });
  t.teardown(() => q.close());
  t.deepEqual(await q.getJobCounts('waiting', 'active', 'completed', 'failed'), { waiting: 0, active: 0, completed: 0, failed: 0 });
  const neither = await node(['worker', '--redis', redis.url()]);
  t.is(neither.exitCode, 2);
  t.is(String(neither.stderr), 'daxlab: give --plan PLAN or --queue NAME (one of them)');
});

test('only the fleet commands load bullmq and ioredis', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-fleet-probe-'));
  const probe = (args: string[], file: string, env: Record<string, string> = {}) =>
    execa('node', ['--import', join(root, 'test', 'db-load-probe.mjs'), 'bin/daxlab.js', ...args], { cwd: root, reject: false, all: true, env: { ...CLEAN, ...env, DAXLAB_LOAD_PROBE: file } });
  const loaded = (file: string): string[] => (existsSync(file) ? [...new Set(readFileSync(file, 'utf8').trim().split('\n'))].sort() : []);
  for (const [i, args] of [['--help'], ['run', '--help'], ['enqueue', '--help'], ['worker', '--help'], ['enqueue', 'test/data/fleet/bad-plan.yaml', '--redis', 'redis://127.0.0.1:1']].entries()) {
    const f = join(dir, `none-${i}`);
    const r = await probe(args, f);
    t.is(r.exitCode, args.includes('--help') ? 0 : 2, String(r.all));
    t.deepEqual(loaded(f), [], `daxlab ${args.join(' ')} loads neither`);
  }
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const f = join(dir, 'fleet');
  const r = await probe(['enqueue', PLAN, '--no-wait', '--redis', redis.url()], f);
  t.is(r.exitCode, 0, String(r.all));
  t.deepEqual([...new Set(loaded(f).map((l) => l.split(' ')[1]))].sort(), ['bullmq', 'ioredis']);
});
