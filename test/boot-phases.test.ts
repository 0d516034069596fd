// results/boot-phases.ts on real boots (test/data/boot-phases/*/, captured by capture.py from
// `daxlab run -j 1`): the logs replayed with the host arrival times the harness recorded give the
// phases it computed live; what each kernel prints first decides which boundaries exist.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parseAgentLine } from '../harness/agent/protocol.ts';
import { BootClock, type BootPhases, type StepInfo } from '../harness/results/boot-phases.ts';

const DATA = join(import.meta.dirname, 'data', 'boot-phases');

interface Meta {
  steps: StepInfo[];
  modules: number;
  clock: 'host' | 'icount';
  kernel: string;
}

function replay(dir: string, clock?: 'host' | 'icount'): { got: BootPhases; expected: BootPhases; meta: Meta } {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as BootPhases;
  const host = expected.host ?? { console: {}, agent: {} };
  const c = new BootClock();
  const lines = readFileSync(join(dir, 'console-1.log'), 'latin1').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => c.console(l, host.console[String(i + 1)]));
  for (const l of readFileSync(join(dir, 'agent-1.log'), 'utf8').split('\n')) {
    const ev = parseAgentLine(l);
    if (!ev) continue;
    const key = ev.event === 'hello' || ev.event === 'ready' ? ev.event : `${ev.event} ${ev.step}`;
    const ms = host.agent[key];
    if (ms !== undefined) c.agentEvent(ev, ms);
  }
  const got = c.phases({ spawnMs: expected.spawnMs, firstByteMs: host.firstByteMs, clock: clock ?? meta.clock, steps: meta.steps, modules: meta.modules });
  return { got, expected, meta };
}

const dirs = readdirSync(DATA, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

for (const d of dirs) {
  test(`${d}: replaying the logs gives the phases the run recorded`, (t) => {
    const { got, expected } = replay(join(DATA, d));
    t.deepEqual(JSON.parse(JSON.stringify(got)), expected);
  });
  test(`${d}: the phases add up to QEMU start -> first reproducer`, (t) => {
    const { got } = replay(join(DATA, d));
    const sum = got.phases.reduce((n, p) => n + (p.ms ?? 0), 0);
    t.truthy(got.toFirstReproMs);
    t.true(Math.abs(sum - (got.toFirstReproMs ?? 0)) <= got.phases.length, `${sum} vs ${got.toFirstReproMs}`);
  });
  test(`${d}: under icount printk 0 has no host time: decompress and kernel merge, nothing invented`, (t) => {
    const { got } = replay(join(DATA, d), 'icount');
    t.is(got.phases.find((p) => p.name === 'decompress')?.ms, undefined);
    t.is(got.phases.find((p) => p.name === 'kernel')?.ms, undefined);
    t.truthy(got.phases.find((p) => /decompress \+ kernel$/.test(p.name))?.ms);
  });
}

test('Debian 6.12: real-mode setup prints first ("Probing EDD"), so firmware and decompress are apart', (t) => {
  const { got } = replay(join(DATA, 'debian-6.12-four-groups'));
  t.regex(got.firstLine ?? '', /^Probing EDD/);
  const ms = (n: string): number | undefined => got.phases.find((p) => p.name === n)?.ms;
  for (const n of ['firmware', 'decompress', 'kernel', 'agent', 'modules', 'create fsdax namespace', 'mkfs ext4', 'mount ext4 dax=always']) t.not(ms(n), undefined, n);
  // The kernel's own clock and the host's agree on the host guest clock (within 2%).
  const k = got.phases.find((p) => p.name === 'kernel');
  t.true(Math.abs((k?.ms ?? 0) - (k?.guestMs ?? 0)) < 0.02 * (k?.ms ?? 0));
  t.is(got.furtherSetups.length, 3);
});

test('a monolithic kernel (no modules): module loading is undefined, not 0', (t) => {
  const dir = join(DATA, 'debian-6.12-four-groups');
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
  const { got } = replay(dir);
  const c = new BootClock();
  c.agentEvent({ step: 0, event: 'hello', release: 'x', cpus: 2, uptimeS: 1 }, 1000);
  c.agentEvent({ step: 0, event: 'ready' }, 1001);
  c.agentEvent({ step: 1, event: 'begin', kind: 'setup', timeoutS: 1 }, 1002);
  const p = c.phases({ spawnMs: 0, clock: 'host', steps: meta.steps, modules: 0 });
  t.is(p.phases.find((x) => x.name === 'modules')?.ms, undefined);
  t.is(p.phases.find((x) => x.name === 'modules + plan')?.ms, 2);
  t.truthy(got);
});

test('debug kernel: printk comes first (no EDD probe), so firmware and decompress are one phase; no modules', (t) => {
  const { got } = replay(join(DATA, 'debug-6.12-monolithic'));
  t.regex(got.firstLine ?? '', /Linux version/);
  t.is(got.phases.find((p) => p.name === 'firmware')?.ms, undefined);
  t.is(got.phases.find((p) => p.name === 'decompress')?.ms, undefined);
  t.truthy(got.phases.find((p) => p.name === 'firmware + decompress')?.ms);
  t.is(got.phases.find((p) => p.name === 'modules')?.ms, undefined);
});
