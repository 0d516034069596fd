// The history page's data from the history database, and the page on disk: which series, their
// nights and the change points the detector finds in them (the same detector and defaults as
// the nightly alerts, so the page marks what alerted). `daxlab history --html` and the nightly
// judge (evaluate.ts, history.html in the night's directory) both write it through here.
import type { Kysely } from 'kysely';
import { detectChangePoints } from '../history/changepoint.ts';
import { metricSeries, type SeriesKey } from '../history/db/queries.ts';
import type { HistoryTables } from '../history/db/schema.ts';
import type { Variant } from '../plan/plan.ts';
import { writeFileAtomic } from '../report/command.ts';
import { renderHistoryHtml, type HistoryPageOptions, type HistorySeries } from '../report/history-html.ts';

export interface SeriesFilter {
  /** One metric (a sample's is NAME.p50); every metric when absent. */
  metric?: string | undefined;
  /** Kernel names: one (--kernel) or a night's. */
  kernels?: readonly string[] | undefined;
  scenario?: string | undefined;
}

/** The series matching `f`, in (kernel, scenario, fs, dax, metric) order. */
export async function seriesFor(db: Kysely<HistoryTables>, f: SeriesFilter = {}): Promise<SeriesKey[]> {
  if (f.kernels && !f.kernels.length) return [];
  let q = db.selectFrom('boot_values').select(['kernel', 'scenario', 'fs', 'dax', 'metric']).distinct();
  if (f.metric !== undefined) q = q.where('metric', '=', f.metric);
  if (f.kernels) q = q.where('kernel', 'in', [...f.kernels]);
  if (f.scenario !== undefined) q = q.where('scenario', '=', f.scenario);
  const rows = await q.execute();
  // Compared in JavaScript: PostgreSQL orders text by collation, SQLite by bytes.
  const key = (r: (typeof rows)[number]): string => [r.kernel, r.scenario, r.fs, r.dax, r.metric].join('\0');
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).map((r) => ({ kernel: r.kernel, scenario: r.scenario, variant: { fs: r.fs, dax: r.dax } as Variant, metric: r.metric }));
}

/** Each series' nights (up to and including `upTo`'s when given) and its change points. */
export async function loadSeries(db: Kysely<HistoryTables>, keys: readonly SeriesKey[], o: { upTo?: string } = {}): Promise<HistorySeries[]> {
  const out: HistorySeries[] = [];
  for (const key of keys) {
    const nights = await metricSeries(db, key, o);
    out.push({ key, nights, changePoints: detectChangePoints(nights.map((n) => n.value)) });
  }
  return out;
}

/** Render the page and write it whole (temp file, rename); returns the file. */
export async function writeHistoryPage(file: string, series: readonly HistorySeries[], o: HistoryPageOptions): Promise<string> {
  await writeFileAtomic(file, renderHistoryHtml(series, o));
  return file;
}
