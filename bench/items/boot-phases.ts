// (b) QEMU start to the first reproducer: `daxlab run` (default scenarios, -j 1, --kernel as
// given) N times; each boot's phases as the run recorded them (boot-ended.phases,
// harness/results/boot-phases.ts), one row per phase (median/min/max over boots), the total and
// each further filesystem setup of a boot (umount + mkfs + mount of its 2nd+ variant group).
import { join } from 'node:path';
import { execa } from 'execa';
import { readEventLog } from '../../harness/results/event-log.ts';
import type { BootPhases } from '../../harness/results/boot-phases.ts';
import { DAXLAB, makeTempDir, removeTempDir, ROOT } from '../lib/daxrun.ts';
import type { BenchItem, BenchOptions, BenchRow } from '../lib/item.ts';
import { sampleRow } from '../lib/timing.ts';

async function oneRun(o: BenchOptions): Promise<BootPhases[]> {
  const tmp = makeTempDir('daxlab-bench-phases-');
  try {
    const out = join(tmp, 'run');
    const r = await execa('node', [DAXLAB, 'run', '--kernel', o.kernel, '-j', '1', '--out', out], { cwd: ROOT, reject: false, stdin: 'ignore', all: true });
    const { events } = readEventLog(join(out, 'events.jsonl'));
    const ps = events.flatMap((e) => (e.type === 'boot-ended' && e.phases ? [e.phases as BootPhases] : []));
    if (ps.length === 0) throw new Error(`daxlab run recorded no boot phases (exit ${r.exitCode}): ${String(r.all).trim().split('\n').slice(-3).join(' | ')}`);
    return ps;
  } finally {
    removeTempDir(tmp);
  }
}

function row(metric: string, xs: number[], note?: string): BenchRow {
  return sampleRow(metric, xs, 's', note !== undefined ? { note } : {});
}

const NOTES: Record<string, string> = {
  firmware: 'host: QEMU spawn to first console byte (real-mode setup)',
  decompress: 'host: to printk 0 (decompress + early setup)',
  kernel: 'printk 0 to Run /init',
  agent: 'Run /init to agent hello',
  modules: 'hello to ready (insmod)',
  plan: 'ready to first step begin',
};

async function run(o: BenchOptions): Promise<BenchRow[]> {
  const reps = o.reps ?? 3;
  const boots: BootPhases[] = [];
  for (let i = 0; i < reps; i++) {
    o.log(`boot-phases: daxlab run --kernel ${o.kernel} -j 1 (${i + 1}/${reps})`);
    boots.push(...(await oneRun(o)));
  }
  const names: string[] = [];
  for (const b of boots) for (const p of b.phases) if (!names.includes(p.name)) names.push(p.name);
  const s = (ms: number): number => ms / 1000;
  const rows = names.map((n) => {
    const xs = boots.flatMap((b) => b.phases.filter((p) => p.name === n && p.ms !== undefined).map((p) => s(p.ms ?? 0)));
    const missing = boots.length - xs.length;
    return row(n, xs, [NOTES[n] ?? (n.includes(' + ') ? 'merged: a boundary between them is missing' : 'setup step, begin to next begin'), missing ? `undefined in ${missing} boot(s)` : ''].filter(Boolean).join('; '));
  });
  const debug = /debug/.test(o.kernel);
  rows.push(row('QEMU start -> first reproducer', boots.flatMap((b) => (b.toFirstReproMs === undefined ? [] : [s(b.toFirstReproMs)])), `goal <= ${debug ? '3.0' : '4.0'} s (${debug ? 'debug kernel' : 'Debian 6.12'})`));
  rows.push(row('further filesystem setup', boots.flatMap((b) => b.furtherSetups.map((f) => s(f.ms))), 'umount + mkfs + mount, goal <= 0.5 s'));
  return rows;
}

export const item: BenchItem = { name: 'boot-phases', title: '(b) QEMU start to first reproducer', run };
