// `daxlab findings`: results directories and single logs, text and JSON output.
import test from 'ava';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { findingsInResults, findingsJson, renderFindings } from '../harness/console/command.ts';

const DATA = join(import.meta.dirname, 'data', 'console');
const ROOT = join(import.meta.dirname, '..');

test('a results directory: every console-<boot>.log in boot order, findings tagged with their boot', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-findings-'));
  await copyFile(join(DATA, '..', 'artifacts', 'debian-6.12-oops-int3.log'), join(dir, 'console-2.log'));
  await copyFile(join(DATA, 'splat-6.12-lockdep-recursive.log'), join(dir, 'console-1.log'));
  await writeFile(join(dir, 'agent-1.log'), 'daxlab: step 1 begin\nWARNING: possible recursive locking detected\n'); // not a console log
  const fs = await findingsInResults(dir);
  t.deepEqual(fs.map((f) => [f.boot, f.step, f.title]), [
    [1, 2, 'possible deadlock in daxlab_read_twice'],
    [2, 1, 'Oops: int3 in put_page'],
  ]);
  const text = renderFindings(fs);
  t.regex(text, /^2 findings, 2 distinct\n/);
  t.regex(text, /1x {2}possible deadlock in daxlab_read_twice {2}\[lockdep-recursive\]\n {7}boot 1 step 2 \(line 238\)/);
  const json = findingsJson(['console-1.log', 'console-2.log'], fs);
  t.is(json.groups.length, 2);
  t.is(json.groups[1]?.first.boot, 2);
  t.true(json.findings[0]?.text.includes('WARNING: possible recursive locking detected'));
});

test('a run directory: findings are named by work item or setup step from events.jsonl; latest finds the newest run', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'daxlab-findings-'));
  const dir = join(root, '20261202-010203-abcdef');
  await mkdir(dir);
  await copyFile(join(DATA, 'splat-6.12-lockdep-recursive.log'), join(dir, 'console-1.log'));
  await copyFile(join(DATA, '..', 'artifacts', 'debian-6.12-oops-int3.log'), join(dir, 'console-2.log'));
  const at = '2026-12-02T01:02:03.000Z';
  const ev = [
    { v: 1, at, type: 'step-began', boot: 1, key: 'debian:6.12/read-twice:ext4:always:r1', n: 2 },
    { v: 1, at, type: 'setup-ended', boot: 2, n: 1, label: 'namespace', group: 'g', status: 'done', exitCode: 0, ms: 5, output: [] },
  ];
  await writeFile(join(dir, 'events.jsonl'), ev.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const fs = await findingsInResults(dir);
  t.deepEqual(fs.map((f) => f.where), ['debian:6.12/read-twice:ext4:always:r1', 'boot 2: namespace']);
  const text = renderFindings(fs);
  t.regex(text, /\n {7}debian:6\.12\/read-twice:ext4:always:r1 \(line 238\)\n/);
  t.notRegex(text, /step \d/);
  const latest = await execa('node', ['bin/daxlab.js', 'findings', 'latest'], { cwd: ROOT, reject: false, env: { DAXLAB_RESULTS: root } });
  t.is(latest.exitCode, 0, latest.stderr);
  t.regex(latest.stdout, /boot 2: namespace/);
  const byId = await execa('node', ['bin/daxlab.js', 'findings', '20261202-010203-abcdee'], { cwd: ROOT, reject: false, env: { DAXLAB_RESULTS: root } });
  t.is(byId.exitCode, 2);
  t.regex(byId.stderr, /no run '20261202-010203-abcdee' .*\(did you mean '20261202-010203-abcdef'\?\)$/m);
});

test('the command line: --console FILE --json, and bad input exits 2 with one line', async (t) => {
  const ok = await execa('node', ['bin/daxlab.js', 'findings', '--console', join(DATA, 'splat-6.12-lockdep-sleep.log'), '--json'], { cwd: ROOT, reject: false });
  t.is(ok.exitCode, 0, ok.stderr);
  const out = JSON.parse(ok.stdout) as { groups: { title: string; count: number }[] };
  t.deepEqual(out.groups.map((g) => g.title), ['BUG: sleeping function called from invalid context in daxlab_sleep_atomic', 'invalid wait context in daxlab_sleep_atomic']);
  const none = await execa('node', ['bin/daxlab.js', 'findings', '--console', join(DATA, 'nope.log')], { cwd: ROOT, reject: false });
  t.is(none.exitCode, 2);
  t.regex(none.stderr.trim(), /^daxlab: not a file: .*nope\.log$/);
  const empty = await mkdtemp(join(tmpdir(), 'daxlab-findings-'));
  const noLogs = await execa('node', ['bin/daxlab.js', 'findings', empty], { cwd: ROOT, reject: false });
  t.is(noLogs.exitCode, 2);
  t.regex(noLogs.stderr, /no console-<boot>\.log files/);
});
