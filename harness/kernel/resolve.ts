// Kernel spec -> bootable kernel on disk.
import { access, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError, type SourceLocation } from '../util/errors.ts';
import { hashFile, hashValue, shortHash } from '../util/hash.ts';
import { readBzImageInfo } from './bzimage.ts';
import { buildKernel, loadBuildSpecFile } from './build.ts';
import { fetchDebianKernel } from './debian.ts';
import { parseKernelSpec, type KernelSpec } from './spec.ts';
import type { Kernel } from './types.ts';

export const DEFAULT_KERNEL = 'debian:6.12';

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** Accept either lib/modules/<release> itself, lib/modules, or a root containing lib/modules. */
async function findModulesDir(dir: string, release: string): Promise<string | undefined> {
  for (const c of [dir, join(dir, release), join(dir, 'lib', 'modules', release)]) {
    if (await access(join(c, 'modules.dep')).then(() => true, () => false)) return c;
  }
  return undefined;
}

async function localKernel(spec: Extract<KernelSpec, { kind: 'bzimage' }>, where?: SourceLocation): Promise<Kernel> {
  const path = resolve(spec.path);
  if (!(await stat(path).catch(() => undefined))?.isFile()) throw new UserError(`kernel image not found: ${path}`, where);
  const info = await readBzImageInfo(path);
  if (!info) throw new UserError(`${path} is not an x86 bzImage (no HdrS boot header)`, where);
  let modulesDir: string | undefined;
  if (spec.modules) {
    const m = resolve(spec.modules);
    if (!(await isDir(m))) throw new UserError(`modules directory not found: ${m}`, where);
    modulesDir = await findModulesDir(m, info.release);
    if (!modulesDir) throw new UserError(`no modules.dep for ${info.release} under ${m} (run depmod -b)`, where);
  }
  const sha = await hashFile(path);
  const cfg = join(path, '..', '..', '..', '..', '.config'); // arch/x86/boot/bzImage -> tree/.config
  const config = (await stat(cfg).catch(() => undefined))?.isFile() ? cfg : undefined;
  return {
    spec: spec.raw,
    release: info.release,
    banner: info.banner,
    bzImage: path,
    modulesDir,
    config,
    identity: { source: 'file', path, sha256: sha },
    key: `file-${shortHash(sha)}${modulesDir ? '-mod-' + shortHash(hashValue([modulesDir, (await stat(join(modulesDir, 'modules.dep'))).mtimeMs])) : ''}`,
  };
}

export async function resolveKernel(raw: string, log: (s: string) => void, where?: SourceLocation): Promise<Kernel> {
  const spec = parseKernelSpec(raw, where);
  switch (spec.kind) {
    case 'debian':
      return fetchDebianKernel(spec.raw, spec.series, log);
    case 'bzimage':
      return localKernel(spec, where);
    case 'build-file':
      return (await buildKernel(await loadBuildSpecFile(spec.path, where), spec.raw, log)).kernel;
    case 'build':
      return (await buildKernel(spec.build, spec.raw, log)).kernel;
  }
}
