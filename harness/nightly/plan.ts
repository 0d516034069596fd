// A nightly plan (PLAN.yaml): named kernels × scenarios × filesystems × DAX modes × repetitions ×
// boots. Kernel names, not specs, key the history: `mainline-dax` may point at a new spec or
// patch series every night and is still one series. Parsed like scenarios (file:line errors).
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { DAX_MODES, duration, FILESYSTEMS } from '../scenario/schema.ts';
import type { GuestClock } from '../qemu/args.ts';
import type { ScenarioOverrides } from '../scenario/overrides.ts';
import { UserError } from '../util/errors.ts';
import { hashValue, shortHash } from '../util/hash.ts';
import { displayPath } from '../util/paths.ts';
import { parseYamlInput } from '../util/yaml-input.ts';

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const planSchema = z
  .object({
    /** The plan's name: shards of one plan merge, shards of different plans do not. */
    name: z.string().regex(NAME, 'lower-case letters, digits, . _ - only'),
    description: z.string().optional(),
    /** History key -> kernel spec (as `daxlab run --kernel` takes it). */
    kernels: z.record(z.string().regex(NAME, 'kernel names: lower-case letters, digits, . _ - only'), z.string().min(1)),
    /** Catalog ids or scenario paths (relative to the plan); default: the catalog's default entries. */
    scenarios: z.array(z.string().min(1)).default([]),
    filesystems: z.array(z.enum(FILESYSTEMS)).min(1).optional(),
    dax: z.array(z.enum(DAX_MODES)).min(1).optional(),
    repetitions: z.number().int().min(1).max(10000).optional(),
    timeout: duration.optional(),
    /** Independent boots per kernel each night: the boot is the statistical unit. */
    boots: z.number().int().min(1).max(100).default(1),
    /** Guest clock under TCG; icount (the default, as for A/B) times the work, not the host's speed. */
    clock: z.enum(['host', 'icount']).default('icount'),
  })
  .strict();

export interface NightlyPlan {
  name: string;
  file: string;
  kernels: { name: string; spec: string }[];
  /** As `daxlab run` takes scenario arguments: catalog ids, or paths made absolute. */
  scenarioArgs: string[];
  overrides: ScenarioOverrides;
  boots: number;
  /** Guest clock under TCG, unless --clock says otherwise (nights of one clock compare). */
  clock: GuestClock;
  /** Hash of what the plan asks for (not of its comments): shards must agree on it to merge. */
  hash: string;
}

export function parsePlanText(text: string, file: string): NightlyPlan {
  const { data: p, at } = parseYamlInput(planSchema, text, file, 'a nightly plan', 'name: and kernels:');
  const kernels = Object.entries(p.kernels).map(([name, spec]) => ({ name, spec }));
  if (!kernels.length) throw new UserError('give at least one (NAME: SPEC, e.g. mainline-dax: images/kernels/debug-6.12.yaml)', at('kernels'));
  const dir = dirname(resolve(file));
  // A spec or scenario path is relative to the plan file, as paths in a kernel spec are to it.
  const rel = (v: string): string => (!isAbsolute(v) && /[/.]/.test(v) && existsSync(resolve(dir, v)) ? resolve(dir, v) : v);
  const resolvedKernels = kernels.map((k) => ({ name: k.name, spec: /^[./]/.test(k.spec) || k.spec.endsWith('.yaml') ? rel(k.spec) : k.spec }));
  const overrides: ScenarioOverrides = {
    ...(p.filesystems ? { filesystems: [...new Set(p.filesystems)] } : {}),
    ...(p.dax ? { daxModes: [...new Set(p.dax)] } : {}),
    ...(p.repetitions !== undefined ? { repetitions: p.repetitions } : {}),
    ...(p.timeout !== undefined ? { timeoutS: p.timeout } : {}),
  };
  const scenarioArgs = p.scenarios.map(rel);
  const hash = shortHash(hashValue({ name: p.name, kernels: kernels.map((k) => [k.name, k.spec]), scenarios: p.scenarios, overrides: { ...overrides }, boots: p.boots, ...(p.clock !== 'icount' ? { clock: p.clock } : {}) }));
  return { name: p.name, file: resolve(file), kernels: resolvedKernels, scenarioArgs, overrides, boots: p.boots, clock: p.clock, hash };
}

export async function loadPlanFile(file: string): Promise<NightlyPlan> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UserError(`nightly plan not found: ${displayPath(file)}`);
  });
  return parsePlanText(text, file);
}

/** The guest a plan's night boots: the machine's guest flags, the clock from the plan unless --clock gave one. */
export function planGuest<G extends { clock?: GuestClock | undefined }>(plan: Pick<NightlyPlan, 'clock'>, guest: G): G {
  return { ...guest, clock: guest.clock ?? plan.clock };
}
