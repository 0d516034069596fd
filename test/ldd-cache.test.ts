// ldd's answer for a guest tool is reused while the binary and the libraries it named are
// unchanged, and asked again when one of them changed. Real ldd on a real host binary.
import test from 'ava';
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedSharedLibraries, sharedLibraries } from '../harness/image/ldd.ts';

test.serial('ldd results are cached per binary and invalidated by a changed library', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-ldd-'));
  const old = process.env['DAXLAB_CACHE'];
  process.env['DAXLAB_CACHE'] = dir;
  try {
    const bin = realpathSync('/usr/bin/ls');
    const real = await sharedLibraries(bin);
    t.true(real.some((l) => l.includes('libc.so')));
    t.deepEqual(await cachedSharedLibraries(bin), real);
    const file = join(dir, 'ldd.json');
    const cache = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { fp: string; libs: { path: string; fp: string }[] }>;
    const entry = cache[bin];
    if (!entry) return t.fail('no cache entry written');
    // A planted library whose fingerprint holds is believed: ldd was not asked.
    const lib = join(dir, 'libplanted.so');
    writeFileSync(lib, 'x');
    const s = statSync(lib);
    writeFileSync(file, JSON.stringify({ [bin]: { fp: entry.fp, libs: [{ path: lib, fp: `${s.size}:${s.mtimeMs}` }] } }));
    t.deepEqual(await cachedSharedLibraries(bin), [lib]);
    // The library changed since: ldd is asked again.
    writeFileSync(lib, 'changed');
    t.deepEqual(await cachedSharedLibraries(bin), real);
  } finally {
    if (old === undefined) delete process.env['DAXLAB_CACHE'];
    else process.env['DAXLAB_CACHE'] = old;
    rmSync(dir, { recursive: true, force: true });
  }
});
