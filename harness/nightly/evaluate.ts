// Tonight's run into the history database, then every series it has values for compared with
// its past nights (nightly/alerts.ts). The shell around the pure alerting: it reads the database.
import { betterFor } from '../ab/collect.ts';
import type { AbSettings } from '../ab/types.ts';
import type { HistoryDb } from '../history/db/connect.ts';
import { importSummary, type ImportResult } from '../history/db/import.ts';
import { findingTitlesBefore, findingTitlesOfRun, metricSeries, seriesOfRun } from '../history/db/queries.ts';
import type { RunSummary } from '../results/types.ts';
import type { Scenario } from '../scenario/schema.ts';
import { findingAlerts, metricAlert, type Alert } from './alerts.ts';

export const NIGHTLY_AB: AbSettings = { threshold: 0.05, alpha: 0.05, confidence: 0.95, resamples: 2000, seed: 1 };

export async function evaluateNight(h: HistoryDb, s: RunSummary, scenarios: readonly Pick<Scenario, 'id' | 'metricBetter'>[]): Promise<{ imported: ImportResult; alerts: Alert[] }> {
  const imported = await importSummary(h, s);
  const declared = new Map(scenarios.map((x) => [x.id, x.metricBetter]));
  const alerts: Alert[] = [];
  for (const key of await seriesOfRun(h.db, s.runId)) {
    const nights = await metricSeries(h.db, key, { upTo: s.runId });
    // Sample metrics are `NAME.p50`: their direction is the sample's.
    const better = betterFor(key.metric.replace(/\.p50$/, ''), key.unit, declared.get(key.scenario));
    const a = metricAlert(key, nights, better, NIGHTLY_AB);
    if (a) alerts.push(a);
  }
  const tonight = await findingTitlesOfRun(h.db, s.runId);
  const seen = new Map<string, Set<string>>();
  for (const k of new Set(tonight.map((f) => f.kernel))) seen.set(k, new Set(await findingTitlesBefore(h.db, k, s.runId)));
  alerts.push(...findingAlerts(s.runId, tonight, (k) => seen.get(k) ?? new Set()));
  return { imported, alerts };
}
