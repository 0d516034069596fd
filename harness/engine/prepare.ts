// Preparing what guests need, once per run: each kernel (resolved or built, its guest image, the
// accelerator) and the compiled reproducers.
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { buildGuestImage } from '../image/initramfs.ts';
import { kernelEntry, type BootEntry } from '../kernel/entry.ts';
import { resolveKernel } from '../kernel/resolve.ts';
import type { Kernel } from '../kernel/types.ts';
import { chooseAccel } from '../qemu/accel.ts';
import type { Accel, TcgThread } from '../qemu/args.ts';
import { compileReproducer } from '../repro/compile.ts';
import { checkShellScript } from '../repro/shell.ts';
import { scenarioYaml } from '../scenario/bare.ts';
import { displayPath } from '../util/paths.ts';
import type { ItemRecord, KernelRecord } from '../results/events.ts';
import type { WorkItem } from '../plan/plan.ts';
import type { Scenario } from '../scenario/schema.ts';
import { UserError } from '../util/errors.ts';
import type { PreparedKernel } from './types.ts';

export async function timed<T>(phases: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    phases[name] = Date.now() - t;
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$/;

/**
 * `NAME=SPEC` or a bare spec. A bare spec is named by itself when short and plain
 * (`debian:6.12`), by its file (`debug-6.12` for images/kernels/debug-6.12.yaml, the directory of
 * a `bzImage`), else `kN`. Names are the kernel part of work-item keys, so they must be unique.
 */
export function nameKernelSpecs(raw: readonly string[]): { name: string; spec: string }[] {
  const out: { name: string; spec: string }[] = [];
  raw.forEach((r, i) => {
    const m = /^([A-Za-z0-9][A-Za-z0-9._:+-]{0,63})=(.+)$/.exec(r);
    // `source=...,config=...` is an inline build spec, not a name.
    const named = m && !/^(source|config|patches|name)$/.test(m[1] ?? '') ? { name: m[1] ?? '', spec: m[2] ?? '' } : undefined;
    let name = named?.name;
    const spec = named?.spec ?? r;
    if (!name) {
      const path = spec.split(',')[0] ?? spec;
      const file = basename(path).replace(/\.ya?ml$/, '');
      if (NAME.test(spec)) name = spec;
      else if (file === 'bzImage' || file === 'vmlinuz') name = basename(dirname(path));
      else if (NAME.test(file) && !spec.includes('=')) name = file;
      else name = `k${i + 1}`;
    }
    if (!NAME.test(name)) throw new UserError(`--kernel ${r}: kernel name '${name}' must be letters, digits and ._:+- (at most 64)`);
    if (out.some((o) => o.name === name)) {
      if (named) throw new UserError(`--kernel ${r}: the name '${name}' is used twice`);
      name = `${name}#${i + 1}`;
    }
    out.push({ name, spec });
  });
  return out;
}

export interface PrepareOptions {
  accel: Accel | 'auto';
  tcgThread: TcgThread;
  /** What QEMU boots: the vmlinux through PVH when the kernel has the entry (default), or the bzImage. */
  entry?: BootEntry | undefined;
  log: (s: string) => void;
}

/** Kernel (already resolved, or resolved now), guest image, accelerator. */
export async function prepareKernel(name: string, spec: string, o: PrepareOptions, resolved?: Kernel): Promise<PreparedKernel> {
  const phases: Record<string, number> = {};
  const kernel = resolved ?? (await timed(phases, 'kernelMs', () => resolveKernel(spec, o.log)));
  o.log(`kernel ${name}: ${kernel.release} (${kernel.spec})`);
  const image = await timed(phases, 'imageMs', () => buildGuestImage(kernel, o.log));
  o.log(`guest image ${image.key} ${(image.bytes / 1e6).toFixed(1)} MB${image.hit ? ' (cached)' : ''}`);
  const accel = await timed(phases, 'accelMs', () => chooseAccel(o.accel, kernel.bzImage, o.log));
  o.log(`accelerator: ${accel.accel}${accel.accel === 'tcg' ? ` thread=${o.tcgThread}` : ''} (${accel.reason}${accel.cached ? ', cached verdict' : ''})`);
  const entry = await timed(phases, 'entryMs', () => kernelEntry(kernel, o.entry ?? 'pvh', o.log));
  return { name, kernel, image, accel, tcgThread: o.tcgThread, entry, phases };
}

/** What the event log keeps of a work item (its key plus what the views group by). */
export function itemRecord(i: WorkItem): ItemRecord {
  return { key: i.key, kernel: i.kernel, scenario: i.scenario, variant: i.variant, rep: i.rep, ...(i.slot !== undefined ? { slot: i.slot } : {}) };
}

export function kernelRecord(pk: PreparedKernel): KernelRecord {
  const k = pk.kernel;
  return {
    name: pk.name,
    spec: k.spec,
    release: k.release,
    banner: k.banner,
    identity: k.identity,
    image: { key: pk.image.key, bytes: pk.image.bytes, modules: pk.image.modules, hit: pk.image.hit },
    accel: { ...pk.accel, ...(pk.accel.accel === 'tcg' ? { tcgThread: pk.tcgThread } : {}) },
    boot: { entry: pk.entry.how, ...(pk.entry.why ? { why: pk.entry.why } : {}) },
  };
}

/**
 * Every scenario's reproducer as the guest archive wants it: C compiled (cached by content), a
 * shell script checked by the guest's shell and carried as it is. A reproducer run without a
 * scenario file says first which defaults it runs with, as YAML to save beside it.
 */
export async function compileScenarios(scenarios: readonly Scenario[], log: (s: string) => void): Promise<Map<string, { name: string; data: Buffer }>> {
  const binaries = new Map<string, { name: string; data: Buffer }>();
  for (const s of scenarios) {
    if (s.defaulted) {
      log(`${displayPath(s.reproducerSource)}: no scenario file; running it with these defaults (save them as scenario.yaml beside it to change them):`);
      for (const l of scenarioYaml(s)) log(`  ${l}`);
    }
    if (s.reproducerKind === 'sh') {
      await checkShellScript(s.reproducerSource);
      binaries.set(s.id, { name: `${s.id}.sh`, data: await readFile(s.reproducerSource) });
      continue;
    }
    const c = await compileReproducer(s.reproducerSource, log, { catalog: s.catalog, cflags: s.cflags, libs: s.libs, libsAt: s.libsAt });
    binaries.set(s.id, { name: `${s.id}.bin`, data: await readFile(c.path) });
  }
  return binaries;
}
