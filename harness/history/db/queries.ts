// What nightly alerting asks the history database. Pure over the database: no files, no clock.
// Nights are runs in (started_at, run_id) order, compared in JavaScript: PostgreSQL would order
// text by the database's collation, SQLite by bytes, and the two must agree.
import type { Kysely } from 'kysely';
import type { Variant } from '../../plan/plan.ts';
import { guestShape, type GuestShapeLike } from '../../results/guest-shape.ts';
import { quantile } from '../../stats/summary.ts';
import { UserError } from '../../util/errors.ts';
import type { HistoryTables } from './schema.ts';

type Db = Kysely<HistoryTables>;

export interface SeriesKey {
  /** Kernel name (what history is keyed by), not its spec. */
  kernel: string;
  scenario: string;
  variant: Variant;
  /** A metric's name, or a sample's `NAME.p50`. */
  metric: string;
}

export interface NightValue {
  runId: string;
  startedAt: string;
  /** The night's value: the median of its per-boot values. */
  value: number;
  /** Per-boot values (each the median of the boot's measured repetitions), in boot order. */
  boots: number[];
  unit: string;
  /** What the kernel name stood for that night. */
  kernel: { spec: string; release: string; identity: Record<string, string> };
  /** How the night was measured (measurementConditions): nights measured differently do not compare. */
  conditions: string;
}

/**
 * What besides the kernel sets a night's timings: the accelerator and TCG threading, the guest's
 * vCPUs, memory, clock and command line. The pmem size is left out: it follows the scenarios
 * of the plan, and adding one must not cut every series short.
 */
export function measurementConditions(accel: string, tcgThread: string | null, guestJson: string): string {
  let g: GuestShapeLike = {};
  try {
    g = JSON.parse(guestJson) as GuestShapeLike;
  } catch {
    // An unreadable guest record is its own condition, compared with nothing else.
  }
  const tcg = accel === 'tcg';
  return `${accel}${tcg ? ` thread=${tcgThread ?? 'single'}` : ''} ${guestShape(g, tcg)}`;
}

/** The nights measured as tonight (the last night) was: the ones its values compare with. */
export function comparableNights(nights: readonly NightValue[]): NightValue[] {
  const tonight = nights[nights.length - 1];
  return tonight ? nights.filter((n) => n.conditions === tonight.conditions) : [];
}

const byNight = (a: { started_at: string; run_id: string }, b: { started_at: string; run_id: string }): number =>
  a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : 0;

async function nightOf(db: Db, runId: string): Promise<{ started_at: string; run_id: string }> {
  const r = await db.selectFrom('runs').select(['started_at', 'run_id']).where('run_id', '=', runId).executeTakeFirst();
  if (!r) throw new UserError(`run ${runId} is not in the history database (import it with daxlab db import ${runId})`);
  return r;
}

/**
 * One (kernel name, scenario, variant, metric) over the nights, oldest first; `upTo`: only
 * nights up to and including that run's.
 */
export async function metricSeries(db: Db, key: SeriesKey, o: { upTo?: string } = {}): Promise<NightValue[]> {
  const rows = await db
    .selectFrom('boot_values as v')
    .innerJoin('runs as r', 'r.run_id', 'v.run_id')
    .innerJoin('kernels as k', (j) => j.onRef('k.run_id', '=', 'v.run_id').onRef('k.name', '=', 'v.kernel'))
    .select(['v.run_id', 'r.started_at', 'r.guest', 'v.boot', 'v.value', 'v.unit', 'k.spec', 'k.release', 'k.identity', 'k.accel', 'k.tcg_thread'])
    .where('v.kernel', '=', key.kernel)
    .where('v.scenario', '=', key.scenario)
    .where('v.fs', '=', key.variant.fs)
    .where('v.dax', '=', key.variant.dax)
    .where('v.metric', '=', key.metric)
    .execute();
  const last = o.upTo === undefined ? undefined : await nightOf(db, o.upTo);
  const nights = new Map<string, NightValue>();
  for (const r of rows.sort((a, b) => byNight(a, b) || a.boot - b.boot)) {
    if (last && byNight(r, last) > 0) continue;
    let n = nights.get(r.run_id);
    if (!n) {
      const kernel = { spec: r.spec, release: r.release, identity: JSON.parse(r.identity) as Record<string, string> };
      nights.set(r.run_id, (n = { runId: r.run_id, startedAt: r.started_at, value: NaN, boots: [], unit: r.unit, kernel, conditions: measurementConditions(r.accel, r.tcg_thread, r.guest) }));
    }
    n.boots.push(r.value);
  }
  return [...nights.values()].map((n) => ({ ...n, value: quantile(n.boots, 0.5) }));
}

/** The series a run has values for: what its nightly comparison walks over. */
export async function seriesOfRun(db: Db, runId: string): Promise<(SeriesKey & { unit: string })[]> {
  const rows = await db.selectFrom('boot_values').select(['kernel', 'scenario', 'fs', 'dax', 'metric', 'unit']).distinct().where('run_id', '=', runId).execute();
  const key = (r: (typeof rows)[number]): string => [r.kernel, r.scenario, r.fs, r.dax, r.metric].join('\0');
  return rows
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
    .map((r) => ({ kernel: r.kernel, scenario: r.scenario, variant: { fs: r.fs, dax: r.dax } as Variant, metric: r.metric, unit: r.unit }));
}

/** Finding titles of one run, per kernel name they showed up on. */
export async function findingTitlesOfRun(db: Db, runId: string): Promise<{ kernel: string; title: string }[]> {
  const rows = await db.selectFrom('finding_sites').select(['kernel', 'title']).distinct().where('run_id', '=', runId).execute();
  return rows.sort((a, b) => (a.kernel < b.kernel ? -1 : a.kernel > b.kernel ? 1 : a.title < b.title ? -1 : a.title > b.title ? 1 : 0));
}

/** Finding titles ever seen on a kernel name in nights before `before`'s (a title new tonight is an alert). */
export async function findingTitlesBefore(db: Db, kernel: string, before: string): Promise<string[]> {
  const night = await nightOf(db, before);
  const rows = await db
    .selectFrom('finding_sites as f')
    .innerJoin('runs as r', 'r.run_id', 'f.run_id')
    .select(['f.title', 'r.started_at', 'r.run_id'])
    .where('f.kernel', '=', kernel)
    .execute();
  return [...new Set(rows.filter((r) => byNight(r, night) < 0).map((r) => r.title))].sort();
}
