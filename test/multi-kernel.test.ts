// Several kernels in one run: items keyed by kernel, both kernels' guests recorded, the table and
// report split by kernel; an interrupted multi-kernel run resumes, and refuses a kernel whose
// identity changed in between.
import test from 'ava';
import { execa } from 'execa';
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { currentBoot, daxlab, root, waitFor } from './helpers.ts';

const ONE = 'test/data/scenarios/tl-one';
const NAP = 'test/data/scenarios/faults/nap';
const tmp = (): string => mkdtempSync(join(tmpdir(), 'daxlab-test-'));
const summaryOf = (dir: string): RunSummary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;

test.serial('two kernels in one run: keys, boots, table and report per kernel', async (t) => {
  const out = join(tmp(), 'run');
  const r = await daxlab(['run', ONE, '--kernel', 'new=debian:6.12', '--kernel', 'old=debian:6.1', '--out', out]);
  t.is(r.exitCode, 0, String(r.all));
  const s = summaryOf(out);
  t.deepEqual(s.kernels.map((k) => [k.name, k.release.slice(0, 4)]), [['new', '6.12'], ['old', '6.1.']]);
  t.deepEqual(s.steps.map((x) => [x.key, x.kernel, x.status]).sort(), [['new/tl-one:ext4:always:r1', 'new', 'pass'], ['old/tl-one:ext4:always:r1', 'old', 'pass']]);
  t.deepEqual(s.boots.map((b) => b.kernel).sort(), ['new', 'old'], 'one guest per kernel');
  for (const b of s.boots) t.regex(readFileSync(join(out, b.consoleLog), 'utf8'), b.kernel === 'new' ? /Linux version 6\.12/ : /Linux version 6\.1\.0/);
  t.regex(String(r.stdout), /^kernel\s+scenario\s+variant/m);
  t.regex(String(r.stdout), /^new\s+tl-one\s+ext4-dax=always\s+pass/m);
  t.regex(String(r.stdout), /^old\s+tl-one\s+ext4-dax=always\s+pass/m);
  t.regex(readFileSync(join(out, 'report.html'), 'utf8'), /<tr><td>old<\/td><td>tl-one<\/td>/, 'the report table has a kernel column');
});

test.serial('an interrupted multi-kernel run resumes; a kernel that changed since is refused', async (t) => {
  // A kernel of the user's own (a copied bzImage): its identity is its content hash.
  const cache = process.env['DAXLAB_CACHE'] ?? join(homedir(), '.cache', 'daxlab');
  const deb = readdirSync(join(cache, 'kernels')).find((d) => /^linux-image-6\.12\..*-amd64-unsigned$/.test(d));
  t.truthy(deb, 'debian:6.12 is in the cache (other tests fetch it)');
  const k = join(cache, 'kernels', deb as string);
  const mine = join(tmp(), 'bzImage');
  copyFileSync(join(k, 'bzImage'), mine);
  const out = join(tmp(), 'run');
  const child = execa('node', ['bin/daxlab.js', 'run', NAP, '-j', '1', '--kernel', `mine=${mine},modules=${k}/modules`, '--kernel', 'deb=debian:6.12', '--out', out], { cwd: root, reject: false, all: true });
  await waitFor('the first nap running', () => / begin repro /.test(currentBoot(out)?.agentLog ?? ''), undefined, child);
  child.kill('SIGINT');
  const r = await child;
  t.is(r.exitCode, 130, String(r.all));
  const s = summaryOf(out);
  t.is(s.status, 'interrupted');
  t.deepEqual(s.pending.sort(), ['deb/nap:ext4:always:r1', 'mine/nap:ext4:always:r1']);

  appendFileSync(mine, Buffer.alloc(512)); // "rebuilt": same release string, different bytes
  const refused = await daxlab(['run', '--resume', out]);
  t.is(refused.exitCode, 2, String(refused.all));
  t.regex(String(refused.stderr), /^daxlab: cannot resume \S+: kernel mine \('\S+'\) now resolves to a different kernel/m);

  copyFileSync(join(k, 'bzImage'), mine); // back to the kernel the run started with
  const resumed = await daxlab(['run', '--resume', out, '-j', '2']);
  t.is(resumed.exitCode, 0, String(resumed.all));
  const s2 = summaryOf(out);
  t.is(s2.status, 'completed');
  t.deepEqual(s2.steps.map((x) => [x.key, x.status]).sort(), [['deb/nap:ext4:always:r1', 'pass'], ['mine/nap:ext4:always:r1', 'pass']]);
  t.deepEqual(s2.kernels.map((x) => x.name), ['mine', 'deb']);
});
