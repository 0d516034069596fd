// `daxlab kernel build|list|gc`: build (or fetch) a kernel from a spec, show what the cache
// holds, and drop what has not been used for a while.
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { listEntries } from '../util/cache.ts';
import { cacheRoot } from '../util/paths.ts';
import { UserError } from '../util/errors.ts';
import { stderrLogger } from '../util/log.ts';
import { buildKernel, configSummary, loadBuildSpecFile, prepareSpecSource, RECIPE, specFileRequest } from './build.ts';
import { formatKernelTable, kernelRow, mib, specState, type KernelMeta, type KernelRow, type SpecCheck } from './list.ts';
import { resolveKernel } from './resolve.ts';
import { parseSource, type BuildSpec } from './buildspec.ts';
import { parseKernelSpec } from './spec.ts';
import { workspaceRoot } from './workspace.ts';

const log = stderrLogger();

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

/** Entries as list rows: each spec file they came from is loaded once, to tell stale from current. */
async function kernelRows(): Promise<KernelRow[]> {
  const entries = (await listEntries('kernels')).sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
  const checks = new Map<string, SpecCheck>();
  const rows: KernelRow[] = [];
  for (const e of entries) {
    const meta = (e.manifest?.meta ?? {}) as KernelMeta;
    const file = meta.specFile;
    if (file && meta.recipe === RECIPE && !checks.has(file)) {
      const exists = Boolean(await stat(file).catch(() => undefined));
      checks.set(file, !exists ? { exists } : await specFileRequest(file).then((request) => ({ exists, request }), (err: unknown) => {
        if (err instanceof UserError) return { exists, error: err.oneLine() };
        throw err;
      }));
    }
    const state = specState(meta, RECIPE, file ? checks.get(file) : undefined);
    const config = configSummary(meta.base ?? '?', meta.fragments ?? [], meta.options ?? []);
    rows.push(kernelRow({ key: e.key, dir: e.dir, bytes: e.bytes, lastUsed: e.lastUsed, meta }, state, config));
  }
  return rows;
}

/** A spec as `kernel source` takes it: a build spec, or a bare source such as debian-src:6.12. */
async function buildSpecOf(raw: string): Promise<BuildSpec> {
  // A bare source (or a misspelt one: parseSource says which it is closest to).
  if (/^[A-Za-z-]+:/.test(raw) && !raw.startsWith('debian:')) return { source: parseSource(raw, process.cwd()), config: { base: 'tinyconfig', fragments: [], options: [] }, patches: [], origin: 'inline' };
  const spec = parseKernelSpec(raw);
  if (spec.kind === 'build-file') return loadBuildSpecFile(spec.path);
  if (spec.kind === 'build') return spec.build;
  throw new UserError(`${raw} is a prebuilt kernel with no source tree; source builds start from a source such as debian-src:6.12 (images/kernels/debug-6.12.yaml)`);
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
    .command('source')
    .description('print the path of the pristine (unpatched) source tree a spec builds from, to write patches against')
    .argument('<spec>', 'a kernel spec (images/kernels/debug-6.12.yaml, source=...) or a source: debian-src:6.12, git:REPO@REF, tree:PATH')
    .action(async (raw: string) => {
      const build = await buildSpecOf(raw);
      const src = await prepareSpecSource(build, log);
      if (build.patches.length > 0) log(`note: ${raw} applies ${build.patches.length} patch entr${build.patches.length === 1 ? 'y' : 'ies'} on top of this tree; a patch listed after them applies on top of theirs`);
      // Build workspaces hard-link these files: an edit in place would reach every workspace.
      log('do not edit files there (build workspaces hard-link them): copy a file out first, see "Writing a patch" in images/kernels/README.md');
      process.stdout.write(`${src.dir}\n`);
    });

  kernel
    .command('list')
    .description('kernels in the cache (Debian packages and source builds)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const rows = await kernelRows();
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`no kernels in ${join(cacheRoot(), 'kernels')}\n`);
        return;
      }
      process.stdout.write(formatKernelTable(rows, process.stdout.isTTY ? process.stdout.columns : undefined) + '\n');
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
