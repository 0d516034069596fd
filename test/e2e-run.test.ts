// End-to-end: the real CLI boots Debian's 6.12 kernel under QEMU with an NVDIMM, creates the
// fsdax namespace, mounts ext4 and xfs with dax=always, and runs the truncate-latency reproducer.
import test from 'ava';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { daxlab } from './helpers.ts';

test.serial('daxlab run boots a DAX guest and records everything; a warm run rebuilds nothing', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-test-')), 'run1');
  const r = await daxlab(['run', 'test/data/scenarios/tl-quick', '--kernel', 'debian:6.12', '--out', out, '-j', '1']);
  t.is(r.exitCode, 0, String(r.all));
  t.regex(String(r.stdout), /tl-quick\s+ext4-dax=always\s+pass/);
  t.regex(String(r.stdout), /tl-quick\s+xfs-dax=always\s+pass/);
  t.regex(String(r.stdout), new RegExp(`results: ${out}`));

  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  t.is(s.status, 'completed');
  t.regex(s.kernels[0]?.release ?? '', /^6\.12\./);
  t.is(s.kernels[0]?.identity['source'], 'debian');
  t.true(['kvm', 'tcg'].includes(s.kernels[0]?.accel.accel ?? ''));
  t.truthy(s.kernels[0]?.accel.reason);
  t.is(s.steps.length, 2);
  for (const step of s.steps) {
    t.is(step.status, 'pass');
    t.is(step.samples['truncate']?.values.length, 20);
  }
  t.is(s.boots.length, 1);
  const boot = s.boots[0];
  t.is(boot?.end, 'poweroff');
  t.true(boot?.argv.includes('pc,nvdimm=on'));
  // Debian's kernel has a PVH entry: QEMU boots the vmlinux unpacked from its bzImage.
  t.deepEqual(s.kernels[0]?.boot, { entry: 'pvh' });
  t.regex(boot?.argv[boot.argv.indexOf('-kernel') + 1] ?? '', /\/pvh\/[^/]+\/vmlinux$/);
  t.true((boot?.timings.helloMs ?? 0) > 0);
  // The namespace is made in the guest, or came with a pmem template (an earlier boot of this
  // kernel and NVDIMM size gave its info block; test/pmem-template.test.ts): the boot says which.
  const nsLabel = boot?.pmem?.how === 'template' ? "fsdax namespace + mkfs ext4 from the host's pmem template" : 'create fsdax namespace';
  t.like(boot?.setup[0], { label: nsLabel, status: 'done', exitCode: 0 });
  t.true(boot?.setup.some((x) => x.label === 'mount xfs dax=always' && x.exitCode === 0));
  const consoleLog = readFileSync(join(out, 'console-1.log'), 'utf8');
  t.regex(consoleLog, /Linux version 6\.12/);
  t.regex(consoleLog, /daxlab: step \d+ begin \(debian:6\.12\/[\w.-]+:(ext4|xfs):\w+:r\d+\)/, "console markers name the work item");
  t.regex(consoleLog, /pmem0/);
  t.true(existsSync(join(out, 'events.jsonl')));
  const memPath = /mem-path=([^,]+)/.exec(boot?.argv.join(' ') ?? '')?.[1] ?? '';
  t.regex(memPath, /daxlab-guest-.*\/nv0\.img$/);
  t.false(existsSync(join(memPath, '..')), 'guest temp dir with the NVDIMM backing file removed');

  // Warm: kernel, image and reproducer come from the cache.
  const out2 = join(out, '..', 'run2');
  const r2 = await daxlab(['run', 'test/data/scenarios/tl-quick', '--out', out2]);
  t.is(r2.exitCode, 0, String(r2.all));
  const s2 = JSON.parse(readFileSync(join(out2, 'summary.json'), 'utf8')) as RunSummary;
  t.true(s2.kernels[0]?.image.hit);
  t.notRegex(String(r2.stderr), /building guest image|compiling|downloading/);
});

test.serial('the older Debian 6.1 kernel boots the same way', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-test-')), 'run');
  const r = await daxlab(['run', 'test/data/scenarios/tl-quick', '--kernel', 'debian:6.1', '--out', out]);
  t.is(r.exitCode, 0, String(r.all));
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  t.regex(s.kernels[0]?.release ?? '', /^6\.1\.0-/);
  t.deepEqual(s.steps.map((x) => x.status), ['pass', 'pass']);
});

test.serial('a local bzImage path with a modules directory boots like the packaged kernel', async (t) => {
  // Point at the Debian kernel in the cache the way a user points at their own build tree.
  const cache = process.env['DAXLAB_CACHE'] ?? join(homedir(), '.cache', 'daxlab');
  const dir = readdirSync(join(cache, 'kernels')).find((d) => /^linux-image-6\.12\..*-amd64-unsigned$/.test(d));
  t.truthy(dir, 'the first test fetched debian:6.12');
  const k = join(cache, 'kernels', dir as string);
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-test-')), 'run');
  const r = await daxlab(['run', 'test/data/scenarios/tl-one', '--kernel', `${k}/bzImage,modules=${k}/modules`, '--out', out]);
  t.is(r.exitCode, 0, String(r.all));
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  t.is(s.kernels[0]?.identity['source'], 'file');
  t.regex(s.kernels[0]?.release ?? '', /^6\.12\./);
  t.is(s.steps[0]?.status, 'pass');
  t.true(s.kernels[0]?.image.modules.includes('nd_pmem'));
});
