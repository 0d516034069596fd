// Scenario YAML -> Scenario, with every error reported as `file:line: field: message`.
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { displayPath, scenariosDir } from '../util/paths.ts';
import { didYouMean } from '../util/suggest.ts';
import { lineOfField, parseYamlInput } from '../util/yaml-input.ts';
import { bareScenario, isSyzkallerSource, reproducerKind } from './bare.ts';
import { formatSize } from './units.ts';
import { PMEM_MAX, PMEM_MIN, pmemAligned, pmemInRange, pmemTooSmall, scenarioSchema, type Scenario } from './schema.ts';

export function parseScenarioText(text: string, file: string): Scenario {
  const { data: f, at } = parseYamlInput(scenarioSchema, text, file, 'a scenario', 'reproducer:');
  if (!pmemInRange(f.pmem)) {
    throw new UserError(`pmem size ${formatSize(f.pmem)} is outside ${formatSize(PMEM_MIN)}..${formatSize(PMEM_MAX)}`, at('pmem'));
  }
  if (!pmemAligned(f.pmem)) throw new UserError(`pmem size must be a multiple of 2M (fsdax alignment)`, at('pmem'));
  const small = pmemTooSmall(f.pmem, f.filesystem);
  if (small) throw new UserError(`pmem size ${formatSize(f.pmem)} is ${small}`, at('pmem'));
  if (f.scratch_iops !== undefined && !f.scratch) throw new UserError(`scratch_iops needs scratch: true`, at('scratch_iops'));
  const kind = reproducerKind(f.reproducer);
  if (!kind) throw new UserError(`reproducer must be a .c file or a .sh shell script`, at('reproducer'));
  if (kind === 'sh' && f.cflags.length) throw new UserError(`cflags are for a C reproducer; ${f.reproducer} is a shell script`, at('cflags'));
  if (kind === 'sh' && f.libs.length) throw new UserError(`libs are for a C reproducer; ${f.reproducer} is a shell script`, at('libs'));
  if (f.expect_exit !== undefined && f.verdict_from === 'console') throw new UserError(`expect_exit has no effect with verdict_from: console (the exit status is not looked at)`, at('expect_exit'));
  const dir = dirname(resolve(file));
  const id = f.id ?? basename(dir);
  const list = <T>(v: T[]): T[] => [...new Set(v)];
  return {
    id,
    title: f.title ?? id,
    description: f.description?.trim() ?? '',
    file: resolve(file),
    reproducerSource: resolve(dir, f.reproducer),
    reproducerKind: kind,
    cflags: f.cflags,
    libs: f.libs,
    ...(f.libs.length ? { libsAt: at('libs') } : {}),
    expectExit: f.expect_exit,
    verdictFrom: f.verdict_from,
    args: f.args,
    filesystems: list(f.filesystem),
    daxModes: list(f.dax),
    pmemBytes: f.pmem,
    scratch: f.scratch,
    scratchIops: f.scratch_iops,
    repetitions: f.repetitions,
    timeoutS: f.timeout,
    isDefault: f.default,
    ownBoot: f.own_boot,
    bootPerVariant: f.boot === 'per-variant',
    checks: f.checks?.trim() ?? '',
    references: f.references,
    requires: f.requires,
    expect: f.expect?.trim() ?? '',
    verdictRules: f.verdict?.trim() ?? '',
    metrics: Object.fromEntries(Object.entries(f.metrics).map(([k, v]) => [k, typeof v === 'string' ? v : v.description])),
    metricBetter: Object.fromEntries(Object.entries(f.metrics).flatMap(([k, v]) => (typeof v === 'string' ? [] : [[k, v.better]]))),
    allowFindings: f.allow_findings,
    ...(f.monitors ? { monitors: f.monitors } : {}),
  };
}

/** A scenario file, or a reproducer given without one (`daxlab run FILE.c`, `FILE.sh`). */
export async function loadScenarioFile(file: string): Promise<Scenario> {
  if (reproducerKind(file)) return bareScenario(file, await readReproducer(file));
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UserError(`scenario file not found: ${displayPath(file)}`);
  });
  const s = parseScenarioText(text, file);
  if (!(await stat(s.reproducerSource).catch(() => undefined))?.isFile()) {
    throw new UserError(`reproducer not found: ${displayPath(s.reproducerSource)}`, { file: displayPath(file), line: lineOfField(text, ['reproducer']), field: 'reproducer' });
  }
  // A syzkaller reproducer loops until it is killed: the console is its verdict unless the YAML says otherwise.
  if (s.verdictFrom === undefined && s.reproducerKind === 'c' && isSyzkallerSource(await readReproducer(s.reproducerSource))) return { ...s, verdictFrom: 'console' };
  return s;
}

async function readReproducer(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => {
    throw new UserError(`reproducer not found: ${displayPath(file)}`);
  });
}

/** Every scenario in the catalog (scenarios/<dir>/scenario.yaml). */
export async function catalogFiles(): Promise<string[]> {
  const dirs = await readdir(scenariosDir, { withFileTypes: true });
  const out: string[] = [];
  for (const d of dirs) {
    if (!d.isDirectory()) continue;
    const f = join(scenariosDir, d.name, 'scenario.yaml');
    if (await stat(f).catch(() => undefined)) out.push(f);
  }
  return out.sort();
}

/**
 * Resolve command-line scenario arguments: a YAML file, a directory holding scenario.yaml, or
 * a catalog id. No arguments means every catalog scenario marked `default: true`.
 */
export async function resolveScenarios(args: string[]): Promise<Scenario[]> {
  if (args.length === 0) {
    const all = await Promise.all((await catalogFiles()).map(loadScenarioFile));
    return all.filter((s) => s.isDefault);
  }
  const out: Scenario[] = [];
  for (const a of args) {
    const st = await stat(a).catch(() => undefined);
    if (st?.isFile()) out.push(await loadScenarioFile(a));
    else if (st?.isDirectory()) {
      if (!(await stat(join(a, 'scenario.yaml')).catch(() => undefined))) throw new UserError(`${displayPath(resolve(a))}: directory has no scenario.yaml`);
      out.push(await loadScenarioFile(join(a, 'scenario.yaml')));
    }
    else {
      const f = join(scenariosDir, a, 'scenario.yaml');
      if (!(await stat(f).catch(() => undefined))) {
        const ids = (await catalogFiles()).map((c) => basename(dirname(c)));
        throw new UserError(`no scenario '${a}'${didYouMean(a, ids)} (not a file, a directory, or a catalog id; see daxlab catalog)`);
      }
      out.push(await loadScenarioFile(f));
    }
  }
  const seen = new Map<string, string>();
  for (const s of out) {
    const first = seen.get(s.id);
    if (first !== undefined) {
      const also = first === s.file ? '' : ` (also in ${displayPath(first)})`;
      throw new UserError(`scenario id '${s.id}' given twice${also}`, { file: displayPath(s.file), field: 'id' });
    }
    seen.set(s.id, s.file);
  }
  return out;
}
