// Scenario YAML -> Scenario, with every error reported as `file:line: field: message`.
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors.ts';
import { displayPath, scenariosDir } from '../util/paths.ts';
import { didYouMean } from '../util/suggest.ts';
import { formatSize } from './units.ts';
import { PMEM_MAX, PMEM_MIN, pmemTooSmall, scenarioSchema, type Scenario } from './schema.ts';

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

type Issue = z.core.$ZodIssue;
type Path = (string | number)[];

/** What was given, for `got ...`: strings quoted (and cut short), containers by kind. */
function given(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (an empty value)';
  if (Array.isArray(v)) return v.length ? 'a list' : 'an empty list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 57)}...` : v}'`;
  return String(v);
}

const TYPE_WORDS: Record<string, string> = { string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false', array: 'a list', object: 'a mapping', record: 'a mapping' };
const typeWord = (t: string): string => TYPE_WORDS[t] ?? t;

/**
 * Keys the schema accepts in the mapping at `path` (the union of every object that can stand
 * there), found by walking the schema rather than listing nested shapes a second time.
 */
function knownKeys(schema: z.core.$ZodType, path: readonly (string | number)[]): string[] {
  const keys = new Set<string>();
  const walk = (t: z.core.$ZodType, rest: readonly (string | number)[]): void => {
    if (t instanceof z.ZodOptional || t instanceof z.ZodDefault || t instanceof z.ZodNullable) walk(t.unwrap() as z.core.$ZodType, rest);
    else if (t instanceof z.ZodPipe) {
      walk(t.in, rest);
      walk(t.out, rest);
    } else if (t instanceof z.ZodUnion) for (const o of t.options as z.core.$ZodType[]) walk(o, rest);
    else if (t instanceof z.ZodArray) {
      if (typeof rest[0] === 'number') walk(t.element, rest.slice(1));
    } else if (t instanceof z.ZodRecord) {
      if (rest.length) walk(t.valueType, rest.slice(1));
    } else if (t instanceof z.ZodObject) {
      const shape = t.shape as Record<string, z.core.$ZodType>;
      if (!rest.length) for (const k of Object.keys(shape)) keys.add(k);
      else {
        const child = typeof rest[0] === 'string' ? shape[rest[0]] : undefined;
        if (child) walk(child, rest.slice(1));
      }
    }
  };
  walk(schema, path);
  return [...keys];
}

interface Explained {
  path: Path;
  message: string;
  /** For an unknown key: the key, whose own line the error names. */
  key?: string;
}

/** The issue to report: a misspelt key first, since it also explains a "missing" field. */
function firstIssue(issues: readonly Issue[]): Issue {
  return issues.find((i) => i.code === 'unrecognized_keys') ?? (issues[0] as Issue);
}

/** One zod issue in words that say what was given and what would do. */
function explain(issue: Issue, prefix: Path = []): Explained {
  const path = [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
  const input = issue.input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '';
      const known = knownKeys(scenarioSchema, path);
      const hint = didYouMean(key, known);
      return { path, key, message: hint ? `unknown key${hint}` : `unknown key (known: ${known.join(', ')})` };
    }
    case 'invalid_type':
      if (input === undefined) return { path, message: 'required field is missing' };
      return { path, message: `expected ${typeWord(issue.expected)}, got ${given(input)}` };
    case 'invalid_value': {
      if (input === undefined) return { path, message: 'required field is missing' };
      const values = issue.values.map(String);
      const want = values.length === 1 ? `'${values[0]}'` : `one of ${values.join(', ')}`;
      return { path, message: `expected ${want}${values.length === 1 ? ',' : ';'} got ${given(input)}${typeof input === 'string' ? didYouMean(input, values) : ''}` };
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = Number(small ? issue.minimum : issue.maximum);
      if (issue.origin === 'array') {
        const n = `${bound} ${bound === 1 ? 'entry' : 'entries'}`;
        return { path, message: `must have ${small ? 'at least' : 'at most'} ${n}, got ${Array.isArray(input) ? input.length || 'none' : given(input)}` };
      }
      if (issue.origin === 'string' && small && bound === 1) return { path, message: 'must not be empty' };
      const rel = small ? (issue.inclusive === false ? 'more than' : 'at least') : issue.inclusive === false ? 'less than' : 'at most';
      const what = issue.origin === 'string' ? ` characters long` : '';
      return { path, message: `must be ${rel} ${bound}${what}, got ${given(input)}` };
    }
    case 'invalid_union': {
      // The branch the value got furthest in (its type matched) explains it; if none did, the
      // value has none of the types the field accepts.
      const rootType = (is: Issue[]) => is.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
      const match = issue.errors.find((is) => is.length && !rootType(is));
      if (match?.length) return explain(firstIssue(match), path);
      const wants = issue.errors.flatMap((is) =>
        is.flatMap((i) => (i.path.length ? [] : i.code === 'invalid_type' ? [typeWord(i.expected)] : i.code === 'invalid_value' ? i.values.map((v) => `'${String(v)}'`) : [])),
      );
      if (!wants.length) return { path, message: issue.message };
      return { path, message: `expected ${[...new Set(wants)].join(' or ')}, got ${given(input)}` };
    }
    case 'custom':
      return { path, message: issue.message }; // daxlab's own checks (sizes, durations) quote the value already
    default:
      return { path, message: input === undefined ? issue.message : `${issue.message}, got ${given(input)}` };
  }
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
    if (!res.error.issues.length) throw new UserError('invalid scenario', { file: shown });
    const ex = explain(firstIssue(res.error.issues));
    let path = ex.path;
    // A scalar or mapping written where a list is accepted: point at it, not at a made-up index.
    if (path.length === 2 && typeof path[1] === 'number' && !isSeq(doc.getIn([path[0] as string], true))) path = path.slice(0, 1);
    if (ex.key !== undefined) {
      throw new UserError(ex.message, { file: shown, line: lineOf(doc, lc, path, ex.key), field: [...path, ex.key].join('.') });
    }
    throw new UserError(ex.message, { file: shown, line: lineOf(doc, lc, path), field: path.join('.') || undefined });
  }
  const f = res.data;
  const at = (field: string) => ({ file: shown, line: lineOf(doc, lc, [field]), field });
  if (f.pmem < PMEM_MIN || f.pmem > PMEM_MAX) {
    throw new UserError(`pmem size ${formatSize(f.pmem)} is outside ${formatSize(PMEM_MIN)}..${formatSize(PMEM_MAX)}`, at('pmem'));
  }
  if (f.pmem % (2 * 1024 ** 2) !== 0) throw new UserError(`pmem size must be a multiple of 2M (fsdax alignment)`, at('pmem'));
  const small = pmemTooSmall(f.pmem, f.filesystem);
  if (small) throw new UserError(`pmem size ${formatSize(f.pmem)} is ${small}`, at('pmem'));
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
    bootPerVariant: f.boot === 'per-variant',
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
