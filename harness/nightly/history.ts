// `daxlab history METRIC [--kernel NAME] [--scenario ID]`: each matching series night by night,
// with the change points the nightly alerting sees marked where the new level starts.
// renderHistory is pure; seriesFor and the command read the history database.
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { detectChangePoints, type ChangePoint } from '../history/changepoint.ts';
import { openHistoryDb } from '../history/db/connect.ts';
import { metricSeries, type NightValue, type SeriesKey } from '../history/db/queries.ts';
import type { HistoryTables } from '../history/db/schema.ts';
import { DB_ENV, DEFAULT_DB_FILE, parseDbTarget } from '../history/db/target.ts';
import { variantName, type Variant } from '../plan/plan.ts';
import { columns } from '../results/table.ts';
import { formatValue } from '../stats/summary.ts';
import { UserError } from '../util/errors.ts';
import { stderrLogger } from '../util/log.ts';
import { didYouMean } from '../util/suggest.ts';

/** Every series of `metric` (optionally of one kernel name / scenario), in key order. */
export async function seriesFor(db: Kysely<HistoryTables>, metric: string, o: { kernel?: string | undefined; scenario?: string | undefined } = {}): Promise<SeriesKey[]> {
  let q = db.selectFrom('boot_values').select(['kernel', 'scenario', 'fs', 'dax', 'metric']).distinct().where('metric', '=', metric);
  if (o.kernel !== undefined) q = q.where('kernel', '=', o.kernel);
  if (o.scenario !== undefined) q = q.where('scenario', '=', o.scenario);
  const rows = await q.execute();
  const key = (r: (typeof rows)[number]): string => [r.kernel, r.scenario, r.fs, r.dax].join('\0');
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).map((r) => ({ kernel: r.kernel, scenario: r.scenario, variant: { fs: r.fs, dax: r.dax } as Variant, metric: r.metric }));
}

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
    .description('a metric night by night from the history database, per kernel name, scenario and variant, with change points marked')
    .argument('<metric>', 'metric name as stored (a sample metric is NAME.p50, e.g. truncate.p50)')
    .option('--kernel <name>', 'one kernel name of the nightly plans')
    .option('--scenario <id>', 'one scenario')
    .option('--db <url>', `postgres://USER@HOST[:PORT]/DB, sqlite:PATH or a file (default: $${DB_ENV}, else <results>/${DEFAULT_DB_FILE})`)
    .action(async (metric: string, o: { kernel?: string; scenario?: string; db?: string }) => {
      const target = parseDbTarget(o.db);
      const h = await openHistoryDb(target, { log: stderrLogger() });
      try {
        const keys = await seriesFor(h.db, metric, o);
        if (!keys.length) {
          const known = (await h.db.selectFrom('boot_values').select('metric').distinct().execute()).map((r) => r.metric);
          throw new UserError(`no series of metric '${metric}'${o.kernel ? ` on kernel ${o.kernel}` : ''}${o.scenario ? ` in ${o.scenario}` : ''} in ${target.display}${didYouMean(metric, known)}`);
        }
        const out: string[] = [];
        for (const key of keys) {
          const nights = await metricSeries(h.db, key);
          const cps = nights.length >= 6 ? detectChangePoints(nights.map((n) => n.value)) : [];
          out.push(renderHistory(key, nights, cps));
        }
        process.stdout.write(out.join('\n\n') + '\n');
      } finally {
        await h.close();
      }
    });
}

