// Reproducers as their authors wrote them, through the real CLI: an fstests-style program with
// path arguments, shell reproducers around xfs_io, syzkaller-style C (judged by the console) and
// exit-status conventions, all in one boot of Debian's 6.12 under QEMU; a C file gcc warns about;
// (a missing `libs:` library and bad YAML are in bad-input.test.ts). Expected results:
// test/data/foreign/README.md.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { daxlab } from './helpers.ts';

const F = 'test/data/foreign';

test('a C file gcc warns about compiles: the warning is shown, the run goes on to the kernel', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'daxlab-warn-'));
  // A copy that no earlier run compiled: a cache hit only names the warning count.
  const src = join(base, 'warnings.c');
  writeFileSync(src, `${readFileSync(`${F}/warnings.c`, 'utf8')}// ${base}\n`);
  // A kernel that does not exist stops the run right after the compile, before any boot.
  const r = await daxlab(['run', src, '--kernel', join(base, 'no-bzImage'), '--out', join(base, 'out')]);
  const err = String(r.stderr);
  t.is(r.exitCode, 2, String(r.all));
  t.regex(err, /warnings\.c: no scenario file; running it with these defaults/);
  t.regex(err, /^\[ *[\d.]+s\] {3}filesystem: \[ext4, xfs\]$/m);
  t.regex(err, /warnings\.c: \d+ compiler warnings?, not fatal for a reproducer of your own \(full log: \S+\)/);
  t.regex(err, /warnings\.c:9:13: warning: unused variable ‘unused’/);
  t.regex(err, /daxlab: kernel image not found: \S*no-bzImage$/m, 'the compile succeeded: the run reached the kernel');
});

test.serial('foreign reproducers run unmodified in a real guest, each judged the way its suite judges', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-foreign-')), 'run');
  const scenarios = ['fstests-style', 'xfs-io-punch.sh', 'leave-child.sh', 'syz-style', 'syz-warn', 'sh-fail', 'sh-expect-exit'].map((s) => `${F}/${s}`);
  const t0 = Date.now();
  const r = await daxlab(['run', ...scenarios, '--kernel', 'debian:6.12', '-j', '1', '--out', out]);
  t.log(`run took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  t.is(r.exitCode, 1, 'two steps fail, as they should');
  const err = String(r.stderr);
  t.regex(err, /xfs-io-punch\.sh: no scenario file; running it with these defaults/);
  t.regex(err, /^\[ *[\d.]+s\] {3}timeout: 120s$/m);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  t.is(s.boots.length, 1, 'one boot for all of them');
  const by = (key: string) => s.steps.find((x) => x.key === `debian:6.12/${key}:always:r1`);
  for (const fs of ['ext4', 'xfs']) {
    t.like(by(`fstests-style:${fs}`), { status: 'pass' }, `fstests-style on ${fs}`);
    t.deepEqual(by(`fstests-style:${fs}`)?.output, ['40 rounds of punch and truncate under a faulting mapping: data intact']);
    t.like(by(`xfs-io-punch:${fs}`), { status: 'pass' });
    t.is(by(`xfs-io-punch:${fs}`)?.metrics['zero_views']?.value, 2);
    t.like(by(`leave-child:${fs}`), { status: 'pass' });
    t.true(by(`leave-child:${fs}`)?.stderr.some((l) => /processes the step started were still running after it ended; killed/.test(l)));
    t.regex(by(`leave-child:${fs}`)?.output[0] ?? '', /^left pid \d+ behind in \/mnt\/dax$/, 'a reproducer starts in $DAXLAB_DIR');
  }
  const umounts = s.boots[0]?.setup.filter((x) => x.label.startsWith('umount')) ?? [];
  t.deepEqual(umounts.map((x) => [x.label, x.exitCode]), [['umount ext4', 0], ['umount xfs', 0]], 'nothing left holding the filesystem');
  t.like(by('syz-style:ext4'), { status: 'pass', reason: 'ran its 15s; judged by the console (verdict_from: console)' });
  t.like(by('syz-warn:ext4'), { status: 'fail' });
  t.regex(by('syz-warn:ext4')?.reason ?? '', /^kernel reported: WARNING in daxlab_fake_collision/);
  t.deepEqual(s.findings.map((f) => [f.title, f.where]), [['WARNING in daxlab_fake_collision', ['debian:6.12/syz-warn:ext4:always:r1']]]);
  t.like(by('sh-fail:ext4'), { status: 'fail', reason: 'exit status 1: stale data under /mnt/dax on /dev/pmem0' });
  t.like(by('sh-expect-exit:ext4'), { status: 'pass', reason: 'exit status 3, as expected' });
  t.deepEqual(by('sh-expect-exit:ext4')?.output, ['in /mnt/dax on ext4 dax=always']);
});
