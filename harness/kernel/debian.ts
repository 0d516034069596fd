// Debian's prebuilt kernels: resolve a series to the newest linux-image-*-amd64-unsigned package,
// download it with apt, unpack it and run depmod. Cached by package name (the ABI is in the name).
import { readdir, rename, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cachedEntry } from '../util/cache.ts';
import { UserError } from '../util/errors.ts';
import { aptUpdate, ensureHostTools } from '../host/tools.ts';
import { aptKernelPackageNames } from './apt-names.ts';
import { readBzImageInfo } from './bzimage.ts';
import { pickDebianPackage } from './spec.ts';
import type { Kernel } from './types.ts';

export async function resolveDebianPackage(series: string): Promise<string> {
  let pkg = pickDebianPackage(series, await aptKernelPackageNames());
  if (!pkg) {
    await aptUpdate();
    pkg = pickDebianPackage(series, await aptKernelPackageNames());
  }
  if (!pkg) throw new UserError(`no Debian kernel package found for debian:${series} (apt-cache pkgnames linux-image- has no linux-image-${series}*-amd64-unsigned; run apt-get update)`);
  return pkg;
}

export async function fetchDebianKernel(spec: string, series: string, log: (s: string) => void): Promise<Kernel> {
  const pkg = await resolveDebianPackage(series);
  const entry = await cachedEntry({
    kind: 'kernels',
    key: pkg,
    onStale: log,
    build: async (tmp) => {
      await ensureHostTools(['dpkg-deb', 'depmod'], [], log);
      log(`downloading ${pkg}`);
      const dl = join(tmp, 'dl');
      await mkdir(dl);
      const got = await execa('apt-get', ['download', pkg], { cwd: dl, reject: false });
      if (got.exitCode !== 0) throw new UserError(`apt-get download ${pkg} failed: ${got.stderr.split('\n').find((l) => l.startsWith('E:')) ?? got.stderr.trim()}`);
      const debs = (await readdir(dl)).filter((f) => f.endsWith('.deb'));
      if (debs.length !== 1 || !debs[0]) throw new UserError(`apt-get download ${pkg} produced no .deb`);
      const deb = join(dl, debs[0]);
      const version = (await execa('dpkg-deb', ['-f', deb, 'Version'])).stdout.trim();
      log(`unpacking ${pkg} ${version}`);
      const root = join(tmp, 'root');
      await execa('dpkg-deb', ['-x', deb, root]);
      await rm(dl, { recursive: true, force: true });
      const boot = await readdir(join(root, 'boot'));
      const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
      const config = boot.find((f) => f.startsWith('config-'));
      if (!vmlinuz) throw new UserError(`${pkg} has no boot/vmlinuz-*`);
      const release = vmlinuz.slice('vmlinuz-'.length);
      await rename(join(root, 'boot', vmlinuz), join(tmp, 'bzImage'));
      if (config) await rename(join(root, 'boot', config), join(tmp, 'config'));
      const sysmap = boot.find((f) => f.startsWith('System.map-'));
      if (sysmap) await rename(join(root, 'boot', sysmap), join(tmp, 'System.map'));
      await rename(join(root, 'lib', 'modules'), join(tmp, 'modules'));
      await rm(root, { recursive: true, force: true });
      log(`depmod ${release}`);
      // depmod -b wants BASE/lib/modules/RELEASE; give it a symlink-free view by moving back after.
      const base = join(tmp, 'depmod-base');
      await mkdir(join(base, 'lib'), { recursive: true });
      await rename(join(tmp, 'modules'), join(base, 'lib', 'modules'));
      await execa('depmod', ['-b', base, release]);
      await rename(join(base, 'lib', 'modules'), join(tmp, 'modules'));
      await rm(base, { recursive: true, force: true });
      return { package: pkg, version, release };
    },
  });
  const meta = entry.manifest.meta as { package: string; version: string; release: string };
  const bz = join(entry.dir, 'bzImage');
  const info = await readBzImageInfo(bz);
  return {
    spec,
    release: meta.release,
    banner: info?.banner ?? meta.release,
    bzImage: bz,
    modulesDir: join(entry.dir, 'modules', meta.release),
    config: join(entry.dir, 'config'),
    identity: { source: 'debian', package: meta.package, version: meta.version },
    key: `${meta.package}=${meta.version}`,
  };
}

