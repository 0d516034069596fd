// Which history database a command means (`--db`, else DAXLAB_DB, else one SQLite file beside the
// results) and how it is named in messages: a PostgreSQL URL may carry a password, which must
// never reach a terminal, a log or a results file. Pure.
import { join, resolve } from 'node:path';
import { defaultResultsRoot } from '../../results/store.ts';
import { UserError } from '../../util/errors.ts';
import { displayPath } from '../../util/paths.ts';
import { didYouMean } from '../../util/suggest.ts';
import { redactUrl, SECRET_PARAMS } from '../../util/secrets.ts';

export type DbTarget =
  | { engine: 'sqlite'; path: string; display: string }
  | {
      engine: 'postgres';
      url: string;
      /** The URL without its password (and without password query parameters). */
      display: string;
      /** Strings that must not appear in anything printed: the URL's password, PGPASSWORD. */
      secrets: string[];
    };

export const DB_ENV = 'DAXLAB_DB';
export const DEFAULT_DB_FILE = 'history.sqlite';

export function defaultDbPath(): string {
  return join(defaultResultsRoot(), DEFAULT_DB_FILE);
}

const SCHEMES = ['postgres', 'postgresql', 'sqlite'];
/** The passwords a PostgreSQL URL and the environment can carry (decoded as libpq decodes them). */
function secretsOf(url: URL, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  const dec = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (url.password) out.push(dec(url.password), url.password);
  for (const [k, v] of url.searchParams) if (SECRET_PARAMS.has(k.toLowerCase()) && v) out.push(v);
  if (env['PGPASSWORD']) out.push(env['PGPASSWORD']);
  return [...new Set(out)];
}

/**
 * `--db VALUE` (or DAXLAB_DB): `postgres://...`/`postgresql://...`, `sqlite:PATH`, or a plain path
 * to a SQLite file. Nothing given: `<results>/history.sqlite`.
 */
export function parseDbTarget(value: string | undefined, env: NodeJS.ProcessEnv = process.env): DbTarget {
  const given = value ?? env[DB_ENV];
  const where = value !== undefined ? '--db' : DB_ENV;
  if (given === undefined || given === '') {
    if (value === '') throw new UserError('--db: empty (give a path, sqlite:PATH or postgres://USER@HOST/DB)');
    return sqliteTarget(defaultDbPath());
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(given)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new UserError(`${where}: '${redactUrl(given)}' is not a valid URL`);
    }
    return { engine: 'postgres', url: given, display: redactUrl(given), secrets: secretsOf(url, env) };
  }
  if (scheme === 'sqlite') return sqliteTarget(given.slice('sqlite://'.length), where);
  if (scheme !== undefined) {
    throw new UserError(`${where}: unknown database scheme '${scheme}://' (postgres://USER@HOST/DB, sqlite:PATH or a file path)${didYouMean(scheme, SCHEMES)}`);
  }
  if (/^sqlite:/i.test(given)) return sqliteTarget(given.slice('sqlite:'.length), where);
  return sqliteTarget(given, where);
}

function sqliteTarget(path: string, where = '--db'): DbTarget {
  if (!path) throw new UserError(`${where}: sqlite: needs a file path (sqlite:PATH)`);
  return { engine: 'sqlite', path: resolve(path), display: `sqlite:${displayPath(resolve(path))}` };
}
