// `daxlab db import RUN... [--db URL]`: finished runs into the history database (one SQLite file
// beside the results unless --db or DAXLAB_DB names another, or a PostgreSQL URL). Each run is
// one transaction; importing a run again changes nothing unless its summary did. Kysely and the
// drivers load only once a database is opened (db/connect.ts).
import type { Command } from 'commander';
import { loadRunSummary } from '../report/command.ts';
import { findRunDir } from '../results/store.ts';
import type { RunSummary } from '../results/types.ts';
import { stderrLogger } from '../util/log.ts';
import { openHistoryDb } from './db/connect.ts';
import { checkImportable, importSummary, type ImportResult } from './db/import.ts';
import { DB_ENV, DEFAULT_DB_FILE, parseDbTarget, type DbTarget } from './db/target.ts';

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

export function importLine(r: ImportResult, t: DbTarget): string {
  if (r.action === 'unchanged') return `${r.runId}: already in ${t.display}, unchanged`;
  const n = r.rows;
  const what = [count(n.steps, 'step'), count(n.boots, 'boot'), count(n.kernels, 'kernel'), count(n.metrics, 'metric'), count(r.sampleValues, 'sample'), count(n.boot_values, 'per-boot value'), count(n.findings, 'finding')];
  return `${r.runId}: ${r.action} into ${t.display} (${what.join(', ')})`;
}

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the history database of runs (SQLite file by default, PostgreSQL by URL)');
  db.command('import')
    .description('import finished runs (each in one transaction; again: no-op, or a replacement when the run changed)')
    .argument('<run...>', 'run id, results directory, or latest')
    .option('--db <url>', `postgres://USER@HOST[:PORT]/DB, sqlite:PATH or a file path (default: $${DB_ENV}, else <results>/${DEFAULT_DB_FILE})`)
    .action(async (refs: string[], o: { db?: string }) => {
      const target = parseDbTarget(o.db);
      // Every run is read and checked before the database is opened (and its driver perhaps built).
      const runs: RunSummary[] = [];
      for (const ref of refs) {
        const s = await loadRunSummary(await findRunDir(ref));
        checkImportable(s);
        runs.push(s);
      }
      const h = await openHistoryDb(target, { log: stderrLogger() });
      try {
        for (const s of runs) process.stdout.write(importLine(await importSummary(h, s), target) + '\n');
      } finally {
        await h.close();
      }
    });
}
