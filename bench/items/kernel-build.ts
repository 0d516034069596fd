// (f) Kernel builds (opt-in: --builds or --only kernel-build; minutes): (i) a cold build of the
// debug kernel (images/kernels/debug-6.12.yaml): empty build workspace and empty ccache, in a
// throwaway daxlab cache (DAXLAB_CACHE, CCACHE_DIR: the user's cache is never touched; the
// pristine source tree is hard-linked in from the user's cache, extraction is not a build), wall
// time of `daxlab kernel build` as a user starts it, niced; (ii) one-file patch rebuilds on the
// warm result: the same kernel plus a one-line change to fs/dax.c, --reps times (default 2),
// each a new line so each is a real compile. Both with how make's time splits (compile, link,
// image and its compression, from the build's own log: harness/kernel/make.ts PhaseClock) and
// the files compiled. A failed kconfig check (an option the fragments ask for and olddefconfig
// dropped) fails the build, so a row here means the check passed.
// Goals (issue 12): cold <= 300 s, one-file patch rebuild <= 10 s.
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DAXLAB, makeTempDir, removeTempDir, ROOT } from '../lib/daxrun.ts';
import type { BenchItem, BenchOptions, BenchRow } from '../lib/item.ts';
import { buildFacts, oneLinePatch, PATCHED_FILE, patchedSpec, phaseNote, type BuildFacts } from '../lib/kernel-build.ts';
import { load, median, timeCommand, type Timed } from '../lib/timing.ts';

const SPEC = join(ROOT, 'images', 'kernels', 'debug-6.12.yaml');
const NICE = ['nice', '-n', '10'];

interface Build {
  timed: Timed;
  facts: BuildFacts;
  loadBefore: number[];
  loadAfter: number[];
}

async function build(spec: string, env: Record<string, string>, o: BenchOptions, what: string): Promise<Build> {
  const loadBefore = load();
  o.log(`kernel-build: ${what} (load ${loadBefore.join(' ')})`);
  const [cmd, ...pre] = NICE as [string, ...string[]];
  const timed = await timeCommand(cmd, [...pre, 'node', DAXLAB, 'kernel', 'build', spec], { cwd: ROOT, env });
  const loadAfter = load();
  if (timed.exitCode !== 0) throw new Error(`${what}: daxlab kernel build exit ${timed.exitCode}: ${timed.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  const bz = timed.stdout.trim().split('\n').pop() ?? '';
  const facts = buildFacts(JSON.parse(await readFile(join(dirname(bz), '.daxlab-entry.json'), 'utf8')));
  o.log(`kernel-build: ${what}: ${(timed.wallMs / 1000).toFixed(1)} s wall, make ${facts.buildSeconds ?? '?'} s, ${facts.compiled ?? '?'} files compiled${facts.phases ? `; ${phaseNote(facts.phases)}` : ''} (load after ${loadAfter.join(' ')})`);
  return { timed, facts, loadBefore, loadAfter };
}

const s = (ms: number): number => ms / 1000;

function rows(label: string, bs: Build[], goalS: number): BenchRow[] {
  const wall = bs.map((b) => s(b.timed.wallMs));
  const cpu = bs.flatMap((b) => (b.timed.cpuMs === undefined ? [] : [b.timed.cpuMs]));
  const loads = bs.map((b) => `${b.loadBefore[0]}->${b.loadAfter[0]}`).join(', ');
  const head: BenchRow = { metric: `${label}: wall`, value: median(wall), unit: 's', n: bs.length, min: Math.min(...wall), max: Math.max(...wall), note: `goal <= ${goalS} s; load1 ${loads}` };
  if (cpu.length) head.cpuMs = median(cpu);
  const out: BenchRow[] = [head];
  const series = (metric: string, xs: (number | undefined)[], unit: BenchRow['unit'], note?: string): void => {
    const v = xs.filter((x): x is number => x !== undefined);
    if (v.length === 0) return;
    const r: BenchRow = { metric: `${label}: ${metric}`, value: median(v), unit, n: v.length, min: Math.min(...v), max: Math.max(...v) };
    if (note !== undefined) r.note = note;
    out.push(r);
  };
  series('make', bs.map((b) => b.facts.buildSeconds), 's');
  series('  compile', bs.map((b) => b.facts.phases?.compileS), 's', 'make start to LD vmlinux.o');
  series('  link', bs.map((b) => b.facts.phases?.linkS), 's', 'vmlinux.o, modpost, kallsyms passes, vmlinux');
  series('  image', bs.map((b) => b.facts.phases?.imageS), 's', 'arch/x86/boot: objcopy, compression, bzImage');
  const comp = bs.map((b) => b.facts.phases?.compressor).find((c) => c !== undefined);
  series('  of which compression', bs.map((b) => b.facts.phases?.compressS), 's', comp);
  series('files compiled', bs.map((b) => b.facts.compiled), 'count');
  return out;
}

async function run(o: BenchOptions): Promise<BenchRow[]> {
  const reps = o.reps ?? 2;
  const tmp = makeTempDir('daxlab-bench-kbuild-');
  try {
    const cache = join(tmp, 'cache');
    const env = { DAXLAB_CACHE: cache, CCACHE_DIR: join(cache, 'ccache') };
    // The pristine tree, from (or extracted into) the user's cache, hard-linked into the throwaway
    // one under the same name: builds only ever read it (workspaces are `cp -al` copies of it).
    const src = await execa('node', [DAXLAB, 'kernel', 'source', SPEC], { cwd: ROOT, reject: false, stdin: 'ignore' });
    if (src.exitCode !== 0) throw new Error(`daxlab kernel source: exit ${src.exitCode}: ${String(src.stderr).trim().split('\n').pop()}`);
    const pristine = String(src.stdout).trim().split('\n').pop() ?? '';
    await mkdir(join(cache, 'kernel-src'), { recursive: true });
    const cp = await execa('cp', ['-al', pristine, join(cache, 'kernel-src', basename(pristine))], { reject: false });
    if (cp.exitCode !== 0) o.log(`kernel-build: cannot hard-link ${pristine} (${String(cp.stderr).trim()}): the cold build extracts its own source`);

    const cold = await build(SPEC, env, o, `cold build of ${basename(SPEC)} into ${cache}`);
    const dax = await readFile(join(pristine, PATCHED_FILE), 'utf8');
    const patched: Build[] = [];
    for (let i = 1; i <= reps; i++) {
      const patch = join(tmp, `onefile-${i}.patch`);
      const spec = join(tmp, `onefile-${i}.yaml`);
      await writeFile(patch, oneLinePatch(PATCHED_FILE, dax, i));
      await writeFile(spec, patchedSpec(SPEC, patch));
      patched.push(await build(spec, env, o, `one-file patch rebuild ${i}/${reps} (${PATCHED_FILE})`));
    }
    return [...rows('cold debug-6.12', [cold], 300), ...rows(`+1-line ${PATCHED_FILE} patch`, patched, 10)];
  } finally {
    removeTempDir(tmp);
  }
}

export const item: BenchItem = { name: 'kernel-build', title: '(f) kernel builds', optIn: true, run };
