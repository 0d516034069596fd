// The kernel-build bench item's pure pieces (bench/lib/kernel-build.ts) and the phase split of a
// kbuild log (harness/kernel/make.ts PhaseClock). The builds themselves are the bench's
// (`npm run bench -- --only kernel-build`: a cold debug-kernel build takes 10+ minutes here).
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildFacts, oneLinePatch, patchedSpec, phaseNote } from '../bench/lib/kernel-build.ts';
import { formatPhases, PhaseClock } from '../harness/kernel/make.ts';
import { parseBuildSpecYaml } from '../harness/kernel/buildspec.ts';
import { readSpecText } from '../harness/kernel/build.ts';

const DAX_HEAD = ['// SPDX-License-Identifier: GPL-2.0-only', '/*', ' * fs/dax.c - Direct Access filesystem code', ' */', '', '#include <linux/atomic.h>', '#include <linux/blkdev.h>', '#include <linux/buffer_head.h>', '#include <linux/dax.h>', '', 'int x;', ''].join('\n');

test('oneLinePatch: one added line of code before the first #include, and patch -p1 applies it', async (t) => {
  const p = oneLinePatch('fs/dax.c', DAX_HEAD, 7);
  t.is(
    p,
    ['--- a/fs/dax.c', '+++ b/fs/dax.c', '@@ -3,6 +3,7 @@', '  * fs/dax.c - Direct Access filesystem code', '  */', ' ', '+static int __maybe_unused daxlab_bench_patch = 7;', ' #include <linux/atomic.h>', ' #include <linux/blkdev.h>', ' #include <linux/buffer_head.h>', ''].join('\n'),
  );
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-kb-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'fs'));
  writeFileSync(join(dir, 'fs', 'dax.c'), DAX_HEAD);
  const r = await execa('patch', ['-p1', '--quiet'], { cwd: dir, input: p, reject: false });
  t.is(r.exitCode, 0, r.stderr);
  const lines = readFileSync(join(dir, 'fs', 'dax.c'), 'utf8').split('\n');
  t.is(lines[5], 'static int __maybe_unused daxlab_bench_patch = 7;');
  t.is(lines.length, DAX_HEAD.split('\n').length + 1);
  t.throws(() => oneLinePatch('x.c', 'int y;\n', 1), { message: /no #include/ });
});

test('patchedSpec: a spec extending the parent by absolute path, with the patch', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-kb-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const parent = join(import.meta.dirname, '..', 'images', 'kernels', 'debug-6.12.yaml');
  writeFileSync(join(dir, 'p.patch'), oneLinePatch('fs/dax.c', DAX_HEAD, 1));
  const file = join(dir, 's.yaml');
  writeFileSync(file, patchedSpec(parent, join(dir, 'p.patch')));
  const spec = parseBuildSpecYaml(readFileSync(file, 'utf8'), file, readSpecText);
  t.deepEqual(spec.config.fragments.map((f) => f.name), ['guest', 'dax', 'lean', 'lockdep', 'gup-test', 'debug']);
  t.is(spec.patches.length, 1);
});

test('buildFacts: make seconds, files compiled and phases from a cache entry manifest; junk gives nothing', (t) => {
  const m = { kind: 'kernels', meta: { buildSeconds: 16, compiled: 6, release: '6.12.118-daxlab-1', buildPhases: { compileS: 4.8, linkS: 4.9, imageS: 6.3, compressS: 6, compressor: 'XZKERN' } } };
  t.deepEqual(buildFacts(m), { buildSeconds: 16, compiled: 6, release: '6.12.118-daxlab-1', phases: { compileS: 4.8, linkS: 4.9, imageS: 6.3, compressS: 6, compressor: 'XZKERN' } });
  t.deepEqual(buildFacts({ meta: { buildSeconds: 3, buildPhases: { compileS: 1 } } }), { buildSeconds: 3 });
  t.deepEqual(buildFacts(null), {});
  t.is(phaseNote(buildFacts(m).phases), 'compile 4.8 s, link 4.9 s, image 6.3 s (XZKERN 6 s)');
  t.is(phaseNote(undefined), '');
});

// A one-file-patch rebuild's kbuild output (6.12, XZ), each line with when it arrived (ms).
const LOG: [number, string][] = [
  [100, 'make: Entering directory \'/w/src\''],
  [300, '  GEN     Makefile'],
  [2000, '  CC      init/version.o'],
  [2100, '  CC      kernel/sys.o'],
  [2200, '  CC      fs/dax.o'],
  [4500, '  AR      vmlinux.a'],
  [4800, '  LD      vmlinux.o'],
  [5200, '  MODPOST vmlinux.symvers'],
  [5300, '  CC      init/version-timestamp.o'],
  [5400, '  KSYMS   .tmp_vmlinux0.kallsyms.S'],
  [6000, '  LD      .tmp_vmlinux1'],
  [8000, '  LD      vmlinux'],
  [9500, '  SORTTAB vmlinux'],
  [9700, '  CC      arch/x86/boot/version.o'],
  [9800, '  VOFFSET arch/x86/boot/compressed/../voffset.h'],
  [9900, '  OBJCOPY arch/x86/boot/compressed/vmlinux.bin'],
  [10000, '  XZKERN  arch/x86/boot/compressed/vmlinux.bin.xz'],
  [10050, '  CC      arch/x86/boot/compressed/misc.o'],
  [16000, '  MKPIGGY arch/x86/boot/compressed/piggy.S'],
  [16100, '  LD      arch/x86/boot/compressed/vmlinux'],
  [16400, '  BUILD   arch/x86/boot/bzImage'],
  [16450, 'Kernel: arch/x86/boot/bzImage is ready  (#2)'],
];

test('PhaseClock: compile to LD vmlinux.o, link to the first arch/x86/boot line, image to the end; compression from its line to MKPIGGY', (t) => {
  const c = new PhaseClock(0);
  for (const [at, l] of LOG) c.line(l, at);
  const p = c.finish(16500);
  t.deepEqual(p, { compileS: 4.8, linkS: 4.9, imageS: 6.8, compressS: 6, compressor: 'XZKERN' });
  t.is(formatPhases(p), 'compile 4.8 s, link 4.9 s, image 6.8 s (XZKERN 6 s)');
});

test('PhaseClock: LZ4 and GZIP compressor lines; an up-to-date tree (no link) is all compile; a failed compress end falls back to make end', (t) => {
  for (const [name, line] of [['LZ4', '  LZ4     arch/x86/boot/compressed/vmlinux.bin.lz4'], ['GZIP', '  GZIP    arch/x86/boot/compressed/vmlinux.bin.gz'], ['ZSTD22', '  ZSTD22  arch/x86/boot/compressed/vmlinux.bin.zst']] as const) {
    const c = new PhaseClock(0);
    c.line('  LD      vmlinux.o', 1000);
    c.line('  OBJCOPY arch/x86/boot/compressed/vmlinux.bin', 2000);
    c.line(line, 2100);
    c.line('  MKPIGGY arch/x86/boot/compressed/piggy.S', 2400);
    t.deepEqual(c.finish(3000), { compileS: 1, linkS: 1, imageS: 1, compressS: 0.3, compressor: name });
  }
  const idle = new PhaseClock(0);
  idle.line('  CALL    scripts/checksyscalls.sh', 500);
  idle.line('Kernel: arch/x86/boot/bzImage is ready  (#4)', 3000);
  t.deepEqual(idle.finish(3100), { compileS: 3.1, linkS: 0, imageS: 0 });
  // arch/x86/boot lines before the link (none in practice) are not the image phase
  const early = new PhaseClock(0);
  early.line('  AS      arch/x86/boot/bioscall.o', 100);
  early.line('  LD      vmlinux.o', 1000);
  early.line('  XZKERN  arch/x86/boot/compressed/vmlinux.bin.xz', 2000);
  t.deepEqual(early.finish(2500), { compileS: 1, linkS: 1, imageS: 0.5, compressS: 0.5, compressor: 'XZKERN' });
});
