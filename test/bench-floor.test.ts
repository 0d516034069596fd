// The bench's hand-written floor (bench/floor/): its /init run under the host's busybox sh (the
// guest's shell) with the system commands stubbed as shell functions that log their argv, and
// reading the console back. The guest boot itself is the bench's to check (npm run bench).
import test, { type ExecutionContext } from 'ava';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { initScript, parseConsole, shQuote } from '../bench/floor/init.mjs';
import { floorResult, reproOutcome } from '../bench/items/floor.ts';

// Stubs that log their argv and fail when FAIL names them. busybox sh prefers its applets to
// PATH (mount, mkdir, insmod), so those are shell functions; mkfs.* cannot be (a dot is no
// function name) and are no applets, so they are scripts on PATH.
const FUNCS = ['mount', 'insmod', 'ndctl', 'mkdir', 'cd'].map((c) => `${c}() { echo "${c} $*" >&2; [ "$FAIL" != ${c} ]; }`);
const SCRIPTS = ['mkfs.ext4', 'mkfs.xfs'];

/** The init after the stubs, minus its shebang and busybox --install (not into the host's /bin) and with the stubs first on PATH. */
async function runInit(t: ExecutionContext, script: string, env: Record<string, string> = {}): Promise<{ stdout: string; calls: string[] }> {
  const bin = tempDir(t);
  for (const c of SCRIPTS) {
    writeFileSync(join(bin, c), `#!/bin/sh\necho "${c} $*" >&2\n[ "$FAIL" != ${c} ]\n`);
    chmodSync(join(bin, c), 0o755);
  }
  const lines = script.split('\n');
  t.is(lines[1], '/bin/busybox --install -s /bin');
  const body = lines.slice(2).join('\n').replace(/^export PATH=(.*)$/m, `export PATH=${bin}:$1`);
  const sh = `${FUNCS.join('\n')}\npoweroff() { echo "poweroff $*" >&2; exit 0; }\n${body}`;
  const r = await execa('busybox', ['sh', '-c', sh], { env: { PATH: process.env['PATH'] ?? '', ...env }, extendEnv: false, reject: false });
  return { stdout: r.stdout, calls: r.stderr.split('\n').filter(Boolean) };
}

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-floor-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function reproScript(t: ExecutionContext, rc: number): string {
  const p = join(tempDir(t), 'repro');
  writeFileSync(p, `#!/bin/sh\nfor a in "$@"; do echo "arg:$a"; done\necho "dir:$DAXLAB_DIR fs:$DAXLAB_FS dax:$DAXLAB_DAX"\nexit ${rc}\n`);
  chmodSync(p, 0o755);
  return p;
}

test('the init loads the modules in order, makes the namespace fsdax, mkfs, mounts with dax= and runs the reproducer with its arguments as they are', async (t) => {
  const args = ['--iterations', '100', 'two words', "it's", '$(echo no)', '`echo no`'];
  const script = initScript({ fs: 'ext4', dax: 'always', modules: ['libnvdimm.ko', 'nd_pmem.ko'], repro: reproScript(t, 3), args });
  const { stdout, calls } = await runInit(t, script);
  t.deepEqual(calls, [
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev',
    'insmod /lib/modules/libnvdimm.ko',
    'insmod /lib/modules/nd_pmem.ko',
    'ndctl create-namespace -f -e namespace0.0 -m fsdax -a 2M',
    'mkfs.ext4 -F -q -b 4096 /dev/pmem0',
    'mkdir -p /mnt/floor',
    'mount -t ext4 -o dax=always /dev/pmem0 /mnt/floor',
    'cd /mnt/floor',
    'poweroff -f',
  ]);
  const c = parseConsole(stdout);
  t.true(c.started);
  t.is(c.exitCode, 3);
  t.is(c.failed, undefined);
  t.deepEqual(c.lines, [...args.map((a) => `arg:${a}`), 'dir:/mnt/floor fs:ext4 dax:always']);
});

test('a setup command that fails is named and the guest powers off before the reproducer', async (t) => {
  const script = initScript({ fs: 'xfs', dax: 'inode', modules: [], repro: reproScript(t, 0), args: [] });
  t.regex(script, /mkfs\.xfs -f -q -b size=4096 -m reflink=0 \/dev\/pmem0/);
  const { stdout, calls } = await runInit(t, script, { FAIL: 'mkfs.xfs' });
  t.is(calls.at(-1), 'poweroff -f');
  t.false(calls.some((l) => l.startsWith('mount -t xfs')));
  const c = parseConsole(stdout);
  t.false(c.started);
  t.is(c.failed, 'mkfs.xfs -f -q -b size=4096 -m reflink=0 /dev/pmem0');
});

test('initScript refuses a filesystem or DAX mode it does not know; shQuote survives quotes', (t) => {
  t.throws(() => initScript({ fs: 'btrfs' as 'ext4', dax: 'always', modules: [], repro: '/r', args: [] }), { message: /fs must be/ });
  t.throws(() => initScript({ fs: 'ext4', dax: 'yes' as 'always', modules: [], repro: '/r', args: [] }), { message: /dax must be/ });
  t.is(shQuote("a'b"), `'a'\\''b'`);
});

test('the console: CRLF lines, kernel lines inside the reproducer left out, only the first exit marker', (t) => {
  const text = [
    '[    6.100000] EXT4-fs (pmem0): mounted filesystem',
    'floor: repro start',
    '{"type":"metric","name":"is_dax","value":1,"unit":"bool"}',
    '[    7.000000] random: crng init done',
    '{"type":"verdict","verdict":"pass","reason":"ok"}',
    'floor: repro exit 0',
    'floor: repro exit 9',
    '[    8.000000] reboot: Power down',
  ].join('\r\n');
  const c = parseConsole(text);
  t.deepEqual(c, { started: true, exitCode: 0, failed: undefined, lines: ['{"type":"metric","name":"is_dax","value":1,"unit":"bool"}', '{"type":"verdict","verdict":"pass","reason":"ok"}'] });
  t.deepEqual(reproOutcome(c.lines), { verdict: 'pass', isDax: 1 });
});

test("the bench item's check of the floor's stdout: the work was done, or why not", (t) => {
  const ok = ['floor: repro start', '{"type":"metric","name":"is_dax","value":1,"unit":"bool"}', '{"type":"verdict","verdict":"pass","reason":"ok"}', 'floor: repro exit 0', 'floor: wall 10137 ms (qemu 10079 ms)'];
  t.deepEqual(floorResult(ok.join('\n')), { qemuMs: 10079 });
  t.deepEqual(floorResult(''), { error: 'the reproducer did not run' });
  t.deepEqual(floorResult(ok.map((l) => l.replace('exit 0', 'exit 1')).join('\n')), { error: 'the reproducer exited 1' });
  t.deepEqual(floorResult(ok.map((l) => l.replace('"value":1', '"value":0')).join('\n')), { error: 'is_dax 0: not the DAX work daxlab did' });
  t.deepEqual(floorResult(ok.filter((l) => !l.includes('verdict')).join('\n')), { error: 'reproducer verdict missing' });
  t.deepEqual(floorResult(ok.slice(0, -1).join('\n')), { error: 'no wall time line' });
});
