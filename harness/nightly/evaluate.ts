// Tonight's run into the history database, then every series it has values for compared with
// its past nights (nightly/alerts.ts). The shell around the pure alerting: it reads the database,
// prints the alerts and writes the night's history page.
import { join } from 'node:path';
import { betterFor } from '../ab/collect.ts';
import type { AbSettings } from '../ab/types.ts';
import type { HistoryDb } from '../history/db/connect.ts';
import { importSummary, type ImportResult } from '../history/db/import.ts';
import { findingTitlesBefore, findingTitlesOfRun, metricSeries, seriesOfRun } from '../history/db/queries.ts';
import type { RunSummary } from '../results/types.ts';
import type { Scenario } from '../scenario/schema.ts';
import { alertText, findingAlerts, metricAlert, type Alert } from './alerts.ts';
import { importLine } from '../history/command.ts';
import { openHistoryDb } from '../history/db/connect.ts';
import type { DbTarget } from '../history/db/target.ts';
import { stderrLogger } from '../util/log.ts';
import { displayPath } from '../util/paths.ts';
import { HISTORY_PAGE } from '../report/command.ts';
import { loadSeries, seriesFor, writeHistoryPage } from './history-page.ts';

export const NIGHTLY_AB: AbSettings = { threshold: 0.05, alpha: 0.05, confidence: 0.95, resamples: 2000, seed: 1 };

/** Series whose night before was measured differently (guest clock, accelerator, shape): from -> to, how many. */
export interface ConditionChange {
  from: string;
  to: string;
  series: number;
}

export async function evaluateNight(h: HistoryDb, s: RunSummary, scenarios: readonly Pick<Scenario, 'id' | 'metricBetter'>[]): Promise<{ imported: ImportResult; alerts: Alert[]; conditionChanges: ConditionChange[] }> {
  const imported = await importSummary(h, s);
  const declared = new Map(scenarios.map((x) => [x.id, x.metricBetter]));
  const alerts: Alert[] = [];
  const changes = new Map<string, ConditionChange>();
  for (const key of await seriesOfRun(h.db, s.runId)) {
    const nights = await metricSeries(h.db, key, { upTo: s.runId });
    const [before, tonight] = nights.slice(-2);
    if (before && tonight && before.conditions !== tonight.conditions) {
      const k = `${before.conditions}\0${tonight.conditions}`;
      const c = changes.get(k) ?? { from: before.conditions, to: tonight.conditions, series: 0 };
      c.series++;
      changes.set(k, c);
    }
    // Sample metrics are `NAME.p50`: their direction is the sample's.
    const better = betterFor(key.metric.replace(/\.p50$/, ''), key.unit, declared.get(key.scenario));
    const a = metricAlert(key, nights, better, NIGHTLY_AB);
    if (a) alerts.push(a);
  }
  const tonight = await findingTitlesOfRun(h.db, s.runId);
  const seen = new Map<string, Set<string>>();
  for (const k of new Set(tonight.map((f) => f.kernel))) seen.set(k, new Set(await findingTitlesBefore(h.db, k, s.runId)));
  alerts.push(...findingAlerts(s.runId, tonight, (k) => seen.get(k) ?? new Set()));
  return { imported, alerts, conditionChanges: [...changes.values()] };
}

export interface Judged {
  alerts: Alert[];
  /** What the import did (and where the history page went), for the terminal. */
  dbLine: string;
  /** `<pageDir>/history.html`, when written. */
  historyPage?: string | undefined;
}

/**
 * The night's history page: every series of tonight's kernel names up to tonight, its alerts
 * flagged. A page that cannot be written is said on stderr; the night's verdict stands.
 */
async function writeNightPage(h: HistoryDb, s: RunSummary, alerts: readonly Alert[], dir: string, source: string): Promise<string | undefined> {
  try {
    const series = await loadSeries(h.db, await seriesFor(h.db, { kernels: s.kernels.map((k) => k.name) }), { upTo: s.runId });
    return await writeHistoryPage(join(dir, HISTORY_PAGE), series, { runId: s.runId, source, alerts, reportHref: 'report.html' });
  } catch (e) {
    process.stderr.write(`daxlab: writing ${HISTORY_PAGE}: ${(e as Error).message.split('\n')[0]}\n`);
    return undefined;
  }
}

/**
 * Open the history database, import the night, compare it, print the alerts (first thing: what
 * got slower or newly splats is the morning's answer), write `pageDir`/history.html from the same
 * connection, and close the database.
 */
export async function judgeNight(target: DbTarget, s: RunSummary, scenarios: readonly Pick<Scenario, 'id' | 'metricBetter'>[], o: { pageDir?: string } = {}): Promise<Judged> {
  const h = await openHistoryDb(target, { log: stderrLogger() });
  let ev: Awaited<ReturnType<typeof evaluateNight>>;
  let page: string | undefined;
  try {
    ev = await evaluateNight(h, s, scenarios);
    if (o.pageDir !== undefined) page = await writeNightPage(h, s, ev.alerts, o.pageDir, target.display);
  } finally {
    await h.close();
  }
  const n = ev.alerts.length;
  process.stdout.write(n ? `${n} alert${n > 1 ? 's' : ''}:\n${ev.alerts.map((a) => alertText(a).replace(/[\x00-\x09\x0b-\x1f\x7f]/g, '?')).join('\n')}\n` : 'no alerts: nothing slower than its history, no new finding title\n');
  // Right after the alerts: why a series that moved may not have alerted.
  for (const c of ev.conditionChanges) process.stdout.write(`measured differently from the night before (${c.from} -> ${c.to}): ${c.series} series compared only with nights measured the same way\n`);
  const dbLine = importLine(ev.imported, target) + (page ? `\nhistory page: ${displayPath(page)}` : '');
  return { alerts: ev.alerts, dbLine, historyPage: page };
}
