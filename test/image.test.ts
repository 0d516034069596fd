import test from 'ava';
import { readFileSync } from 'node:fs';
import { listCpio, writeCpio } from '../harness/image/cpio.ts';
import { parseLdd } from '../harness/image/ldd.ts';
import { GUEST_MODULES, moduleLoadOrder, moduleName, parseModulesDep } from '../harness/image/modules.ts';
import { parseBzImageHeader } from '../harness/kernel/bzimage.ts';

const data = (p: string): string => new URL(`./data/${p}`, import.meta.url).pathname;

test('cpio newc archive round-trips names, modes and sizes with 4-byte alignment', (t) => {
  const buf = writeCpio([
    { type: 'dir', path: '/bin' },
    { type: 'file', path: '/bin/busybox', data: Buffer.from('abcde'), mode: 0o755 },
    { type: 'symlink', path: '/bin/sh', target: 'busybox' },
    { type: 'chardev', path: '/dev/console', major: 5, minor: 1 },
  ]);
  t.is(buf.length % 4, 0);
  t.is(buf.toString('latin1', 0, 6), '070701');
  const list = listCpio(buf);
  t.deepEqual(list.map((e) => e.path), ['bin', 'bin/busybox', 'bin/sh', 'dev/console']);
  t.is(list[1]?.size, 5);
  t.is(list[1]?.mode, 0o100755);
  t.is(list[2]?.mode, 0o120777);
  t.true(buf.includes(Buffer.from('TRAILER!!!')));
});

test('concatenated archives (base image + per-boot overlay) are both readable', (t) => {
  const a = writeCpio([{ type: 'file', path: '/init', data: Buffer.from('#!/bin/sh\n') }]);
  const b = writeCpio([{ type: 'file', path: '/daxlab/plan.sh', data: Buffer.from('x') }]);
  t.deepEqual(listCpio(Buffer.concat([a, b])).map((e) => e.path), ['init', 'daxlab/plan.sh']);
});

test('module closure from a real Debian 6.12 modules.dep puts dependencies first', (t) => {
  const dep = parseModulesDep(readFileSync(data('kernel-debian/modules.dep-6.12'), 'utf8'));
  const { order, builtinOrMissing } = moduleLoadOrder(dep, GUEST_MODULES);
  const names = order.map((m) => moduleName(m.path));
  for (const [before, after] of [['libnvdimm', 'nfit'], ['nd_btt', 'nd_pmem'], ['jbd2', 'ext4'], ['crc16', 'ext4'], ['libcrc32c', 'xfs']] as const) {
    t.true(names.indexOf(before) >= 0 && names.indexOf(before) < names.indexOf(after), `${before} before ${after}`);
  }
  t.is(new Set(names).size, names.length, 'each module once');
  // 6.12 has no separate dax_pmem_core; device_dax is built differently: reported, not fatal
  t.true(builtinOrMissing.includes('dax_pmem_core'));
  t.false(names.includes('dax_pmem_core'));
});

test('ldd output of ndctl gives absolute library paths and the loader, no vdso', (t) => {
  const libs = parseLdd(readFileSync(data('ldd-ndctl.txt'), 'utf8'));
  t.true(libs.includes('/lib64/ld-linux-x86-64.so.2'));
  t.true(libs.some((l) => l.endsWith('/libndctl.so.6')));
  t.false(libs.some((l) => l.includes('vdso')));
  t.true(libs.every((l) => l.startsWith('/')));
});

test('bzImage header gives the release of a real Debian kernel; garbage gives undefined', (t) => {
  const info = parseBzImageHeader(readFileSync(data('kernel-debian/bzImage-6.12-head.bin')));
  t.is(info?.release, '6.12.117+deb12-amd64');
  t.regex(info?.banner ?? '', /debian-kernel@lists\.debian\.org/);
  t.is(parseBzImageHeader(Buffer.alloc(4096)), undefined);
});
