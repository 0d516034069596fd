// The engine embedded in a process that lives on (a worker, a test): two runs back to back, then
// one cancelled through its AbortSignal mid-step. Nothing may be left: no QEMU, no guest temp dir,
// no file descriptor, no exit or signal listener; and the process is never exited for us.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Progress } from '../harness/engine/types.ts';
import { run, type RunOptions } from '../harness/run/runner.ts';
import { qemuPids } from './helpers.ts';

const ONE = 'test/data/scenarios/tl-one';
const NAP = 'test/data/scenarios/faults/nap';
const fds = (): number => readdirSync('/proc/self/fd').length;
const listeners = (): number[] => ['exit', 'SIGINT', 'SIGTERM'].map((e) => process.listenerCount(e));

function options(out: string, scenarios: string[], progress: (p: Progress) => void, signal?: AbortSignal): RunOptions {
  return {
    scenarioArgs: scenarios,
    kernels: ['debian:6.12'],
    outDir: out,
    accel: 'auto',
    tcgThread: 'single',
    guest: { cpus: 2, memBytes: 2 * 1024 ** 3, firmware: 'qboot' },
    concurrency: 1,
    command: ['embedded'],
    progress,
    signal,
  };
}

test.serial('two runs back to back in one process, then a cancelled one: nothing leaks, nothing exits', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'daxlab-test-'));
  // Guest temp dirs of these runs land here, so "none left" does not see other tests' guests.
  const guests = mkdtempSync(join(tmpdir(), 'daxlab-test-'));
  const oldTmp = process.env['TMPDIR'];
  process.env['TMPDIR'] = guests;
  t.teardown(() => {
    if (oldTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = oldTmp;
  });
  const lines: string[] = [];
  const progress = (p: Progress): void => void (p.kind === 'line' && lines.push(p.text));
  // The first run warms caches and registers the process-wide exit hook once.
  const first = await run(options(join(base, 'a'), [ONE], progress));
  t.is(first.summary.status, 'completed');
  const before = { fds: fds(), listeners: listeners() };
  const second = await run(options(join(base, 'b'), [ONE], progress));
  t.is(second.summary.status, 'completed');
  t.deepEqual(second.summary.steps.map((s) => s.status), ['pass']);
  t.deepEqual({ fds: fds(), listeners: listeners() }, before, 'no descriptor or listener left by a run');

  const ac = new AbortController();
  const cancelled = run(options(join(base, 'c'), [ONE, NAP], (p) => {
    progress(p);
    // Cancel once the second step (a 12 s nap) has begun: the first is on disk by then.
    if (p.kind === 'began' && p.key.includes('/nap:')) ac.abort('test');
  }, ac.signal));
  const r = await cancelled;
  t.is(r.summary.status, 'interrupted');
  t.regex(r.summary.statusReason ?? '', /^test during debian:6\.12\/nap:ext4:always:r1$/);
  t.deepEqual(r.summary.steps.map((s) => s.key), ['debian:6.12/tl-one:ext4:always:r1']);
  t.deepEqual(r.summary.pending, ['debian:6.12/nap:ext4:always:r1'], 'the cancelled step is pending, for --resume');
  const onDisk = JSON.parse(readFileSync(join(base, 'c', 'summary.json'), 'utf8')) as { status: string };
  t.is(onDisk.status, 'interrupted', 'the view on disk says so too');
  t.deepEqual(await qemuPids(guests), [], 'no QEMU left');
  t.deepEqual(readdirSync(guests), [], 'no guest temp dir left');
  t.deepEqual({ fds: fds(), listeners: listeners() }, before, 'the cancelled run leaked nothing either');
});
