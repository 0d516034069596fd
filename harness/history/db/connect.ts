// Opening the history database: SQLite (one file, created on first use) or PostgreSQL (a URL),
// migrated to the current schema. Kysely and the drivers are imported here, dynamically, so a
// command that never touches a database never loads them. Failures an operator can fix (server
// down, wrong password, unreadable file) are one UserError line naming the database without its
// password; anything else keeps its stack, with secrets scrubbed from it.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Kysely } from 'kysely';
import { UserError } from '../../util/errors.ts';
import type { HistoryTables } from './schema.ts';
import { scrubSecrets } from '../../util/secrets.ts';
import type { DbTarget } from './target.ts';
import { SOCKET_ERRORS } from '../../util/socket-errors.ts';

export interface HistoryDb {
  db: Kysely<HistoryTables>;
  target: DbTarget;
  close(): Promise<void>;
}

export interface OpenOptions {
  log?: (s: string) => void;
  /** PostgreSQL: give up connecting after this long (a filtered port never answers). */
  connectTimeoutMs?: number;
}

// SQLSTATE classes that are the server's or the operator's doing, not daxlab's: connection (08),
// authorization (28, 42501), unknown database (3D000), resources (53), shutdown (57P).
const OPERATOR_SQLSTATE = /^(08|28|3D|53|57P)|^42501$/;

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  errors?: unknown;
}

function codeOf(e: unknown): string | undefined {
  const x = e as ErrorLike | null;
  if (typeof x?.code === 'string') return x.code;
  // Node's happy-eyeballs connect fails with an AggregateError of one error per address.
  if (Array.isArray(x?.errors)) for (const inner of x.errors) if (typeof (inner as ErrorLike | null)?.code === 'string') return (inner as ErrorLike).code as string;
  return undefined;
}

const firstLine = (e: unknown): string => String((e as ErrorLike | null)?.message ?? e).split('\n')[0] ?? '';

/**
 * The one line for an error a person can act on, or undefined for a bug. `connecting`: the
 * error came before the first query answered.
 */
export function operatorMessage(e: unknown, t: DbTarget, connecting: boolean): string | undefined {
  const code = codeOf(e);
  if (t.engine === 'postgres') {
    const sock = code ? SOCKET_ERRORS[code] : undefined;
    if (sock) return `cannot connect to ${t.display}: ${sock}`;
    const msg = firstLine(e);
    if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(msg)) return `cannot connect to ${t.display}: timed out`;
    if (/Connection terminated unexpectedly/i.test(msg)) return `${connecting ? 'cannot connect to' : 'lost the connection to'} ${t.display}: the server closed the connection`;
    if (/client password must be a string/.test(msg)) return `cannot connect to ${t.display}: the server wants a password and none was given (in the URL, PGPASSWORD or ~/.pgpass)`;
    // pg reports an unusable password (SASL, SCRAM) before it has a SQLSTATE.
    if ((code && OPERATOR_SQLSTATE.test(code)) || (connecting && /password|SASL|SCRAM/i.test(msg))) return connecting ? `cannot connect to ${t.display}: ${msg}` : `${t.display}: ${msg}`;
    return undefined;
  }
  // better-sqlite3 names SQLite's result codes: SQLITE_CANTOPEN, SQLITE_NOTADB, SQLITE_READONLY...
  if (code && /^SQLITE_(CANTOPEN|NOTADB|READONLY|PERM|BUSY|LOCKED|CORRUPT|FULL|IOERR|AUTH)/.test(code)) return `cannot use ${t.display}: ${firstLine(e)}`;
  if (code && ['EACCES', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EEXIST'].includes(code)) return `cannot use ${t.display}: ${firstLine(e)}`;
  return undefined;
}

/** Anything thrown by database work, as it may leave daxlab: a UserError line, or the bug with secrets scrubbed. */
export function dbFailure(e: unknown, t: DbTarget, connecting = false): Error {
  if (e instanceof UserError) return e;
  const secrets = t.engine === 'postgres' ? t.secrets : [];
  const line = operatorMessage(e, t, connecting);
  if (line !== undefined) return new UserError(scrubSecrets(line, secrets));
  const err = e instanceof Error ? e : new Error(String(e));
  err.message = scrubSecrets(err.message, secrets);
  if (err.stack) err.stack = scrubSecrets(err.stack, secrets);
  return err;
}

async function kyselyFor(t: DbTarget, o: OpenOptions): Promise<Kysely<HistoryTables>> {
  const { Kysely, PostgresDialect, SqliteDialect } = await import('kysely');
  if (t.engine === 'sqlite') {
    const { sqliteDriver } = await import('./sqlite.ts');
    const Database = await sqliteDriver(o.log);
    await mkdir(dirname(t.path), { recursive: true });
    const file = new Database(t.path);
    // Another daxlab importing at the same time holds the write lock for a moment: wait for it.
    file.pragma('busy_timeout = 10000');
    // SQLite enforces foreign keys (and so cascading deletes) only when asked, per connection.
    file.pragma('foreign_keys = ON');
    return new Kysely<HistoryTables>({ dialect: new SqliteDialect({ database: file }) });
  }
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: t.url, max: 4, connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000, application_name: 'daxlab' });
  // An idle connection the server drops must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return new Kysely<HistoryTables>({ dialect: new PostgresDialect({ pool }) });
}

/** Open (creating a SQLite file if needed) and migrate to the current schema. */
export async function openHistoryDb(t: DbTarget, o: OpenOptions = {}): Promise<HistoryDb> {
  let db: Kysely<HistoryTables>;
  try {
    db = await kyselyFor(t, o);
  } catch (e) {
    throw dbFailure(e, t, true);
  }
  try {
    const { Migrator } = await import('kysely');
    const { migrationProvider } = await import('./migrations.ts');
    const r = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (r.error) {
      const msg = firstLine(r.error);
      // A database migrated by a newer daxlab names migrations this one does not have.
      if (/^corrupted migrations: previously executed migration .* is missing/.test(msg)) {
        throw new UserError(`${t.display}: its schema is newer than this daxlab knows (${msg})`);
      }
      throw r.error;
    }
  } catch (e) {
    await db.destroy().catch(() => undefined);
    throw dbFailure(e, t, true);
  }
  return { db, target: t, close: () => db.destroy() };
}
