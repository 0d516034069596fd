// The persistent build workspace of one (source, config request): a copy of the source tree
// (src/) and an out-of-tree object directory (obj/), kept between builds so a patched build
// reuses every object the patch did not touch. make decides what to rebuild by mtime, so the
// one rule here is: a file whose content changes gets a fresh mtime, a file whose content
// does not change keeps its old one.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { withLock } from '../util/cache.ts';
import { hashValue } from '../util/hash.ts';
import { cacheRoot } from '../util/paths.ts';
import type { Overlay } from './patches.ts';

export interface Workspace {
  root: string;
  src: string;
  obj: string;
}

interface State {
  /** Paths that differ (or may differ) from the pristine tree: the previous overlay. */
  overlay: string[];
  /**
   * The pristine tree src/ was last rsynced from (its path and identity), written only once the
   * whole sync is done: when the next build names the same one, src/ outside the overlay is
   * already that tree and the rsync (a stat of ~90k files, ~1 s of a one-file rebuild) is skipped.
   */
  synced?: string;
}

export function workspaceRoot(): string {
  return join(cacheRoot(), 'kernel-work');
}

export function workspaceFor(key: string): Workspace {
  const root = join(workspaceRoot(), key);
  return { root, src: join(root, 'src'), obj: join(root, 'obj') };
}

/** One build per workspace at a time, across processes; a dead owner's lock is taken over. */
export async function withWorkspaceLock<T>(ws: Workspace, log: (s: string) => void, fn: () => Promise<T>): Promise<T> {
  await mkdir(ws.root, { recursive: true });
  return withLock(join(ws.root, 'lock'), fn, (owner) => log(`waiting for another build in ${ws.root} (pid ${owner})`));
}

async function readState(ws: Workspace): Promise<State> {
  try {
    return JSON.parse(await readFile(join(ws.root, 'state.json'), 'utf8')) as State;
  } catch {
    return { overlay: [] };
  }
}

async function writeState(ws: Workspace, s: State): Promise<void> {
  const p = join(ws.root, 'state.json');
  await writeFile(p + '.tmp', JSON.stringify(s));
  await rename(p + '.tmp', p);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function readOrNull(p: string): Promise<Buffer | null> {
  try {
    return await readFile(p);
  } catch {
    return null;
  }
}

/** Write via rename: a fresh inode and mtime, and never a half-written source file. */
async function replaceFile(p: string, data: Buffer): Promise<void> {
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p + '.daxlab-tmp', data);
  await rename(p + '.daxlab-tmp', p);
}

/**
 * Make ws.src equal to `pristine` plus `overlay`. rsync copies only what changed in the pristine
 * tree (mtimes preserved, so unchanged files stay "old" for make); paths of the previous and the
 * new overlay are left to this function, which rewrites a file only when its content differs.
 * `pristineId` (the source's identity) says the tree at `pristine` is what it was when it last
 * had that identity: with the same path and id as the last completed sync, rsync is skipped.
 */
export async function syncSource(ws: Workspace, pristine: string, overlay: Overlay, log: (s: string) => void, pristineId?: string): Promise<{ changed: string[]; rsynced: boolean }> {
  const prev = await readState(ws);
  const paths = [...new Set([...prev.overlay, ...overlay.keys()])].sort();
  const synced = pristineId === undefined ? undefined : hashValue({ pristine, pristineId });
  const upToDate = synced !== undefined && prev.synced === synced && ((await stat(ws.src).catch(() => undefined))?.isDirectory() ?? false);
  // Record the union before touching anything (and forget `synced`): after a crash the next
  // sync still knows which paths may hold patched content, and rsyncs the whole tree again.
  await writeState(ws, { overlay: paths });
  if (!(await stat(ws.src).catch(() => undefined))) {
    // First use: hard links cost no space or copy time. Safe because nothing writes into src in
    // place: O= builds leave srctree alone, rsync and replaceFile() write new inodes via rename.
    await mkdir(ws.root, { recursive: true });
    const cp = await execa('cp', ['-al', pristine, ws.src + '.tmp'], { reject: false });
    if (cp.exitCode === 0) await rename(ws.src + '.tmp', ws.src);
    else await rm(ws.src + '.tmp', { recursive: true, force: true }); // other filesystem: rsync copies
  }
  await mkdir(ws.src, { recursive: true });
  if (!upToDate) {
    const excludes = join(ws.root, 'rsync-excludes');
    await writeFile(excludes, paths.map((p) => `/${p}`).join('\n') + '\n');
    const t0 = Date.now();
    await execa('rsync', ['-a', '--delete', '--exclude=/.git', `--exclude-from=${excludes}`, `${pristine}/`, `${ws.src}/`]);
    const ms = Date.now() - t0;
    if (ms > 5000) log(`synced source tree into ${ws.src} (${Math.round(ms / 1000)} s)`);
  }
  const changed: string[] = [];
  for (const p of paths) {
    const want = overlay.has(p) ? (overlay.get(p) ?? null) : await readOrNull(join(pristine, p));
    const dst = join(ws.src, p);
    const have = await readOrNull(dst);
    if (want === null) {
      if (have !== null) {
        await unlink(dst);
        changed.push(p);
      }
    } else if (have === null || sha(have) !== sha(want)) {
      await replaceFile(dst, want);
      changed.push(p);
    }
  }
  const done: State = { overlay: [...overlay.keys()].sort() };
  if (synced !== undefined) done.synced = synced;
  await writeState(ws, done);
  return { changed, rsynced: !upToDate };
}

export async function workspaceExists(ws: Workspace): Promise<boolean> {
  return (await stat(join(ws.obj, 'vmlinux')).catch(() => undefined))?.isFile() ?? false;
}
