// A real guest run of catalog material on Debian's 6.12 kernel: the bring-your-own example
// (a C file and a three-line YAML outside scenarios/, no harness change) on ext4 and xfs with
// and without DAX, and a short pin-duration run: a truncate of a pinned DAX range must wait for
// the 400 ms pin and return when it drops.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { daxlab } from './helpers.ts';

test.serial('bring-your-own reproducer and pin-duration run in one boot and pass', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-cat-')), 'run');
  const r = await daxlab(['run', 'test/data/catalog/byo', 'test/data/catalog/pin-quick', '--kernel', 'debian:6.12', '--out', out]);
  t.is(r.exitCode, 0, String(r.all));
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  const byo = s.steps.filter((x) => x.scenario === 'byo');
  t.deepEqual(byo.map((x) => `${x.variant.fs}-${x.variant.dax}:${x.status}`).sort(), [
    'ext4-always:pass',
    'ext4-never:pass',
    'xfs-always:pass',
    'xfs-never:pass',
  ]);
  for (const x of byo) t.is(x.metrics['is_dax']?.value, x.variant.dax === 'always' ? 1 : 0, x.key);
  const pin = s.steps.find((x) => x.scenario === 'pin-quick');
  t.is(pin?.status, 'pass', pin?.reason);
  const waited = pin?.metrics['truncate_wait_vmsplice_400ms']?.value ?? 0;
  const after = pin?.metrics['return_after_release_vmsplice_400ms']?.value ?? -1;
  t.true(waited >= 390 && waited < 3000, `truncate waited ${waited} ms for a 400 ms pin`);
  t.true(after >= 0 && after < 2000, `returned ${after} ms after the release`);
});
