// Faults survived for real: each test causes the fault in a real guest or to the real CLI, then
// checks that what was measured is on disk, the status says what happened, the rest of the
// work still ran, and no QEMU process or guest temp dir (with its NVDIMM file) is left behind.
import test from 'ava';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, truncateSync, mkdirSync, symlinkSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { currentBoot, daxlab, guestDirOf, qemuPids, root, runEvents, waitFor } from './helpers.ts';

const F = 'test/data/scenarios/faults';
const ONE = 'test/data/scenarios/tl-one';
const tmp = (): string => mkdtempSync(join(tmpdir(), 'daxlab-test-'));
const summaryOf = (dir: string): RunSummary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;

async function assertNoLeftovers(t: import('ava').ExecutionContext, s: RunSummary): Promise<void> {
  for (let i = 0; i < s.boots.length; i++) {
    const dir = guestDirOf(JSON.stringify(s), i);
    t.truthy(dir, `boot ${i + 1} recorded its QEMU argv`);
    if (!dir) continue;
    t.false(existsSync(dir), `guest temp dir of boot ${i + 1} removed`);
    t.deepEqual(await qemuPids(dir), [], `no QEMU left for boot ${i + 1}`);
  }
}

/** Fault tests reason about which boot ran what: one guest at a time. */
function spawnRun(args: string[], env: Record<string, string> = {}) {
  return execa('node', ['bin/daxlab.js', 'run', '-j', '1', ...args], { cwd: root, reject: false, all: true, env });
}

/** The agent of the boot running now has begun a reproducer step (and, with `after`, logged that). */
const reproRunning = (out: string, after?: RegExp) => () => {
  const b = currentBoot(out);
  return b && / begin repro /.test(b.agentLog) && (!after || after.test(b.agentLog)) ? b : undefined;
};

/** Start a run and wait until its first reproducer step is running; returns its QEMU's pid. */
async function runUntilFirstStep(t: import('ava').ExecutionContext, args: string[], out: string) {
  const child = spawnRun(args);
  const dir = await waitFor('the first reproducer step running', () => reproRunning(out)()?.guestDir, undefined, child);
  const pids = await qemuPids(dir);
  t.is(pids.length, 1, 'one QEMU for the guest');
  return { child, qemuPid: pids[0] as number };
}

/** A TMPDIR of the test's own: every guest temp dir of the run lands there, so "nothing left" is checkable. */
function guestTmp(): { env: Record<string, string>; leftovers: () => string[] } {
  const dir = tmp();
  return { env: { TMPDIR: dir }, leftovers: () => readdirSync(dir).filter((d) => d.startsWith('daxlab-')) };
}

test.serial('segfault, user-space timeout, kernel hang and kernel panic each cost one step only', async (t) => {
  const out = join(tmp(), 'run');
  const r = await daxlab(['run', '-j', '1', `${F}/segv`, `${F}/sleep`, `${F}/hang`, `${F}/panic`, ONE, '--out', out]);
  t.is(r.exitCode, 1, String(r.all)); // not everything passed
  const s = summaryOf(out);
  t.is(s.status, 'completed');
  const by = Object.fromEntries(s.steps.map((x) => [x.scenario, x]));
  t.is(by['segv']?.status, 'error');
  t.regex(by['segv']?.reason ?? '', /SIGSEGV/);
  t.deepEqual(by['segv']?.samples['before_crash']?.values, [1], 'output before the crash kept');
  t.is(by['sleep']?.status, 'timeout');
  t.true((by['sleep']?.samples['tick']?.values.length ?? 0) >= 2, 'samples up to the timeout kept');
  t.is(by['hang']?.status, 'hung');
  t.is(by['panic']?.status, 'crashed');
  t.true(by['panic']?.findings.some((f) => f.kind === 'panic'));
  t.is(by['tl-one']?.status, 'pass', 'work after the hang and the panic ran in fresh boots');
  // A boot retried for an emulator artifact is not part of the story; the others are.
  const retried = new Set((s.retries ?? []).map((x) => x.boot));
  t.deepEqual(s.boots.filter((b) => !retried.has(b.index)).map((b) => b.end), ['poweroff', 'exit-without-bye', 'poweroff']);
  // The hung task's stack is in the console, dumped before the step was given up.
  const c1 = readFileSync(join(out, `console-${by['hang']?.boot}.log`), 'utf8');
  t.regex(c1, /sysrq: Show Blocked State\s*\n.*task:hang\.bin\s+state:D/);
  t.true(s.findings.some((f) => f.kind === 'panic' && f.where.includes('debian:6.12/panic:ext4:always:r1')));
  // `daxlab findings` names the work item as the run does, not the agent's step counter.
  const fr = await daxlab(['findings', out]);
  t.regex(String(fr.all), /debian:6\.12\/panic:ext4:always:r1 \(line \d+/);
  t.notRegex(String(fr.all), /step \d/);
  await assertNoLeftovers(t, s);
});

test.serial('SIGINT mid-step keeps finished steps; --resume finishes without redoing them', async (t) => {
  const out = join(tmp(), 'run');
  const child = spawnRun([ONE, `${F}/nap`, '--out', out]);
  await waitFor('first step on disk and the nap step running', () => runEvents(out).some((e) => e.type === 'step-ended' && e.key.includes('tl-one')) && / begin repro /.test((currentBoot(out)?.agentLog ?? '').split('\n').slice(-3).join('\n')), undefined, child);
  child.kill('SIGINT');
  const r = await child;
  t.is(r.exitCode, 130, String(r.all));
  t.regex(String(r.stderr), /--resume/);
  const s = summaryOf(out);
  t.is(s.status, 'interrupted');
  t.regex(s.statusReason ?? '', /SIGINT.*nap/);
  t.deepEqual(s.steps.map((x) => x.key), ['debian:6.12/tl-one:ext4:always:r1']);
  t.deepEqual(s.pending, ['debian:6.12/nap:ext4:always:r1']);
  await assertNoLeftovers(t, s);

  const r2 = await daxlab(['run', '--resume', out]);
  t.is(r2.exitCode, 0, String(r2.all));
  const s2 = summaryOf(out);
  t.is(s2.status, 'completed');
  t.deepEqual(s2.steps.map((x) => x.key), ['debian:6.12/tl-one:ext4:always:r1', 'debian:6.12/nap:ext4:always:r1']);
  t.deepEqual(s2.boots[1]?.items, ['debian:6.12/nap:ext4:always:r1'], 'the finished step was not run again');
});

test.serial('SIGTERM is recorded as an interruption and cleans up the guest', async (t) => {
  const out = join(tmp(), 'run');
  const child = spawnRun([`${F}/nap`, '--out', out]);
  await waitFor('the nap step running', reproRunning(out), undefined, child);
  child.kill('SIGTERM');
  const r = await child;
  t.is(r.exitCode, 143);
  const s = summaryOf(out);
  t.is(s.status, 'interrupted');
  t.regex(s.statusReason ?? '', /SIGTERM/);
  await assertNoLeftovers(t, s);
});

test.serial('QEMU killed under a step: the step is crashed, the rest runs in a new boot', async (t) => {
  const out = join(tmp(), 'run');
  const { child, qemuPid } = await runUntilFirstStep(t, [`${F}/nap`, ONE, '--out', out], out);
  process.kill(qemuPid, 'SIGKILL');
  const r = await child;
  t.is(r.exitCode, 1, String(r.all));
  const s = summaryOf(out);
  t.deepEqual(s.steps.map((x) => [x.scenario, x.status]), [['nap', 'crashed'], ['tl-one', 'pass']]);
  t.regex(s.steps[0]?.reason ?? '', /guest died during this step/);
  await assertNoLeftovers(t, s);
});

test.serial('a frozen guest (QEMU stopped) is caught by the host watchdog', async (t) => {
  const out = join(tmp(), 'run');
  const { child, qemuPid } = await runUntilFirstStep(t, [`${F}/sleep`, ONE, '--out', out, '--grace', '3'], out);
  process.kill(qemuPid, 'SIGSTOP');
  const r = await child;
  t.is(r.exitCode, 1, String(r.all));
  const s = summaryOf(out);
  const frozen = s.steps.find((x) => x.scenario === 'sleep')?.boot ?? 0;
  t.is(s.boots[frozen - 1]?.end, 'watchdog');
  t.deepEqual(s.steps.map((x) => [x.scenario, x.status]), [['sleep', 'hung'], ['tl-one', 'pass']]);
  t.regex(readFileSync(join(out, `console-${frozen}.log`), 'utf8'), /host watchdog fired/);
  await assertNoLeftovers(t, s);
});

test.serial('a guest that never boots fails the run with the reason, within the boot timeout', async (t) => {
  // The kernel boots, but its init is a sleep instead of the agent: no hello, ever.
  const out = join(tmp(), 'run');
  const r = await daxlab(['run', ONE, '--out', out, '--boot-timeout', '10', '--append', 'rdinit=/bin/busybox -- sleep 100000']);
  t.is(r.exitCode, 1, String(r.all));
  const s = summaryOf(out);
  t.is(s.status, 'failed');
  t.regex(s.statusReason ?? '', /did not boot/);
  t.deepEqual(s.guest.append, ['rdinit=/bin/busybox', '--', 'sleep', '100000']);
  t.deepEqual(s.steps.map((x) => [x.key, x.status]), [['debian:6.12/tl-one:ext4:always:r1', 'error']]);
  t.deepEqual(s.boots.map((b) => b.end), ['boot-timeout'], 'a boot that never came up is not retried');
  // Killed after the deadline plus the SysRq grace (a few seconds), not at some later event.
  t.true((s.boots[0]?.timings.exitMs ?? 0) < 60_000, `QEMU exited after ${s.boots[0]?.timings.exitMs} ms`);
  t.regex(readFileSync(join(out, 'console-1.log'), 'utf8'), /Kernel command line: .*rdinit=\/bin\/busybox -- sleep 100000/);
  await assertNoLeftovers(t, s);
});

test.serial('disk full while writing results: the run ends, says so, and leaves no guest behind', async (t) => {
  const mnt = tmp();
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', mnt]);
  try {
    const g = guestTmp();
    const r = await daxlab(['run', ONE, '--out', join(mnt, 'run')], g.env);
    t.is(r.exitCode, 1, String(r.all));
    t.regex(String(r.stderr), /results on disk are incomplete: .*(ENOSPC|no space)/i);
    t.regex(String(r.stdout), /tl-one\s+ext4-dax=always\s+pass/, 'the table is still printed from memory');
    t.deepEqual(g.leftovers(), [], 'no guest temp dir or NVDIMM file left');
  } finally {
    await execa('umount', [mnt], { reject: false });
  }
});

/** A private cache that shares the downloaded kernels (so nothing is fetched again). */
function privateCache(): string {
  const cache = tmp();
  const shared = process.env['DAXLAB_CACHE'] ?? join(homedir(), '.cache', 'daxlab');
  mkdirSync(join(shared, 'kernels'), { recursive: true });
  symlinkSync(join(shared, 'kernels'), join(cache, 'kernels'));
  return cache;
}

test.serial('a corrupt cache entry is noticed and rebuilt', async (t) => {
  const cache = privateCache();
  const env = { DAXLAB_CACHE: cache };
  const r1 = await daxlab(['run', ONE, '--out', join(tmp(), 'a')], env);
  t.is(r1.exitCode, 0, String(r1.all));
  const imgs = readdirSync(join(cache, 'images')).filter((d) => !d.startsWith('.') && !d.endsWith('.lock'));
  t.is(imgs.length, 1);
  truncateSync(join(cache, 'images', imgs[0] as string, 'initramfs.cpio'), 1000);
  const r2 = await daxlab(['run', ONE, '--out', join(tmp(), 'b')], env);
  t.is(r2.exitCode, 0, String(r2.all));
  t.regex(String(r2.stderr), /incomplete or corrupt; rebuilding/);
});

test.serial('two runs at once share one cache: one builds, the other waits and reuses', async (t) => {
  const cache = privateCache();
  const env = { DAXLAB_CACHE: cache };
  const [a, b] = await Promise.all([daxlab(['run', ONE, '--out', join(tmp(), 'a')], env), daxlab(['run', ONE, '--out', join(tmp(), 'b')], env)]);
  t.is(a.exitCode, 0, String(a.all));
  t.is(b.exitCode, 0, String(b.all));
  const builds = [a, b].filter((r) => /building guest image/.test(String(r.stderr))).length;
  t.is(builds, 1);
  const compiles = [a, b].filter((r) => /compiling /.test(String(r.stderr))).length;
  t.is(compiles, 1);
});

test.serial('an emulator artifact on the console is no finding: the boot stops, the work is retried once, then it is an error', async (t) => {
  // fake-int3 prints a real stale-int3 oops report through /dev/kmsg, on every attempt.
  const out = join(tmp(), 'run');
  const r = await daxlab(['run', '-j', '1', ONE, `${F}/fake-int3`, '--out', out]);
  t.is(r.exitCode, 1, String(r.all));
  const s = summaryOf(out);
  const by = Object.fromEntries(s.steps.map((x) => [x.scenario, x]));
  t.is(by['tl-one']?.status, 'pass', 'the step before the artifact stands');
  if (s.kernels[0]?.accel.accel === 'kvm') {
    // Under KVM nothing is an artifact: it is an oops like any other.
    t.is(by['fake-int3']?.status, 'fail');
    t.deepEqual(s.findings.map((f) => f.title), ['Oops: int3 in put_page']);
    return;
  }
  t.is(by['fake-int3']?.status, 'error');
  t.regex(by['fake-int3']?.reason ?? '', /emulator artifact: Oops: int3 in put_page \(tcg-stale-int3\), on its retry too/);
  t.deepEqual(s.findings, [], 'an artifact is never a kernel finding');
  t.deepEqual(by['fake-int3']?.findings, []);
  t.deepEqual(s.retries?.map((x) => [x.boot, x.scope, x.items]), [[1, 'step', ['debian:6.12/fake-int3:ext4:always:r1']]]);
  t.deepEqual(s.boots.map((b) => [b.end, b.artifacts?.map((a) => a.rule)]), [['aborted', ['tcg-stale-int3']], ['aborted', ['tcg-stale-int3']]]);
  await assertNoLeftovers(t, s);
});
