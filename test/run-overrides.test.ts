// `daxlab run` flags for one-off changes, on a real debian:6.12 guest: --fs, --dax, --repetitions,
// --timeout, --boot-per-variant and the reproducer's own arguments after `--`, all recorded.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { daxlab } from './helpers.ts';

const summaryOf = (dir: string): RunSummary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;

test('overrides replace the scenario\'s variants, repetitions, timeout and arguments; one boot per variant', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-ovr-')), 'run');
  const r = await daxlab(['run', 'test/data/scenarios/tl-one', '--fs', 'xfs', '--dax', 'never,always', '--repetitions', '2', '--timeout', '45s', '--pmem', '512M', '--boot-per-variant', '-j', '1', '--out', out, '--', '--iterations', '4']);
  t.is(r.exitCode, 0, String(r.all).slice(-3000));
  const s = summaryOf(out);
  t.deepEqual(s.overrides, { filesystems: ['xfs'], daxModes: ['never', 'always'], repetitions: 2, timeoutS: 45, pmemBytes: 512 * 1024 ** 2, args: ['--iterations', '4'], bootPerVariant: true });
  t.deepEqual(s.steps.map((x) => x.key).sort(), ['debian:6.12/tl-one:xfs:always:r1', 'debian:6.12/tl-one:xfs:always:r2', 'debian:6.12/tl-one:xfs:never:r1', 'debian:6.12/tl-one:xfs:never:r2']);
  // The reproducer got `--iterations 4` (the scenario says 10).
  t.true(s.steps.every((x) => x.metrics['iterations']?.value === 4), JSON.stringify(s.steps.map((x) => x.metrics)));
  t.true(s.steps.every((x) => (x.samples['truncate']?.values.length ?? 0) === 4));
  // Two variants, two boots, each holding both repetitions of its variant only.
  t.is(s.boots.length, 2);
  for (const b of s.boots) t.is(new Set(b.items.map((k) => k.replace(/:r\d+$/, ''))).size, 1, b.items.join(' '));
  t.regex(String(r.all), /scenario overrides: fs=xfs dax=never,always repetitions=2 timeout=45s pmem=512M args=\[--iterations 4\] boot=per-variant/);
});
