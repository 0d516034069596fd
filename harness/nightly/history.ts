// `daxlab history [METRIC] [--kernel NAME] [--scenario ID] [--html FILE]`: each matching series
// night by night, with the change points the nightly alerting sees marked where the new level
// starts; as text, or as the history page of plots. renderHistory is pure; the command reads the
// history database (history-page.ts).
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { statSync } from 'node:fs';
import type { ChangePoint } from '../history/changepoint.ts';
import { openHistoryDb } from '../history/db/connect.ts';
import type { NightValue, SeriesKey } from '../history/db/queries.ts';
import type { HistoryTables } from '../history/db/schema.ts';
import { DB_ENV, DEFAULT_DB_FILE, parseDbTarget } from '../history/db/target.ts';
import { variantName } from '../plan/plan.ts';
import type { HistorySeries } from '../report/history-html.ts';
import { columns } from '../results/table.ts';
import { formatValue } from '../stats/summary.ts';
import { UserError } from '../util/errors.ts';
import { stderrLogger } from '../util/log.ts';
import { didYouMean } from '../util/suggest.ts';
import { displayPath } from '../util/paths.ts';
import { loadSeries, seriesFor, writeHistoryPage } from './history-page.ts';

/** One series as a table: night, run, release, value, boots; a change point marks its first night. */
export function renderHistory(key: SeriesKey, nights: readonly NightValue[], cps: readonly ChangePoint[]): string {
  const unit = nights[0]?.unit ?? '';
  const at = new Map(cps.map((c) => [c.index, c]));
  const rows = nights.map((n, i) => {
    const c = at.get(i);
    const mark = c ? `<- change${c.direction === 'none' ? ' (spread)' : ` ${c.relChange === null ? '' : `${c.relChange >= 0 ? '+' : ''}${(100 * c.relChange).toFixed(1)}%`}`} p=${c.p.toPrecision(2)}` : '';
    return [n.startedAt.slice(0, 16).replace('T', ' '), n.runId, n.kernel.release, formatValue(n.value, unit), String(n.boots.length), mark];
  });
  const head = `${key.kernel}/${key.scenario}:${variantName(key.variant)} ${key.metric} (${nights.length} night${nights.length === 1 ? '' : 's'})`;
  return `${head}\n${columns(['night', 'run', 'release', 'value', 'boots', ''], rows.map((r) => r.map((c) => c.replace(/[\x00-\x1f\x7f]/g, '?'))), new Set([3, 4]))}`;
}

export function registerHistoryCommand(program: Command): void {
  program
    .command('history')
    .description('a metric (or every metric) night by night from the history database, per kernel name, scenario and variant, with change points marked; --html: as a page of plots')
    .argument('[metric]', 'metric name as stored (a sample metric is NAME.p50, e.g. truncate.p50); every metric when left out')
    .option('--kernel <name>', 'one kernel name of the nightly plans')
    .option('--scenario <id>', 'one scenario')
    .option('--html <file>', 'write the series as a self-contained HTML page of plots instead of printing them')
    .option('--db <url>', `postgres://USER@HOST[:PORT]/DB, sqlite:PATH or a file (default: $${DB_ENV}, else <results>/${DEFAULT_DB_FILE})`)
    .action(async (metric: string | undefined, o: { kernel?: string; scenario?: string; html?: string; db?: string }) => {
      const target = parseDbTarget(o.db);
      const h = await openHistoryDb(target, { log: stderrLogger() });
      try {
        const keys = await seriesFor(h.db, { metric, kernels: o.kernel === undefined ? undefined : [o.kernel], scenario: o.scenario });
        if (!keys.length) throw new UserError(await noSeries(h.db, metric, o, target.display));
        const series = await loadSeries(h.db, keys);
        if (o.html !== undefined) {
          const file = await writePage(o.html, series, target.display);
          process.stdout.write(`${displayPath(file)} (${series.length} series, ${(statSync(file).size / 1024).toFixed(0)} KiB)\n`);
        } else process.stdout.write(series.map((x) => renderHistory(x.key, x.nights, x.changePoints)).join('\n\n') + '\n');
      } finally {
        await h.close();
      }
    });
}

/** Why nothing matched, with the nearest known metric when one was named. */
async function noSeries(db: Kysely<HistoryTables>, metric: string | undefined, o: { kernel?: string; scenario?: string }, where: string): Promise<string> {
  const filter = `${o.kernel ? ` on kernel ${o.kernel}` : ''}${o.scenario ? ` in ${o.scenario}` : ''}`;
  if (metric === undefined) return `no series${filter} in ${where}`;
  const known = (await db.selectFrom('boot_values').select('metric').distinct().execute()).map((r) => r.metric);
  return `no series of metric '${metric}'${filter} in ${where}${didYouMean(metric, known)}`;
}

/** The page, or one line naming the file the user gave when it cannot be written. */
async function writePage(file: string, series: readonly HistorySeries[], source: string): Promise<string> {
  try {
    return await writeHistoryPage(file, series, { source });
  } catch (e) {
    // Node names the temp file ("EACCES: permission denied, open 'F.tmp-123'"): the user gave F.
    throw new UserError(`history: writing ${file}: ${(e as Error).message.split('\n')[0]?.replace(/, \w+ '[^']*'$/, '')}`);
  }
}
