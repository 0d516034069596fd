// The worker fleet without Redis or QEMU: units of real plans are exactly the shards
// `nightly --shard j/N` runs, job ids are deterministic and BullMQ-safe, payloads and results
// from Redis are checked, a result collected twice counts once (on job results captured from a
// real fleet run, test/data/fleet/job-results), Redis URLs and their passwords.
import test from 'ava';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { lockMs } from '../harness/fleet/command.ts';
import { publishJobResults } from '../harness/fleet/collect.ts';
import { decodePayload, decodeResult, jobId, parseNightId, pickResults, queueName, type JobResult } from '../harness/fleet/jobs.ts';
import { loadFleetPlan } from '../harness/fleet/plan.ts';
import { parseRedisTarget, redisMessage } from '../harness/fleet/redis.ts';
import { packRun, unpackResult } from '../harness/fleet/result.ts';
import { workItems } from '../harness/plan/plan.ts';
import { bootSlots, shardItems } from '../harness/nightly/shard.ts';
import { resolveScenarios } from '../harness/scenario/load.ts';
import { applyOverrides } from '../harness/scenario/overrides.ts';
import type { RunSummary } from '../harness/results/types.ts';
import { root } from './helpers.ts';

const PLAN = 'test/data/fleet/three-boots.yaml';
const RESULTS = join(root, 'test/data/fleet/job-results');
const captured = (): JobResult[] => readdirSync(RESULTS).sort().map((f) => decodeResult(readFileSync(join(RESULTS, f), 'utf8')));

test('a unit is a shard: with N = units, shard j runs exactly unit j, on real plans', async (t) => {
  for (const file of [PLAN, 'images/nightly/sample-plan.yaml', 'test/data/nightly/tl-two-boots.yaml']) {
    const fp = await loadFleetPlan(join(root, file));
    const scenarios = applyOverrides(await resolveScenarios(fp.plan.scenarioArgs), fp.plan.overrides);
    const all = bootSlots(fp.plan.kernels.flatMap((k) => workItems(k.name, scenarios, new Map())), fp.plan.boots);
    const n = fp.units.length;
    t.true(n > 1, file);
    for (const u of fp.units) {
      t.is(u.count, n);
      t.deepEqual(shardItems(all, { index: u.index, count: n }).map((i) => i.key), u.keys, `${file} unit ${u.index}`);
    }
    // Every planned item is in exactly one unit.
    t.deepEqual(fp.units.flatMap((u) => u.keys).sort(), all.map((i) => i.key).sort(), file);
  }
  const three = await loadFleetPlan(join(root, PLAN));
  t.deepEqual(three.units.map((u) => u.keys), [1, 2, 3].map((b) => [`deb/tl-one:ext4:always:r1@${b}`]));
  t.is(three.ref.path, PLAN, 'named by its path in the checkout');
});

test('job ids: the same night gives the same ids, another night or plan other ones; no ":" (BullMQ refuses it)', async (t) => {
  const fp = await loadFleetPlan(join(root, PLAN));
  const ids = (night: string): string[] => fp.units.map((u) => jobId(fp.ref, night, u));
  t.deepEqual(ids('2026-12-01'), ids('2026-12-01'));
  t.is(new Set([...ids('2026-12-01'), ...ids('2026-12-02')]).size, 6);
  t.not(jobId({ ...fp.ref, hash: 'other' }, 'n', { index: 1, count: 3 }), jobId(fp.ref, 'n', { index: 1, count: 3 }));
  t.false(ids('n').some((i) => i.includes(':')));
  t.false(queueName(fp.plan.name).includes(':'));
  t.is(parseNightId('2026-12-01'), '2026-12-01');
  for (const bad of ['', 'a:b', '../x', 'a b', 'x'.repeat(65)]) t.throws(() => parseNightId(bad), { message: /^--night must be/ }, bad);
});

test('payloads from Redis: a good one round-trips, anything else is refused with a reason', async (t) => {
  const fp = await loadFleetPlan(join(root, PLAN));
  const good = { v: 1, plan: fp.ref, night: 'n1', unit: fp.units[0] };
  t.deepEqual(decodePayload(JSON.parse(JSON.stringify(good))), good);
  t.throws(() => decodePayload({ ...good, v: 2 }), { message: /^not a daxlab job payload: v: / });
  t.throws(() => decodePayload({ ...good, extra: 1 }), { message: /^not a daxlab job payload/ });
  t.throws(() => decodePayload({ ...good, plan: { ...fp.ref, path: '../../etc/plan.yaml' } }), { message: "job plan path '../../etc/plan.yaml' is not inside the checkout" });
  t.throws(() => decodePayload({ ...good, plan: { ...fp.ref, path: '/etc/plan.yaml' } }), { message: /is not inside the checkout/ });
  t.throws(() => decodePayload({ ...good, unit: { ...fp.units[0], index: 4 } }), { message: 'job unit 4 of 3' });
  t.throws(() => decodePayload('text'), { message: /^not a daxlab job payload/ });
});

test('results: a file name that would leave the run directory is refused', (t) => {
  const r = captured()[0] as JobResult;
  t.throws(() => decodeResult({ ...r, files: { ...r.files, '../evil': 'x' } }), { message: /^not a daxlab job result: files/ });
  t.throws(() => decodeResult({ ...r, files: { 'console-1.log/../../x': 'x' } }), { message: /^not a daxlab job result/ });
});

test('a result collected twice counts once: real job results, duplicated and with a stranger, merge into the night once', async (t) => {
  const rs = captured();
  const ids = rs.map((r) => r.jobId);
  const stranger: JobResult = { ...(rs[0] as JobResult), jobId: 'other-plan.x.n1.1-of-3' };
  const picked = pickResults([rs[2] as JobResult, ...rs, rs[0] as JobResult, stranger], ids);
  t.deepEqual(picked.map((r) => r.unit.index), [1, 2, 3]);
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-fleet-pure-')), 'night');
  const pub = await publishJobResults([...rs, ...rs, stranger], ids, out, undefined);
  t.deepEqual(pub.summary.steps.map((s) => s.key).sort(), [1, 2, 3].map((b) => `deb/tl-one:ext4:always:r1@${b}`));
  t.deepEqual(pub.summary.boots.map((b) => b.index), [1, 2, 3]);
  t.deepEqual(pub.missing, []);
  t.is(pub.exitCode, 0);
  t.deepEqual(readdirSync(join(out, 'jobs')).sort(), ['1', '2', '3'], 'the job runs are kept with the night');
  // A night with a job missing is merged, marked interrupted and fails.
  const part = await publishJobResults(rs.slice(0, 2), ids, `${out}-part`, undefined);
  t.deepEqual(part.missing, [3]);
  t.is(part.summary.status, 'interrupted');
  t.is(part.exitCode, 1);
  await t.throwsAsync(publishJobResults([stranger], ids, `${out}-none`, undefined), { message: 'no job of the night has a result: nothing to merge' });
});

test('packRun/unpackResult: the files merge reads round-trip; a log past the cap is cut with a marker', (t) => {
  const src = join(root, 'test/data/runs/segv-and-pass');
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-fleet-pack-'));
  for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dir, f));
  const summary: Pick<RunSummary, 'runId' | 'status'> = { runId: 'r1', status: 'completed' };
  const meta = { jobId: 'p.h.n.1-of-1', night: 'n', unit: { index: 1, count: 1 }, worker: 'w/1' };
  const r = packRun(dir, meta, summary);
  t.deepEqual(Object.keys(r.files).sort(), ['console-1.log', 'events.jsonl'], 'the agent log this capture lacks is skipped');
  t.deepEqual(r.truncated, []);
  const back = mkdtempSync(join(tmpdir(), 'daxlab-fleet-unpack-'));
  unpackResult(decodeResult(JSON.stringify(r)), join(back, 'x'));
  for (const f of ['console-1.log', 'events.jsonl']) t.deepEqual(readFileSync(join(back, 'x', f)), readFileSync(join(dir, f)), f);
  const small = packRun(dir, meta, summary, 1000);
  t.deepEqual(small.truncated, ['console-1.log']);
  const cut = gunzipSync(Buffer.from(small.files['console-1.log'] ?? '', 'base64')).toString();
  t.is(cut.slice(0, 1000), readFileSync(join(dir, 'console-1.log'), 'utf8').slice(0, 1000));
  t.regex(cut, /\[daxlab: log cut at 1000 bytes for the job result; \d+ bytes dropped; the worker's run directory has it whole\]\n$/);
  t.is(gunzipSync(Buffer.from(small.files['events.jsonl'] ?? '', 'base64')).length, readFileSync(join(dir, 'events.jsonl')).length, 'the event log is never cut');
});

test('Redis URLs: password from the URL or REDISCLI_AUTH, never in the display; TLS, db number; bad URLs are one line', (t) => {
  const a = parseRedisTarget('redis://:p%40ss%3Aw0rd@127.0.0.1:6390/3', {});
  t.deepEqual(a.options, { host: '127.0.0.1', port: 6390, password: 'p@ss:w0rd', db: 3 });
  t.is(a.display, 'redis://127.0.0.1:6390/3');
  t.deepEqual(a.secrets.sort(), ['p%40ss%3Aw0rd', 'p@ss:w0rd'].sort());
  const b = parseRedisTarget('rediss://fleet:pw@redis.example', {});
  t.deepEqual(b.options, { host: 'redis.example', port: 6379, username: 'fleet', password: 'pw', db: 0, tls: { servername: 'redis.example' } });
  t.is(b.display, 'rediss://fleet@redis.example');
  const c = parseRedisTarget(undefined, { DAXLAB_REDIS: 'redis://h', REDISCLI_AUTH: 'envpw' });
  t.is(c.options.password, 'envpw');
  t.deepEqual(c.secrets, ['envpw']);
  t.is(parseRedisTarget('redis://:urlpw@h', { REDISCLI_AUTH: 'envpw' }).options.password, 'urlpw', 'the URL wins');
  t.throws(() => parseRedisTarget(undefined, {}), { message: /^no Redis server: give --redis/ });
  t.throws(() => parseRedisTarget('http://:pw@h', {}), { message: "--redis: 'http://h/' is not a redis:// or rediss:// URL" });
  t.throws(() => parseRedisTarget('redis://:pw@h/x', {}), { message: "--redis: 'redis://h/x': the path is the database number (e.g. /0), got '/x'" });
  t.throws(() => parseRedisTarget('not a url :pw@', {}), { message: /is not a URL/ });
  // The server's messages, in a person's words; a quoted password is starred, daxlab's words are not.
  t.is(redisMessage(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' }), a), 'redis://127.0.0.1:6390/3: connection refused');
  t.is(redisMessage(new Error('WRONGPASS invalid username-password pair or user is disabled.'), parseRedisTarget('redis://:wrong@h', {})), 'redis://h: wrong user name or password');
  t.is(redisMessage(new Error('NOAUTH Authentication required.'), c), 'redis://h: the server wants a password and none was given (in the URL or $REDISCLI_AUTH)');
  t.is(redisMessage(new Error('ERR weird p@ss:w0rd'), a), 'redis://127.0.0.1:6390/3: ERR weird ***');
});

test('--lock-duration / DAXLAB_WORKER_LOCK', (t) => {
  t.is(lockMs(undefined, {}), 60_000);
  t.is(lockMs('5s', {}), 5000);
  t.is(lockMs(undefined, { DAXLAB_WORKER_LOCK: '2m' }), 120_000);
  t.is(lockMs('3', { DAXLAB_WORKER_LOCK: '2m' }), 3000, 'the flag wins');
  t.throws(() => lockMs('0s', {}), { message: "--lock-duration must be 1s..1h (seconds, or e.g. 90s, 2m), got '0s'" });
  t.throws(() => lockMs(undefined, { DAXLAB_WORKER_LOCK: 'soon' }), { message: /^DAXLAB_WORKER_LOCK must be/ });
});
