// A finished run into the history database, in one transaction: readers see all of the run or
// none of it, whatever happens midway (an error, a kill, a dropped connection). The same run
// imported again is a no-op when its summary is unchanged and a replacement otherwise (a report
// rebuilt by a newer daxlab, a verdict revised), never a second copy.
import type { Insertable, Kysely, Transaction } from 'kysely';
import { stepValues } from '../../ab/collect.ts';
import { WARMUP_REP } from '../../ab/design.ts';
import { loadRunSummary } from '../../report/command.ts';
import type { RunSummary, StepResult } from '../../results/types.ts';
import { describe, quantile } from '../../stats/summary.ts';
import { UserError } from '../../util/errors.ts';
import { hashValue, type HashInput } from '../../util/hash.ts';
import { dbFailure, type HistoryDb } from './connect.ts';
import { RUN_TABLES, type HistoryTables, type TableName } from './schema.ts';

export type RunRows = { [T in TableName]: Insertable<HistoryTables[T]>[] };

export interface ImportResult {
  runId: string;
  action: 'imported' | 'replaced' | 'unchanged';
  /** Rows the run has in each table. */
  rows: Record<TableName, number>;
  /** Sample values (the samples table has one row per step and sample name). */
  sampleValues: number;
}

export interface ImportOptions {
  /** Awaited inside the transaction after each table's rows are written (tests fail or stall an import here). */
  afterTable?: (table: TableName) => Promise<void> | void;
  now?: Date;
}

/**
 * Only completed runs are history: an interrupted or failed run resumes into the same run id
 * (`daxlab run --resume`), and a night imported half-done would read as missing work.
 */
export function checkImportable(s: RunSummary): void {
  if (s.status === 'completed') return;
  const left = s.pending.length ? `; ${s.pending.length} work item${s.pending.length > 1 ? 's' : ''} not run` : '';
  const state = s.status === 'running' ? 'has not ended (still running, or killed before it could say so)' : `ended ${s.status}${s.statusReason ? ` (${s.statusReason})` : ''}`;
  throw new UserError(`run ${s.runId} ${state}${left}: only completed runs are imported; finish it with daxlab run --resume ${s.runId}, then import it`);
}

const json = (v: unknown): string => JSON.stringify(v);
const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

/** The kernel a console report's place belongs to: its work item's, else its boot's. */
function siteKernel(s: RunSummary, site: string, boot: number): string {
  const step = s.steps.find((x) => x.key === site);
  if (step) return step.kernel;
  const m = /^boot (\d+):/.exec(site);
  const b = s.boots.find((x) => x.index === (m ? Number(m[1]) : boot));
  return b?.kernel ?? site.split('/')[0] ?? '';
}

/**
 * Per boot and metric, the median over the boot's measured repetitions of passing steps (the
 * A/B warm-up repetition excluded), each repetition's value as ab/collect.ts stepValues gives it.
 */
export function bootValues(runId: string, steps: readonly StepResult[]): Insertable<HistoryTables['boot_values']>[] {
  const groups = new Map<string, { st: StepResult; metric: string; unit: string; reps: number[] }>();
  for (const st of steps) {
    if (st.status !== 'pass' || st.rep === WARMUP_REP) continue;
    for (const v of stepValues(st)) {
      const k = json([st.boot, st.scenario, st.variant.fs, st.variant.dax, v.name]);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { st, metric: v.name, unit: v.unit, reps: [] }));
      g.reps.push(v.value);
    }
  }
  return [...groups.values()].map((g) => ({
    run_id: runId,
    boot: g.st.boot,
    kernel: g.st.kernel,
    scenario: g.st.scenario,
    fs: g.st.variant.fs,
    dax: g.st.variant.dax,
    metric: g.metric,
    unit: g.unit,
    value: quantile(g.reps, 0.5),
    reps: g.reps.length,
  }));
}

/** Every row a run has, from its summary. Pure. */
export function runRows(s: RunSummary, importedAt: string): RunRows {
  const id = s.runId;
  const steps = s.steps;
  const titles = new Map(s.findings.map((f) => [f.title, f] as const));
  return {
    runs: [
      {
        run_id: id,
        status: s.status,
        status_reason: orNull(s.statusReason),
        started_at: s.startedAt,
        finished_at: orNull(s.finishedAt),
        command: json(s.command),
        hostname: s.host.hostname,
        host: json(s.host),
        guest: json(s.guest),
        overrides: s.overrides ? json(s.overrides) : null,
        concurrency: s.concurrency,
        summary_schema: s.schema,
        summary_hash: summaryHash(s),
        imported_at: importedAt,
      },
    ],
    kernels: s.kernels.map((k) => ({
      run_id: id,
      name: k.name,
      spec: k.spec,
      release: k.release,
      banner: k.banner,
      identity: json(k.identity),
      source: orNull(k.identity['source']),
      config_hash: orNull(k.identity['config']),
      patches: orNull(k.identity['patches']),
      image_key: k.image.key,
      accel: k.accel.accel,
      tcg_thread: orNull(k.accel.tcgThread),
    })),
    boots: s.boots.map((b) => ({
      run_id: id,
      boot: b.index,
      kernel: b.kernel,
      end_state: b.end,
      qemu_exit_code: b.qemuExitCode,
      qemu_signal: b.qemuSignal,
      guest_release: orNull(b.guestRelease),
      ready_ms: orNull(b.timings.readyMs),
      exit_ms: b.timings.exitMs,
      console_log: b.consoleLog,
    })),
    steps: steps.map((st) => ({
      run_id: id,
      key: st.key,
      kernel: st.kernel,
      scenario: st.scenario,
      fs: st.variant.fs,
      dax: st.variant.dax,
      rep: st.rep,
      slot: orNull(st.slot),
      boot: st.boot,
      status: st.status,
      reason: st.reason,
      exit_code: st.exitCode,
      duration_ms: st.durationMs,
      finished_at: st.finishedAt,
    })),
    samples: steps.flatMap((st) =>
      Object.entries(st.samples)
        .filter(([, v]) => v.values.length > 0)
        .map(([name, v]) => {
          const d = describe(v.values);
          return { run_id: id, step_key: st.key, name, unit: v.unit, n: d.n, min: d.min, p50: d.median, mean: d.mean, p90: d.p90, p99: d.p99, max: d.max, stddev: d.stddev, vals: json(v.values) };
        }),
    ),
    metrics: steps.flatMap((st) => Object.entries(st.metrics).map(([name, m]) => ({ run_id: id, step_key: st.key, name, unit: m.unit, value: m.value }))),
    boot_values: bootValues(id, steps),
    findings: [...titles.values()].map((f) => ({
      run_id: id,
      title: f.title,
      kind: f.kind,
      count: f.count,
      boot: f.boot,
      console_log: f.consoleLog,
      line: f.line,
      corrupted: f.corrupted ? 1 : 0,
      text: f.text,
      frames: json(f.frames),
    })),
    finding_sites: [...titles.values()].flatMap((f) => [...new Set(f.where)].map((site) => ({ run_id: id, title: f.title, site, kernel: siteKernel(s, site, f.boot) }))),
  };
}

export function summaryHash(s: RunSummary): string {
  return hashValue(s as unknown as HashInput);
}

// Rows per INSERT: both engines cap bound parameters per statement (SQLite 32766, PostgreSQL 65535).
const MAX_PARAMS = 30_000;

async function insertRows<T extends TableName>(trx: Transaction<HistoryTables>, table: T, rows: Insertable<HistoryTables[T]>[]): Promise<void> {
  const cols = rows[0] ? Object.keys(rows[0]).length : 1;
  const per = Math.max(1, Math.floor(MAX_PARAMS / cols));
  const into = (trx as Kysely<HistoryTables>).insertInto(table);
  for (let i = 0; i < rows.length; i += per) await into.values(rows.slice(i, i + per) as Parameters<typeof into.values>[0]).execute();
}

/** Import one run's summary (see checkImportable); all or nothing. */
export async function importSummary(h: HistoryDb, s: RunSummary, o: ImportOptions = {}): Promise<ImportResult> {
  checkImportable(s);
  const rows = runRows(s, (o.now ?? new Date()).toISOString());
  const counts = Object.fromEntries(RUN_TABLES.map((t) => [t, rows[t].length])) as Record<TableName, number>;
  const hash = rows.runs[0]?.summary_hash;
  let action: ImportResult['action'] = 'imported';
  try {
    await h.db.transaction().execute(async (trx) => {
      const prev = await trx.selectFrom('runs').select('summary_hash').where('run_id', '=', s.runId).executeTakeFirst();
      if (prev?.summary_hash === hash) {
        action = 'unchanged';
        return;
      }
      if (prev) {
        action = 'replaced';
        await trx.deleteFrom('runs').where('run_id', '=', s.runId).execute();
      }
      for (const t of RUN_TABLES) {
        await insertRows(trx, t, rows[t]);
        await o.afterTable?.(t);
      }
    });
  } catch (e) {
    throw dbFailure(e, h.target);
  }
  return { runId: s.runId, action, rows: counts, sampleValues: rows.samples.reduce((a, x) => a + x.n, 0) };
}

/** A run directory (events.jsonl, else summary.json) into the database. */
export async function importRunDir(h: HistoryDb, dir: string, o: ImportOptions = {}): Promise<ImportResult> {
  return importSummary(h, await loadRunSummary(dir), o);
}
