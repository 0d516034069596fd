// Where runs live: the results root, run ids, and finding a run directory from what a user types.
// What a run writes inside its directory is engine/recorder.ts's business.
import { readdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { displayPath, repoRoot } from '../util/paths.ts';
import { didYouMean } from '../util/suggest.ts';
import { EVENTS_FILE } from './event-log.ts';

export function defaultResultsRoot(): string {
  return process.env['DAXLAB_RESULTS'] ? resolve(process.env['DAXLAB_RESULTS']) : join(repoRoot, 'results');
}

export function newRunId(now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

const isFile = async (p: string): Promise<boolean> => (await stat(p).catch(() => undefined))?.isFile() ?? false;

/** A run id, a results dir, a path to its events.jsonl or summary.json, or `latest`. */
export async function findRunDir(ref: string): Promise<string> {
  if (ref === 'latest' && !(await stat(ref).catch(() => undefined))) return latestRunDir();
  for (const c of [ref, join(defaultResultsRoot(), ref)]) {
    const st = await stat(c).catch(() => undefined);
    if (st?.isDirectory() && ((await isFile(join(c, EVENTS_FILE))) || (await isFile(join(c, 'summary.json'))))) return resolve(c);
    if (st?.isFile() && (c.endsWith(EVENTS_FILE) || c.endsWith('summary.json'))) return resolve(c, '..');
  }
  const ids = await readdir(defaultResultsRoot()).catch(() => [] as string[]);
  throw new UserError(`no run '${ref}' (expected a run id under ${displayPath(defaultResultsRoot())}, a results directory, or latest)${didYouMean(ref, ids)}`);
}

/** The newest run under the results root: run ids start with a UTC timestamp, so they sort by time. */
async function latestRunDir(): Promise<string> {
  const root = defaultResultsRoot();
  const ids = (await readdir(root).catch(() => [] as string[])).filter((n) => /^\d{8}-\d{6}-/.test(n)).sort();
  for (const id of ids.reverse()) {
    if (await isFile(join(root, id, EVENTS_FILE))) return join(root, id);
  }
  throw new UserError(`no runs under ${displayPath(root)} yet`);
}

/**
 * `--out DIR` must be creatable: checked before any work, so a path through a file does not
 * surface as a stack trace after the kernel and image are ready.
 */
export async function checkOutDir(dir: string): Promise<void> {
  for (let p = resolve(dir); ; p = dirname(p)) {
    const st = await stat(p).catch(() => undefined);
    if (st) {
      if (!st.isDirectory()) throw new UserError(`--out ${dir}: ${p === resolve(dir) ? 'exists and is not a directory' : `${p} is not a directory`}`);
      if (p === resolve(dir) && (await isFile(join(p, EVENTS_FILE)))) throw new UserError(`--out ${dir}: already holds a run (continue it with --resume ${dir})`);
      return;
    }
    if (p === dirname(p)) return;
  }
}
