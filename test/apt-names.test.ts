// The cached apt-cache answer: reused while the package lists are unchanged, asked again when the
// cached fingerprint does not match (an apt-get update since). Real apt on this Debian machine.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptKernelPackageNames } from '../harness/kernel/apt-names.ts';

test.serial('apt kernel package names are cached by the lists fingerprint', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-apt-names-'));
  const old = process.env['DAXLAB_CACHE'];
  process.env['DAXLAB_CACHE'] = dir;
  try {
    const names = await aptKernelPackageNames();
    t.true(names.some((n) => /^linux-image-6\.12.*-amd64-unsigned$/.test(n)), 'apt knows a Debian 6.12 kernel');
    const file = join(dir, 'apt-linux-image-names.json');
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint: string; names: string[] };
    t.deepEqual(cached.names, names);
    // A planted answer under the current fingerprint is what the next call returns: no apt-cache.
    writeFileSync(file, JSON.stringify({ fingerprint: cached.fingerprint, names: ['linux-image-planted'] }));
    t.deepEqual(await aptKernelPackageNames(), ['linux-image-planted']);
    // Under another fingerprint (the lists changed) apt is asked again.
    writeFileSync(file, JSON.stringify({ fingerprint: 'stale', names: ['linux-image-planted'] }));
    t.deepEqual(await aptKernelPackageNames(), names);
  } finally {
    if (old === undefined) delete process.env['DAXLAB_CACHE'];
    else process.env['DAXLAB_CACHE'] = old;
    rmSync(dir, { recursive: true, force: true });
  }
});
