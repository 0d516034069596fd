// Source-built kernels: spec -> cached bzImage. The artifact cache entry is keyed by everything
// that decides the result (source identity, config base + fragment contents, patch contents,
// compiler); the final .config is a function of those and is stored with the artifacts. The
// work happens in a persistent per-(source, config request) workspace so patched builds are
// incremental; the cache entry itself appears atomically (util/cache.ts).
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { cachedEntry } from '../util/cache.ts';
import { UserError, type SourceLocation } from '../util/errors.ts';
import { hashValue, shortHash } from '../util/hash.ts';
import { ensureHostTools } from '../host/tools.ts';
import { readBzImageInfo } from './bzimage.ts';
import { CONFIG_BASES, KCONFIG_DIR, parseBuildSpecYaml, type BuildSpec, type FragmentRef } from './buildspec.ts';
import { effectiveRequests, explainDropped, findDropped, mergeConfig, parseDotConfig, parseFragment, parseKconfig, type ConfigRequest, type KconfigDef } from './kconfig.ts';
import { makeBuild, makeQuick } from './make.ts';
import { applySeries, expandPatches, type PatchFile } from './patches.ts';
import { prepareSource } from './source.ts';
import { syncSource, withWorkspaceLock, workspaceFor, type Workspace } from './workspace.ts';
import { createHash } from 'node:crypto';
import type { Kernel } from './types.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { registerTempDir } from '../util/cleanup.ts';

/** Bump when the build recipe changes in a way that changes the artifacts. */
const RECIPE = 1;

/** Always merged first: what the harness's guest needs (serial ports, initramfs, virtio...). */
export const GUEST_FRAGMENT = 'guest';

export const BUILD_TOOLS = ['make', 'gcc', 'ld', 'ccache', 'flex', 'bison', 'bc', 'perl', 'rsync', 'patch', 'git', 'tar', 'xz', 'openssl', 'cpio'];
export const BUILD_FILES = ['/usr/include/libelf.h', '/usr/include/openssl/ssl.h'];

export async function loadBuildSpecFile(path: string, where?: SourceLocation): Promise<BuildSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`kernel spec file not found: ${path}`, where);
  }
  return parseBuildSpecYaml(text, path);
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
      throw new UserError(`kconfig fragment '${f.name}' not found (${f.path})`, f.where);
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
}

export async function buildKernel(spec: BuildSpec, raw: string, log: (s: string) => void): Promise<BuildResult> {
  const t0 = Date.now();
  await ensureHostTools(BUILD_TOOLS, BUILD_FILES, log);
  const source = await prepareSource(spec.source, log).catch((e: unknown) => {
    // "not a kernel tree", "ref not found": the spec's source line is what to fix.
    throw e instanceof UserError && !e.location && spec.sourceWhere ? new UserError(e.message, spec.sourceWhere) : e;
  });
  const { requests, texts } = await configRequests(spec);
  const scratchDirs: string[] = [];
  const scratch = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'daxlab-series-'));
    registerTempDir(d);
    scratchDirs.push(d);
    return d;
  };
  try {
    const patches: PatchFile[] = await expandPatches(spec.patches, scratch);
    const effective = effectiveRequests(requests).map((r) => `${r.symbol}=${r.value}`);
    const configKey = hashValue({ base: spec.config.base, requests: effective });
    const compiler = await compilerIdentity();
    const key = hashValue({
      recipe: RECIPE,
      source: source.identity,
      config: configKey,
      patches: patches.map((p) => [p.sha256, p.kind, p.strip]),
      compiler,
    });
    const entryKey = `${source.label}-${shortHash(key)}`;
    const entry = await cachedEntry({
      kind: 'kernels',
      key: entryKey,
      onStale: log,
      build: async (tmp) => {
        const ws = workspaceFor(`${source.workspaceKey}-${shortHash(configKey)}`);
        return withWorkspaceLock(ws, log, async () => {
          // Apply the series on a throwaway copy first: a patch that fails never reaches the workspace.
          const overlay = await applySeries(patches, source.dir, log);
          const { changed } = await syncSource(ws, source.dir, overlay, log);
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
          const p = await makeBuild(ws, ['bzImage'], logPath, log);
          log(`built in ${Math.round(p.elapsedS)} s (${p.compiled} files compiled)`);
          await copyFile(join(ws.obj, 'arch/x86/boot/bzImage'), join(tmp, 'bzImage'));
          await writeFile(join(tmp, 'config'), finalText);
          await copyFile(join(ws.obj, 'System.map'), join(tmp, 'System.map'));
          await copyFile(logPath, join(tmp, 'build.log'));
          const applied: AppliedPatch[] = patches.map((x) => ({ patch: x.label, sha256: x.sha256, method: x.kind === 'mbox' ? 'git am' : `patch -p${x.strip}` }));
          await writeFile(join(tmp, 'patches.json'), JSON.stringify(applied, null, 2) + '\n');
          await writeFile(join(tmp, 'spec.txt'), `${raw}\n`);
          const info = await readBzImageInfo(join(tmp, 'bzImage'));
          return {
            spec: raw,
            release: info?.release ?? '',
            banner: info?.banner ?? '',
            source: source.identity,
            base: spec.config.base,
            fragments: Object.keys(texts),
            configSha256: sha256(Buffer.from(finalText)),
            patches: applied,
            buildSeconds: Math.round(p.elapsedS),
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
      identity: { ...source.identity, base: spec.config.base, config: shortHash(configKey), patches: patches.map((x) => shortHash(x.sha256)).join(',') },
      key: entryKey,
    };
    return { kernel, hit: entry.hit, entryDir: entry.dir, seconds: (Date.now() - t0) / 1000 };
  } finally {
    for (const d of scratchDirs) await rm(d, { recursive: true, force: true });
  }
}
