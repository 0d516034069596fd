// Source-build kernel specs: where the tree comes from, how it is configured, which patch series
// go on top. Two spellings of the same thing: a YAML file (images/kernels/*.yaml) and an inline
// form for the command line. Pure: paths are resolved against a base directory, nothing is read.
import { isAbsolute, join, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { UserError, type SourceLocation } from '../util/errors.ts';
import { imagesDir } from '../util/paths.ts';

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
  throw new UserError(`unrecognised kernel source '${v}' (expected debian-src:6.12, debian-src:6.1, tree:PATH or git:REPO@REF)`, where);
}

export function normaliseBase(b: string, where?: SourceLocation): string {
  const name = BASE_ALIASES[b] ?? b;
  if (!CONFIG_BASES[name]) {
    throw new UserError(`unknown config base '${b}' (known: ${Object.keys(CONFIG_BASES).join(', ')}, tiny, kvm)`, where);
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
    else throw new UserError(`unknown key '${key}' in kernel spec '${s}' (expected source=, config=, patches=)`, where);
  }
  if (!source) throw new UserError(`kernel spec '${s}' has no source=`, where);
  return { source, config: config ?? parseConfigShorthand('tiny+guest', cwd, where), patches, origin: 'inline' };
}

/** Parse a kernel-spec YAML file's text; errors carry the file and line of the offending key. */
export function parseBuildSpecYaml(text: string, file: string): BuildSpec {
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
  if (!isMap(root)) throw new UserError('a kernel spec is a mapping with source:, config: and optional patches:', { file, line: 1 });
  const baseDir = resolve(file, '..');
  const str = (n: unknown, field: string): string => {
    if (isScalar(n) && (typeof n.value === 'string' || typeof n.value === 'number')) return String(n.value);
    throw new UserError('expected a string', at(n as Node, field));
  };
  let source: SourceSpec | undefined;
  let sourceWhere: SourceLocation | undefined;
  let config: ConfigSpec | undefined;
  const patches: PatchSpec[] = [];
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value as Node | null;
    const where = at(v ?? (pair.key as Node), key);
    if (key === 'source') {
      sourceWhere = where;
      if (isMap(v)) {
        const o = v.toJSON() as Record<string, unknown>;
        if (typeof o['git'] === 'string') source = parseSource(`git:${o['git']}@${String(o['ref'] ?? 'HEAD')}`, baseDir, where);
        else if (typeof o['tree'] === 'string') source = parseSource(`tree:${o['tree']}`, baseDir, where);
        else throw new UserError('source mapping needs git: (with ref:) or tree:', where);
      } else source = parseSource(str(v, key), baseDir, where);
    } else if (key === 'config') {
      if (isMap(v)) {
        config = { base: 'tinyconfig', fragments: [], options: [] };
        for (const cp of v.items) {
          const ck = isScalar(cp.key) ? String(cp.key.value) : '';
          const cv = cp.value as Node | null;
          const cw = at(cv ?? (cp.key as Node), `config.${ck}`);
          const list = (): Node[] => (isSeq(cv) ? (cv.items as Node[]) : cv ? [cv] : []);
          if (ck === 'base') config.base = normaliseBase(str(cv, 'config.base'), cw);
          else if (ck === 'fragments') config.fragments = list().map((n) => fragmentRef(str(n, 'config.fragments'), baseDir, at(n, 'config.fragments')));
          else if (ck === 'options') config.options = list().map((n) => optionRef(str(n, 'config.options'), at(n, 'config.options')));
          else throw new UserError(`unknown key '${ck}' (expected base, fragments, options)`, at(cp.key as Node, 'config'));
        }
      } else config = parseConfigShorthand(str(v, key), baseDir, where);
    } else if (key === 'patches') {
      const items = isSeq(v) ? (v.items as Node[]) : v && !(isScalar(v) && v.value === null) ? [v] : [];
      for (const n of items) {
        if (isMap(n)) {
          const o = n.toJSON() as Record<string, unknown>;
          if (typeof o['git'] !== 'string' || typeof o['range'] !== 'string') throw new UserError('a patch range needs git: REPO and range: BASE..TIP', at(n, 'patches'));
          patches.push(parsePatchRef(`git:${o['git']}@${o['range']}`, baseDir, at(n, 'patches')));
        } else patches.push(parsePatchRef(str(n, 'patches'), baseDir, at(n, 'patches')));
      }
    } else if (key === 'description' || key === 'name') {
      // Free text for people reading the file.
    } else {
      throw new UserError(`unknown key '${key}' (expected source, config, patches, description)`, at(pair.key as Node, key));
    }
  }
  if (!source) throw new UserError('missing source: (e.g. debian-src:6.12)', { file, line: 1 });
  if (!config) throw new UserError('missing config: (e.g. tiny+guest+dax+lockdep)', { file, line: 1 });
  return { source, config, patches, origin: file, sourceWhere };
}
