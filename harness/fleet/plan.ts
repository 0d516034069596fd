// A nightly plan as the fleet sees it: checked like `daxlab nightly` checks it, named by its path
// inside the daxlab checkout (workers run the same checkout, each in its own place), and cut into
// the night's units. Reads the plan and scenario files.
import { isAbsolute, relative, resolve } from 'node:path';
import { loadPlanFile, type NightlyPlan } from '../nightly/plan.ts';
import { resolveScenarios } from '../scenario/load.ts';
import { applyOverrides } from '../scenario/overrides.ts';
import { UserError } from '../util/errors.ts';
import { displayPath, repoRoot } from '../util/paths.ts';
import { fleetUnits, type FleetUnit, type JobPayload } from './jobs.ts';

export interface FleetPlan {
  plan: NightlyPlan;
  ref: JobPayload['plan'];
  units: FleetUnit[];
}

export async function loadFleetPlan(file: string, checkout = repoRoot): Promise<FleetPlan> {
  const plan = await loadPlanFile(file);
  const path = relative(checkout, plan.file);
  if (path.startsWith('..') || isAbsolute(path)) throw new UserError(`${displayPath(plan.file)}: a fleet plan must be inside the daxlab checkout (${displayPath(checkout)}): workers find it there in theirs`);
  const scenarios = applyOverrides(await resolveScenarios(plan.scenarioArgs), plan.overrides);
  if (!scenarios.length) throw new UserError(`${displayPath(plan.file)}: the plan names no scenarios and the catalog has no default ones`);
  return { plan, ref: { path, name: plan.name, hash: plan.hash }, units: fleetUnits(plan.kernels, scenarios, plan.boots) };
}

/** The plan a job names, in this checkout. */
export function planPathOf(p: JobPayload, checkout = repoRoot): string {
  return resolve(checkout, p.plan.path);
}
