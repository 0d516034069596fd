// Which database `--db` / DAXLAB_DB names, and that a PostgreSQL password never survives into
// anything printed. Pure.
import test from 'ava';
import { join, resolve } from 'node:path';
import { parseDbTarget } from '../harness/history/db/target.ts';
import { recordedCommand, redactUrl, scrubSecrets } from '../harness/util/secrets.ts';
import { UserError } from '../harness/util/errors.ts';

const lineOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e.oneLine();
    throw e;
  }
  return '(no error)';
};

test('redactUrl drops the password and password parameters, keeps the rest', (t) => {
  t.is(redactUrl('postgres://user:s3cret@127.0.0.1:5433/db'), 'postgres://user@127.0.0.1:5433/db');
  t.is(redactUrl('postgresql://u:p%40ss%3Aw@db.example:5432/h?sslmode=require'), 'postgresql://u@db.example:5432/h?sslmode=require');
  t.is(redactUrl('postgres://u@h/db?password=x&application_name=a&PassWord=y&sslpassword=z'), 'postgres://u@h/db?application_name=a');
  t.is(redactUrl('postgres://u@h/db'), 'postgres://u@h/db', 'nothing to drop');
  // Not parseable as a URL: credentials between // and @ are still cut.
  t.is(redactUrl('postgres://u:p w@h:notaport/db'), 'postgres://u@h:notaport/db');
});

test('scrubSecrets: every copy of a secret, raw or percent-encoded, and URL credentials', (t) => {
  const pw = 'pa:ss@w/rd';
  const text = `connect postgres://u:${encodeURIComponent(pw)}@h/db failed; password was ${pw}; other mysql://a:b@c/`;
  const out = scrubSecrets(text, [pw]);
  t.false(out.includes(pw));
  t.false(out.includes(encodeURIComponent(pw)));
  t.false(out.includes(':b@'));
  t.is(out, 'connect postgres://u@h/db failed; password was ***; other mysql://a@c/');
  t.is(scrubSecrets('nothing here', ['']), 'nothing here', 'an empty secret is not a pattern');
});

test('--db: postgres URLs, sqlite:PATH, plain paths; the default is beside the results', (t) => {
  const pg = parseDbTarget('postgres://daxlab:hunter22@127.0.0.1:5433/history', {});
  t.like(pg, { engine: 'postgres', display: 'postgres://daxlab@127.0.0.1:5433/history' });
  t.deepEqual(pg.engine === 'postgres' ? pg.secrets : [], ['hunter22']);
  const env = parseDbTarget('postgresql://daxlab@h/history', { PGPASSWORD: 'from-env' });
  t.deepEqual(env.engine === 'postgres' ? env.secrets : [], ['from-env'], 'PGPASSWORD is a secret too');
  t.deepEqual(parseDbTarget('sqlite:/tmp/h.db', {}), { engine: 'sqlite', path: '/tmp/h.db', display: 'sqlite:/tmp/h.db' });
  t.deepEqual(parseDbTarget('sqlite:///tmp/h.db', {}), { engine: 'sqlite', path: '/tmp/h.db', display: 'sqlite:/tmp/h.db' });
  t.like(parseDbTarget('some/dir/h.sqlite', {}), { engine: 'sqlite', path: resolve('some/dir/h.sqlite') });
  t.like(parseDbTarget(undefined, { DAXLAB_DB: 'postgres://x@h/d' }), { engine: 'postgres', display: 'postgres://x@h/d' });
  const prev = process.env['DAXLAB_RESULTS'];
  process.env['DAXLAB_RESULTS'] = '/tmp/some-results';
  try {
    t.like(parseDbTarget(undefined, {}), { engine: 'sqlite', path: join('/tmp/some-results', 'history.sqlite') });
  } finally {
    if (prev === undefined) delete process.env['DAXLAB_RESULTS'];
    else process.env['DAXLAB_RESULTS'] = prev;
  }
});

test('--db: bad values are one line, and never echo a password', (t) => {
  t.is(lineOf(() => parseDbTarget('mysql://u:pw@h/db', {})), "daxlab: --db: unknown database scheme 'mysql://' (postgres://USER@HOST/DB, sqlite:PATH or a file path)");
  t.is(lineOf(() => parseDbTarget('postgress://u:pw@h/db', {})), "daxlab: --db: unknown database scheme 'postgress://' (postgres://USER@HOST/DB, sqlite:PATH or a file path) (did you mean 'postgres'?)");
  t.is(lineOf(() => parseDbTarget(undefined, { DAXLAB_DB: 'postgres://u:topsecret@/db' })), "daxlab: DAXLAB_DB: 'postgres://u@/db' is not a valid URL");
  t.is(lineOf(() => parseDbTarget('sqlite:', {})), 'daxlab: --db: sqlite: needs a file path (sqlite:PATH)');
  t.is(lineOf(() => parseDbTarget('', {})), 'daxlab: --db: empty (give a path, sqlite:PATH or postgres://USER@HOST/DB)');
});

test('a recorded command line keeps no password of a URL given as an argument', (t) => {
  t.deepEqual(recordedCommand(['nightly', 'plan.yaml', '--db', 'postgres://u:s3cret@127.0.0.1:5433/db?password=x&sslmode=require', '--db=redis://:pw@h:6379/0', 'plain']), [
    'nightly',
    'plan.yaml',
    '--db',
    'postgres://u@127.0.0.1:5433/db?sslmode=require',
    '--db=redis://h:6379/0',
    'plain',
  ]);
});
