// One-off changes to scenarios from the command line (`daxlab run --fs xfs --dax never
// --repetitions 5 --timeout 30s --pmem 2G --boot-per-variant -- ARGS`), without editing YAML. They replace
// the scenario's own values and are recorded in the run so a resume and a reader see them. Pure.
import { agentWords, mergeMonitors, parseMonitorFlag, type MonitorRequest } from '../monitor/spec.ts';
import { UserError } from '../util/errors.ts';
import { didYouMean } from '../util/suggest.ts';
import { DAX_MODES, FILESYSTEMS, PMEM_MAX, PMEM_MIN, pmemAligned, pmemInRange, pmemTooSmall, type DaxMode, type Filesystem, type Scenario } from './schema.ts';
import { formatSize, parseDuration, parseSize } from './units.ts';

export interface ScenarioOverrides {
  filesystems?: Filesystem[] | undefined;
  daxModes?: DaxMode[] | undefined;
  repetitions?: number | undefined;
  timeoutS?: number | undefined;
  pmemBytes?: number | undefined;
  /** The reproducer's arguments (after `--`); only with one scenario. */
  args?: string[] | undefined;
  bootPerVariant?: boolean | undefined;
  /** Kernel-side monitors on top of the scenarios' own (--monitor). */
  monitors?: MonitorRequest | undefined;
}

/** `ext4,xfs` (or repeated flags) -> the values, each checked against `known`. */
export function parseList<T extends string>(flag: string, given: readonly string[], known: readonly T[]): T[] {
  const out: T[] = [];
  for (const v of given.flatMap((g) => g.split(',')).map((x) => x.trim())) {
    if (!(known as readonly string[]).includes(v)) throw new UserError(`${flag}: '${v}' is not one of ${known.join(', ')}${didYouMean(v, known)}`);
    if (!out.includes(v as T)) out.push(v as T);
  }
  if (!out.length) throw new UserError(`${flag}: give at least one of ${known.join(', ')}`);
  return out;
}

export interface OverrideFlags {
  fs?: string[] | undefined;
  dax?: string[] | undefined;
  repetitions?: string | undefined;
  timeout?: string | undefined;
  pmem?: string | undefined;
  bootPerVariant?: boolean | undefined;
  monitor?: string[] | undefined;
}

/** Flags as typed -> overrides; bad values are bad input naming the flag and echoing the value. */
export function parseOverrides(f: OverrideFlags, reproArgs: readonly string[] | undefined): ScenarioOverrides {
  const o: ScenarioOverrides = {};
  if (f.fs) o.filesystems = parseList('--fs', f.fs, FILESYSTEMS);
  if (f.dax) o.daxModes = parseList('--dax', f.dax, DAX_MODES);
  if (f.repetitions !== undefined) {
    const n = Number(f.repetitions);
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw new UserError(`--repetitions must be 1..10000, got '${f.repetitions}'`);
    o.repetitions = n;
  }
  if (f.timeout !== undefined) {
    const s = parseDuration(f.timeout);
    if (s === undefined) throw new UserError(`--timeout: not a duration: '${f.timeout}' (use seconds or e.g. 90s, 2m)`);
    o.timeoutS = s;
  }
  if (f.pmem !== undefined) {
    const b = parseSize(f.pmem);
    if (b === undefined || !pmemInRange(b) || !pmemAligned(b)) throw new UserError(`--pmem must be a size of ${formatSize(PMEM_MIN)}..${formatSize(PMEM_MAX)}, a multiple of 2M, got '${f.pmem}'`);
    o.pmemBytes = b;
  }
  if (reproArgs?.length) o.args = [...reproArgs];
  if (f.bootPerVariant) o.bootPerVariant = true;
  if (f.monitor?.length) o.monitors = parseMonitorFlag(f.monitor);
  return o;
}

export function hasOverrides(o: ScenarioOverrides): boolean {
  return Object.values(o).some((v) => v !== undefined);
}

export function applyOverrides(scenarios: readonly Scenario[], o: ScenarioOverrides): Scenario[] {
  if (o.args && scenarios.length !== 1) throw new UserError(`reproducer arguments after -- need exactly one scenario (${scenarios.length} given)`);
  const out = scenarios.map((s) => ({
    ...s,
    ...(o.filesystems ? { filesystems: o.filesystems } : {}),
    ...(o.daxModes ? { daxModes: o.daxModes } : {}),
    ...(o.repetitions !== undefined ? { repetitions: o.repetitions } : {}),
    ...(o.timeoutS !== undefined ? { timeoutS: o.timeoutS } : {}),
    ...(o.args ? { args: o.args } : {}),
    ...(o.pmemBytes !== undefined ? { pmemBytes: o.pmemBytes } : {}),
    ...(o.bootPerVariant ? { bootPerVariant: true } : {}),
    ...(o.monitors ? { monitors: mergeMonitors(s.monitors, o.monitors) } : {}),
  }));
  for (const s of out) {
    const small = pmemTooSmall(s.pmemBytes, s.filesystems);
    if (small) throw new UserError(`scenario '${s.id}' with ${o.filesystems ? `--fs ${o.filesystems.join(',')}` : 'its filesystems'}: pmem ${formatSize(s.pmemBytes)} is ${small}; add --pmem 512M`);
  }
  return out;
}

/** `fs=xfs dax=never repetitions=5 timeout=30s args=[-n 3] boot=per-variant`, for logs and reports. */
export function describeOverrides(o: ScenarioOverrides): string {
  return [
    o.filesystems && `fs=${o.filesystems.join(',')}`,
    o.daxModes && `dax=${o.daxModes.join(',')}`,
    o.repetitions !== undefined && `repetitions=${o.repetitions}`,
    o.timeoutS !== undefined && `timeout=${o.timeoutS}s`,
    o.pmemBytes !== undefined && `pmem=${formatSize(o.pmemBytes)}`,
    o.args && `args=[${o.args.join(' ')}]`,
    o.bootPerVariant && 'boot=per-variant',
    o.monitors && `monitors=${agentWords(o.monitors).join(' ')}`,
  ].filter((x): x is string => typeof x === 'string').join(' ');
}
