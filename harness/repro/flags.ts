// How a reproducer is compiled, by where it comes from, and what a missing library means. Pure.
// Catalog entries are ours: warnings are errors. A reproducer someone brings (an fstests program,
// a syzkaller C reproducer, an LTP-style test) was written for another build system: it gets the
// feature macros and threads those assume, its warnings are shown but never stop the run, and its
// scenario may add flags and libraries.

/** Catalog entries (scenarios/<id>/): strict. */
export const CATALOG_CFLAGS = ['-static', '-O2', '-Wall', '-Werror', '-pthread'];
/**
 * Brought reproducers. `_GNU_SOURCE` defined empty, as `#define _GNU_SOURCE` does (syzkaller,
 * LTP, fstests write it that way): the same definition again is no redefinition warning.
 */
export const OWN_CFLAGS = ['-static', '-O2', '-Wall', '-D_GNU_SOURCE=', '-pthread'];

export interface CompileSettings {
  /** A catalog entry: -Werror, no extra flags. */
  catalog: boolean;
  /** Scenario `cflags:`, after daxlab's own so they can override (-O0, -Wno-...). */
  cflags: readonly string[];
  /** Scenario `libs:` (-lNAME), after the source as the linker wants them. */
  libs: readonly string[];
}

/** gcc's argv around `-o OUT SOURCE`: flags before (`extra`: how diagnostics look), libraries after. */
export function compileArgs(s: CompileSettings, include: string, out: string, source: string, extra: readonly string[] = []): string[] {
  return [...(s.catalog ? CATALOG_CFLAGS : OWN_CFLAGS), ...extra, ...s.cflags, '-I', include, '-o', out, source, ...s.libs];
}

/** Static libraries reproducers link most, by `-l` name -> the Debian package with the `.a`. */
export const LIBRARY_PACKAGES: Record<string, string> = {
  aio: 'libaio-dev',
  uring: 'liburing-dev',
  numa: 'libnuma-dev',
  cap: 'libcap-dev',
  keyutils: 'libkeyutils-dev',
  attr: 'libattr1-dev',
  acl: 'libacl1-dev',
  z: 'zlib1g-dev',
  ssl: 'libssl-dev',
  crypto: 'libssl-dev',
  mnl: 'libmnl-dev',
  'nl-3': 'libnl-3-dev',
  'nl-genl-3': 'libnl-genl-3-dev',
  selinux: 'libselinux1-dev',
  seccomp: 'libseccomp-dev',
  elf: 'libelf-dev',
  uuid: 'uuid-dev',
  blkid: 'libblkid-dev',
  urcu: 'liburcu-dev',
  handle: 'xfslibs-dev',
};

/** `-laio` -> `aio`; undefined for anything that is not one `-lNAME` word. */
export function libraryName(flag: string): string | undefined {
  return /^-l([A-Za-z0-9_+.-]+)$/.exec(flag)?.[1];
}

/** Where Debian's multiarch `.a` of a library lives (what ensureHostTools checks for). */
export const staticLibraryPath = (name: string): string => `/usr/lib/x86_64-linux-gnu/lib${name}.a`;

/** ld's `cannot find -lNAME` lines -> the library names, in order. */
export function missingLibraries(stderr: string): string[] {
  const out: string[] = [];
  for (const m of stderr.matchAll(/\bld: cannot find -l([A-Za-z0-9_+.-]+)/g)) if (m[1] && !out.includes(m[1])) out.push(m[1]);
  return out;
}

/** The one line for a library gcc could not link statically: what to install, or how to find out. */
export function missingLibraryMessage(name: string): string {
  const pkg = LIBRARY_PACKAGES[name];
  const what = `static library -l${name} not found (lib${name}.a; reproducers are linked with -static)`;
  return pkg ? `${what}: install it with apt-get install ${pkg}` : `${what}: install the Debian -dev package that has lib${name}.a (apt-file search lib${name}.a names it)`;
}
