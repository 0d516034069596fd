// Reproducer output crosses the agent channel while the step runs: what was printed before a kernel
// crash or a frozen guest is kept, and a reproducer that never stops printing is capped in the
// guest and in the host without growing daxlab's memory or costing the steps after it.
import test from 'ava';
import { execa } from 'execa';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { currentBoot, daxlab, qemuPids, readIf, root, waitFor } from './helpers.ts';

const F = 'test/data/scenarios/faults';
const ONE = 'test/data/scenarios/tl-one';
const CAP = 1024 * 1024; // the agent's per-stream, per-step cap (images/guest/agent.sh)
const MB = 1024 * 1024;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'daxlab-test-'));
const summaryOf = (dir: string): RunSummary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function spawnRun(args: string[]) {
  return execa('node', ['bin/daxlab.js', 'run', '-j', '1', ...args], { cwd: root, reject: false, all: true });
}

/** Resident and peak memory of a process, in bytes, from /proc. */
function memOf(pid: number): { rss: number; hwm: number } | undefined {
  const s = readIf(`/proc/${pid}/status`);
  const kb = (k: string): number | undefined => {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s);
    return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
  };
  const rss = kb('VmRSS');
  const hwm = kb('VmHWM');
  return rss === undefined || hwm === undefined ? undefined : { rss, hwm };
}

test.serial('samples printed before a kernel crash are in the crashed step', async (t) => {
  const out = join(tmp(), 'run');
  const r = await daxlab(['run', `${F}/crash-after-samples`, '--out', out]);
  t.is(r.exitCode, 1, String(r.all));
  const st = summaryOf(out).steps[0];
  t.is(st?.status, 'crashed');
  t.true(st?.findings.some((f) => f.kind === 'panic'), 'the crash is the SysRq panic');
  t.deepEqual(st?.samples['before_crash']?.values, range(50));
});

test.serial('a frozen guest: samples on the host before the freeze are in the hung step', async (t) => {
  const out = join(tmp(), 'run');
  const child = spawnRun([`${F}/stall-after-samples`, '--out', out, '--grace', '3']);
  const dir = await waitFor(
    'the 50th sample in the agent log',
    () => {
      const b = currentBoot(out); // the boot running now: an early one may have been retried
      return b && /^@@DX \d+ out \{"type":"sample","name":"before_stall","value":49,/m.test(b.agentLog) && b.guestDir;
    },
    undefined,
    child,
  );
  const pids = await qemuPids(dir);
  t.is(pids.length, 1, 'one QEMU for the guest');
  process.kill(pids[0] as number, 'SIGSTOP');
  const r = await child;
  t.is(r.exitCode, 1, String(r.all));
  const s = summaryOf(out);
  t.is(s.boots.at(-1)?.end, 'watchdog');
  t.is(s.steps[0]?.status, 'hung');
  t.deepEqual(s.steps[0]?.samples['before_stall']?.values, range(50));
});

test.serial('a reproducer printing 4x the cap: capped in the guest, counted exactly, host memory flat, the next step runs', async (t) => {
  const out = join(tmp(), 'run');
  const child = spawnRun([`${F}/flood`, ONE, '--out', out]);
  const pid = child.pid as number;
  // Memory of daxlab itself from the flood's first forwarded line to the end of its step: sampled
  // RSS, and the kernel's peak (VmHWM), which no sampling gap can miss.
  let base: { rss: number; hwm: number } | undefined;
  let last: { rss: number; hwm: number } | undefined;
  let peakRss = 0;
  let done = false;
  const poll = setInterval(() => {
    const m = memOf(pid);
    const log = currentBoot(out)?.agentLog ?? '';
    const n = /^@@DX (\d+) out flood line/m.exec(log)?.[1];
    if (!m || n === undefined || done) return;
    base ??= m;
    last = m;
    peakRss = Math.max(peakRss, m.rss);
    done = log.includes(`@@DX ${n} end `);
  }, 200);
  const r = await child;
  clearInterval(poll);
  t.is(r.exitCode, 0, String(r.all));
  const s = summaryOf(out);
  const flood = s.steps.find((x) => x.scenario === 'flood');
  const next = s.steps.find((x) => x.scenario === 'tl-one');
  t.is(flood?.status, 'pass');
  t.is(next?.status, 'pass', 'the next step ran');
  t.is(next?.boot, flood?.boot, 'in the same boot');

  // Guest cap: at most CAP bytes of the flood's stdout crossed the channel, and it said how much it dropped.
  const log = readFileSync(join(out, `agent-${flood?.boot}.log`), 'utf8');
  const n = /^@@DX (\d+) out flood line/m.exec(log)?.[1];
  const prefix = `@@DX ${n} out `;
  const forwarded = log.split('\n').filter((l) => l.startsWith(prefix)).reduce((a, l) => a + l.length - prefix.length + 1, 0);
  // Whole lines only: the cap is reached within one line (4000 bytes at most) of 1 MiB.
  t.true(forwarded > CAP - 4000 && forwarded <= CAP, `forwarded ${forwarded} bytes`);
  const dropped = Number(/\[daxlab: out over its 1048576-byte cap: (\d+) bytes dropped\]/.exec(flood?.stderr.join('\n') ?? '')?.[1] ?? 0);
  const sampleLine = log.split('\n').find((l) => l.startsWith(prefix) && l.includes('"started"'))?.slice(prefix.length) ?? '';
  t.is(forwarded + dropped, sampleLine.length + 1 + 65536 * 65, `every byte printed is either forwarded or counted as dropped (${forwarded} + ${dropped})`);
  t.true(log.indexOf(`@@DX ${n} err [daxlab: out over`) < log.indexOf(`@@DX ${n} end done`), 'the drop count came before the end event');
  // Host caps: the step result keeps a bounded number of lines.
  t.true((flood?.output.length ?? 0) <= 2000);

  t.true(base !== undefined && done, 'memory sampled from the first flood line to the end of the step');
  const rssGrowth = peakRss - (base?.rss ?? 0);
  const hwmGrowth = (last?.hwm ?? 0) - (base?.hwm ?? 0);
  t.log(`daxlab RSS ${((base?.rss ?? 0) / MB).toFixed(0)} MiB at the flood's first line, at most ${(peakRss / MB).toFixed(0)} MiB until its end (peak ${((base?.hwm ?? 0) / MB).toFixed(0)} -> ${((last?.hwm ?? 0) / MB).toFixed(0)} MiB); ${(forwarded / MB).toFixed(2)} MiB forwarded, ${(dropped / MB).toFixed(2)} MiB dropped in the guest`);
  t.true(rssGrowth < 64 * MB, `RSS grew ${(rssGrowth / MB).toFixed(0)} MiB`);
  t.true(hwmGrowth < 64 * MB, `peak RSS grew ${(hwmGrowth / MB).toFixed(0)} MiB`);
});
