// The history database on both engines: a real SQLite file and a real PostgreSQL server started
// here on loopback. Real captured runs (and nights derived from them, test/db-fixtures.ts) go in
// through the importer; both engines must hold the same rows and give the same answers, a
// re-import must change nothing, and a failed or killed import must leave nothing visible.
import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { loadRunSummary } from '../harness/report/command.ts';
import { openHistoryDb, type HistoryDb } from '../harness/history/db/connect.ts';
import { importRunDir, importSummary, runRows } from '../harness/history/db/import.ts';
import { findingTitlesBefore, findingTitlesOfRun, metricSeries, seriesOfRun } from '../harness/history/db/queries.ts';
import { RUN_TABLES, type HistoryTables, type TableName } from '../harness/history/db/schema.ts';
import { parseDbTarget } from '../harness/history/db/target.ts';
import type { RunSummary } from '../harness/results/types.ts';
import { quantile } from '../harness/stats/summary.ts';
import { UserError } from '../harness/util/errors.ts';
import { expectedBootMedians, nights, scratch, TWO_GUESTS_LOG, writeRun, readEvents } from './db-fixtures.ts';
import { freePort, startPostgres, type PgServer } from './db-postgres.ts';
import { root } from './helpers.ts';

type Engine = 'sqlite' | 'postgres';
const ENGINES: Engine[] = ['sqlite', 'postgres'];
const NOW = new Date('2026-12-04T06:00:00.000Z');

let server: PgServer | undefined;
let dbs = 0;

test.before(async () => {
  // node-postgres falls back to PG* variables and ~/.pgpass: the tests give every credential.
  for (const k of Object.keys(process.env)) if (k.startsWith('PG')) delete process.env[k];
  process.env['PGPASSFILE'] = '/nonexistent';
  server = await startPostgres();
});
test.after.always(async () => {
  await server?.stop();
});

/** A fresh, empty database of that engine; closed when the test ends. */
async function freshDb(t: ExecutionContext, engine: Engine): Promise<{ h: HistoryDb; url: string }> {
  let url: string;
  if (engine === 'sqlite') url = `sqlite:${join(scratch(t), 'history.sqlite')}`;
  else {
    if (!server) throw new Error('no postgres server');
    url = await server.createDatabase(`t${process.pid}_${++dbs}`);
  }
  const h = await openHistoryDb(parseDbTarget(url, {}));
  t.teardown(() => h.close());
  return { h, url };
}

/** Rows per table for one run (or all runs). */
async function counts(db: Kysely<HistoryTables>, runId?: string): Promise<Record<TableName, number>> {
  const out = {} as Record<TableName, number>;
  for (const tb of RUN_TABLES) {
    const q = sql<{ n: number | string }>`select count(*) as n from ${sql.table(tb)} ${runId === undefined ? sql`` : sql`where run_id = ${runId}`}`;
    const r = await q.execute(db);
    out[tb] = Number(r.rows[0]?.n ?? NaN);
  }
  return out;
}

const NONE = Object.fromEntries(RUN_TABLES.map((tb) => [tb, 0])) as Record<TableName, number>;

/** Every row of every table, in a stable order (the engines' own orders may differ). */
async function dump(db: Kysely<HistoryTables>): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const tb of RUN_TABLES) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(tb)}`.execute(db)).rows;
    out[tb] = rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b))))).sort();
  }
  return out;
}

/** Everything nightly alerting asks, for the nights fixture. */
async function answers(db: Kysely<HistoryTables>, n: ReturnType<typeof nights>) {
  const ext4 = { fs: 'ext4', dax: 'always' } as const;
  return {
    series: await metricSeries(db, { kernel: 'debian:6.12', scenario: 'tl-quick', variant: ext4, metric: 'truncate.p50' }),
    xfs: await metricSeries(db, { kernel: 'debian:6.12', scenario: 'tl-quick', variant: { fs: 'xfs', dax: 'always' }, metric: 'truncate.p50' }),
    mainline: await metricSeries(db, { kernel: 'mainline', scenario: 'tl-quick', variant: ext4, metric: 'truncate.p50' }),
    upToN1: await metricSeries(db, { kernel: 'debian:6.12', scenario: 'tl-quick', variant: ext4, metric: 'truncate.p50' }, { upTo: n.ids.n1 }),
    tlOne: await metricSeries(db, { kernel: 'debian:6.12', scenario: 'tl-one', variant: ext4, metric: 'truncate_total' }),
    seriesN2: await seriesOfRun(db, n.ids.n2),
    titlesN2: await findingTitlesOfRun(db, n.ids.n2),
    before: {
      n1: await findingTitlesBefore(db, 'debian:6.12', n.ids.n1),
      n3: await findingTitlesBefore(db, 'debian:6.12', n.ids.n3),
      n2: await findingTitlesBefore(db, 'debian:6.12', n.ids.n2),
      n4: await findingTitlesBefore(db, 'debian:6.12', n.ids.n4),
      mainlineN4: await findingTitlesBefore(db, 'mainline', n.ids.n4),
    },
  };
}

test('both engines hold the same rows and give the same answers, and the answers are right', async (t) => {
  const n = nights(t);
  const got = new Map<Engine, { dump: unknown; answers: Awaited<ReturnType<typeof answers>> }>();
  for (const engine of ENGINES) {
    const { h } = await freshDb(t, engine);
    // Imported out of night order: nights are ordered by their start, not by import.
    for (const k of ['n4', 'n2', 'n1', 'n3'] as const) t.is((await importRunDir(h, n.dirs[k], { now: NOW })).action, 'imported');
    got.set(engine, { dump: await dump(h.db), answers: await answers(h.db, n) });
  }
  const lite = got.get('sqlite');
  const pg = got.get('postgres');
  if (!lite || !pg) throw new Error('both engines ran');
  t.deepEqual(pg.dump, lite.dump, 'same rows in both engines');
  t.deepEqual(pg.answers, lite.answers, 'same answers from both engines');

  const a = lite.answers;
  // n1's ext4 step ran in boot 1; n2 has ext4 in boots 1 and 2, every sample twice n1's.
  const b1 = expectedBootMedians(n.events.n1, /tl-quick:ext4:always/, 'truncate');
  const b2 = expectedBootMedians(n.events.n2, /tl-quick:ext4:always/, 'truncate');
  const series = a.series;
  t.deepEqual(
    series.map((x) => [x.runId, x.boots, x.value, x.unit]),
    [
      [n.ids.n1, [b1.get(1)], b1.get(1), 'ns'],
      [n.ids.n2, [b2.get(1), b2.get(2)], quantile([b2.get(1) ?? NaN, b2.get(2) ?? NaN], 0.5), 'ns'],
    ],
  );
  t.is(b2.get(1), 2 * (b1.get(1) ?? NaN), 'the slower night reads twice the value');
  t.deepEqual(series[0]?.kernel.identity, { source: 'debian', package: 'linux-image-6.12.117+deb12-amd64-unsigned', version: '6.12.117-1~deb12u1' });
  t.deepEqual(a.xfs.map((x) => x.runId), [n.ids.n1], 'n2 ran no xfs: xfs has n1 only');
  t.deepEqual(a.mainline.map((x) => x.runId), [n.ids.n4], 'history is keyed by kernel name');
  t.deepEqual(a.upToN1.map((x) => x.runId), [n.ids.n1]);
  t.deepEqual(a.tlOne.map((x) => x.value), [0.011575927], 'a metric as the reproducer printed it');
  t.deepEqual(
    a.seriesN2.map((x) => x.metric),
    ['is_dax', 'iterations', 'truncate.p50', 'truncate_total'],
  );
  t.deepEqual(
    a.titlesN2,
    [n.titles.a, n.titles.b].sort().map((title) => ({ kernel: 'debian:6.12', title })),
  );
  t.deepEqual(a.before, {
    n1: [],
    n3: [],
    n2: [n.titles.a],
    n4: [n.titles.a, n.titles.b].sort(),
    mainlineN4: [],
  });
});

test('a run imported again is a no-op; a changed run replaces its rows, never adds to them', async (t) => {
  const run = writeRun(scratch(t), readEvents(TWO_GUESTS_LOG));
  const s = await loadRunSummary(run);
  for (const engine of ENGINES) {
    const { h } = await freshDb(t, engine);
    const first = await importSummary(h, s);
    t.is(first.action, 'imported');
    const after = await counts(h.db);
    t.deepEqual(after, first.rows, `${engine}: the rows the import said`);
    t.like(after, { runs: 1, kernels: 1, boots: 2, steps: 2, samples: 2 });
    t.is((await importSummary(h, s)).action, 'unchanged');
    t.deepEqual(await counts(h.db), after);
    const revised: RunSummary = { ...s, steps: s.steps.map((st, i) => (i === 0 ? { ...st, reason: 'revised by a late report' } : st)) };
    t.is((await importSummary(h, revised)).action, 'replaced');
    t.deepEqual(await counts(h.db), after, `${engine}: same row counts after a replacement`);
    const reasons = await h.db.selectFrom('steps').select('reason').orderBy('key').execute();
    t.is(reasons[0]?.reason, 'revised by a late report');
  }
});

test('an import that fails midway leaves nothing of it, and a failed replacement leaves the old run', async (t) => {
  const run = writeRun(scratch(t), readEvents(TWO_GUESTS_LOG));
  const s = await loadRunSummary(run);
  for (const engine of ENGINES) {
    const { h } = await freshDb(t, engine);
    const boom = (at: TableName) => (tb: TableName) => {
      if (tb === at) throw new Error(`injected failure after ${tb}`);
    };
    await t.throwsAsync(importSummary(h, s, { afterTable: boom('samples') }), { message: 'injected failure after samples' });
    t.deepEqual(await counts(h.db), NONE, `${engine}: nothing of a failed first import`);
    await importSummary(h, s);
    const good = await counts(h.db);
    const hash = (await h.db.selectFrom('runs').select('summary_hash').executeTakeFirstOrThrow()).summary_hash;
    const revised: RunSummary = { ...s, status: 'completed', statusReason: 'revised' };
    await t.throwsAsync(importSummary(h, revised, { afterTable: boom('boot_values') }));
    t.deepEqual(await counts(h.db), good, `${engine}: the old rows are all there`);
    t.is((await h.db.selectFrom('runs').select('summary_hash').executeTakeFirstOrThrow()).summary_hash, hash);
  }
});

test('while an import runs, another connection sees nothing of it', async (t) => {
  const run = writeRun(scratch(t), readEvents(TWO_GUESTS_LOG));
  const s = await loadRunSummary(run);
  for (const engine of ENGINES) {
    const { h, url } = await freshDb(t, engine);
    const reader = await openHistoryDb(parseDbTarget(url, {}));
    t.teardown(() => reader.close());
    const seen: Record<TableName, number>[] = [];
    await importSummary(h, s, {
      afterTable: async (tb) => {
        if (tb === 'metrics') seen.push(await counts(reader.db));
      },
    });
    t.deepEqual(seen, [NONE], `${engine}: mid-import, nothing visible`);
    t.deepEqual(await counts(reader.db), runRowsCounts(s), `${engine}: after commit, all of it`);
  }
});

const runRowsCounts = (s: RunSummary): Record<TableName, number> => {
  const rows = runRows(s, NOW.toISOString());
  return Object.fromEntries(RUN_TABLES.map((tb) => [tb, rows[tb].length])) as Record<TableName, number>;
};

test('an import killed with SIGKILL mid-transaction leaves nothing, and the database stays usable', async (t) => {
  const run = writeRun(scratch(t), readEvents(TWO_GUESTS_LOG));
  for (const engine of ENGINES) {
    const { h, url } = await freshDb(t, engine);
    const child = execa('node', ['--import=tsx', join(root, 'test', 'db-import-child.ts'), url, run, 'metrics'], { cwd: root, reject: false, all: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the importing child did not pause within 60 s')), 60_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (String(d).includes('paused after metrics')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void child.then((r) => reject(new Error(`child exited before pausing: ${String(r.all)}`)));
    });
    t.deepEqual(await counts(h.db), NONE, `${engine}: nothing visible while the writer is stopped midway`);
    child.kill('SIGKILL');
    const r = await child;
    t.is(r.signal, 'SIGKILL');
    if (engine === 'sqlite') t.true(readdirSync(join(url.slice('sqlite:'.length), '..')).some((f) => f.endsWith('-journal')), 'the killed writer left its rollback journal');
    // A new connection (SQLite rolls the hot journal back on open) sees nothing, and can import.
    const again = await openHistoryDb(parseDbTarget(url, {}));
    t.teardown(() => again.close());
    t.deepEqual(await counts(again.db), NONE, `${engine}: nothing of the killed import`);
    t.is((await importRunDir(again, run)).action, 'imported');
    t.deepEqual(await counts(h.db), runRowsCounts(await loadRunSummary(run)));
  }
});

test('an incomplete run is refused before anything is written', async (t) => {
  const events = readEvents(TWO_GUESTS_LOG);
  const interrupted = events.map((e) => (e.type === 'run-ended' ? { ...e, status: 'interrupted' as const, reason: 'SIGINT during debian:6.12/tl-quick:xfs:always:r1' } : e));
  const running = events.filter((e) => e.type !== 'run-ended');
  const { h } = await freshDb(t, 'sqlite');
  const cases: [string, RunSummary, string][] = [
    ['interrupted', await loadRunSummary(writeRun(scratch(t), interrupted)), 'run 20261201-193212-974aa3 ended interrupted (SIGINT during debian:6.12/tl-quick:xfs:always:r1): only completed runs are imported; finish it with daxlab run --resume 20261201-193212-974aa3, then import it'],
    ['running', await loadRunSummary(writeRun(scratch(t), running)), 'run 20261201-193212-974aa3 has not ended (still running, or killed before it could say so): only completed runs are imported; finish it with daxlab run --resume 20261201-193212-974aa3, then import it'],
  ];
  for (const [what, s, message] of cases) {
    const e = await t.throwsAsync(importSummary(h, s), { instanceOf: UserError }, what);
    t.is(e?.message, message);
  }
  t.deepEqual(await counts(h.db), NONE);
});

test('a database migrated by a newer daxlab is refused with one line', async (t) => {
  const { h, url } = await freshDb(t, 'sqlite');
  await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2030-01-01T00:00:00.000Z')`.execute(h.db);
  const e = await t.throwsAsync(openHistoryDb(parseDbTarget(url, {})), { instanceOf: UserError });
  t.regex(e?.oneLine() ?? '', /^daxlab: sqlite:.*history\.sqlite: its schema is newer than this daxlab knows \(.*\)$/);
});

test('postgres: a server that is down, a wrong password, a missing database: one line, no password', async (t) => {
  if (!server) throw new Error('no postgres server');
  const line = async (url: string, env: NodeJS.ProcessEnv = {}): Promise<string> => {
    const e = await t.throwsAsync(openHistoryDb(parseDbTarget(url, env)), { instanceOf: UserError });
    return e?.oneLine() ?? '';
  };
  const down = await freePort();
  t.is(await line(`postgres://daxlab:hunter22@127.0.0.1:${down}/history`), `daxlab: cannot connect to postgres://daxlab@127.0.0.1:${down}/history: connection refused`);
  const wrong = await line(server.url('postgres', { password: 'not-the-password' }));
  t.is(wrong, `daxlab: cannot connect to postgres://daxlab@127.0.0.1:${server.port}/postgres: password authentication failed for user "daxlab"`);
  t.is(await line(server.url('postgres', { password: false })), `daxlab: cannot connect to postgres://daxlab@127.0.0.1:${server.port}/postgres: the server wants a password and none was given (in the URL, PGPASSWORD or ~/.pgpass)`);
  const missing = await line(server.url('nope'));
  t.is(missing, `daxlab: cannot connect to postgres://daxlab@127.0.0.1:${server.port}/nope: database "nope" does not exist`);
  for (const l of [wrong, missing]) t.false(l.includes(server.password) || l.includes(encodeURIComponent(server.password)));
});

test('sqlite: a directory, a file that is not a database, a path through a file: one line each', async (t) => {
  const dir = scratch(t);
  const plain = join(dir, 'plain');
  writeFileSync(plain, 'not a database\n');
  const line = async (path: string): Promise<string> => {
    const e = await t.throwsAsync(openHistoryDb(parseDbTarget(path, {})), { instanceOf: UserError });
    return e?.oneLine() ?? '';
  };
  t.is(await line(dir), `daxlab: cannot use sqlite:${dir}: unable to open database file`);
  t.is(await line(plain), `daxlab: cannot use sqlite:${plain}: file is not a database`);
  t.is(await line(join(plain, 'h.sqlite')), `daxlab: cannot use sqlite:${join(plain, 'h.sqlite')}: EEXIST: file already exists, mkdir '${plain}'`);
  t.is(readFileSync(plain, 'utf8'), 'not a database\n', 'a file that is not a database is left alone');
});
