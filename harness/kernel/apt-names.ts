// The names of the linux-image-* packages apt knows, cached. `apt-cache pkgnames` parses every
// package list when apt keeps no binary cache (Debian's container images turn pkgcache.bin off):
// about a second of every warm run spent on a question whose answer only changes with
// `apt-get update`. The answer is kept with a fingerprint of the package lists (names, sizes,
// mtimes of /var/lib/apt/lists and the sources) and reused while the fingerprint holds.
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { writeFileAtomicSync } from '../util/atomic.ts';
import { cacheRoot } from '../util/paths.ts';

const PREFIX = 'linux-image-';
const LISTS = '/var/lib/apt/lists';
const SOURCES = ['/etc/apt/sources.list', '/etc/apt/sources.list.d'];

interface Cached {
  fingerprint: string;
  names: string[];
}

/** What apt's package lists look like now; undefined when there are none to go by. */
function listsFingerprint(): string | undefined {
  try {
    const parts: string[] = [];
    for (const f of readdirSync(LISTS).sort()) {
      const s = statSync(join(LISTS, f));
      if (s.isFile()) parts.push(`${f}:${s.size}:${s.mtimeMs}`);
    }
    for (const p of SOURCES) {
      try {
        const s = statSync(p);
        parts.push(`${p}:${s.size}:${s.mtimeMs}`);
      } catch {
        parts.push(`${p}:-`);
      }
    }
    return parts.length > SOURCES.length ? parts.join('\n') : undefined;
  } catch {
    return undefined;
  }
}

function cacheFile(): string {
  return join(cacheRoot(), 'apt-linux-image-names.json');
}

/** linux-image-* package names apt can install (the lists as of the last apt-get update). */
export async function aptKernelPackageNames(): Promise<string[]> {
  const fp = listsFingerprint();
  if (fp !== undefined) {
    try {
      const c = JSON.parse(await readFile(cacheFile(), 'utf8')) as Cached;
      if (c.fingerprint === fp && Array.isArray(c.names)) return c.names;
    } catch {
      // No cache yet, or one from another format: ask apt.
    }
  }
  const { stdout, exitCode } = await execa('apt-cache', ['pkgnames', PREFIX], { reject: false });
  const names = stdout.split('\n').filter((n) => n.startsWith(PREFIX));
  if (fp !== undefined && exitCode === 0) {
    writeFileAtomicSync(cacheFile(), JSON.stringify({ fingerprint: fp, names } satisfies Cached));
  }
  return names;
}
