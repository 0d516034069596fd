// A shard (and so a fleet job) prepares only the kernels its items use: with a plan whose second
// kernel cannot be prepared on this machine, the shard of the first kernel runs on a real
// debian:6.12 guest and records that kernel alone; the other shard is refused for its kernel.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { daxlab } from './helpers.ts';

const PLAN = 'test/data/fleet/two-kernels.yaml';

test('a shard prepares only its kernels', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-shard-kernels-'));
  const env = { DAXLAB_RESULTS: dir, DAXLAB_DB: join(dir, 'h.sqlite') };
  const one = await daxlab(['nightly', PLAN, '--shard', '1/2', '-j', '1', '--out', join(dir, 's1')], env);
  t.is(one.exitCode, 0, String(one.all).slice(-2000));
  const s = JSON.parse(readFileSync(join(dir, 's1', 'summary.json'), 'utf8')) as RunSummary;
  t.deepEqual(s.kernels.map((k) => k.name), ['deb']);
  t.deepEqual(s.steps.map((x) => x.key), ['deb/tl-one:ext4:always:r1']);
  t.false(Object.keys(s.phases).some((k) => k.startsWith('ghost/')));
  const two = await daxlab(['nightly', PLAN, '--shard', '2/2', '-j', '1', '--out', join(dir, 's2')], env);
  t.is(two.exitCode, 2);
  t.regex(String(two.stderr), /^daxlab: kernel image not found: \/nonexistent\/daxlab-ghost-bzImage$/m);
});
