// (c) A warm run's cache checks: what `daxlab run` (the default scenarios, --kernel as given,
// default debian:6.12) spends before its first guest starts, from the phases the run records in
// events.jsonl: host tools, reproducer compile cache, kernel resolve, guest image cache check,
// accelerator verdict; then the whole span from starting the process to the first boot-started
// event, and what is left of it (CLI start-up, scenario loading, planning, the recorder). Runs
// whose kernel image was not a cache hit are not warm and say so.
import { join } from 'node:path';
import { execa } from 'execa';
import { readEventLog } from '../../harness/results/event-log.ts';
import type { RunEvent } from '../../harness/results/events.ts';
import { DAXLAB, makeTempDir, removeTempDir, ROOT } from '../lib/daxrun.ts';
import type { BenchItem, BenchOptions, BenchRow } from '../lib/item.ts';
import { sampleRow } from '../lib/timing.ts';

const PHASES = [
  ['hostToolsMs', 'host tools check'],
  ['compileMs', 'reproducer compile cache'],
  ['kernelMs', 'kernel resolve'],
  ['imageMs', 'guest image cache check'],
  ['accelMs', 'accelerator verdict'],
] as const;
const CACHE_CHECKS = ['compileMs', 'kernelMs', 'imageMs'];

type Phase = (typeof PHASES)[number][0];

interface WarmRun {
  phases: Record<Phase, number>;
  /** Process start to the first boot-started event. */
  toFirstBootMs: number;
  warm: boolean;
}

function byType<T extends RunEvent['type']>(events: RunEvent[], type: T): Extract<RunEvent, { type: T }>[] {
  return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}

async function warmRun(o: BenchOptions): Promise<WarmRun> {
  const tmp = makeTempDir('daxlab-bench-warm-');
  try {
    const out = join(tmp, 'run');
    const t0 = Date.now();
    const r = await execa('node', [DAXLAB, 'run', '--kernel', o.kernel, '--out', out], { cwd: ROOT, reject: false, stdin: 'ignore', all: true });
    const { events } = readEventLog(join(out, 'events.jsonl'));
    const ready = byType(events, 'kernel-ready');
    const ended = byType(events, 'run-ended')[0];
    const boot = byType(events, 'boot-started')[0];
    if (!ended || !boot || ready.length === 0) throw new Error(`daxlab run did not get to a boot (exit ${r.exitCode}): ${String(r.all).trim().split('\n').slice(-3).join(' | ')}`);
    const sum = (k: string): number => ready.reduce((n, e) => n + (e.phases[k] ?? 0), 0);
    const phases = {
      hostToolsMs: ended.phases['hostToolsMs'] ?? 0,
      compileMs: ended.phases['compileMs'] ?? 0,
      kernelMs: sum('kernelMs'),
      imageMs: sum('imageMs'),
      accelMs: sum('accelMs'),
    };
    return { phases, toFirstBootMs: Date.parse(boot.at) - t0, warm: ready.every((e) => e.kernel.image.hit) };
  } finally {
    removeTempDir(tmp);
  }
}

function row(metric: string, xs: number[], note?: string): BenchRow {
  return sampleRow(metric, xs, 'ms', note !== undefined ? { note } : {});
}

async function run(o: BenchOptions): Promise<BenchRow[]> {
  const runs: WarmRun[] = [];
  const reps = o.reps ?? 1;
  for (let i = 0; i < reps; i++) {
    o.log(`warm-cache: daxlab run --kernel ${o.kernel} (${i + 1}/${reps})`);
    runs.push(await warmRun(o));
  }
  const cold = runs.filter((r) => !r.warm).length;
  const note = cold ? `${cold} of ${runs.length} runs had an image cache miss` : undefined;
  const rows = PHASES.map(([k, label]) => row(label, runs.map((r) => r.phases[k]), note));
  rows.push(row('cache checks (compile + kernel + image)', runs.map((r) => CACHE_CHECKS.reduce((n, k) => n + r.phases[k as Phase], 0)), 'goal < 300 ms'));
  rows.push(row('process start -> first guest start', runs.map((r) => r.toFirstBootMs)));
  rows.push(row('  of which not in a phase', runs.map((r) => r.toFirstBootMs - PHASES.reduce((n, [k]) => n + r.phases[k], 0)), 'CLI start, scenarios, planning, recorder'));
  return rows;
}

export const item: BenchItem = { name: 'warm-cache', title: '(c) warm run cache checks', run };
