// Pristine kernel source trees. Debian's linux-source tarballs and git commits are extracted once
// into the daxlab cache (temp dir + rename, so a crash never leaves a half tree that looks
// complete); a local tree is used where it is and only ever read.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../util/errors.ts';
import { hashValue, shortHash } from '../util/hash.ts';
import { cacheRoot } from '../util/paths.ts';
import { ensureHostTools } from '../host/tools.ts';
import type { SourceSpec } from './buildspec.ts';

export interface PreparedSource {
  /** Top of a kernel tree (Makefile, Kconfig, arch/...). */
  dir: string;
  /** What makes this tree this tree; goes into the artifact cache key. */
  identity: Record<string, string>;
  /** Short name for people: `debian-src-6.12.117`, `git-abc123`, `tree-name`. */
  label: string;
  /**
   * Names the persistent build workspace. Stable across edits of a local tree and across refs
   * of one git repository, so moving to a new commit builds incrementally.
   */
  workspaceKey: string;
}

export function debianSourceTarball(series: string): string {
  return `/usr/src/linux-source-${series}.tar.xz`;
}

async function extractOnce(name: string, fill: (tmp: string) => Promise<void>, log: (s: string) => void): Promise<string> {
  const root = join(cacheRoot(), 'kernel-src');
  const dir = join(root, name);
  if ((await stat(join(dir, 'Makefile')).catch(() => undefined))?.isFile()) return dir;
  await mkdir(root, { recursive: true });
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    log(`extracting kernel source ${name}`);
    await fill(tmp);
    if (!(await stat(join(tmp, 'Makefile')).catch(() => undefined))?.isFile()) throw new UserError(`${name}: extracted tree has no top-level Makefile`);
    try {
      await rename(tmp, dir);
    } catch (e) {
      // Another process finished the same extraction first: theirs is as good as ours.
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
    return dir;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function debianSource(series: string, log: (s: string) => void): Promise<PreparedSource> {
  const tarball = debianSourceTarball(series);
  await ensureHostTools(['tar', 'xz'], [tarball], log);
  const q = await execa('dpkg-query', ['-W', '-f', '${Version}', `linux-source-${series}`], { reject: false });
  const st = await stat(tarball);
  const version = q.exitCode === 0 && q.stdout.trim() ? q.stdout.trim() : `size${st.size}-mtime${Math.floor(st.mtimeMs)}`;
  const upstream = version.split('-')[0] ?? version;
  const name = `debian-src-${series}-${version.replace(/[^A-Za-z0-9.+_-]/g, '_')}`;
  const dir = await extractOnce(name, async (tmp) => {
    await execa('tar', ['-xf', tarball, '-C', tmp, '--strip-components=1']);
  }, log);
  return {
    dir,
    identity: { source: 'debian-src', package: `linux-source-${series}`, version },
    label: `debian-src-${upstream}`,
    workspaceKey: `debian-src-${series}`,
  };
}

async function gitSource(repo: string, ref: string, log: (s: string) => void): Promise<PreparedSource> {
  await ensureHostTools(['git', 'tar'], [], log);
  const r = await execa('git', ['-C', repo, 'rev-parse', '--verify', `${ref}^{commit}`], { reject: false });
  if (r.exitCode !== 0) throw new UserError(`git ref '${ref}' not found in ${repo}: ${r.stderr.split('\n')[0]}`);
  const commit = r.stdout.trim();
  const dir = await extractOnce(`git-${commit}`, async (tmp) => {
    await execa('git', ['-C', repo, 'archive', '--format=tar', commit]).pipe('tar', ['-x', '-C', tmp]);
  }, log);
  return {
    dir,
    identity: { source: 'git', repo, ref, commit },
    label: `git-${commit.slice(0, 12)}`,
    workspaceKey: `git-${shortHash(hashValue(repo))}`,
  };
}

/** Identity of a local tree: its git state when it is a work tree, else names+sizes+mtimes. */
async function treeFingerprint(path: string): Promise<Record<string, string>> {
  const head = await execa('git', ['-C', path, 'rev-parse', '--show-toplevel', 'HEAD'], { reject: false });
  const [top, commit] = head.stdout.split('\n');
  if (head.exitCode === 0 && top === path && commit) {
    const status = await execa('git', ['-C', path, 'status', '--porcelain', '--untracked-files=all'], { reject: false });
    const diff = await execa('git', ['-C', path, 'diff', 'HEAD'], { reject: false });
    return { source: 'tree', path, commit, dirty: hashValue([status.stdout, diff.stdout]) };
  }
  const parts: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p, `${rel}${e.name}/`);
      else if (e.isFile()) {
        const s = await stat(p);
        parts.push(`${rel}${e.name}:${s.size}:${Math.floor(s.mtimeMs)}`);
      }
    }
  };
  await walk(path, '');
  return { source: 'tree', path, files: hashValue(parts.sort()) };
}

async function localTree(path: string): Promise<PreparedSource> {
  for (const f of ['Makefile', 'Kconfig', 'arch/x86']) {
    if (!(await stat(join(path, f)).catch(() => undefined))) throw new UserError(`${path} is not a kernel tree (no ${f})`);
  }
  // An in-tree build makes O= builds refuse to start; say so before copying 1 GB.
  if (await stat(join(path, '.config')).catch(() => undefined)) {
    throw new UserError(`kernel tree ${path} has been configured in place (.config exists); run 'make mrproper' there, daxlab builds out of tree`);
  }
  const name = path.split('/').filter(Boolean).pop() ?? 'tree';
  return {
    dir: path,
    identity: await treeFingerprint(path),
    label: `tree-${name}`,
    workspaceKey: `tree-${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${shortHash(hashValue(path))}`,
  };
}

export async function prepareSource(spec: SourceSpec, log: (s: string) => void): Promise<PreparedSource> {
  switch (spec.kind) {
    case 'debian-src':
      return debianSource(spec.series, log);
    case 'git':
      return gitSource(spec.repo, spec.ref, log);
    case 'tree':
      return localTree(spec.path);
  }
}
