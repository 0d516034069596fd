// `daxlab kernel build|list|gc`: build (or fetch) a kernel from a spec, show what the cache
// holds, and drop what has not been used for a while.
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { listEntries, type ListedEntry } from '../util/cache.ts';
import { cacheRoot } from '../util/paths.ts';
import { UserError } from '../util/errors.ts';
import { stderrLogger } from '../util/log.ts';
import { buildKernel, loadBuildSpecFile } from './build.ts';
import { resolveKernel } from './resolve.ts';
import { parseKernelSpec } from './spec.ts';
import { workspaceRoot } from './workspace.ts';

const log = stderrLogger();

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)}M`;
}

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        // Workspace sources are hard links to the pristine tree: only single-link files are freed.
        const st = await stat(p).catch(() => undefined);
        if (st && st.nlink === 1) total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}

interface KernelRow {
  key: string;
  release: string;
  spec: string;
  patches: number;
  size: string;
  lastUsed: string;
  dir: string;
}

function row(e: ListedEntry): KernelRow {
  const m = (e.manifest?.meta ?? {}) as { release?: string; spec?: string; patches?: unknown[]; package?: string };
  return {
    key: e.key,
    release: m.release ?? '?',
    spec: m.spec ?? (m.package ? `debian (${m.package})` : '?'),
    patches: Array.isArray(m.patches) ? m.patches.length : 0,
    size: mib(e.bytes),
    lastUsed: e.lastUsed.toISOString().slice(0, 16).replace('T', ' '),
    dir: e.dir,
  };
}

async function removeDir(dir: string): Promise<void> {
  // Rename first so a concurrent lookup never sees a half-deleted entry as present.
  const gone = join(dir, '..', `.gc-${process.pid}-${Date.now()}`);
  await rename(dir, gone);
  await rm(gone, { recursive: true, force: true });
}

export function registerKernelCommands(program: Command): void {
  const kernel = program.command('kernel').description('build, list and garbage-collect kernels in the daxlab cache');

  kernel
    .command('build')
    .description('build a kernel from a spec (YAML file or inline source=...,config=...,patches=...); prints the bzImage path')
    .argument('<spec>', 'images/kernels/debug-6.12.yaml, source=debian-src:6.12,config=tiny+dax+lockdep, debian:6.12 ...')
    .action(async (raw: string) => {
      const spec = parseKernelSpec(raw);
      if (spec.kind === 'build' || spec.kind === 'build-file') {
        const build = spec.kind === 'build' ? spec.build : await loadBuildSpecFile(spec.path);
        const r = await buildKernel(build, spec.raw, log);
        log(`${r.hit ? 'cache hit' : 'built'}: ${r.kernel.release} in ${r.seconds.toFixed(1)} s (${r.entryDir})`);
        process.stdout.write(`${r.kernel.bzImage}\n`);
      } else {
        const k = await resolveKernel(raw, log);
        process.stdout.write(`${k.bzImage}\n`);
      }
    });

  kernel
    .command('list')
    .description('kernels in the cache (Debian packages and source builds)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const rows = (await listEntries('kernels')).sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime()).map(row);
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`no kernels in ${join(cacheRoot(), 'kernels')}\n`);
        return;
      }
      const head: KernelRow = { key: 'KEY', release: 'RELEASE', spec: 'SPEC', patches: 0, size: 'SIZE', lastUsed: 'LAST USED', dir: '' };
      const cells = (r: KernelRow, isHead = false): string[] => [r.key, r.release, isHead ? 'PATCHES' : String(r.patches), r.size, r.lastUsed, r.spec];
      const table = [cells(head, true), ...rows.map((r) => cells(r))];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((t) => (t[i] ?? '').length)));
      for (const t of table) process.stdout.write(t.map((c, i) => (i === t.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ') + '\n');
    });

  kernel
    .command('gc')
    .description('remove kernels and build workspaces not used for a while')
    .option('--older-than <days>', 'remove what was last used more than this many days ago', '30')
    .option('--workspaces', 'also remove every build workspace (next patched build is cold, ccache still helps)')
    .option('--dry-run', 'only say what would be removed')
    .action(async (opts: { olderThan: string; workspaces?: boolean; dryRun?: boolean }) => {
      const days = Number(opts.olderThan);
      if (!(days >= 0)) throw new UserError(`--older-than must be a number of days, got '${opts.olderThan}'`);
      const cutoff = Date.now() - days * 86400e3;
      let freed = 0;
      let n = 0;
      for (const e of await listEntries('kernels')) {
        if (e.lastUsed.getTime() >= cutoff) continue;
        freed += e.bytes;
        n++;
        process.stdout.write(`${opts.dryRun ? 'would remove' : 'removing'} kernel ${e.key} (${mib(e.bytes)})\n`);
        if (!opts.dryRun) await removeDir(e.dir);
      }
      for (const name of await readdir(workspaceRoot()).catch(() => [] as string[])) {
        if (name.startsWith('.')) continue;
        const dir = join(workspaceRoot(), name);
        const used = (await stat(join(dir, 'state.json')).catch(() => undefined))?.mtime.getTime() ?? 0;
        if (!opts.workspaces && used >= cutoff) continue;
        if (await stat(join(dir, 'lock')).catch(() => undefined)) {
          process.stdout.write(`skipping workspace ${name}: a build holds its lock\n`);
          continue;
        }
        const bytes = await duBytes(dir);
        freed += bytes;
        n++;
        process.stdout.write(`${opts.dryRun ? 'would remove' : 'removing'} workspace ${name} (${mib(bytes)})\n`);
        if (!opts.dryRun) await removeDir(dir);
      }
      process.stdout.write(`${opts.dryRun ? 'would free' : 'freed'} ${mib(freed)} in ${n} item(s)\n`);
    });
}
