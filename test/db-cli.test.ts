// `daxlab db import` as a user runs it: into the default SQLite file and into a real PostgreSQL
// server on loopback; credentials from the URL or PGPASSWORD never printed; a server that is
// down, a wrong password, an unfinished run: one line and exit 2. And commands that use no
// database never load Kysely or a driver.
import test from 'ava';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { readEvents, scratch, SEGV_RUN, TWO_GUESTS_LOG, writeRun } from './db-fixtures.ts';
import { freePort, startPostgres, type PgServer } from './db-postgres.ts';
import { daxlab, root } from './helpers.ts';

let server: PgServer | undefined;
test.before(async () => {
  server = await startPostgres();
});
test.after.always(async () => {
  await server?.stop();
});
const pgServer = (): PgServer => {
  if (!server) throw new Error('no postgres server');
  return server;
};

// The environment a test gives daxlab: none of this machine's PG* variables.
const CLEAN = { ...Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('PG') || k === 'DAXLAB_DB').map((k) => [k, undefined])), PGPASSFILE: '/nonexistent' };
const run = (args: string[], env: Record<string, string | undefined> = {}) => daxlab(args, { ...CLEAN, ...env } as Record<string, string>);

const TWO_GUESTS_LINE = '2 steps, 2 boots, 1 kernel, 6 metrics, 40 samples, 8 per-boot values, 0 findings';

test('default database: <results>/history.sqlite, latest; a second import is unchanged', async (t) => {
  const results = scratch(t);
  writeRun(results, readEvents(TWO_GUESTS_LOG));
  const r = await run(['db', 'import', 'latest'], { DAXLAB_RESULTS: results });
  t.is(r.exitCode, 0, String(r.all));
  const file = join(results, 'history.sqlite');
  t.is(String(r.stdout), `20261201-193212-974aa3: imported into sqlite:${file} (${TWO_GUESTS_LINE})`);
  t.true(existsSync(file));
  const again = await run(['db', 'import', 'latest', join(results, '20261201-193212-974aa3')], { DAXLAB_RESULTS: results });
  t.is(again.exitCode, 0, String(again.all));
  t.deepEqual(String(again.stdout).split('\n'), [`20261201-193212-974aa3: already in sqlite:${file}, unchanged`, `20261201-193212-974aa3: already in sqlite:${file}, unchanged`]);
});

test('postgres by URL and by DAXLAB_DB with PGPASSWORD: imported, and the password is nowhere in the output', async (t) => {
  const pg = pgServer();
  const url = await pg.createDatabase('cli_url');
  const shown = `postgres://daxlab@127.0.0.1:${pg.port}/cli_url`;
  const r = await run(['db', 'import', SEGV_RUN, writeRun(scratch(t), readEvents(TWO_GUESTS_LOG)), '--db', url]);
  t.is(r.exitCode, 0, String(r.all));
  t.deepEqual(String(r.stdout).split('\n'), [
    `20261202-005721-9eb4aa: imported into ${shown} (2 steps, 1 boot, 1 kernel, 3 metrics, 11 samples, 4 per-boot values, 0 findings)`,
    `20261201-193212-974aa3: imported into ${shown} (${TWO_GUESTS_LINE})`,
  ]);
  await pg.createDatabase('cli_env');
  const env = await run(['db', 'import', SEGV_RUN], { DAXLAB_DB: pg.url('cli_env', { password: false }), PGPASSWORD: pg.password });
  t.is(env.exitCode, 0, String(env.all));
  t.is(String(env.stdout), `20261202-005721-9eb4aa: imported into postgres://daxlab@127.0.0.1:${pg.port}/cli_env (2 steps, 1 boot, 1 kernel, 3 metrics, 11 samples, 4 per-boot values, 0 findings)`);
  for (const x of [r, env]) {
    t.false(String(x.all).includes(pg.password));
    t.false(String(x.all).includes(encodeURIComponent(pg.password)));
  }
});

test('a server that is down: one line, exit 2, no stack and no password', async (t) => {
  const port = await freePort();
  const r = await run(['db', 'import', SEGV_RUN, '--db', `postgres://daxlab:hunter22@127.0.0.1:${port}/history`]);
  t.is(r.exitCode, 2);
  t.is(String(r.stdout), '');
  t.is(String(r.stderr), `daxlab: cannot connect to postgres://daxlab@127.0.0.1:${port}/history: connection refused`);
});

test('a wrong password from PGPASSWORD, a missing database: one line each, exit 2, nothing of the password', async (t) => {
  const pg = pgServer();
  const wrong = await run(['db', 'import', SEGV_RUN, '--db', pg.url('postgres', { password: false })], { PGPASSWORD: 'Wr0ng-but-secret' });
  t.is(wrong.exitCode, 2);
  t.is(String(wrong.stderr), `daxlab: cannot connect to postgres://daxlab@127.0.0.1:${pg.port}/postgres: password authentication failed for user "daxlab"`);
  t.false(String(wrong.all).includes('Wr0ng-but-secret'));
  const missing = await run(['db', 'import', SEGV_RUN, '--db', pg.url('no_such_db')]);
  t.is(missing.exitCode, 2);
  t.is(String(missing.stderr), `daxlab: cannot connect to postgres://daxlab@127.0.0.1:${pg.port}/no_such_db: database "no_such_db" does not exist`);
  t.false(String(missing.all).includes(pg.password));
});

test('an unfinished run is refused before the database is touched', async (t) => {
  const results = scratch(t);
  const dir = writeRun(results, readEvents(TWO_GUESTS_LOG).filter((e) => e.type !== 'run-ended'));
  const db = join(results, 'h.sqlite');
  const r = await run(['db', 'import', dir, '--db', db]);
  t.is(r.exitCode, 2);
  t.is(String(r.stderr), 'daxlab: run 20261201-193212-974aa3 has not ended (still running, or killed before it could say so): only completed runs are imported; finish it with daxlab run --resume 20261201-193212-974aa3, then import it');
  t.false(existsSync(db), 'no database file made');
  const none = await run(['db', 'import', join(results, 'nope'), '--db', db]);
  t.is(none.exitCode, 2);
  t.regex(String(none.stderr), /^daxlab: no run '.*nope' \(expected a run id under .*, a results directory, or latest\)$/);
  const scheme = await run(['db', 'import', SEGV_RUN, '--db', 'postgress://u:pw@h/db']);
  t.is(scheme.exitCode, 2);
  t.is(String(scheme.stderr), "daxlab: --db: unknown database scheme 'postgress://' (postgres://USER@HOST/DB, sqlite:PATH or a file path) (did you mean 'postgres'?)");
});

test('only a command that opens a database loads Kysely and a driver', async (t) => {
  const dir = scratch(t);
  const probe = (name: string): string => join(dir, name);
  const node = (args: string[], file: string, env: Record<string, string | undefined> = {}) =>
    execa('node', ['--import', join(root, 'test', 'db-load-probe.mjs'), 'bin/daxlab.js', ...args], { cwd: root, reject: false, all: true, env: { ...CLEAN, ...env, DAXLAB_LOAD_PROBE: file } });
  const loaded = (file: string): string[] => (existsSync(file) ? [...new Set(readFileSync(file, 'utf8').trim().split('\n'))].sort() : []);
  for (const [i, args] of [['run', '--help'], ['report', '--help'], ['db', 'import', '--help'], ['kernel', 'list', '--json']].entries()) {
    const r = await node(args, probe(`none-${i}`), { DAXLAB_CACHE: join(dir, 'cache') });
    t.is(r.exitCode, 0, String(r.all));
    t.deepEqual(loaded(probe(`none-${i}`)), [], `daxlab ${args.join(' ')} loads no database module`);
  }
  mkdirSync(join(dir, 'db'));
  const lite = await node(['db', 'import', SEGV_RUN, '--db', join(dir, 'db', 'h.sqlite')], probe('sqlite'));
  t.is(lite.exitCode, 0, String(lite.all));
  t.deepEqual(loaded(probe('sqlite')), ['import kysely', 'require better-sqlite3']);
  const pg = pgServer();
  const pgr = await node(['db', 'import', SEGV_RUN, '--db', await pg.createDatabase('probe')], probe('pg'));
  t.is(pgr.exitCode, 0, String(pgr.all));
  t.deepEqual(loaded(probe('pg')), ['import kysely', 'import pg', 'require pg']);
});
