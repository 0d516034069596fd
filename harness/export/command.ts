// `daxlab export RUN --junit FILE --kcidb FILE`: a finished run in the formats CI systems and
// KernelCI read. Every target is checked before anything is written, the KCIDB report is checked
// against its schema, and each file appears whole or not at all (temp file + rename). `daxlab
// nightly` writes the same files through exportRun.
import { access, constants, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadRunSummary } from '../report/command.ts';
import { findRunDir } from '../results/store.ts';
import type { RunSummary } from '../results/types.ts';
import { UserError } from '../util/errors.ts';
import { displayPath } from '../util/paths.ts';
import { buildKcidb, DEFAULT_ORIGIN, KCIDB_VERSION, ORIGIN_RE } from './kcidb.ts';

export interface ExportTargets {
  junit?: string | undefined;
  kcidb?: string | undefined;
  /** KCIDB origin (id prefix); default `daxlab`. */
  origin?: string | undefined;
}

/** What was written, one line each for the terminal. */
export interface ExportResult {
  lines: string[];
}

/** Bad targets are bad input: refused before the run is even read. */
export async function checkExportTargets(t: ExportTargets): Promise<void> {
  if (!t.junit && !t.kcidb) throw new UserError('export: nothing to write: give --junit FILE, --kcidb FILE, or both');
  if (t.origin !== undefined && !ORIGIN_RE.test(t.origin)) {
    throw new UserError(`--origin '${t.origin}': a KCIDB origin is lower-case letters, digits and _ only (e.g. ${DEFAULT_ORIGIN})`);
  }
  if (t.junit && t.kcidb && resolve(t.junit) === resolve(t.kcidb)) throw new UserError(`--junit and --kcidb are the same file (${t.junit})`);
  for (const [flag, file] of [['--junit', t.junit], ['--kcidb', t.kcidb]] as const) if (file) await checkTarget(flag, file);
}

/** The file may be replaced, and its directory made: the nearest existing ancestor must be a writable directory. */
async function checkTarget(flag: string, file: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) throw new UserError(`${flag} ${file}: is a directory`);
  for (let p = dirname(resolve(file)); ; p = dirname(p)) {
    const pst = await stat(p).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : e));
    if (pst instanceof Error) throw new UserError(`${flag} ${file}: ${p}: ${pst.message}`);
    if (pst) {
      if (!pst.isDirectory()) throw new UserError(`${flag} ${file}: ${p} is not a directory`);
      await access(p, constants.W_OK).catch(() => {
        throw new UserError(`${flag} ${file}: ${p} is not writable`);
      });
      return;
    }
    if (p === dirname(p)) return;
  }
}

/**
 * Full sha256 of each patch per kernel name, from the kernel's cache entry (its patches.json,
 * beside the bzImage a boot of the run used) while it is still there; kcidb.ts checks them
 * against the short hashes in the kernel's identity before trusting them.
 */
export async function kernelPatchHashes(summary: RunSummary): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const k of summary.kernels) {
    if (!k.identity['patches']) continue;
    for (const b of summary.boots.filter((x) => x.kernel === k.name)) {
      const at = b.argv.indexOf('-kernel');
      const bz = at >= 0 ? b.argv[at + 1] : undefined;
      if (!bz) continue;
      const text = await readFile(join(dirname(bz), 'patches.json'), 'utf8').catch(() => undefined);
      let list: unknown;
      try {
        list = text === undefined ? undefined : JSON.parse(text);
      } catch {
        list = undefined;
      }
      if (Array.isArray(list) && list.every((p: unknown) => typeof (p as { sha256?: unknown } | null)?.sha256 === 'string')) {
        out.set(k.name, (list as { sha256: string }[]).map((p) => p.sha256));
        break;
      }
    }
  }
  return out;
}

/** Render, check and write the requested files; targets are checked first (checkExportTargets). */
export async function exportRun(summary: RunSummary, t: ExportTargets): Promise<ExportResult> {
  await checkExportTargets(t);
  const files: { file: string; text: string; line: string }[] = [];
  if (t.junit) {
    // xmlbuilder2 and ajv are loaded by the commands that write these files only: not at every start.
    const { renderJunit } = await import('./junit.ts');
    const j = renderJunit(summary);
    files.push({ file: t.junit, text: j.xml, line: `junit: ${displayPath(t.junit)} (${j.tests} testcases: ${j.failures} failures, ${j.errors} errors, ${j.skipped} skipped)` });
  }
  if (t.kcidb) {
    const origin = t.origin ?? DEFAULT_ORIGIN;
    const report = buildKcidb(summary, { origin, patchHashes: await kernelPatchHashes(summary) });
    const { kcidbSchemaError } = await import('./kcidb-schema.ts');
    const err = kcidbSchemaError(report);
    // daxlab made every field: a mismatch is a bug here, not the user's input.
    if (err) throw new Error(`KCIDB export of ${summary.runId} does not match its schema (harness/export/kcidb-schema.ts): ${err}`);
    files.push({
      file: t.kcidb,
      text: JSON.stringify(report, null, 1) + '\n',
      line: `kcidb: ${displayPath(t.kcidb)} (KCIDB v${KCIDB_VERSION.major}.${KCIDB_VERSION.minor}, origin ${origin}: ${report.tests.length} tests, ${report.issues.length} issues, ${report.incidents.length} incidents)`,
    });
  }
  await writeAll(files);
  return { lines: files.map((f) => f.line) };
}

/** All files or none: every temp file is written before the first rename. */
async function writeAll(files: { file: string; text: string }[]): Promise<void> {
  const tmps: string[] = [];
  let current = '';
  try {
    for (const f of files) {
      current = f.file;
      await mkdir(dirname(resolve(f.file)), { recursive: true });
      const tmp = `${f.file}.tmp-${process.pid}`;
      tmps.push(tmp);
      await writeFile(tmp, f.text);
    }
    for (const [i, f] of files.entries()) {
      current = f.file;
      await rename(tmps[i] as string, f.file);
    }
  } catch (e) {
    await Promise.all(tmps.map((p) => unlink(p).catch(() => undefined)));
    // Node names the temp file ("EACCES: permission denied, open 'F.tmp-123'"): the user gave F.
    throw new UserError(`export: writing ${current}: ${(e as Error).message.split('\n')[0]?.replace(/, \w+ '[^']*'$/, '')}`);
  }
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description("write a run's results as JUnit XML (one testcase per step) and/or a KernelCI KCIDB v5 report")
    .argument('<run>', 'run id, results directory, or latest')
    .option('--junit <file>', 'JUnit XML: a testsuite per scenario, findings as failures, metrics as properties')
    .option('--kcidb <file>', 'KCIDB v5 JSON: checkouts, builds, tests with numeric output, issues/incidents for findings')
    .option('--origin <name>', `KCIDB origin: the CI system's name, prefix of every id (default ${DEFAULT_ORIGIN})`)
    .action(async (ref: string, opts: { junit?: string; kcidb?: string; origin?: string }) => {
      const targets: ExportTargets = { junit: opts.junit, kcidb: opts.kcidb, origin: opts.origin };
      await checkExportTargets(targets);
      const summary = await loadRunSummary(await findRunDir(ref));
      const r = await exportRun(summary, targets);
      for (const l of r.lines) process.stdout.write(`${l}\n`);
    });
}
