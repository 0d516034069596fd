// YAML input files (scenarios, nightly plans) checked against a zod schema, every error reported
// as `file:line: field: message` that says what was given and what would do. Pure.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { UserError, type SourceLocation } from './errors.ts';
import { displayPath } from './paths.ts';
import { didYouMean } from './suggest.ts';

/** Line of the node at `path` (or of the key `key` inside it), 1-based. */
export function lineOf(doc: Document, lc: LineCounter, path: (string | number)[], key?: string): number | undefined {
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
function explain(schema: z.core.$ZodType, issue: Issue, prefix: Path = []): Explained {
  const path = [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
  const input = issue.input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '';
      const known = knownKeys(schema, path);
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
      if (match?.length) return explain(schema, firstIssue(match), path);
      const wants = issue.errors.flatMap((is) =>
        is.flatMap((i) => (i.path.length ? [] : i.code === 'invalid_type' ? [typeWord(i.expected)] : i.code === 'invalid_value' ? i.values.map((v) => `'${String(v)}'`) : [])),
      );
      if (!wants.length) return { path, message: issue.message };
      return { path, message: `expected ${[...new Set(wants)].join(' or ')}, got ${given(input)}` };
    }
    case 'invalid_key': {
      // A record key that fails its own check (e.g. a kernel name): say that check and the key.
      const inner = issue.issues[0];
      return { path, message: `${inner?.message ?? 'invalid key'}, got ${given(input)}` };
    }
    case 'custom':
      return { path, message: issue.message }; // daxlab's own checks (sizes, durations) quote the value already
    default:
      return { path, message: input === undefined ? issue.message : `${issue.message}, got ${given(input)}` };
  }
}

export interface ParsedYaml<T> {
  data: T;
  /** Where a top-level field is, for errors found after the schema (cross-field checks). */
  at: (field: string) => SourceLocation;
}

/**
 * `text` (the contents of `file`) as a YAML mapping matching `schema`. `what` names the kind of
 * file in messages ("a scenario", "a nightly plan"); `needs` says what an empty file lacks.
 */
export function parseYamlInput<S extends z.ZodType>(schema: S, text: string, file: string, what: string, needs: string): ParsedYaml<z.output<S>> {
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
  if (!text.trim()) throw new UserError(`empty file (${what} is a YAML mapping with at least ${needs})`, { file: shown, line: 1 });
  if (!isMap(doc.contents)) throw new UserError(`${what} must be a YAML mapping`, { file: shown, line: 1 });
  const res = schema.safeParse(doc.toJS(), { reportInput: true });
  if (!res.success) {
    if (!res.error.issues.length) throw new UserError(`invalid ${what.replace(/^an? /, '')}`, { file: shown });
    const ex = explain(schema, firstIssue(res.error.issues));
    let path = ex.path;
    // A scalar or mapping written where a list is accepted: point at it, not at a made-up index.
    if (path.length === 2 && typeof path[1] === 'number' && !isSeq(doc.getIn([path[0] as string], true))) path = path.slice(0, 1);
    if (ex.key !== undefined) {
      throw new UserError(ex.message, { file: shown, line: lineOf(doc, lc, path, ex.key), field: [...path, ex.key].join('.') });
    }
    throw new UserError(ex.message, { file: shown, line: lineOf(doc, lc, path), field: path.join('.') || undefined });
  }
  return { data: res.data, at: (field: string) => ({ file: shown, line: lineOf(doc, lc, [field]), field }) };
}

/** Line of the node at `path` in YAML `text` (for errors found after parsing, e.g. a missing file). */
export function lineOfField(text: string, path: (string | number)[]): number | undefined {
  const lc = new LineCounter();
  return lineOf(parseDocument(text, { lineCounter: lc }), lc, path);
}
