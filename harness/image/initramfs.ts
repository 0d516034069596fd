// The base guest image: busybox, the agent as /init, host tools with their libraries, and the
// kernel modules for nvdimm/dax/ext4/xfs/virtio-blk when the kernel is modular. Cached by a hash
// of every input, so a warm run rebuilds nothing. Per-boot data (plan, reproducers) goes into a
// small second archive that is appended at boot time (the kernel unpacks concatenated archives).
import { readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { cachedEntry } from '../util/cache.ts';
import { hashValue, shortHash } from '../util/hash.ts';
import { imagesDir } from '../util/paths.ts';
import { UserError } from '../util/errors.ts';
import { ensureHostTools, which } from '../host/tools.ts';
import type { Kernel } from '../kernel/types.ts';
import { writeCpio, type CpioEntry } from './cpio.ts';
import { cachedSharedLibraries } from './ldd.ts';
import { GUEST_MODULES, moduleLoadOrder, moduleName, parseModulesDep } from './modules.ts';

/** Host tools the guest agent calls; copied with their shared libraries. */
export const GUEST_TOOLS = ['ndctl', 'daxctl', 'mkfs.ext4', 'mkfs.xfs', 'xfs_io'];

export interface GuestImage {
  path: string;
  key: string;
  hit: boolean;
  /** Module names in load order, and each module's dependencies (by name). */
  modules: string[];
  moduleDeps: Record<string, string[]>;
  /** File name in the guest's /lib/modules for each module name. */
  moduleFiles: Record<string, string>;
  builtinOrMissing: string[];
  bytes: number;
}

interface FileInput {
  /** Path inside the guest. */
  guest: string;
  /** Path on the host. */
  host: string;
  mode: number;
}

async function toolFiles(): Promise<FileInput[]> {
  const files = new Map<string, FileInput>();
  for (const tool of GUEST_TOOLS) {
    const p = await which(tool);
    if (!p) throw new UserError(`host tool ${tool} not found`);
    const real = await realpath(p);
    files.set(`/usr/sbin/${tool}`, { guest: `/usr/sbin/${tool}`, host: real, mode: 0o755 });
    for (const lib of await cachedSharedLibraries(real)) {
      files.set(lib, { guest: lib, host: await realpath(lib), mode: 0o755 });
    }
  }
  return [...files.values()];
}

async function decompressModule(path: string): Promise<Buffer> {
  if (path.endsWith('.xz')) return Buffer.from((await execa('xz', ['-dc', path], { encoding: 'buffer' })).stdout);
  if (path.endsWith('.zst')) return Buffer.from((await execa('zstd', ['-dcq', path], { encoding: 'buffer' })).stdout);
  if (path.endsWith('.gz')) return Buffer.from((await execa('gzip', ['-dc', path], { encoding: 'buffer' })).stdout);
  return readFile(path);
}

/** Every directory on the way to each path, parents first. */
function parentDirs(paths: string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    let d = dirname(p);
    const chain: string[] = [];
    while (d !== '/' && d !== '.' && !dirs.has(d)) {
      chain.push(d);
      d = dirname(d);
    }
    for (const c of chain.reverse()) dirs.add(c);
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}

export async function buildGuestImage(kernel: Kernel, log: (s: string) => void): Promise<GuestImage> {
  await ensureHostTools(['busybox', ...GUEST_TOOLS, 'ldd', 'xz', 'zstd'], [], log);
  const busybox = await realpath((await which('busybox')) as string);
  const agentPath = join(imagesDir, 'guest', 'agent.sh');
  const tools = await toolFiles();
  let modules: { name: string; file: string; host: string; deps: string[] }[] = [];
  let builtinOrMissing: string[] = [];
  if (kernel.modulesDir) {
    const dep = parseModulesDep(await readFile(join(kernel.modulesDir, 'modules.dep'), 'utf8'));
    const r = moduleLoadOrder(dep, GUEST_MODULES);
    modules = r.order.map((m) => ({
      name: moduleName(m.path),
      file: basename(m.path).replace(/\.(xz|gz|zst)$/, ''),
      host: join(kernel.modulesDir as string, m.path),
      deps: m.deps.map(moduleName),
    }));
    builtinOrMissing = r.builtinOrMissing;
  }
  const fingerprint = async (p: string): Promise<string> => {
    const s = await stat(p);
    return `${p}:${s.size}:${s.mtimeMs}`;
  };
  const key = shortHash(
    hashValue({
      format: 3,
      kernel: kernel.key,
      agent: await readFile(agentPath),
      busybox: await fingerprint(busybox),
      tools: await Promise.all(tools.map(async (t) => `${t.guest}=${await fingerprint(t.host)}`)),
      modules: await Promise.all(modules.map((m) => fingerprint(m.host))),
    }),
  );
  const entry = await cachedEntry({
    kind: 'images',
    key,
    onStale: log,
    build: async (tmp) => {
      log(`building guest image ${key} (${modules.length} modules, ${tools.length} host files)`);
      const files: CpioEntry[] = [];
      files.push({ type: 'file', path: '/init', data: await readFile(agentPath), mode: 0o755 });
      files.push({ type: 'file', path: '/bin/busybox', data: await readFile(busybox), mode: 0o755 });
      files.push({ type: 'symlink', path: '/bin/sh', target: 'busybox' });
      for (const t of tools) files.push({ type: 'file', path: t.guest, data: await readFile(t.host), mode: t.mode });
      // glibc looks for the loader at /lib64 and libraries under /lib; Debian is merged-usr.
      if (!tools.some((t) => t.guest === '/lib64/ld-linux-x86-64.so.2')) {
        throw new UserError('host ld-linux-x86-64.so.2 not found among tool libraries');
      }
      for (const m of modules) files.push({ type: 'file', path: `/lib/modules/${m.file}`, data: await decompressModule(m.host), mode: 0o644 });
      files.push({ type: 'chardev', path: '/dev/console', major: 5, minor: 1 });
      const dirs = parentDirs(files.map((f) => f.path).concat(['/proc/x', '/sys/x', '/tmp/x', '/daxlab/bin/x', '/mnt/dax/x']));
      const archive = writeCpio([...dirs.map((d): CpioEntry => ({ type: 'dir', path: d })), ...files]);
      await writeFile(join(tmp, 'initramfs.cpio'), archive);
      return {
        kernel: kernel.key,
        modules: modules.map((m) => m.name),
        moduleDeps: Object.fromEntries(modules.map((m) => [m.name, m.deps])),
        moduleFiles: Object.fromEntries(modules.map((m) => [m.name, m.file])),
        builtinOrMissing,
      };
    },
  });
  const meta = entry.manifest.meta as Pick<GuestImage, 'modules' | 'moduleDeps' | 'moduleFiles' | 'builtinOrMissing'>;
  const path = join(entry.dir, 'initramfs.cpio');
  return { path, key, hit: entry.hit, ...meta, bytes: (await stat(path)).size };
}

/** Per-boot archive: the plan, the modules to load (files in /lib/modules), and the reproducers. */
/**
 * `moduleFiles` are inserted by the agent before the plan; `laterModules` (guest path of a list ->
 * module files) are read by the plan's `insmod` steps.
 */
export function overlayArchive(planScript: string, binaries: { name: string; data: Buffer }[], moduleFiles: string[] = [], laterModules: Record<string, string[]> = {}): Buffer {
  const list = (files: string[]): Buffer => Buffer.from(files.map((f) => f + '\n').join(''));
  const entries: CpioEntry[] = [
    { type: 'dir', path: '/daxlab' },
    { type: 'dir', path: '/daxlab/bin' },
    { type: 'file', path: '/daxlab/plan.sh', data: Buffer.from(planScript), mode: 0o644 },
    { type: 'file', path: '/daxlab/modules.list', data: list(moduleFiles), mode: 0o644 },
    ...Object.entries(laterModules).map(([path, files]): CpioEntry => ({ type: 'file', path, data: list(files), mode: 0o644 })),
    ...binaries.map((b): CpioEntry => ({ type: 'file', path: `/daxlab/bin/${b.name}`, data: b.data, mode: 0o755 })),
  ];
  return writeCpio(entries);
}
