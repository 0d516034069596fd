// Content-addressed cache entries. An entry is a directory that appears atomically (built in a
// temp dir, renamed into place) with a manifest of file sizes, so a crash mid-build never leaves
// a half entry that looks complete, and a truncated file is noticed and rebuilt.
import { mkdir, open, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cacheRoot } from './paths.ts';

const MANIFEST = '.daxlab-entry.json';

export interface EntryManifest {
  kind: string;
  key: string;
  created: string;
  files: Record<string, number>;
  meta: Record<string, unknown>;
}

export interface CacheEntry {
  dir: string;
  manifest: EntryManifest;
  hit: boolean;
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await listFiles(p, base)));
    else if (d.isFile() && d.name !== MANIFEST) out.push(relative(base, p));
  }
  return out;
}

async function readManifest(dir: string): Promise<EntryManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as EntryManifest;
  } catch {
    return undefined;
  }
}

/**
 * True when every file named by the manifest is there with its recorded size. Synchronous: a
 * Debian kernel entry names 4000+ module files, and one awaited stat() each cost a warm run
 * about 200 ms where statSync() takes a tenth of that.
 */
function intact(dir: string, m: EntryManifest): boolean {
  for (const [f, size] of Object.entries(m.files)) {
    const s = statSync(join(dir, f), { throwIfNoEntry: false });
    if (s?.size !== size) return false;
  }
  return true;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cross-process lock by exclusive create; a lock whose owner died is taken over. `onWait` is
 * called once, with the owner's pid, if the lock is held by a live process.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, onWait?: (owner: number) => void): Promise<T> {
  let told = false;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (owner && !pidAlive(owner)) await rm(lockPath, { force: true });
      else {
        if (!told) onWait?.(owner);
        told = true;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

export interface CacheOptions {
  kind: string;
  key: string;
  /** Fills `tmpDir`; returns metadata stored in the manifest. */
  build: (tmpDir: string) => Promise<Record<string, unknown>>;
  onStale?: (why: string) => void;
}

export async function cachedEntry(opts: CacheOptions): Promise<CacheEntry> {
  const kindDir = join(cacheRoot(), opts.kind);
  const dir = join(kindDir, opts.key);
  await mkdir(kindDir, { recursive: true });
  const lookup = async (): Promise<CacheEntry | undefined> => {
    const m = await readManifest(dir);
    if (m && intact(dir, m)) {
      const now = new Date();
      await utimes(join(dir, MANIFEST), now, now).catch(() => undefined); // LRU for gc
      return { dir, manifest: m, hit: true };
    }
    return undefined;
  };
  const hit = await lookup();
  if (hit) return hit;
  return withLock(dir + '.lock', async () => {
    const again = await lookup(); // another process may have built it while we waited
    if (again) return again;
    if (await stat(dir).catch(() => undefined)) {
      opts.onStale?.(`cache entry ${dir} is incomplete or corrupt; rebuilding`);
      await rm(dir, { recursive: true, force: true });
    }
    const tmp = join(kindDir, `.tmp-${opts.key}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      const meta = await opts.build(tmp);
      const files: Record<string, number> = {};
      for (const f of await listFiles(tmp)) files[f] = (await stat(join(tmp, f))).size;
      const manifest: EntryManifest = { kind: opts.kind, key: opts.key, created: new Date().toISOString(), files, meta };
      await writeFile(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2));
      await rename(tmp, dir);
      return { dir, manifest, hit: false };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  });
}

export interface ListedEntry {
  kind: string;
  key: string;
  dir: string;
  manifest: EntryManifest | undefined;
  lastUsed: Date;
  bytes: number;
}

export async function listEntries(kind: string): Promise<ListedEntry[]> {
  const kindDir = join(cacheRoot(), kind);
  const names = await readdir(kindDir).catch(() => [] as string[]);
  const out: ListedEntry[] = [];
  for (const key of names) {
    if (key.startsWith('.') || key.endsWith('.lock')) continue;
    const dir = join(kindDir, key);
    const manifest = await readManifest(dir);
    const st = await stat(join(dir, MANIFEST)).catch(() => undefined);
    const bytes = manifest ? Object.values(manifest.files).reduce((a, b) => a + b, 0) : 0;
    out.push({ kind, key, dir, manifest, lastUsed: st ? st.mtime : new Date(0), bytes });
  }
  return out;
}
