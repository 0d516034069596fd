// Source-build kernel specs: where the tree comes from, how it is configured, which patch series
// go on top. Two spellings of the same thing: a YAML file (images/kernels/*.yaml) and an inline
// form for the command line. Pure: paths are resolved against a base directory, nothing is read.
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { UserError, type SourceLocation } from '../util/errors.ts';
import { imagesDir } from '../util/paths.ts';
import { didYouMean } from '../util/suggest.ts';

export type SourceSpec =
  /** /usr/src/linux-source-SERIES.tar.xz from Debian's linux-source-SERIES package. */
  | { kind: 'debian-src'; series: string }
  /** A kernel tree on disk; never written to (builds use O= in the daxlab cache). */
  | { kind: 'tree'; path: string }
  /** A commit of a local git repository, exported with git archive. */
  | { kind: 'git'; repo: string; ref: string };

export type PatchSpec =
  /** An mbox, a .patch/.diff file, a directory of numbered patches, or a quilt series file. */
  | { kind: 'path'; path: string; where?: SourceLocation | undefined }
  /** `git format-patch` of a commit range in a local repository, applied with git am. */
  | { kind: 'git-range'; repo: string; range: string; where?: SourceLocation | undefined };

/** Make targets that produce the starting .config before fragments are merged. */
export const CONFIG_BASES: Record<string, string[]> = {
  tinyconfig: ['tinyconfig'],
  defconfig: ['defconfig'],
  kvm_guest: ['defconfig', 'kvm_guest.config'],
};
const BASE_ALIASES: Record<string, string> = { tiny: 'tinyconfig', kvm: 'kvm_guest', 'defconfig+kvm_guest': 'kvm_guest' };

export interface FragmentRef {
  /** As written: a name from images/kconfig/ or a path. */
  name: string;
  path: string;
  where?: SourceLocation | undefined;
}

export interface OptionRef {
  /** `CONFIG_FOO=y`, `CONFIG_FOO=n` or `# CONFIG_FOO is not set`. */
  line: string;
  where?: SourceLocation | undefined;
}

export interface ConfigSpec {
  base: string;
  fragments: FragmentRef[];
  options: OptionRef[];
}

export interface BuildSpec {
  source: SourceSpec;
  config: ConfigSpec;
  patches: PatchSpec[];
  /** The spec file, or `inline`. */
  origin: string;
  /** Where `source` was written, for errors found only when the tree is looked at. */
  sourceWhere?: SourceLocation | undefined;
  /** The spec file's own `description:` (never inherited). */
  description?: string | undefined;
  /** Spec files this one extends, nearest first; empty without `extends:`. */
  inherits?: string[] | undefined;
}

export const KCONFIG_DIR = join(imagesDir, 'kconfig');

function resolvePath(p: string, baseDir: string): string {
  if (p.startsWith('~/')) return join(process.env['HOME'] ?? '/', p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

export function parseSource(s: string, baseDir: string, where?: SourceLocation): SourceSpec {
  const v = s.trim();
  if (v.startsWith('debian-src:')) {
    const series = v.slice('debian-src:'.length);
    if (!/^\d+\.\d+$/.test(series)) throw new UserError(`bad source '${v}' (expected debian-src:6.12 or debian-src:6.1)`, where);
    return { kind: 'debian-src', series };
  }
  if (v.startsWith('git:')) {
    const rest = v.slice('git:'.length);
    const at = rest.lastIndexOf('@');
    if (at <= 0 || at === rest.length - 1) throw new UserError(`bad source '${v}' (expected git:REPO@REF)`, where);
    return { kind: 'git', repo: resolvePath(rest.slice(0, at), baseDir), ref: rest.slice(at + 1) };
  }
  if (v.startsWith('tree:')) return { kind: 'tree', path: resolvePath(v.slice('tree:'.length), baseDir) };
  if (v.startsWith('/') || v.startsWith('.') || v.startsWith('~/')) return { kind: 'tree', path: resolvePath(v, baseDir) };
  const scheme = /^([A-Za-z-]+):/.exec(v)?.[1];
  const hint = scheme ? didYouMean(scheme, ['debian-src', 'git', 'tree']) : '';
  throw new UserError(`unrecognised kernel source '${v}'${hint} (expected debian-src:6.12, debian-src:6.1, tree:PATH or git:REPO@REF)`, where);
}

export function normaliseBase(b: string, where?: SourceLocation): string {
  const name = BASE_ALIASES[b] ?? b;
  if (!CONFIG_BASES[name]) {
    const known = [...Object.keys(CONFIG_BASES), ...Object.keys(BASE_ALIASES)];
    throw new UserError(`unknown config base '${b}'${didYouMean(b, known)} (known: ${Object.keys(CONFIG_BASES).join(', ')}, tiny, kvm)`, where);
  }
  return name;
}

const OPTION_RE = /^(?:CONFIG_)?([A-Za-z0-9_]+)=(.*)$/;

export function fragmentRef(name: string, baseDir: string, where?: SourceLocation): FragmentRef {
  // A bare word names a fragment shipped in images/kconfig; anything path-like is a file.
  const path = /^[A-Za-z0-9_.-]+$/.test(name) && !name.endsWith('.config') ? join(KCONFIG_DIR, `${name}.config`) : resolvePath(name, baseDir);
  return { name, path, where };
}

export function optionRef(s: string, where?: SourceLocation): OptionRef {
  const m = OPTION_RE.exec(s.trim());
  if (!m) throw new UserError(`bad config option '${s}' (expected CONFIG_NAME=VALUE)`, where);
  return { line: `CONFIG_${m[1]}=${m[2]}`, where };
}

/**
 * `tiny+dax+lockdep+CONFIG_KASAN=y`: the first word may be a base (tinyconfig, defconfig,
 * kvm_guest and their short forms); the rest are fragment names/paths and single options.
 */
export function parseConfigShorthand(s: string, baseDir: string, where?: SourceLocation): ConfigSpec {
  const words = s.split('+').map((w) => w.trim()).filter(Boolean);
  let base = 'tinyconfig';
  const first = words[0];
  if (first !== undefined && (CONFIG_BASES[first] || BASE_ALIASES[first])) {
    base = normaliseBase(first, where);
    words.shift();
  }
  const fragments: FragmentRef[] = [];
  const options: OptionRef[] = [];
  for (const w of words) {
    if (/^(CONFIG_)?[A-Za-z0-9_]+=/.test(w) && w.includes('=')) options.push(optionRef(w, where));
    else fragments.push(fragmentRef(w, baseDir, where));
  }
  return { base, fragments, options };
}

/** `git:REPO@A..B` in a patches list means a commit range rather than a file. */
export function parsePatchRef(s: string, baseDir: string, where?: SourceLocation): PatchSpec {
  if (s.startsWith('git:')) {
    const rest = s.slice(4);
    const at = rest.lastIndexOf('@');
    if (at <= 0 || !rest.slice(at + 1).includes('..')) throw new UserError(`bad patch range '${s}' (expected git:REPO@BASE..TIP)`, where);
    return { kind: 'git-range', repo: resolvePath(rest.slice(0, at), baseDir), range: rest.slice(at + 1), where };
  }
  return { kind: 'path', path: resolvePath(s, baseDir), where };
}

/** True for the inline form: comma-separated key=value with at least a source. */
export function isInlineBuildSpec(s: string): boolean {
  return /(^|,)\s*source=/.test(s);
}

/**
 * Inline form: `source=debian-src:6.12,config=tiny+dax+lockdep,patches=fix.mbox,patches=dir/`.
 * `patches` may repeat; paths are relative to the current directory.
 */
export function parseInlineBuildSpec(s: string, cwd: string, where?: SourceLocation): BuildSpec {
  let source: SourceSpec | undefined;
  let config: ConfigSpec | undefined;
  const patches: PatchSpec[] = [];
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (!value) throw new UserError(`empty value for '${key}' in kernel spec '${s}'`, where);
    if (key === 'source') source = parseSource(value, cwd, where);
    else if (key === 'config') config = parseConfigShorthand(value, cwd, where);
    else if (key === 'patches' || key === 'patch') patches.push(parsePatchRef(value, cwd, where));
    else throw new UserError(`unknown key '${key}' in kernel spec '${s}'${didYouMean(key, ['source', 'config', 'patches'])} (expected source=, config=, patches=)`, where);
  }
  if (!source) throw new UserError(`kernel spec '${s}' has no source=`, where);
  return { source, config: config ?? parseConfigShorthand('tiny+guest', cwd, where), patches, origin: 'inline' };
}


// --- YAML files and `extends:` -------------------------------------------------------------
//
// A spec file may build on another: `extends: PATH` (relative to the file) names the parent, and
// the file's own keys change it. The merge rule, parent P and child C:
//   source, config.base   C's when C writes it, else P's
//   config.fragments      P's, then C's (one P already lists is not repeated)
//   config.options        P's and C's by symbol, C's value winning; options still apply after
//                         every fragment, as in a spec without extends
//   patches               P's, then C's
//   description           C's own (never inherited)
// A parent may extend another; a file met twice on the way up is a cycle.

/** Reads a spec file's text; undefined when there is no such file. Injected to keep this pure. */
export type ReadText = (path: string) => string | undefined;

/** One spec file as written, before `extends:` is followed. */
export interface SpecLayer {
  file: string;
  extends?: { raw: string; path: string; where: SourceLocation } | undefined;
  source?: SourceSpec | undefined;
  sourceWhere?: SourceLocation | undefined;
  base?: string | undefined;
  hasConfig: boolean;
  fragments: FragmentRef[];
  options: OptionRef[];
  patches: PatchSpec[];
  description?: string | undefined;
}

const TOP_KEYS = ['extends', 'source', 'config', 'patches', 'description', 'name'];
const CONFIG_KEYS = ['base', 'fragments', 'options'];

/** A file that is YAML but no kernel spec (a scenario, a kconfig fragment...): said at `extends:`. */
class NotASpecError extends UserError {}

/** A YAML value as the user wrote it, short, for "got ..." in messages. */
function given(n: unknown): string {
  if (n === null || n === undefined || (isScalar(n) && (n.value === null || n.value === ''))) return 'nothing';
  const v: unknown = isNode(n) ? n.toJSON() : n;
  const kind = Array.isArray(v) ? 'a list ' : v !== null && typeof v === 'object' ? 'a mapping ' : '';
  const text = typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
  return kind + (text.length > 60 ? `${text.slice(0, 59)}…` : text);
}

function unknownKey(key: string, known: readonly string[], where: SourceLocation): UserError {
  return new UserError(`unknown key '${key}'${didYouMean(key, known)} (expected ${known.filter((k) => k !== 'name').join(', ')})`, where);
}

/** Parse one spec file's text; errors carry the file and line of the offending key or value. */
export function parseSpecLayer(text: string, file: string): SpecLayer {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (n: Node | null | undefined, field?: string): SourceLocation => ({
    file,
    line: n?.range ? lc.linePos(n.range[0]).line : undefined,
    field,
  });
  const firstErr = doc.errors[0];
  // prettyErrors is off, so linePos is not filled in: map the error's offset through the counter.
  if (firstErr) throw new UserError(`invalid YAML: ${firstErr.message.split('\n')[0]}`, { file, line: firstErr.linePos?.[0]?.line ?? lc.linePos(firstErr.pos[0]).line });
  const root = doc.contents;
  const notASpec = (what: string): NotASpecError =>
    new NotASpecError(`not a kernel spec (${what}; a kernel spec is a mapping with source:, config:, patches: or extends:)`, { file, line: 1 });
  if (!isMap(root)) throw notASpec(`not a mapping: ${given(root)}`);
  const keys = root.items.map((p) => (isScalar(p.key) ? String(p.key.value) : ''));
  // No kernel-spec key, and none a misspelling of one: some other YAML file (a scenario, say).
  if (!keys.some((k) => TOP_KEYS.includes(k) && k !== 'name') && !keys.some((k) => didYouMean(k, TOP_KEYS))) {
    throw notASpec(`its keys are ${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', ...' : ''}`);
  }
  const baseDir = dirname(file);
  const str = (n: unknown, field: string): string => {
    if (isScalar(n) && (typeof n.value === 'string' || typeof n.value === 'number') && String(n.value) !== '') return String(n.value);
    throw new UserError(`expected a string, got ${given(n)}`, at(n as Node, field));
  };
  const list = (n: Node | null): Node[] => (isSeq(n) ? (n.items as Node[]) : n && !(isScalar(n) && n.value === null) ? [n] : []);
  /** A mapping's keys checked against `known`, its string values by key. */
  const mapping = (n: Node, field: string, known: readonly string[]): Record<string, string> => {
    if (!isMap(n)) throw new Error('not a mapping');
    const out: Record<string, string> = {};
    for (const p of n.items) {
      const k = isScalar(p.key) ? String(p.key.value) : '';
      if (!known.includes(k)) throw unknownKey(k, known, at(p.key as Node, field));
      out[k] = str(p.value, `${field}.${k}`);
    }
    return out;
  };
  const layer: SpecLayer = { file, hasConfig: false, fragments: [], options: [], patches: [] };
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value as Node | null;
    const where = at(v ?? (pair.key as Node), key);
    if (key === 'extends') {
      const raw = str(v, key);
      layer.extends = { raw, path: resolvePath(raw, baseDir), where };
    } else if (key === 'source') {
      layer.sourceWhere = where;
      if (isMap(v)) {
        const o = mapping(v, 'source', ['git', 'ref', 'tree']);
        if (o['git'] !== undefined && o['tree'] === undefined) layer.source = parseSource(`git:${o['git']}@${o['ref'] ?? 'HEAD'}`, baseDir, where);
        else if (o['tree'] !== undefined && o['git'] === undefined && o['ref'] === undefined) layer.source = parseSource(`tree:${o['tree']}`, baseDir, where);
        else throw new UserError(`a source mapping is {git: REPO, ref: REF} or {tree: PATH}, got ${given(v)}`, where);
      } else layer.source = parseSource(str(v, key), baseDir, where);
    } else if (key === 'config') {
      layer.hasConfig = true;
      if (isMap(v)) {
        for (const cp of v.items) {
          const ck = isScalar(cp.key) ? String(cp.key.value) : '';
          const cv = cp.value as Node | null;
          const cw = at(cv ?? (cp.key as Node), `config.${ck}`);
          if (ck === 'base') layer.base = normaliseBase(str(cv, 'config.base'), cw);
          else if (ck === 'fragments') layer.fragments = list(cv).map((n) => fragmentRef(str(n, 'config.fragments'), baseDir, at(n, 'config.fragments')));
          else if (ck === 'options') layer.options = list(cv).map((n) => optionRef(str(n, 'config.options'), at(n, 'config.options')));
          else throw unknownKey(ck, CONFIG_KEYS, at(cp.key as Node, 'config'));
        }
      } else {
        const text = str(v, key);
        const c = parseConfigShorthand(text, baseDir, where);
        const first = text.split('+')[0]?.trim() ?? '';
        if (CONFIG_BASES[first] || BASE_ALIASES[first]) layer.base = c.base;
        layer.fragments = c.fragments;
        layer.options = c.options;
      }
    } else if (key === 'patches') {
      for (const n of list(v)) {
        if (isMap(n)) {
          const o = mapping(n, 'patches', ['git', 'range']);
          if (o['git'] === undefined || o['range'] === undefined) throw new UserError(`a patch range needs git: REPO and range: BASE..TIP, got ${given(n)}`, at(n, 'patches'));
          layer.patches.push(parsePatchRef(`git:${o['git']}@${o['range']}`, baseDir, at(n, 'patches')));
        } else layer.patches.push(parsePatchRef(str(n, 'patches'), baseDir, at(n, 'patches')));
      }
    } else if (key === 'description' || key === 'name') {
      // Free text for people reading the file (and `kernel list`).
      if (key === 'description' && v && isScalar(v) && v.value !== null) layer.description = String(v.value);
    } else {
      throw unknownKey(key, TOP_KEYS, at(pair.key as Node, key));
    }
  }
  return layer;
}

const optionSymbol = (o: OptionRef): string => o.line.slice(0, o.line.indexOf('='));

/** `child` over its resolved parent, by the rule at the top of this section. */
export function mergeSpec(parent: BuildSpec, child: SpecLayer): BuildSpec {
  const childSymbols = new Set(child.options.map(optionSymbol));
  const parentFragments = new Set(parent.config.fragments.map((f) => f.path));
  return {
    source: child.source ?? parent.source,
    sourceWhere: child.source ? child.sourceWhere : parent.sourceWhere,
    config: {
      base: child.base ?? parent.config.base,
      fragments: [...parent.config.fragments, ...child.fragments.filter((f) => !parentFragments.has(f.path))],
      options: [...parent.config.options.filter((o) => !childSymbols.has(optionSymbol(o))), ...child.options],
    },
    patches: [...parent.patches, ...child.patches],
    origin: child.file,
    description: child.description,
    inherits: [parent.origin, ...(parent.inherits ?? [])],
  };
}

const MAX_EXTENDS = 32;

function resolveLayer(layer: SpecLayer, read: ReadText, chain: string[]): BuildSpec {
  const ext = layer.extends;
  if (!ext) {
    if (!layer.source) throw new UserError('missing source: (e.g. debian-src:6.12), or extends: another kernel spec', { file: layer.file, line: 1 });
    if (!layer.hasConfig) throw new UserError('missing config: (e.g. tiny+guest+dax+lockdep), or extends: another kernel spec', { file: layer.file, line: 1 });
    return {
      source: layer.source,
      sourceWhere: layer.sourceWhere,
      config: { base: layer.base ?? 'tinyconfig', fragments: layer.fragments, options: layer.options },
      patches: layer.patches,
      origin: layer.file,
      description: layer.description,
      inherits: [],
    };
  }
  const here = dirname(layer.file);
  const name = (p: string): string => relative(here, p) || basename(p);
  const seen = chain.indexOf(ext.path);
  if (seen >= 0) throw new UserError(`'${ext.raw}' makes a cycle: ${[...chain.slice(seen), ext.path].map(name).join(' -> ')}`, ext.where);
  // Distinct paths to the same file (a directory symlinked into itself) would never repeat.
  if (chain.length > MAX_EXTENDS) throw new UserError(`'${ext.raw}': more than ${MAX_EXTENDS} levels of extends`, ext.where);
  const text = read(ext.path);
  if (text === undefined) throw new UserError(`'${ext.raw}' not found (${ext.path}); extends names a kernel spec file, relative to this one`, ext.where);
  let parent: SpecLayer;
  try {
    parent = parseSpecLayer(text, ext.path);
  } catch (e) {
    if (e instanceof NotASpecError) throw new UserError(`'${ext.raw}' is ${e.message}`, ext.where);
    throw e;
  }
  return mergeSpec(resolveLayer(parent, read, [...chain, ext.path]), layer);
}

/**
 * A kernel-spec YAML file's text as the build it describes, `extends:` followed through `read`
 * (parents' paths resolve against their own files). Errors name the file and line at fault.
 */
export function parseBuildSpecYaml(text: string, file: string, read: ReadText = () => undefined): BuildSpec {
  return resolveLayer(parseSpecLayer(text, file), read, [file]);
}
