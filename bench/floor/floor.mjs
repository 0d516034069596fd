#!/usr/bin/env node
// The floor of issue 12 (a): what a kernel developer would write by hand to run one DAX
// reproducer in QEMU, without daxlab. An overlay cpio with its own /init (init.mjs) appended to a
// base initramfs, a sparse NVDIMM file, one qemu-system-x86_64 command, the serial console to a
// file; then the reproducer's lines and the wall time on stdout. No daxlab code: the bench item
// (bench/items/floor.ts) hands it daxlab's cached kernel, image and compiled reproducer, so both
// sides boot the same bytes. Exit 0 only when the reproducer ran and exited 0.
//
//   node bench/floor/floor.mjs --kernel BZIMAGE --initrd BASE.cpio --repro BINARY
//     [--module FILE.ko]... [--fs ext4|xfs] [--dax always|never|inode] [--pmem MiB] [--mem MiB]
//     [--cpus N] [--bios FILE|''] [--console FILE] [--timeout S] [-- REPRODUCER ARGS]
import { existsSync, rmSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';
import { EXIT, START, initScript, parseConsole } from './init.mjs';

const t0 = performance.now();
const QBOOT = '/usr/share/qemu/qboot.rom';

const { values: o, positionals: reproArgs } = parseArgs({
  allowPositionals: true,
  strict: true,
  options: {
    kernel: { type: 'string' },
    initrd: { type: 'string' },
    repro: { type: 'string' },
    module: { type: 'string', multiple: true, default: [] },
    fs: { type: 'string', default: 'ext4' },
    dax: { type: 'string', default: 'always' },
    pmem: { type: 'string', default: '1024' },
    mem: { type: 'string', default: '2048' },
    cpus: { type: 'string', default: '2' },
    bios: { type: 'string', default: existsSync(QBOOT) ? QBOOT : '' },
    console: { type: 'string' },
    timeout: { type: 'string', default: '300' },
  },
});
for (const k of ['kernel', 'initrd', 'repro']) if (!o[k]) die(`--${k} is required`);
const [pmem, mem, cpus, timeoutS] = ['pmem', 'mem', 'cpus', 'timeout'].map((k) => {
  const n = Number(o[k]);
  if (!Number.isInteger(n) || n < 1) die(`--${k} must be a positive integer, got '${o[k]}'`);
  return n;
});

function die(msg) {
  process.stderr.write(`floor: ${msg}\n`);
  process.exit(2);
}

const dir = await mkdtemp(join(tmpdir(), 'floor-'));
// Stopped: QEMU goes too (a terminal's Ctrl-C reaches it anyway, a kill of this process alone
// does not), and so does the temp dir with its 1 GiB sparse file.
let qemuRun;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await qemuRun?.kill('SIGKILL').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  // The overlay: our /init (it replaces the base image's, later cpio members win) and the binary.
  const stage = join(dir, 'stage');
  await mkdir(join(stage, 'floor'), { recursive: true });
  const init = initScript({ fs: o.fs, dax: o.dax, modules: o.module, repro: '/floor/repro', args: reproArgs });
  await writeFile(join(stage, 'init'), init, { mode: 0o755 });
  await copyFile(o.repro, join(stage, 'floor', 'repro'));
  await chmod(join(stage, 'floor', 'repro'), 0o755);
  const overlay = join(dir, 'overlay.cpio');
  const initrd = join(dir, 'initrd.cpio');
  await $({ cwd: stage })`find init floor | cpio -o -H newc -R +0:+0 --quiet > ${overlay}`;
  // The kernel unpacks concatenated archives in order.
  await $`cat ${o.initrd} ${overlay} > ${initrd}`;
  const nv = join(dir, 'nv0.img');
  await $`truncate -s ${pmem}M ${nv}`;
  const consoleLog = o.console ?? join(dir, 'console.log');

  const qemu = [
    '-machine', 'pc,nvdimm=on',
    '-accel', 'tcg,thread=single',
    '-cpu', 'max',
    '-smp', String(cpus),
    // The NVDIMM is hot-pluggable memory: it needs a slot and room under maxmem.
    '-m', `${mem}M,slots=2,maxmem=${mem + pmem}M`,
    // share=on, or guest writes never reach the file.
    '-object', `memory-backend-file,id=mem0,share=on,mem-path=${nv},size=${pmem}M`,
    '-device', 'nvdimm,id=nv0,memdev=mem0',
    '-kernel', o.kernel,
    '-initrd', initrd,
    '-append', 'console=ttyS0 panic=-1 rdinit=/init',
    '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', `file:${consoleLog}`,
    ...(o.bios ? ['-bios', o.bios] : []),
  ];
  const tq = performance.now();
  qemuRun = $({ nothrow: true, timeout: `${timeoutS}s` })`qemu-system-x86_64 ${qemu}`;
  const q = await qemuRun;
  const qemuMs = performance.now() - tq;

  const text = await readFile(consoleLog, 'latin1').catch(() => '');
  const c = parseConsole(text);
  const tail = () => text.trimEnd().split('\n').slice(-15).join('\n');
  if (c.failed !== undefined) throw new Error(`in the guest: ${c.failed}\n${tail()}`);
  if (!c.started || c.exitCode === undefined) {
    const why = q.exitCode === 0 ? 'the guest powered off' : `qemu exit ${q.exitCode ?? q.signal}: ${q.stderr.trim()}`;
    throw new Error(`the reproducer ${c.started ? 'did not finish' : 'never started'} (${why}); the console ended:\n${tail()}`);
  }
  process.stdout.write([START, ...c.lines, `${EXIT}${c.exitCode}`, ''].join('\n'));
  process.stdout.write(`floor: wall ${Math.round(performance.now() - t0)} ms (qemu ${Math.round(qemuMs)} ms)\n`);
  if (c.exitCode !== 0) process.exitCode = 1;
} catch (e) {
  process.stderr.write(`floor: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
} finally {
  // A console the caller asked for is theirs to keep; everything else goes.
  await rm(dir, { recursive: true, force: true });
}
