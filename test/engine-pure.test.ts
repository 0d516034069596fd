// Pure parts of the engine: splitting work between guests, naming kernels, choosing how many
// guests fit the host, and the progress counter's ETA.
import test from 'ava';
import { autoConcurrency } from '../harness/engine/concurrency.ts';
import { nameKernelSpecs } from '../harness/engine/prepare.ts';
import { shareForGuest, workItems } from '../harness/plan/plan.ts';
import { etaMs, formatDuration, progressRenderer } from '../harness/run/progress.ts';
import type { Scenario } from '../harness/scenario/schema.ts';

const scenario = (over: Partial<Scenario> = {}): Scenario => ({
  id: 'tl', title: 'tl', description: '', file: 'f', reproducerSource: 'x.c', args: [], filesystems: ['ext4', 'xfs'], daxModes: ['always', 'never'], pmemBytes: 1024 ** 3, scratch: false, repetitions: 3,
  timeoutS: 30, isDefault: true, checks: '', references: [], requires: [], expect: '', metrics: {}, metricBetter: {}, allowFindings: [], scratchIops: undefined, verdictRules: '', ...over,
});
const GiB = 1024 ** 3;

test('work is shared between free guests at variant boundaries; one guest takes everything', (t) => {
  const items = workItems('k', [scenario()], new Map()); // 4 variants x 3 reps
  t.is(shareForGuest(items, 1).length, 12);
  const first = shareForGuest(items, 2);
  t.is(first.length, 6);
  t.is(new Set(first.map((i) => `${i.variant.fs}-${i.variant.dax}`)).size, 2, 'two whole variants: two mkfs, not four');
  const rest = items.filter((i) => !first.includes(i));
  t.is(shareForGuest(rest, 1).length, 6, 'the last free guest takes the rest');
  const own = workItems('k', [scenario({ id: 'teardown', ownBoot: true, repetitions: 2, filesystems: ['ext4'], daxModes: ['always'] })], new Map());
  t.is(shareForGuest(own, 2).length, 1, 'a destructive item still boots alone');
});

test('kernel names: NAME=SPEC, or derived from the spec, unique, key-safe', (t) => {
  t.deepEqual(nameKernelSpecs(['debian:6.12']), [{ name: 'debian:6.12', spec: 'debian:6.12' }]);
  t.deepEqual(nameKernelSpecs(['base=debian:6.12', 'patched=images/kernels/debug-6.12.yaml']).map((k) => k.name), ['base', 'patched']);
  t.deepEqual(nameKernelSpecs(['images/kernels/debug-6.12.yaml']).map((k) => k.name), ['debug-6.12']);
  t.deepEqual(nameKernelSpecs(['/src/linux/arch/x86/boot/bzImage']).map((k) => k.name), ['boot']);
  t.deepEqual(nameKernelSpecs(['source=debian-src:6.12,config=tiny+dax']).map((k) => k.name), ['k1'], 'an inline build spec is not NAME=SPEC');
  t.deepEqual(nameKernelSpecs(['debian:6.12', 'debian:6.12']).map((k) => k.name), ['debian:6.12', 'debian:6.12#2']);
  t.throws(() => nameKernelSpecs(['a=debian:6.12', 'a=debian:6.1']), { message: /the name 'a' is used twice/ });
});

test('guests at once: one host thread per single-threaded TCG guest, one per vCPU otherwise, memory-bound too', (t) => {
  t.is(autoConcurrency({ cpus: 2, freeMemBytes: 23 * GiB }, { accel: 'tcg', tcgThread: 'single', cpus: 2, memBytes: 2 * GiB }), 2);
  t.is(autoConcurrency({ cpus: 2, freeMemBytes: 23 * GiB }, { accel: 'tcg', tcgThread: 'multi', cpus: 2, memBytes: 2 * GiB }), 1);
  t.is(autoConcurrency({ cpus: 16, freeMemBytes: 23 * GiB }, { accel: 'kvm', tcgThread: 'single', cpus: 2, memBytes: 2 * GiB }), 7);
  t.is(autoConcurrency({ cpus: 64, freeMemBytes: 4 * GiB }, { accel: 'kvm', tcgThread: 'single', cpus: 1, memBytes: 2 * GiB }), 1);
  t.is(autoConcurrency({ cpus: 1, freeMemBytes: 0 }, { accel: 'kvm', tcgThread: 'single', cpus: 4, memBytes: 2 * GiB }), 1, 'never 0');
});

test('progress: ETA from the pace so far; a counter on every step line, the ETA only on a terminal', (t) => {
  t.is(etaMs(0, 10_000, 2, 6), 20_000);
  t.is(etaMs(0, 10_000, 0, 6), undefined);
  t.is(etaMs(0, 10_000, 6, 6), undefined);
  t.is(formatDuration(75_000), '1m15s');
  t.is(formatDuration(3_725_000), '1h02m');
  for (const tty of [true, false]) {
    let clock = 0;
    const out: string[] = [];
    const r = progressRenderer({ write: (s) => out.push(s), tty, now: () => clock });
    r({ kind: 'boot', boot: 1, kernel: 'k', phase: 'started', detail: '' });
    clock = 30_000;
    r({ kind: 'step', done: 1, total: 4, key: 'k/tl:ext4:always:r1', status: 'pass', reason: 'ok\x1b[2J', ms: 1234 });
    t.regex(out[0] ?? '', tty ? /\[1\/4, ETA 1m30s\] k\/tl:ext4:always:r1: pass \(ok\?\[2J\) 1\.23s/ : /\[1\/4\] k\/tl:ext4:always:r1: pass/);
    t.notRegex(out.join(''), /\x1b/);
  }
});
