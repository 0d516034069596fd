// (a) The harness against a hand-written floor: `daxlab run scenarios/truncate-latency --fs ext4
// --dax always` beside bench/floor/floor.mjs (a plain qemu-system-x86_64 command and a tiny
// /init: namespace, mkfs, mount, run, poweroff) doing the same work: the same kernel, the same
// base initramfs, the same compiled reproducer with the scenario's arguments, the same guest
// shape. Both are timed as whole processes, as a user starts them, after one untimed warm-up
// each; the ratio of medians is the number the issue asks for (goal <= 1.10). A side that did
// not run the reproducer to a pass is an error, not a number.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { buildGuestImage } from '../../harness/image/initramfs.ts';
import { modulesForGroups } from '../../harness/image/modules.ts';
import { kernelEntry } from '../../harness/kernel/entry.ts';
import { resolveKernel } from '../../harness/kernel/resolve.ts';
import { compileReproducer } from '../../harness/repro/compile.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';
import { parseConsole } from '../floor/init.mjs';
import { DAXLAB, isInterrupted, makeTempDir, removeTempDir, ROOT, type BenchSummary } from '../lib/daxrun.ts';
import type { BenchItem, BenchOptions, BenchRow } from '../lib/item.ts';
import { median, sampleRow, timeCommand, type Timed } from '../lib/timing.ts';

const SCENARIO_DIR = join(ROOT, 'scenarios', 'truncate-latency');
const FS = 'ext4';
const DAX = 'always';
const FLOOR = join(ROOT, 'bench', 'floor', 'floor.mjs');
// daxlab's own defaults (--guest-cpus, --mem): the floor's machine has the same shape.
const CPUS = 2;
const MEM_MIB = 2048;
const MiB = 1024 * 1024;

/** One timed process of either side, with what it says about the guest. */
interface Side {
  wallMs: number;
  cpuMs: number | undefined;
  /** QEMU's lifetime as the side itself measured it. */
  qemuMs: number;
}

/** The reproducer's JSON lines: its verdict and the is_dax metric (1: statx says the file is DAX). */
export function reproOutcome(lines: readonly string[]): { verdict: string | undefined; isDax: number | undefined } {
  let verdict: string | undefined;
  let isDax: number | undefined;
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    let o: unknown;
    try {
      o = JSON.parse(l);
    } catch {
      continue; // a kernel line that cut into the reproducer's
    }
    if (typeof o !== 'object' || o === null) continue;
    const r = o as Record<string, unknown>;
    if (r['type'] === 'verdict' && typeof r['verdict'] === 'string') verdict = r['verdict'];
    if (r['type'] === 'metric' && r['name'] === 'is_dax' && typeof r['value'] === 'number') isDax = r['value'];
  }
  return { verdict, isDax };
}

/** The floor's stdout: the work was done (reproducer exit 0, verdict pass, on DAX) and QEMU's time; else why not. */
export function floorResult(stdout: string): { qemuMs: number } | { error: string } {
  const c = parseConsole(stdout);
  if (!c.started || c.exitCode === undefined) return { error: 'the reproducer did not run' };
  if (c.exitCode !== 0) return { error: `the reproducer exited ${c.exitCode}` };
  const r = reproOutcome(c.lines);
  if (r.verdict !== 'pass') return { error: `reproducer verdict ${r.verdict ?? 'missing'}` };
  if (r.isDax !== 1) return { error: `is_dax ${r.isDax ?? 'missing'}: not the DAX work daxlab did` };
  const q = /^floor: wall \d+ ms \(qemu (\d+) ms\)$/m.exec(stdout);
  if (!q) return { error: 'no wall time line' };
  return { qemuMs: Number(q[1]) };
}

function tail(t: Timed): string {
  return `${t.stderr}\n${t.stdout}`.trim().split('\n').slice(-4).join(' | ');
}

async function daxlabOnce(kernel: string, extra: string[] = []): Promise<Side> {
  const tmp = makeTempDir('daxlab-bench-floor-');
  try {
    const out = join(tmp, 'run');
    // -j 1 and --accel tcg: one guest, under the same accelerator the floor uses.
    const args = [DAXLAB, 'run', SCENARIO_DIR, '--fs', FS, '--dax', DAX, '-j', '1', '--accel', 'tcg', '--kernel', kernel, '--out', out, ...extra];
    const t = await timeCommand('node', args, { cwd: ROOT });
    const s = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8').catch(() => 'null')) as BenchSummary | null;
    const step = s?.steps[0];
    if (t.exitCode !== 0 || s?.status !== 'completed' || s.steps.length !== 1 || step?.status !== 'pass') {
      throw new Error(`daxlab did not pass the step (exit ${t.exitCode}, ${s ? `status ${s.status}, step ${step?.status ?? 'missing'}: ${step?.reason ?? ''}` : 'no summary'}): ${tail(t)}`);
    }
    if (step.metrics['is_dax']?.value !== 1) throw new Error(`daxlab: is_dax ${step.metrics['is_dax']?.value ?? 'missing'}`);
    return { wallMs: t.wallMs, cpuMs: t.cpuMs, qemuMs: s.boots[0]?.timings.exitMs ?? NaN };
  } finally {
    removeTempDir(tmp);
  }
}

interface FloorInputs {
  bzImage: string;
  initrd: string;
  repro: string;
  modules: string[];
  scenario: Scenario;
}

/** daxlab's cached kernel, guest image and compiled reproducer: the bytes daxlab's run boots. */
async function floorInputs(spec: string, log: (l: string) => void): Promise<FloorInputs> {
  const quiet = (): void => undefined;
  const scenario = await loadScenarioFile(join(SCENARIO_DIR, 'scenario.yaml'));
  const kernel = await resolveKernel(spec, quiet);
  const image = await buildGuestImage(kernel, quiet);
  // The modules a boot of this variant loads (engine/boot.ts): the pmem group and the filesystem's.
  const modules = modulesForGroups(image.modules, image.moduleDeps, ['pmem', FS]).map((m) => image.moduleFiles[m] ?? m);
  const c = await compileReproducer(scenario.reproducerSource, quiet, { catalog: scenario.catalog, cflags: scenario.cflags, libs: scenario.libs, libsAt: scenario.libsAt });
  // The file daxlab's guests boot: the PVH vmlinux when the kernel has the entry, else the bzImage.
  const entry = await kernelEntry(kernel, 'pvh', quiet);
  log(`floor: kernel ${entry.path} (${entry.how}), image ${image.path}${image.hit ? '' : ' (built now)'}, reproducer ${c.path}, ${modules.length} modules`);
  return { bzImage: entry.path, initrd: image.path, repro: c.path, modules, scenario };
}

async function floorOnce(f: FloorInputs): Promise<Side> {
  const s = f.scenario;
  const args = [
    FLOOR,
    '--kernel', f.bzImage,
    '--initrd', f.initrd,
    '--repro', f.repro,
    ...f.modules.flatMap((m) => ['--module', m]),
    '--fs', FS,
    '--dax', DAX,
    '--pmem', String(Math.ceil(s.pmemBytes / MiB)),
    '--mem', String(MEM_MIB),
    '--cpus', String(CPUS),
    '--timeout', String(s.timeoutS + 120),
    '--',
    ...s.args,
  ];
  const t = await timeCommand('node', args, { cwd: ROOT });
  const r = floorResult(t.stdout);
  if (t.exitCode !== 0 || 'error' in r) throw new Error(`the floor did not do the work (exit ${t.exitCode}${'error' in r ? `, ${r.error}` : ''}): ${tail(t)}`);
  return { wallMs: t.wallMs, cpuMs: t.cpuMs, qemuMs: r.qemuMs };
}

const row = sampleRow;

function cpu(sides: readonly Side[]): Partial<BenchRow> {
  const xs = sides.flatMap((s) => (s.cpuMs === undefined ? [] : [s.cpuMs]));
  return xs.length ? { cpuMs: median(xs) } : {};
}

async function run(o: BenchOptions): Promise<BenchRow[]> {
  const reps = o.reps ?? 5;
  o.log(`floor: warm-up: daxlab run truncate-latency ${FS} dax=${DAX} --kernel ${o.kernel}`);
  await daxlabOnce(o.kernel); // also fills the caches the floor's inputs come from
  const inputs = await floorInputs(o.kernel, o.log);
  o.log('floor: warm-up: the hand-written floor');
  await floorOnce(inputs);
  // daxlab as users run it (from a pmem template after the warm-up), daxlab making the namespace
  // and filesystem in the guest as the floor does, and the floor.
  const sides = { daxlab: [] as Side[], guest: [] as Side[], floor: [] as Side[] };
  const names = ['daxlab', 'guest', 'floor'] as const;
  for (let i = 0; i < reps && !isInterrupted(); i++) {
    // Turn about who goes first, so a load that drifts over the rounds hits all alike.
    for (let j = 0; j < names.length; j++) {
      const side = names[(i + j) % names.length] as (typeof names)[number];
      sides[side].push(side === 'floor' ? await floorOnce(inputs) : await daxlabOnce(o.kernel, side === 'guest' ? ['--no-pmem-template'] : []));
    }
    o.log(`floor: round ${i + 1}/${reps}: daxlab ${Math.round(sides.daxlab.at(-1)?.wallMs ?? NaN)} ms, daxlab --no-pmem-template ${Math.round(sides.guest.at(-1)?.wallMs ?? NaN)} ms, floor ${Math.round(sides.floor.at(-1)?.wallMs ?? NaN)} ms`);
  }
  const n = Math.min(sides.daxlab.length, sides.guest.length, sides.floor.length);
  if (n === 0) throw new Error('interrupted before a full round');
  const wall = (xs: Side[]): number[] => xs.slice(0, n).map((s) => s.wallMs);
  const [d, g, f] = [wall(sides.daxlab), wall(sides.guest), wall(sides.floor)];
  const ratioRow = (metric: string, xs: number[], note: string, top?: string): BenchRow => {
    const pairs = xs.map((x, i) => x / (f[i] ?? NaN));
    return { metric, value: median(xs) / median(f), unit: 'x', n, min: Math.min(...pairs), max: Math.max(...pairs), note, ...(top ? { top } : {}) };
  };
  const work = `truncate-latency ${FS} dax=${DAX}`;
  return [
    row(`daxlab run (${work})`, d, 'ms', { ...cpu(sides.daxlab), note: 'whole process; namespace + ext4 from a pmem template' }),
    row('daxlab run --no-pmem-template', g, 'ms', { ...cpu(sides.guest), note: 'whole process; ndctl + mkfs in the guest, as the floor' }),
    row('hand-written floor (bench/floor/floor.mjs)', f, 'ms', { ...cpu(sides.floor), note: 'whole process' }),
    ratioRow('ratio daxlab / floor (medians)', d, 'goal <= 1.10; min/max over rounds', 'ratio'),
    ratioRow('ratio daxlab --no-pmem-template / floor', g, 'the same guest work as the floor'),
    { metric: 'daxlab - floor (medians)', value: median(d) - median(f), unit: 'ms', n },
    row('  daxlab: QEMU start to exit', sides.daxlab.slice(0, n).map((s) => s.qemuMs), 'ms', { note: 'the guest side' }),
    row('  daxlab --no-pmem-template: QEMU start to exit', sides.guest.slice(0, n).map((s) => s.qemuMs), 'ms'),
    row('  floor: QEMU start to exit', sides.floor.slice(0, n).map((s) => s.qemuMs), 'ms'),
  ];
}

export const item: BenchItem = { name: 'floor', title: '(a) harness vs hand-written floor', run };
