// `daxlab nightly --shard` and `daxlab merge` on real debian:6.12 guests: two shards of a plan,
// merged, hold exactly the steps the unsharded plan has, each once; the merged night goes into
// the history database.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { daxlab } from './helpers.ts';

const PLAN = 'test/data/nightly/tl-two-boots.yaml';
const summaryOf = (dir: string): RunSummary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;

test('two shards merged equal the plan: every step once, boots renumbered, CI files per shard and for the night', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'daxlab-nightly-'));
  for (const i of [1, 2]) {
    const r = await daxlab(['nightly', PLAN, '--shard', `${i}/2`, '-j', '1', '--out', join(root, `s${i}`)]);
    t.is(r.exitCode, 0, String(r.all).slice(-2000));
    t.true(existsSync(join(root, `s${i}`, 'junit.xml')) && existsSync(join(root, `s${i}`, 'kcidb.json')));
    t.deepEqual(summaryOf(join(root, `s${i}`)).plan?.shard, { index: i, count: 2 });
  }
  const m = await daxlab(['merge', join(root, 's1'), join(root, 's2'), '--out', join(root, 'merged'), '--db', join(root, 'history.sqlite')]);
  t.is(m.exitCode, 0, String(m.all));
  // The merged night is the night: imported once, and judged (its first night: nothing to compare).
  t.regex(String(m.stdout), /^no alerts: /m);
  t.regex(String(m.stdout), /: imported into sqlite:.*history\.sqlite \(4 steps, 2 boots, 1 kernel/);
  const s = summaryOf(join(root, 'merged'));
  // The unsharded plan: tl-quick on ext4 and xfs, one repetition, two boots of kernel `deb`.
  const want = ['ext4', 'xfs'].flatMap((fs) => [1, 2].map((b) => `deb/tl-quick:${fs}:always:r1@${b}`)).sort();
  t.deepEqual(s.steps.map((x) => x.key).sort(), want);
  t.deepEqual(s.boots.map((b) => b.index), [1, 2]);
  t.true(s.boots.every((b) => existsSync(join(root, 'merged', b.consoleLog))));
  t.true(existsSync(join(root, 'merged', 'report.html')));
  // The judged night's history page, linked from its report; a shard is not judged and has none.
  t.regex(readFileSync(join(root, 'merged', 'report.html'), 'utf8'), /<a id="history-link" href="history\.html">/);
  t.true(existsSync(join(root, 'merged', 'history.html')) && !existsSync(join(root, 's1', 'history.html')));
  // The merged night's CI files hold the whole night: a JUnit testcase per step.
  t.is((readFileSync(join(root, 'merged', 'junit.xml'), 'utf8').match(/<testcase /g) ?? []).length, 4);
  t.true(existsSync(join(root, 'merged', 'kcidb.json')));
  // A shard merged with itself, or into an existing directory: refused, nothing written.
  const twice = await daxlab(['merge', join(root, 's1'), join(root, 's1'), '--out', join(root, 'again')]);
  t.is(twice.exitCode, 2);
  t.regex(String(twice.stderr), /^daxlab: shard 1\/2 given twice$/m);
  t.false(existsSync(join(root, 'again')));
});
