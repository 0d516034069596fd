// Schema migrations, one list for both engines, written with Kysely's schema builder (which emits
// each engine's DDL). Applied in name order by Kysely's Migrator when a database is opened; never
// edit a migration that has shipped, add the next one.
import type { CreateTableBuilder, Kysely, Migration, MigrationProvider } from 'kysely';

const TEXT = 'text';
const INT = 'integer';
// Byte counts and milliseconds outgrow 32-bit integers; a double holds them exactly up to 2^53
// and both engines hand it back as a JS number (PostgreSQL's bigint would come back as a string).
const REAL = 'double precision';

/** Every child table: its rows belong to one run and go with it. */
function ofRun<T extends string, C extends string>(t: CreateTableBuilder<T, C>, name: string): CreateTableBuilder<T, C> {
  return t.addForeignKeyConstraint(`${name}_run_fk`, ['run_id' as C], 'runs', ['run_id'], (fk) => fk.onDelete('cascade'));
}

const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('runs')
      .addColumn('run_id', TEXT, (c) => c.primaryKey())
      .addColumn('status', TEXT, (c) => c.notNull())
      .addColumn('status_reason', TEXT)
      .addColumn('started_at', TEXT, (c) => c.notNull())
      .addColumn('finished_at', TEXT)
      .addColumn('command', TEXT, (c) => c.notNull())
      .addColumn('hostname', TEXT, (c) => c.notNull())
      .addColumn('host', TEXT, (c) => c.notNull())
      .addColumn('guest', TEXT, (c) => c.notNull())
      .addColumn('overrides', TEXT)
      .addColumn('concurrency', INT, (c) => c.notNull())
      .addColumn('summary_schema', INT, (c) => c.notNull())
      .addColumn('summary_hash', TEXT, (c) => c.notNull())
      .addColumn('imported_at', TEXT, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('runs_night').on('runs').columns(['started_at', 'run_id']).execute();

    await ofRun(
      db.schema
        .createTable('kernels')
        .addColumn('run_id', TEXT, (c) => c.notNull())
        .addColumn('name', TEXT, (c) => c.notNull())
        .addColumn('spec', TEXT, (c) => c.notNull())
        .addColumn('release', TEXT, (c) => c.notNull())
        .addColumn('banner', TEXT, (c) => c.notNull())
        .addColumn('identity', TEXT, (c) => c.notNull())
        .addColumn('source', TEXT)
        .addColumn('config_hash', TEXT)
        .addColumn('patches', TEXT)
        .addColumn('image_key', TEXT, (c) => c.notNull())
        .addColumn('accel', TEXT, (c) => c.notNull())
        .addColumn('tcg_thread', TEXT)
        .addPrimaryKeyConstraint('kernels_pk', ['run_id', 'name']),
      'kernels',
    ).execute();

    await ofRun(
      db.schema
        .createTable('boots')
        .addColumn('run_id', TEXT, (c) => c.notNull())
        .addColumn('boot', INT, (c) => c.notNull())
        .addColumn('kernel', TEXT, (c) => c.notNull())
        .addColumn('end_state', TEXT, (c) => c.notNull())
        .addColumn('qemu_exit_code', INT)
        .addColumn('qemu_signal', TEXT)
        .addColumn('guest_release', TEXT)
        .addColumn('ready_ms', REAL)
        .addColumn('exit_ms', REAL, (c) => c.notNull())
        .addColumn('console_log', TEXT, (c) => c.notNull())
        .addPrimaryKeyConstraint('boots_pk', ['run_id', 'boot']),
      'boots',
    ).execute();

    await ofRun(
      db.schema
        .createTable('steps')
        .addColumn('run_id', TEXT, (c) => c.notNull())
        .addColumn('key', TEXT, (c) => c.notNull())
        .addColumn('kernel', TEXT, (c) => c.notNull())
        .addColumn('scenario', TEXT, (c) => c.notNull())
        .addColumn('fs', TEXT, (c) => c.notNull())
        .addColumn('dax', TEXT, (c) => c.notNull())
        .addColumn('rep', INT, (c) => c.notNull())
        .addColumn('slot', INT)
        .addColumn('boot', INT, (c) => c.notNull())
        .addColumn('status', TEXT, (c) => c.notNull())
        .addColumn('reason', TEXT, (c) => c.notNull())
        .addColumn('exit_code', INT)
        .addColumn('duration_ms', REAL, (c) => c.notNull())
        .addColumn('finished_at', TEXT, (c) => c.notNull())
        .addPrimaryKeyConstraint('steps_pk', ['run_id', 'key']),
      'steps',
    ).execute();

    await ofRun(
      db.schema
        .createTable('samples')
        .addColumn('run_id', TEXT, (c) => c.notNull())
        .addColumn('step_key', TEXT, (c) => c.notNull())
        .addColumn('name', TEXT, (c) => c.notNull())
        .addColumn('unit', TEXT, (c) => c.notNull())
        .addColumn('n', INT, (c) => c.notNull())
        .addColumn('min', REAL, (c) => c.notNull())
        .addColumn('p50', REAL, (c) => c.notNull())
        .addColumn('mean', REAL, (c) => c.notNull())
        .addColumn('p90', REAL, (c) => c.notNull())
        .addColumn('p99', REAL, (c) => c.notNull())
        .addColumn('max', REAL, (c) => c.notNull())
        .addColumn('stddev', REAL, (c) => c.notNull())
        .addColumn('vals', TEXT, (c) => c.notNull())
        .addPrimaryKeyConstraint('samples_pk', ['run_id', 'step_key', 'name']),
      'samples',
    ).execute();

    await ofRun(
      db.schema
        .createTable('metrics')
        .addColumn('run_id', TEXT, (c) => c.notNull())
        .addColumn('step_key', TEXT, (c) => c.notNull())
        .addColumn('name', TEXT, (c) => c.notNull())
        .addColumn('unit', TEXT, (c) => c.notNull())
        .addColumn('value', REAL, (c) => c.notNull())
        .addPrimaryKeyConstraint('metrics_pk', ['run_id', 'step_key', 'name']),
      'metrics',
    ).execute();

    await ofRun(
      db.schema
        .createTable('boot_values')
        .addColumn('run_id', TEXT, (c) => c.notNull())
        .addColumn('boot', INT, (c) => c.notNull())
        .addColumn('kernel', TEXT, (c) => c.notNull())
        .addColumn('scenario', TEXT, (c) => c.notNull())
        .addColumn('fs', TEXT, (c) => c.notNull())
        .addColumn('dax', TEXT, (c) => c.notNull())
        .addColumn('metric', TEXT, (c) => c.notNull())
        .addColumn('unit', TEXT, (c) => c.notNull())
        .addColumn('value', REAL, (c) => c.notNull())
        .addColumn('reps', INT, (c) => c.notNull())
        .addPrimaryKeyConstraint('boot_values_pk', ['run_id', 'boot', 'scenario', 'fs', 'dax', 'metric']),
      'boot_values',
    ).execute();
    // The nightly series: one (kernel name, scenario, variant, metric) across runs.
    await db.schema.createIndex('boot_values_series').on('boot_values').columns(['kernel', 'scenario', 'fs', 'dax', 'metric']).execute();

    await ofRun(
      db.schema
        .createTable('findings')
        .addColumn('run_id', TEXT, (c) => c.notNull())
        .addColumn('title', TEXT, (c) => c.notNull())
        .addColumn('kind', TEXT, (c) => c.notNull())
        .addColumn('count', INT, (c) => c.notNull())
        .addColumn('boot', INT, (c) => c.notNull())
        .addColumn('console_log', TEXT, (c) => c.notNull())
        .addColumn('line', INT, (c) => c.notNull())
        .addColumn('corrupted', INT, (c) => c.notNull())
        .addColumn('text', TEXT, (c) => c.notNull())
        .addColumn('frames', TEXT, (c) => c.notNull())
        .addPrimaryKeyConstraint('findings_pk', ['run_id', 'title']),
      'findings',
    ).execute();

    await ofRun(
      db.schema
        .createTable('finding_sites')
        .addColumn('run_id', TEXT, (c) => c.notNull())
        .addColumn('title', TEXT, (c) => c.notNull())
        .addColumn('site', TEXT, (c) => c.notNull())
        .addColumn('kernel', TEXT, (c) => c.notNull())
        .addPrimaryKeyConstraint('finding_sites_pk', ['run_id', 'title', 'site']),
      'finding_sites',
    ).execute();
    // "Titles ever seen on kernel X": by kernel name across runs.
    await db.schema.createIndex('finding_sites_kernel').on('finding_sites').columns(['kernel', 'title']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['finding_sites', 'findings', 'boot_values', 'metrics', 'samples', 'steps', 'boots', 'kernels', 'runs']) await db.schema.dropTable(t).execute();
  },
};

export const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
};

export const migrationProvider: MigrationProvider = { getMigrations: async () => MIGRATIONS };
