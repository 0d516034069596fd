// The history database's tables as Kysely sees them (migrations.ts creates them). One schema for
// SQLite and PostgreSQL, so only types both have: text, integer, double precision. Times are ISO
// 8601 UTC text (they sort as they are), booleans 0/1, lists and records JSON text. Every row
// belongs to a run and goes with it (foreign keys, on delete cascade).
import type { Selectable } from 'kysely';

export interface RunsTable {
  run_id: string;
  status: string;
  status_reason: string | null;
  /** The night: runs are ordered by this, then by run id. */
  started_at: string;
  finished_at: string | null;
  /** JSON: the command line. */
  command: string;
  hostname: string;
  /** JSON: RunSummary.host, guest, overrides. */
  host: string;
  guest: string;
  overrides: string | null;
  concurrency: number;
  summary_schema: number;
  /** Hash of the summary imported: the same run imported again unchanged is a no-op. */
  summary_hash: string;
  imported_at: string;
}

export interface KernelsTable {
  run_id: string;
  /** What history is keyed by (a plan's kernel name; the spec may change from night to night). */
  name: string;
  spec: string;
  release: string;
  banner: string;
  /** JSON: KernelRecord.identity (source, package/version or repo/commit, base, config, patches). */
  identity: string;
  source: string | null;
  config_hash: string | null;
  /** The applied patches' short sha256s in order, comma-separated ('' for none, null when not built from source). */
  patches: string | null;
  image_key: string;
  accel: string;
  tcg_thread: string | null;
}

export interface BootsTable {
  run_id: string;
  boot: number;
  kernel: string;
  end_state: string;
  qemu_exit_code: number | null;
  qemu_signal: string | null;
  guest_release: string | null;
  ready_ms: number | null;
  exit_ms: number;
  console_log: string;
}

export interface StepsTable {
  run_id: string;
  /** Work item key, `KERNEL/scenario:fs:dax:rN[@SLOT]`. */
  key: string;
  kernel: string;
  scenario: string;
  fs: string;
  dax: string;
  rep: number;
  slot: number | null;
  boot: number;
  status: string;
  reason: string;
  exit_code: number | null;
  duration_ms: number;
  finished_at: string;
}

/** One row per step and sample name: the distribution's summary, and the values (JSON, in order). */
export interface SamplesTable {
  run_id: string;
  step_key: string;
  name: string;
  unit: string;
  n: number;
  min: number;
  p50: number;
  mean: number;
  p90: number;
  p99: number;
  max: number;
  stddev: number;
  vals: string;
}

export interface MetricsTable {
  run_id: string;
  step_key: string;
  name: string;
  unit: string;
  value: number;
}

/**
 * A metric's value per boot, as A/B comparisons take it (ab/collect.ts): the median over the
 * boot's measured repetitions of passing steps, a sample's value per repetition being its median
 * (`NAME.p50`). Computed at import so the nightly series is one indexed read.
 */
export interface BootValuesTable {
  run_id: string;
  boot: number;
  kernel: string;
  scenario: string;
  fs: string;
  dax: string;
  metric: string;
  unit: string;
  value: number;
  /** Repetitions the median is over. */
  reps: number;
}

/** A run's distinct console findings (RunSummary.findings), with their first report. */
export interface FindingsTable {
  run_id: string;
  title: string;
  kind: string;
  count: number;
  boot: number;
  console_log: string;
  line: number;
  corrupted: number;
  text: string;
  /** JSON: the report's frames. */
  frames: string;
}

/** Each place a finding showed up (a work item, or `boot N: <setup step>`), with the kernel it ran. */
export interface FindingSitesTable {
  run_id: string;
  title: string;
  site: string;
  kernel: string;
}

export interface HistoryTables {
  runs: RunsTable;
  kernels: KernelsTable;
  boots: BootsTable;
  steps: StepsTable;
  samples: SamplesTable;
  metrics: MetricsTable;
  boot_values: BootValuesTable;
  findings: FindingsTable;
  finding_sites: FindingSitesTable;
}

export type TableName = keyof HistoryTables;
/** Parents first, the order a run's rows are written in. */
export const RUN_TABLES: readonly TableName[] = ['runs', 'kernels', 'boots', 'steps', 'samples', 'metrics', 'boot_values', 'findings', 'finding_sites'];

export type RunRow = Selectable<RunsTable>;
