// Host tools the harness needs, and the Debian packages that provide them. Missing ones are
// installed with apt when running as root; otherwise one line names the command to run.
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../util/errors.ts';

export const TOOL_PACKAGES: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  ndctl: 'ndctl',
  'mkfs.ext4': 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs',
  xfs_io: 'xfsprogs',
  gcc: 'gcc',
  depmod: 'kmod',
  'dpkg-deb': 'dpkg',
  xz: 'xz-utils',
  zstd: 'zstd',
  ldd: 'libc-bin',
  // Kernel builds from source (harness/kernel/build.ts).
  make: 'make',
  ld: 'binutils',
  // Stack frames to file:line (harness/console/symbolizer.ts).
  nm: 'binutils',
  addr2line: 'binutils',
  readelf: 'binutils',
  ccache: 'ccache',
  flex: 'flex',
  bison: 'bison',
  bc: 'bc',
  perl: 'perl',
  rsync: 'rsync',
  patch: 'patch',
  git: 'git',
  tar: 'tar',
  openssl: 'openssl',
  cpio: 'cpio',
};

/** The static C library is a package without a binary; gcc -static needs it. */
export const FILE_PACKAGES: Record<string, string> = {
  '/usr/lib/x86_64-linux-gnu/libc.a': 'libc6-dev',
  '/usr/share/qemu/qboot.rom': 'qemu-system-data',
  // Headers kbuild's host tools (objtool, sign-file) compile against.
  '/usr/include/libelf.h': 'libelf-dev',
  '/usr/include/openssl/ssl.h': 'libssl-dev',
  // Kernel source tarballs for debian-src:SERIES specs.
  '/usr/src/linux-source-6.12.tar.xz': 'linux-source-6.12',
  '/usr/src/linux-source-6.1.tar.xz': 'linux-source-6.1',
};

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export async function which(tool: string): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...SEARCH_PATH].filter(Boolean);
  for (const d of dirs) {
    const p = join(d, tool);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

let aptUpdated = false;

/**
 * Make sure tools (and files) exist; installs their packages as root, else throws one line.
 * `filePackages` names the packages of files FILE_PACKAGES does not know (a reproducer's libraries).
 */
export async function ensureHostTools(tools: string[], files: string[] = [], log: (s: string) => void = () => {}, filePackages: Record<string, string> = {}): Promise<void> {
  const missing = new Set<string>();
  for (const t of tools) if (!(await which(t))) missing.add(TOOL_PACKAGES[t] ?? t);
  for (const f of files) if (!(await exists(f))) missing.add(filePackages[f] ?? FILE_PACKAGES[f] ?? f);
  if (missing.size === 0) return;
  const pkgs = [...missing].sort();
  const cmd = `apt-get install -y ${pkgs.join(' ')}`;
  if (process.getuid?.() !== 0) throw new UserError(`missing host packages; run as root: ${cmd}`);
  log(`installing host packages: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    if (!aptUpdated) {
      await execa('apt-get', ['update', '-qq'], { env });
      aptUpdated = true;
    }
    await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env });
  } catch (e) {
    throw new UserError(`could not install host packages (${cmd}): ${(e as Error).message.split('\n')[0]}`);
  }
}

export async function aptUpdate(): Promise<void> {
  if (aptUpdated || process.getuid?.() !== 0) return;
  await execa('apt-get', ['update', '-qq'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  aptUpdated = true;
}
