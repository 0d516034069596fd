// Kernel specs as users write them. Pure: resolution to files happens in resolve.ts.
import { resolve } from 'node:path';
import { UserError, type SourceLocation } from '../util/errors.ts';
import { isInlineBuildSpec, parseInlineBuildSpec, type BuildSpec } from './buildspec.ts';

export type KernelSpec =
  | { kind: 'debian'; series: string; raw: string }
  | { kind: 'bzimage'; path: string; modules?: string | undefined; raw: string }
  /** A kernel-spec YAML file (images/kernels/*.yaml); read and parsed at resolve time. */
  | { kind: 'build-file'; path: string; raw: string }
  /** The inline form, `source=debian-src:6.12,config=tiny+dax+lockdep,patches=PATH`. */
  | { kind: 'build'; build: BuildSpec; raw: string };

const DEBIAN_SERIES = ['6.1', '6.12'];

/**
 * `debian:6.12`, `debian:6.1`, a path to a bzImage (optionally `PATH,modules=DIR`, where DIR is
 * either `lib/modules/<release>` itself or a root that contains it), a kernel-spec YAML file
 * (`*.yaml`/`*.yml`), or an inline source build `source=...,config=...,patches=...`.
 */
export function parseKernelSpec(raw: string, where?: SourceLocation, cwd = process.cwd()): KernelSpec {
  const s = raw.trim();
  if (isInlineBuildSpec(s)) return { kind: 'build', build: parseInlineBuildSpec(s, cwd, where), raw: s };
  if (/\.ya?ml$/.test(s)) return { kind: 'build-file', path: resolve(cwd, s), raw: s };
  if (s.startsWith('debian:')) {
    const series = s.slice('debian:'.length);
    if (!DEBIAN_SERIES.includes(series)) {
      throw new UserError(`unknown Debian kernel series '${series}' (known: ${DEBIAN_SERIES.map((x) => 'debian:' + x).join(', ')})`, where);
    }
    return { kind: 'debian', series, raw: s };
  }
  if (s.includes('/') || s.endsWith('bzImage') || s.startsWith('vmlinuz')) {
    const [path, ...opts] = s.split(',');
    let modules: string | undefined;
    for (const o of opts) {
      const m = /^modules=(.+)$/.exec(o);
      if (!m) throw new UserError(`unknown kernel option '${o}' in '${s}' (expected modules=DIR)`, where);
      modules = m[1];
    }
    return { kind: 'bzimage', path: path ?? s, modules, raw: s };
  }
  throw new UserError(`unrecognised kernel spec '${s}' (expected debian:6.12, debian:6.1, a path to a bzImage, a kernel-spec .yaml file, or source=...,config=...)`, where);
}

/** Newest Debian package for a series among `apt-cache pkgnames` output. */
export function pickDebianPackage(series: string, names: string[]): string | undefined {
  const re =
    series === '6.1'
      ? /^linux-image-6\.1\.0-(\d+)-amd64-unsigned$/
      : new RegExp(`^linux-image-${series.replace('.', '\\.')}\\.(\\d+)\\+deb\\d+-amd64-unsigned$`);
  let best: { name: string; n: number } | undefined;
  for (const name of names) {
    const m = re.exec(name.trim());
    if (m && m[1] !== undefined) {
      const n = Number(m[1]);
      if (!best || n > best.n) best = { name: name.trim(), n };
    }
  }
  return best?.name;
}
