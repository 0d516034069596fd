// Scenario YAML -> Scenario, with every error reported as `file:line: field: message`.
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { UserError } from '../util/errors.ts';
import { scenariosDir } from '../util/paths.ts';
import { formatSize } from './units.ts';
import { PMEM_MAX, PMEM_MIN, scenarioSchema, type Scenario } from './schema.ts';

function displayPath(file: string): string {
  const r = relative(process.cwd(), file);
  return r.startsWith('..') ? file : r;
}

/** Line of the node at `path` (or of the key `key` inside it), 1-based. */
function lineOf(doc: Document, lc: LineCounter, path: (string | number)[], key?: string): number | undefined {
  let node: unknown = path.length ? doc.getIn(path, true) : doc.contents;
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    node = pair?.key;
  }
  // walk up to the nearest existing ancestor when the node itself is absent
  for (let p = path.slice(); !node && p.length; p = p.slice(0, -1)) node = doc.getIn(p.slice(0, -1), true);
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

export function parseScenarioText(text: string, file: string): Scenario {
  const shown = displayPath(file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new UserError(`YAML syntax: ${(err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`, { file: shown, line });
  }
  // NUL bytes or bytes that are not UTF-8 (decoded as U+FFFD): not worth a YAML parser's guess.
  const bin = text.search(/[\0\uFFFD]/);
  if (bin >= 0) throw new UserError(`not a text file (binary data at byte ${Buffer.byteLength(text.slice(0, bin))})`, { file: shown, line: text.slice(0, bin).split('\n').length });
  if (!text.trim()) throw new UserError('empty file (a scenario is a YAML mapping with at least reproducer:)', { file: shown, line: 1 });
  if (!isMap(doc.contents)) throw new UserError('a scenario must be a YAML mapping', { file: shown, line: 1 });
  const res = scenarioSchema.safeParse(doc.toJS(), { reportInput: true });
  if (!res.success) {
    const issue = res.error.issues[0];
    if (!issue) throw new UserError('invalid scenario', { file: shown });
    let path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    // A scalar written where a list is accepted: point at the scalar, not at a made-up index.
    if (path.length === 2 && typeof path[1] === 'number' && isScalar(doc.getIn([path[0] as string], true))) path = path.slice(0, 1);
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      throw new UserError(`unknown key (known: ${Object.keys(scenarioSchema.shape).join(', ')})`, {
        file: shown,
        line: lineOf(doc, lc, path, key),
        field: [...path, key].join('.'),
      });
    }
    const field = path.join('.') || undefined;
    const msg = issue.code === 'invalid_type' && issue.input === undefined ? 'required field is missing' : issue.message;
    throw new UserError(msg, { file: shown, line: lineOf(doc, lc, path), field });
  }
  const f = res.data;
  const at = (field: string) => ({ file: shown, line: lineOf(doc, lc, [field]), field });
  if (f.pmem < PMEM_MIN || f.pmem > PMEM_MAX) {
    throw new UserError(`pmem size ${formatSize(f.pmem)} is outside ${formatSize(PMEM_MIN)}..${formatSize(PMEM_MAX)}`, at('pmem'));
  }
  if (f.pmem % (2 * 1024 ** 2) !== 0) throw new UserError(`pmem size must be a multiple of 2M (fsdax alignment)`, at('pmem'));
  if (f.scratch_iops !== undefined && !f.scratch) throw new UserError(`scratch_iops needs scratch: true`, at('scratch_iops'));
  if (!f.reproducer.endsWith('.c')) throw new UserError(`reproducer must be a .c file`, at('reproducer'));
  const dir = dirname(resolve(file));
  const id = f.id ?? basename(dir);
  const list = <T>(v: T[]): T[] => [...new Set(v)];
  return {
    id,
    title: f.title ?? id,
    description: f.description?.trim() ?? '',
    file: resolve(file),
    reproducerSource: resolve(dir, f.reproducer),
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
    checks: f.checks?.trim() ?? '',
    references: f.references,
    requires: f.requires,
    expect: f.expect?.trim() ?? '',
    verdictRules: f.verdict?.trim() ?? '',
    metrics: Object.fromEntries(Object.entries(f.metrics).map(([k, v]) => [k, typeof v === 'string' ? v : v.description])),
    metricBetter: Object.fromEntries(Object.entries(f.metrics).flatMap(([k, v]) => (typeof v === 'string' ? [] : [[k, v.better]]))),
    allowFindings: f.allow_findings,
  };
}

export async function loadScenarioFile(file: string): Promise<Scenario> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UserError(`scenario file not found: ${displayPath(file)}`);
  });
  const s = parseScenarioText(text, file);
  if (!(await stat(s.reproducerSource).catch(() => undefined))?.isFile()) {
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc });
    throw new UserError(`reproducer not found: ${displayPath(s.reproducerSource)}`, {
      file: displayPath(file),
      line: lineOf(doc, lc, ['reproducer']),
      field: 'reproducer',
    });
  }
  return s;
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
      if (!(await stat(f).catch(() => undefined))) throw new UserError(`no scenario '${a}' (not a file, a directory, or a catalog id; see daxlab catalog)`);
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
