// Source-built kernels: spec -> cached bzImage. The artifact cache entry is keyed by everything
// that decides the result (source identity, config base + fragment contents, patch contents,
// compiler); the final .config is a function of those and is stored with the artifacts. The
// work happens in a persistent per-(source, config request) workspace so patched builds are
// incremental; the cache entry itself appears atomically (util/cache.ts).
import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { execa } from 'execa';
import { cachedEntry } from '../util/cache.ts';
import { UserError, type SourceLocation } from '../util/errors.ts';
import { didYouMean } from '../util/suggest.ts';
import { hashValue, shortHash } from '../util/hash.ts';
import { ensureHostTools } from '../host/tools.ts';
import { readBzImageInfo } from './bzimage.ts';
import { CONFIG_BASES, KCONFIG_DIR, parseBuildSpecYaml, type BuildSpec, type FragmentRef, type ReadText } from './buildspec.ts';
import { effectiveRequests, explainDropped, findDropped, mergeConfig, parseDotConfig, parseFragment, parseKconfig, type ConfigRequest, type KconfigDef } from './kconfig.ts';
import { formatPhases, makeBuild, makeQuick } from './make.ts';
import { applySeries, expandPatches, type PatchFile } from './patches.ts';
import { patchSubject, splitMbox } from './series.ts';
import { parseKernelSpec } from './spec.ts';
import { prepareSource, type PreparedSource } from './source.ts';
import { syncSource, withWorkspaceLock, workspaceFor, type Workspace } from './workspace.ts';
import { createHash } from 'node:crypto';
import type { Kernel } from './types.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { registerTempDir } from '../util/cleanup.ts';

/** Bump when the build recipe changes in a way that changes the artifacts (2: LOCALVERSION). */
export const RECIPE = 2;

/** Always merged first: what the harness's guest needs (serial ports, initramfs, virtio...). */
export const GUEST_FRAGMENT = 'guest';

export const BUILD_TOOLS = ['make', 'gcc', 'ld', 'ccache', 'flex', 'bison', 'bc', 'perl', 'rsync', 'patch', 'git', 'tar', 'xz', 'openssl', 'cpio'];
export const BUILD_FILES = ['/usr/include/libelf.h', '/usr/include/openssl/ssl.h'];

/** Reads a spec file (and the files it extends) from disk. */
export const readSpecText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

export async function loadBuildSpecFile(path: string, where?: SourceLocation): Promise<BuildSpec> {
  const text = readSpecText(path);
  if (text === undefined) throw new UserError(`kernel spec file not found: ${path}`, where);
  return parseBuildSpecYaml(text, path, readSpecText);
}

function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

/** Fragment files in merge order (the guest fragment first, once) parsed into requests. */
export async function configRequests(spec: BuildSpec): Promise<{ requests: ConfigRequest[]; texts: Record<string, string> }> {
  const guest: FragmentRef = { name: GUEST_FRAGMENT, path: join(KCONFIG_DIR, `${GUEST_FRAGMENT}.config`) };
  const frags = [guest, ...spec.config.fragments.filter((f) => f.path !== guest.path)];
  const requests: ConfigRequest[] = [];
  const texts: Record<string, string> = {};
  for (const f of frags) {
    let text: string;
    try {
      text = await readFile(f.path, 'utf8');
    } catch {
      const shipped = (await readdir(KCONFIG_DIR).catch(() => [] as string[])).filter((n) => n.endsWith('.config')).map((n) => n.slice(0, -'.config'.length));
      throw new UserError(`kconfig fragment '${f.name}' not found (${f.path})${didYouMean(f.name, shipped)}`, f.where);
    }
    texts[f.name] = text;
    requests.push(...parseFragment(text, shown(f.path)));
  }
  for (const o of spec.config.options) {
    const [r] = parseFragment(o.line, o.where?.file ?? 'inline');
    if (r) requests.push({ ...r, where: o.where ?? { file: 'inline' } });
  }
  return { requests, texts };
}

async function compilerIdentity(): Promise<string> {
  const gcc = await execa('gcc', ['--version'], { reject: false });
  const ld = await execa('ld', ['--version'], { reject: false });
  return `${gcc.stdout.split('\n')[0]} / ${ld.stdout.split('\n')[0]}`;
}

async function kconfigDefs(srcDir: string, symbols: Set<string>): Promise<Map<string, KconfigDef[]>> {
  const out = new Map<string, KconfigDef[]>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith('.') && e.name !== 'Documentation') await walk(p);
      } else if (e.name.startsWith('Kconfig')) {
        const text = await readFile(p, 'utf8');
        if (![...symbols].some((s) => text.includes(s))) continue;
        for (const def of parseKconfig(text, relative(srcDir, p))) {
          if (symbols.has(def.symbol)) out.set(def.symbol, [...(out.get(def.symbol) ?? []), def]);
        }
      }
    }
  };
  await walk(srcDir);
  return out;
}

/** Files whose change can change the outcome of kconfig. */
const KCONFIG_INPUT = /(^|\/)Kconfig[^/]*$|^scripts\/kconfig\/|\.config$/;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * The workspace's .config when nothing kconfig reads has changed since it was made (same stamp,
 * .config untouched): re-running tinyconfig + olddefconfig would give the same file and costs
 * ~15 s of a ~45 s one-file-patch rebuild.
 */
async function configuredAlready(root: string, obj: string, stamp: string): Promise<string | undefined> {
  try {
    const prev = JSON.parse(await readFile(join(root, 'config-stamp.json'), 'utf8')) as { stamp?: string; config?: string };
    const text = await readFile(join(obj, '.config'), 'utf8');
    return prev.stamp === stamp && prev.config === sha256(Buffer.from(text)) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Base target(s), fragments merged over it, olddefconfig; returns the final .config text. */
async function configure(ws: Workspace, base: string, requests: ConfigRequest[], names: string[], log: (s: string) => void): Promise<string> {
  await rm(join(ws.root, 'config-stamp.json'), { force: true });
  const baseTargets = CONFIG_BASES[base] ?? ['tinyconfig'];
  log(`configuring: ${baseTargets.join(' + ')} + fragments ${names.join(', ')}`);
  await makeQuick(ws, baseTargets);
  const dotConfig = join(ws.obj, '.config');
  await writeFile(dotConfig, mergeConfig(await readFile(dotConfig, 'utf8'), requests));
  await makeQuick(ws, ['olddefconfig']);
  return readFile(dotConfig, 'utf8');
}

export interface BuildResult {
  kernel: Kernel;
  hit: boolean;
  entryDir: string;
  seconds: number;
}

export interface AppliedPatch {
  patch: string;
  sha256: string;
  method: string;
  /** Mails in an mbox, else 1. */
  count: number;
  /** Subject of its first patch. */
  subject: string;
}

/** Temp dirs for git-range mboxes, removed by `done()` (and at exit if it never runs). */
function scratchDirs(): { scratch: () => Promise<string>; done: () => Promise<void> } {
  const dirs: string[] = [];
  return {
    scratch: async () => {
      const d = await mkdtemp(join(tmpdir(), 'daxlab-series-'));
      registerTempDir(d);
      dirs.push(d);
      return d;
    },
    done: async () => {
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    },
  };
}

/** The config request's hash: the base and the effective (last-wins) option values. */
function configKeyOf(base: string, requests: ConfigRequest[]): string {
  return hashValue({ base, requests: effectiveRequests(requests).map((r) => `${r.symbol}=${r.value}`) });
}

/**
 * What a spec asks for, with no look at the host (source identity, compiler): the written
 * source, the config request and the patch contents. `kernel list` recomputes it from a spec
 * file to tell whether a cache entry is still what that file builds.
 */
function requestOf(spec: BuildSpec, configKey: string, patches: PatchFile[]): string {
  return hashValue({ source: { ...spec.source }, config: configKey, patches: patches.map((p) => [p.sha256, p.kind, p.strip]) });
}

/** The request hash of a spec file as it is now on disk (see requestOf). */
export async function specFileRequest(path: string): Promise<string> {
  return specRequest(await loadBuildSpecFile(path));
}

/** The request hash of a spec (see requestOf): reads its fragments and patches. */
export async function specRequest(spec: BuildSpec): Promise<string> {
  const { requests } = await configRequests(spec);
  const s = scratchDirs();
  try {
    return requestOf(spec, configKeyOf(spec.config.base, requests), await expandPatches(spec.patches, s.scratch));
  } finally {
    await s.done();
  }
}

/** True when `raw` (a label or a spec as typed) names the spec file `path`. */
function isSpecFile(raw: string, path: string): boolean {
  try {
    const k = parseKernelSpec(raw);
    return k.kind === 'build-file' && k.path === path;
  } catch {
    return false; // a label such as 'debug + series [1..2]'
  }
}

/** `-daxlab-` and the start of the build's cache key: `uname -r` names the build. */
export function localVersion(key: string): string {
  return `-daxlab-${key.slice(0, 8)}`;
}

/** One line for the config request: base, then fragments (the always-merged guest left out), then options. */
export function configSummary(base: string, fragments: string[], options: string[] = []): string {
  const frag = fragments.filter((f) => f !== GUEST_FRAGMENT).map((f) => basename(f).replace(/\.config$/, ''));
  return [base, ...frag, ...options].join('+');
}

/** The spec's pristine tree; "not a kernel tree", "ref not found" point at its source: line. */
export async function prepareSpecSource(spec: BuildSpec, log: (s: string) => void): Promise<PreparedSource> {
  return prepareSource(spec.source, log).catch((e: unknown) => {
    throw e instanceof UserError && !e.location && spec.sourceWhere ? new UserError(e.message, spec.sourceWhere) : e;
  });
}

export async function buildKernel(spec: BuildSpec, raw: string, log: (s: string) => void): Promise<BuildResult> {
  const t0 = Date.now();
  await ensureHostTools(BUILD_TOOLS, BUILD_FILES, log);
  const source = await prepareSpecSource(spec, log);
  const { requests, texts } = await configRequests(spec);
  const { scratch, done } = scratchDirs();
  try {
    const patches: PatchFile[] = await expandPatches(spec.patches, scratch);
    const configKey = configKeyOf(spec.config.base, requests);
    const compiler = await compilerIdentity();
    const key = hashValue({
      recipe: RECIPE,
      source: source.identity,
      config: configKey,
      patches: patches.map((p) => [p.sha256, p.kind, p.strip]),
      compiler,
    });
    const entryKey = `${source.label}-${shortHash(key)}`;
    const localversion = localVersion(key);
    // Only a spec given as its file is tracked back to that file by `kernel list`: a build
    // made from a spec plus more patches (ab's series prefixes) is not what the file builds.
    const specFile = spec.origin !== 'inline' && isSpecFile(raw, spec.origin) ? spec.origin : undefined;
    const entry = await cachedEntry({
      kind: 'kernels',
      key: entryKey,
      onStale: log,
      build: async (tmp) => {
        const ws = workspaceFor(`${source.workspaceKey}-${shortHash(configKey)}`);
        return withWorkspaceLock(ws, log, async () => {
          // Apply the series on a throwaway copy first: a patch that fails never reaches the workspace.
          const overlay = await applySeries(patches, source.dir, log);
          // An extracted tree (a Debian package version, a git commit) never changes under its
          // identity: with the same one as the last sync, src/ needs no rsync. A local tree can
          // change in ways its fingerprint does not see (ignored files): always rsynced.
          const immutable = source.identity['source'] !== 'tree';
          const { changed } = await syncSource(ws, source.dir, overlay, log, immutable ? hashValue(source.identity) : undefined);
          if (changed.length) log(`workspace ${ws.root}: ${changed.length} file(s) changed since its last build`);
          // Everything that can change what kconfig produces in this workspace (its config
          // request is fixed by its key): the tree, the compiler, and patched Kconfig files.
          const stamp = hashValue({
            source: source.identity,
            compiler,
            kconfig: [...overlay].filter(([f]) => KCONFIG_INPUT.test(f)).map(([f, b]) => [f, b ? sha256(b) : null]),
          });
          const finalText = (await configuredAlready(ws.root, ws.obj, stamp)) ?? (await configure(ws, spec.config.base, requests, Object.keys(texts), log));
          const final = parseDotConfig(finalText);
          const dropped = findDropped(requests, final);
          if (dropped.length > 0) {
            const defs = await kconfigDefs(ws.src, new Set(dropped.map((d) => d.request.symbol)));
            const first = dropped[0]!;
            const more = dropped.length > 1 ? ` (also dropped: ${dropped.slice(1).map((d) => `CONFIG_${d.request.symbol}`).join(', ')})` : '';
            throw new UserError(explainDropped(first, defs.get(first.request.symbol) ?? [], final) + more, first.request.where);
          }
          await writeFile(join(ws.root, 'config-stamp.json'), JSON.stringify({ stamp, config: sha256(Buffer.from(finalText)) }));
          const logPath = join(ws.root, 'build.log');
          log(`building bzImage in ${ws.obj} (make -j, log ${logPath})`);
          // LOCALVERSION on the command line, not in .config: the config (and so every object that
          // depends on it) stays the same across the workspace's builds; a new release string
          // recompiles only the few files that include utsrelease.h.
          const p = await makeBuild(ws, ['bzImage'], logPath, log, { vars: [`LOCALVERSION=${localversion}`] });
          log(`built in ${Math.round(p.elapsedS)} s (${p.compiled} files compiled${p.phases ? `; ${formatPhases(p.phases)}` : ''})`);
          await copyFile(join(ws.obj, 'arch/x86/boot/bzImage'), join(tmp, 'bzImage'));
          await writeFile(join(tmp, 'config'), finalText);
          await copyFile(join(ws.obj, 'System.map'), join(tmp, 'System.map'));
          // With DWARF (the debug-info fragment) vmlinux is what symbolises findings' frames.
          if (final.get('DEBUG_INFO') === 'y') await copyFile(join(ws.obj, 'vmlinux'), join(tmp, 'vmlinux'));
          await copyFile(logPath, join(tmp, 'build.log'));
          const applied: AppliedPatch[] = patches.map((x) => {
            const mails = x.kind === 'mbox' ? splitMbox(x.text) : [x.text];
            return { patch: x.label, sha256: x.sha256, method: x.kind === 'mbox' ? 'git am' : `patch -p${x.strip}`, count: mails.length, subject: patchSubject(mails[0] ?? '', basename(x.label)) };
          });
          await writeFile(join(tmp, 'patches.json'), JSON.stringify(applied, null, 2) + '\n');
          await writeFile(join(tmp, 'spec.txt'), `${raw}\n`);
          const info = await readBzImageInfo(join(tmp, 'bzImage'));
          return {
            spec: raw,
            recipe: RECIPE,
            specFile,
            inherits: specFile ? spec.inherits : undefined,
            description: spec.description,
            request: requestOf(spec, configKey, patches),
            localversion,
            options: spec.config.options.map((o) => o.line),
            release: info?.release ?? '',
            banner: info?.banner ?? '',
            source: source.identity,
            base: spec.config.base,
            fragments: Object.keys(texts),
            configSha256: sha256(Buffer.from(finalText)),
            patches: applied,
            buildSeconds: Math.round(p.elapsedS),
            buildPhases: p.phases,
            compiled: p.compiled,
            workspace: ws.root,
          };
        });
      },
    });
    const meta = entry.manifest.meta as { release: string; banner: string };
    const bz = join(entry.dir, 'bzImage');
    const kernel: Kernel = {
      spec: raw,
      release: meta.release,
      banner: meta.banner,
      bzImage: bz,
      modulesDir: undefined,
      config: join(entry.dir, 'config'),
      vmlinux: existsSync(join(entry.dir, 'vmlinux')) ? join(entry.dir, 'vmlinux') : undefined,
      identity: { ...source.identity, base: spec.config.base, config: shortHash(configKey), patches: patches.map((x) => shortHash(x.sha256)).join(',') },
      key: entryKey,
    };
    return { kernel, hit: entry.hit, entryDir: entry.dir, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await done();
  }
}
