// Stack frames to file:line with binutils (nm, addr2line) over a vmlinux with DWARF, the shell
// half of symbolize.ts. What addr2line said is kept per build (GNU build ID) under
// ~/.cache/daxlab/symbols, so a repeat run of the same kernel runs neither nm nor addr2line.
// Best effort everywhere: a finding keeps its printed frames when anything here fails.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { ensureHostTools } from '../host/tools.ts';
import type { Kernel } from '../kernel/types.ts';
import { UserError } from '../util/errors.ts';
import { cacheRoot, displayPath } from '../util/paths.ts';
import type { Frame } from './frames.ts';
import {
  decodeFrames,
  frameCacheKey,
  frameDetails,
  frameKey,
  hexAddr,
  lookupAddress,
  MISMATCH,
  parseAddr2line,
  parseNm,
  relativeLines,
  ROOT_ANCHOR,
  SYMBOL_CACHE_VERSION,
  treeRootFrom,
  wrongVmlinux,
  type DecodeStats,
  type SymbolCache,
  type SymbolTable,
} from './symbolize.ts';

const TOOLS = ['nm', 'addr2line', 'readelf'];

export interface Symbolizer {
  vmlinux: string;
  buildId: string;
  /** How often this instance ran nm and addr2line (a warm symbol cache runs neither). */
  runs: { nm: number; addr2line: number };
  /** Each report's frames with file:line; one nm and one addr2line at most for the whole batch. */
  decode(reports: readonly { frames: readonly Frame[]; text: string }[]): Promise<{ frames: Frame[][]; stats: DecodeStats }>;
}

const BUILD_ID = /Build ID: ([0-9a-f]+)/;

async function buildIdOf(vmlinux: string): Promise<string | undefined> {
  const r = await execa('readelf', ['-n', vmlinux], { reject: false });
  return BUILD_ID.exec(r.stdout)?.[1];
}

async function hasLineTables(vmlinux: string): Promise<boolean> {
  const r = await execa('readelf', ['-S', '-W', vmlinux], { reject: false });
  return /\s\.debug_line\s/.test(r.stdout);
}

const cachePath = (buildId: string): string => join(cacheRoot(), 'symbols', `${buildId}.json`);

async function loadCache(buildId: string): Promise<SymbolCache> {
  try {
    const c = JSON.parse(await readFile(cachePath(buildId), 'utf8')) as SymbolCache;
    if (c.v === SYMBOL_CACHE_VERSION && c.buildId === buildId && typeof c.frames === 'object' && typeof c.addrs === 'object') return c;
  } catch {
    /* no cache yet, or a torn one: start over */
  }
  return { v: SYMBOL_CACHE_VERSION, buildId, frames: {}, addrs: {} };
}

async function saveCache(c: SymbolCache): Promise<void> {
  const p = cachePath(c.buildId);
  await mkdir(dirname(p), { recursive: true });
  // Rename into place: a reader never sees half a file; two writers lose at most each other's additions.
  const tmp = `${p}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(c));
  await rename(tmp, p);
}

/** Opens a vmlinux for decoding; a file without a build ID or without line tables is a user error. */
export async function openSymbolizer(vmlinux: string, log: (s: string) => void = () => {}): Promise<Symbolizer> {
  if (!(await stat(vmlinux).catch(() => undefined))?.isFile()) throw new UserError(`vmlinux not found: ${vmlinux}`);
  await ensureHostTools(TOOLS, [], log);
  const buildId = await buildIdOf(vmlinux);
  if (!buildId) throw new UserError(`${displayPath(vmlinux)}: not an ELF kernel image with a GNU build ID (readelf -n)`);
  if (!(await hasLineTables(vmlinux))) throw new UserError(`${displayPath(vmlinux)} has no DWARF line tables (build the kernel with the debug-info kconfig fragment)`);
  const cache = await loadCache(buildId);
  let table: SymbolTable | undefined;
  const runs = { nm: 0, addr2line: 0 };
  const symbols = async (): Promise<SymbolTable> => {
    if (!table) {
      const r = await execa('nm', ['-S', '--defined-only', vmlinux], { maxBuffer: 512 * 1024 * 1024 });
      runs.nm++;
      table = parseNm(r.stdout);
    }
    return table;
  };
  // One decode at a time per vmlinux: parallel guests' boots end together and share the cache.
  let queue: Promise<unknown> = Promise.resolve();

  const decodeNow = async (reports: readonly { frames: readonly Frame[]; text: string }[]): Promise<{ frames: Frame[][]; stats: DecodeStats }> => {
    const details = reports.map((r) => frameDetails(r.text));
    let dirty = false;
    for (const [i, r] of reports.entries()) {
      for (const f of r.frames) {
        if (f.offset === undefined || f.file !== undefined) continue;
        const d = details[i]?.get(frameKey(f.fn, f.offset));
        const key = frameCacheKey(f, d);
        if (key in cache.frames) continue;
        const a = lookupAddress(f, d, await symbols());
        cache.frames[key] = a === undefined ? null : a === MISMATCH ? MISMATCH : hexAddr(a);
        dirty = true;
      }
    }
    const want = [...new Set(Object.values(cache.frames).filter((a): a is string => a !== null && a !== MISMATCH && !(a in cache.addrs)))];
    if (want.length) {
      const anchor = cache.root === undefined ? (await symbols()).get(ROOT_ANCHOR.fn)?.[0] : undefined;
      const input = [...want, ...(anchor ? [hexAddr(anchor.addr)] : [])].map((a) => `0x${a}`).join('\n') + '\n';
      const r = await execa('addr2line', ['-a', '-f', '-i', '-e', vmlinux], { input, maxBuffer: 64 * 1024 * 1024 });
      runs.addr2line++;
      const got = parseAddr2line(r.stdout);
      if (anchor) cache.root = treeRootFrom(got.get(hexAddr(anchor.addr)));
      for (const a of want) cache.addrs[a] = relativeLines(got.get(a) ?? [], cache.root ?? '');
      dirty = true;
    }
    if (dirty) await saveCache(cache).catch((e: unknown) => log(`symbol cache not written: ${(e as Error).message}`));
    const stats: DecodeStats = { decoded: 0, mismatched: 0 };
    const frames = reports.map((r, i) =>
      decodeFrames(
        r.frames,
        details[i] ?? new Map(),
        (f, d) => cache.frames[frameCacheKey(f, d)] ?? undefined,
        (a) => cache.addrs[a],
        stats,
      ),
    );
    return { frames, stats };
  };

  return {
    vmlinux,
    buildId,
    runs,
    decode(reports) {
      const run = queue.then(() => decodeNow(reports));
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

const opened = new Map<string, Promise<Symbolizer>>();

/** One Symbolizer per vmlinux per process. */
export function symbolizerFor(vmlinux: string, log?: (s: string) => void): Promise<Symbolizer> {
  let s = opened.get(vmlinux);
  if (!s) {
    s = openSymbolizer(vmlinux, log);
    opened.set(vmlinux, s);
    s.catch(() => opened.delete(vmlinux));
  }
  return s;
}

/** Debian's debug symbols for a linux-image package: the -dbg package of the same name. */
export function debianDbgPackage(pkg: string): string {
  return pkg.replace(/-unsigned$/, '') + '-dbg';
}

/**
 * The vmlinux with debug info for a kernel, or why there is none. Source builds with the
 * debug-info fragment keep one in the cache; Debian's is in its -dbg package, which daxlab does
 * not fetch (about 1 GB, 6.7 GB unpacked) but uses once installed; a bzImage from a tree uses the
 * tree's vmlinux when it is not newer than the bzImage.
 */
export async function vmlinuxOf(k: Kernel): Promise<{ path: string } | { why: string }> {
  if (k.vmlinux) return { path: k.vmlinux };
  const id = k.identity;
  if (id['source'] === 'debian') {
    const p = `/usr/lib/debug/boot/vmlinux-${k.release}`;
    if (existsSync(p)) return { path: p };
    const dbg = debianDbgPackage(id['package'] ?? `linux-image-${k.release}`);
    return { why: `Debian ships its debug info in ${dbg} (about 1 GB from apt), which daxlab does not fetch; with it installed, ${p} is used` };
  }
  if (id['source'] === 'file') {
    const tree = k.config ? join(dirname(k.config), 'vmlinux') : undefined;
    const [v, b] = await Promise.all([tree ? stat(tree).catch(() => undefined) : undefined, stat(k.bzImage).catch(() => undefined)]);
    if (tree && v?.isFile() && b && v.mtimeMs <= b.mtimeMs) return { path: tree };
    return { why: 'no vmlinux next to the bzImage (daxlab findings --vmlinux FILE decodes a run later)' };
  }
  return { why: 'built without debug info (add the debug-info kconfig fragment, e.g. images/kernels/debug-info-6.12.yaml)' };
}

const told = new Set<string>();

/**
 * Frames of a boot's reports decoded when the kernel has debug info; undefined (with one log
 * line per kernel saying why) when it has none or decoding failed.
 */
export async function decodeReports(k: Kernel, name: string, reports: readonly { frames: readonly Frame[]; text: string }[], log: (s: string) => void): Promise<Frame[][] | undefined> {
  if (!reports.some((r) => r.frames.length)) return undefined;
  const once = (s: string): void => {
    if (!told.has(`${name}\0${s}`)) log(s);
    told.add(`${name}\0${s}`);
  };
  const v = await vmlinuxOf(k);
  if ('why' in v) {
    once(`${name}: stack frames not decoded to file:line: ${v.why}`);
    return undefined;
  }
  try {
    const s = await symbolizerFor(v.path, log);
    const { frames, stats } = await s.decode(reports);
    if (wrongVmlinux(stats)) {
      once(`${name}: ${displayPath(v.path)} does not match the booted kernel (the reports' frames do not fit its functions); frames not decoded`);
      return undefined;
    }
    return frames;
  } catch (e) {
    once(`${name}: stack frames not decoded: ${e instanceof UserError ? e.message : (e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}
