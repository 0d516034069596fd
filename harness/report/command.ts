// `daxlab report RUN`: rebuild a run's views from its event log (summary.json, report.html with
// the tails of the console logs). The same writer runs at the end of `daxlab run`. A directory
// with only a summary.json (a copied view) gets its report.html from that.
import { existsSync } from 'node:fs';
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { AB_SCHEMA, type AbReport } from '../ab/types.ts';
import { RunRecorder } from '../engine/recorder.ts';
import { EVENTS_FILE } from '../results/event-log.ts';
import { findRunDir } from '../results/store.ts';
import { SUMMARY_SCHEMA, type RunSummary } from '../results/types.ts';
import { UserError } from '../util/errors.ts';
import { renderRunHtml, type ConsoleExcerpt } from './html.ts';

/** Bytes read from the end of each console log: a guest can write gigabytes, the page stays small. */
export const CONSOLE_TAIL_BYTES = 48 * 1024;

/** The last `maxBytes` of a file, starting at a line boundary; undefined when it cannot be read. */
export async function readTail(path: string, maxBytes = CONSOLE_TAIL_BYTES): Promise<{ text: string; skippedBytes: number } | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    let text = buf.subarray(0, bytesRead).toString('utf8');
    let skipped = start;
    if (start > 0) {
      const nl = text.indexOf('\n');
      // Drop the partial first line (which may also start mid-character).
      if (nl >= 0 && nl < text.length - 1) {
        skipped += Buffer.byteLength(text.slice(0, nl + 1));
        text = text.slice(nl + 1);
      }
    }
    return { text, skippedBytes: skipped };
  } finally {
    await fh.close();
  }
}

export async function consoleExcerpts(dir: string, summary: RunSummary): Promise<ConsoleExcerpt[]> {
  const out: ConsoleExcerpt[] = [];
  for (const b of summary.boots) {
    // The name comes from summary.json, which is a file on disk: never let it leave the run dir.
    const file = basename(b.consoleLog);
    const tail = await readTail(join(dir, file));
    if (tail) out.push({ boot: b.index, file, ...tail });
  }
  return out;
}

/**
 * `<dir>/ab.json` when the run is an A/B comparison. Another schema version is left out (the
 * rest of the page still stands); a file that is not JSON is an error, as for summary.json.
 */
export async function readAbReport(dir: string): Promise<AbReport | undefined> {
  const file = join(dir, 'ab.json');
  if (!existsSync(file)) return undefined;
  let r: Partial<AbReport> | null;
  try {
    r = JSON.parse(await readFile(file, 'utf8')) as Partial<AbReport> | null;
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  return r?.schema === AB_SCHEMA ? (r as AbReport) : undefined;
}

/** The night's history page beside report.html (written by nightly and merge --db). */
export const HISTORY_PAGE = 'history.html';

/** Write `file` whole or not at all: a reader never sees half a page. */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Render and write `<dir>/report.html` atomically, linking history.html when it is there; returns its path. */
export async function writeRunReport(dir: string, summary: RunSummary): Promise<string> {
  const historyHref = existsSync(join(dir, HISTORY_PAGE)) ? HISTORY_PAGE : undefined;
  const html = renderRunHtml(summary, await consoleExcerpts(dir, summary), { ab: await readAbReport(dir), historyHref });
  const file = join(dir, 'report.html');
  await writeFileAtomic(file, html);
  return file;
}

async function readSummaryView(file: string): Promise<RunSummary> {
  let s: Partial<RunSummary>;
  try {
    s = JSON.parse(await readFile(file, 'utf8')) as Partial<RunSummary>;
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (s.schema !== SUMMARY_SCHEMA) throw new UserError(`${file}: summary schema ${String(s.schema)} is not ${SUMMARY_SCHEMA}`);
  if (![s.steps, s.boots, s.kernels, s.findings, s.pending, s.scenarios].every(Array.isArray) || !s.host || !s.guest || !s.phases) {
    throw new UserError(`${file}: not a daxlab run summary (fields missing)`);
  }
  return s as RunSummary;
}

/**
 * A run directory's summary, rebuilt from its event log (`rewrite`: and written back as
 * summary.json), or read from summary.json when the directory holds only that view.
 * `daxlab report` and `daxlab export` read runs through this.
 */
export async function loadRunSummary(dir: string, o: { rewrite?: boolean } = {}): Promise<RunSummary> {
  if (!existsSync(join(dir, EVENTS_FILE))) return readSummaryView(join(dir, 'summary.json'));
  const rec = RunRecorder.open(dir);
  rec.close();
  if (o.rewrite) {
    rec.writeSummary();
    if (rec.writeError) throw new UserError(rec.writeError);
  }
  return rec.summary;
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('write results/<run-id>/report.html (results table, steps, console findings, boots) and print its path')
    .argument('<run>', 'run id, results directory, or path to summary.json')
    .action(async (ref: string) => {
      const dir = await findRunDir(ref);
      const summary = await loadRunSummary(dir, { rewrite: true });
      const file = await writeRunReport(dir, summary);
      const kb = ((await stat(file)).size / 1024).toFixed(0);
      process.stdout.write(`${file} (${kb} KiB)\n`);
    });
}
