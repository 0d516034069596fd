// Host binaries copied into the guest need their shared libraries at the same paths.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { writeFileAtomicSync } from '../util/atomic.ts';
import { cacheRoot } from '../util/paths.ts';

/** Absolute library paths from ldd output (the vDSO has no file and is skipped). */
export function parseLdd(text: string): string[] {
  const libs = new Set<string>();
  for (const line of text.split('\n')) {
    const arrow = /=>\s+(\/\S+)\s+\(0x/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(0x/.exec(line);
    const p = arrow?.[1] ?? bare?.[1];
    if (p) libs.add(p);
  }
  return [...libs].sort();
}

export async function sharedLibraries(binary: string): Promise<string[]> {
  const r = await execa('ldd', [binary], { reject: false });
  if (/not a dynamic executable/.test(r.stdout + r.stderr)) return [];
  return parseLdd(r.stdout);
}

// ldd runs the dynamic loader once per binary: ~20 ms each, about 100 ms of every warm run's
// image check for the guest tools. Its answer is kept per binary and reused while the binary and
// every library it named are unchanged (path, size, mtime); a changed library asks ldd again,
// since an upgraded library can bring new dependencies of its own.
interface LddEntry {
  fp: string;
  libs: { path: string; fp: string }[];
}

function fileFingerprint(p: string): string | undefined {
  const s = statSync(p, { throwIfNoEntry: false });
  return s ? `${s.size}:${s.mtimeMs}` : undefined;
}

function lddCacheFile(): string {
  return join(cacheRoot(), 'ldd.json');
}

function readLddCache(): Record<string, LddEntry> {
  try {
    return JSON.parse(readFileSync(lddCacheFile(), 'utf8')) as Record<string, LddEntry>;
  } catch {
    return {};
  }
}

/** sharedLibraries(), answered from the cache while nothing it depends on changed. */
export async function cachedSharedLibraries(binary: string): Promise<string[]> {
  const cache = readLddCache();
  const hit = cache[binary];
  if (hit && hit.fp === fileFingerprint(binary) && hit.libs.every((l) => l.fp === fileFingerprint(l.path))) return hit.libs.map((l) => l.path);
  const libs = await sharedLibraries(binary);
  const fp = fileFingerprint(binary);
  const fps = libs.map((path) => ({ path, fp: fileFingerprint(path) }));
  if (fp !== undefined && fps.every((l) => l.fp !== undefined)) {
    writeFileAtomicSync(lddCacheFile(), JSON.stringify({ ...readLddCache(), [binary]: { fp, libs: fps as LddEntry['libs'] } }));
  }
  return libs;
}
