// Results on disk. summary.json is rewritten atomically (temp file + rename) after every step and
// steps.jsonl is appended, so a crash or Ctrl-C loses nothing already measured.
import { appendFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { repoRoot } from '../util/paths.ts';
import { SUMMARY_SCHEMA, type RunSummary, type StepResult } from './types.ts';

export function defaultResultsRoot(): string {
  return process.env['DAXLAB_RESULTS'] ? resolve(process.env['DAXLAB_RESULTS']) : join(repoRoot, 'results');
}

export function newRunId(now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export class ResultsStore {
  /** Set when a write failed (e.g. disk full); the run goes on and reports it at the end. */
  writeError: string | undefined;
  constructor(readonly dir: string, readonly summary: RunSummary) {}

  static async create(dir: string, summary: RunSummary): Promise<ResultsStore> {
    await mkdir(dir, { recursive: true });
    const s = new ResultsStore(dir, summary);
    s.flush();
    return s;
  }

  static async open(dir: string): Promise<ResultsStore> {
    const file = join(dir, 'summary.json');
    let summary: RunSummary;
    try {
      summary = JSON.parse(await readFile(file, 'utf8')) as RunSummary;
    } catch (e) {
      throw new UserError(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
    if (summary.schema !== SUMMARY_SCHEMA) throw new UserError(`${file}: summary schema ${summary.schema} is not ${SUMMARY_SCHEMA}`);
    return new ResultsStore(dir, summary);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Synchronous on purpose: also called from signal handlers. */
  flush(): void {
    const file = join(this.dir, 'summary.json');
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, JSON.stringify(this.summary, null, 2) + '\n');
      renameSync(tmp, file);
    } catch (e) {
      this.writeError ??= `writing ${file}: ${(e as Error).message}`;
      try {
        unlinkSync(tmp); // no half-written file next to the last good summary
      } catch {
        /* it was never created */
      }
    }
  }

  addStep(step: StepResult): void {
    this.summary.steps.push(step);
    this.summary.pending = this.summary.pending.filter((k) => k !== step.key);
    try {
      appendFileSync(join(this.dir, 'steps.jsonl'), JSON.stringify(step) + '\n');
    } catch (e) {
      this.writeError ??= `writing steps.jsonl: ${(e as Error).message}`;
    }
    this.flush();
  }
}

/** A run id, a results dir, or a path to summary.json. */
export async function findRunDir(ref: string): Promise<string> {
  for (const c of [ref, join(defaultResultsRoot(), ref)]) {
    const st = await stat(c).catch(() => undefined);
    if (st?.isDirectory() && (await stat(join(c, 'summary.json')).catch(() => undefined))) return resolve(c);
    if (st?.isFile() && c.endsWith('summary.json')) return resolve(c, '..');
  }
  throw new UserError(`no run '${ref}' (expected a run id under ${defaultResultsRoot()} or a results directory)`);
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
      return;
    }
    if (p === dirname(p)) return;
  }
}
