// `daxlab ab` as a user runs it: bad input stops before anything is written; a real A/A on
// Debian's kernel boots A and B in interleaved blocks, one guest at a time, and finds nothing.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { AbReport } from '../harness/ab/types.ts';
import type { RunSummary } from '../harness/results/types.ts';
import { daxlab } from './helpers.ts';

const bad: [string, string[], RegExp][] = [
  ['no patched side', ['ab', '--base', 'debian:6.12'], /exactly one of --patched/],
  ['two patched sides', ['ab', '--base', 'debian:6.12', '--patched', 'debian:6.1', '--aa', 'debian:6.12'], /exactly one of/],
  ['a series on a prebuilt kernel', ['ab', '--base', 'debian:6.12', '--series', 'images/patches/test/series'], /--series needs a source-built --base/],
  ['a missing series', ['ab', '--base', 'images/kernels/debug-6.12.yaml', '--series', 'no/such/series'], /patch path not found/],
  ['a bad threshold', ['ab', '--aa', 'debian:6.12', '--threshold', 'lots'], /--threshold must be/],
  ['one boot per side', ['ab', '--aa', 'debian:6.12', '--boots', '1'], /--boots must be 2\.\./],
  ['a bad budget', ['ab', '--aa', 'debian:6.12', '--budget', 'soon'], /--budget must be a duration/],
  ['a bad kernel spec', ['ab', '--base', 'debian:9.9', '--patched', 'debian:6.12'], /unknown Debian kernel series/],
  ['a scenario that tears the namespace down', ['ab', '--aa', 'debian:6.12', 'namespace-teardown-under-pin'], /own_boot/],
];

for (const [what, args, re] of bad) {
  test(`ab: ${what} is one error line, exit 2, nothing written`, async (t) => {
    const out = join(mkdtempSync(join(tmpdir(), 'daxlab-ab-bad-')), 'run');
    const r = await daxlab([...args, '-o', out]);
    t.is(r.exitCode, 2, String(r.all));
    t.regex(String(r.stderr), re);
    t.is(String(r.stderr).trim().split('\n').length, 1, String(r.stderr));
    t.false(existsSync(out), 'no results directory');
  });
}

test('ab --aa on debian:6.12: interleaved blocks, one guest at a time, warm-up dropped, no regression, ab.json and the report agree', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-ab-')), 'run');
  const r = await daxlab(['ab', '--aa', 'debian:6.12', 'test/data/scenarios/tl-one', '--boots', '2', '--repetitions', '2', '--seed', '11', '-o', out]);
  // Two boots per side: the exact Mann-Whitney p cannot go below 1/3, so nothing may be called a change.
  t.is(r.exitCode, 0, String(r.all).slice(-3000));
  const ab = JSON.parse(readFileSync(join(out, 'ab.json'), 'utf8')) as AbReport;
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  t.is(ab.schema, 1);
  t.is(s.concurrency, 1, 'boots run one at a time');
  const main = ab.comparisons[0];
  t.is(main?.id, 'main');
  t.deepEqual(main?.boots, { a: 2, b: 2 });
  t.true(['ABBA', 'BAAB'].includes(main?.slots.map((x) => x.side).join('') ?? ''), JSON.stringify(main?.slots));
  // Boots ran in slot order, never overlapping: each boot starts after the previous one ended.
  t.deepEqual(s.boots.map((b) => b.kernel), main?.slots.map((x) => (x.side === 'A' ? 'A' : 'A2')));
  t.is(s.steps.length, 4 * 3, 'each boot: warm-up + 2 repetitions');
  const m = main?.metrics.find((x) => x.key === 'tl-one:ext4:always:truncate.p50');
  t.truthy(m, JSON.stringify(main?.metrics.map((x) => x.key)));
  t.true(m?.boots.every((b) => b.reps.length === 2), 'the warm-up repetition is not in the statistics');
  t.is(m?.better, 'lower');
  t.not(m?.verdict, 'regression');
  t.true(main?.metrics.every((x) => x.verdict !== 'regression' && x.verdict !== 'improvement'));
  t.regex(String(r.stdout), /truncate\.p50/);
  t.regex(String(r.stdout), /verdict: /);
  t.is(ab.accel.accel, s.kernels[0]?.accel.accel ?? '');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  t.regex(html, /A\/B comparison/);
  t.is((html.match(/class="abplot"/g) ?? []).length >= 2, true);
});
