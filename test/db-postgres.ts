// A private PostgreSQL server for the history-database tests: Debian's postgresql package (apt
// installs it when missing and we are root), a cluster made by initdb in a temp dir, listening on
// a free loopback port with a password user. PostgreSQL refuses to run as root, so as root the
// cluster belongs to the `postgres` user and its programs run with that uid.
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';

export interface PgServer {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  /** `postgres://user:password@127.0.0.1:port/db`, or without the password. */
  url(db: string, o?: { password?: string | false }): string;
  /** A new empty database on this server. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';

async function pgBin(): Promise<string> {
  const find = (): string | undefined =>
    existsSync(PG_ROOT)
      ? readdirSync(PG_ROOT)
          .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => join(PG_ROOT, v, 'bin'))[0]
      : undefined;
  let bin = find();
  if (!bin && process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await execa('apt-get', ['update', '-qq'], { env });
    await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], { env });
    bin = find();
  }
  if (!bin) throw new Error('PostgreSQL server programs not found under /usr/lib/postgresql: apt-get install -y postgresql');
  return bin;
}

/** A port nothing listens on right now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export async function startPostgres(): Promise<PgServer> {
  const bin = await pgBin();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-pg-'));
  const data = join(dir, 'data');
  const user = 'daxlab';
  const password = `pw-${Math.random().toString(36).slice(2)}:@/?#`;
  writeFileSync(join(dir, 'pw'), password);
  let ids: { uid: number; gid: number } | undefined;
  if (root) {
    ids = { uid: Number((await execa('id', ['-u', 'postgres'])).stdout), gid: Number((await execa('id', ['-g', 'postgres'])).stdout) };
    chownSync(dir, ids.uid, ids.gid);
    chownSync(join(dir, 'pw'), ids.uid, ids.gid);
  }
  chmodSync(join(dir, 'pw'), 0o600);
  const run = (prog: string, args: string[], o: { reject?: boolean; all?: boolean } = {}): ResultPromise<{ reject?: boolean; all?: boolean }> =>
    execa(join(bin, prog), args, { ...o, ...(ids ?? {}), cwd: dir });
  await run('initdb', ['-D', data, '-U', user, `--pwfile=${join(dir, 'pw')}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C']);
  rmSync(join(dir, 'pw'));
  const port = await freePort();
  // A test server: no fsync (nothing here tests the server's durability), no Unix socket outside dir.
  const server = run('postgres', ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'full_page_writes=off'], { reject: false, all: true });
  const url = (db: string, o: { password?: string | false } = {}): string => {
    const pw = o.password === false ? '' : `:${encodeURIComponent(o.password ?? password)}`;
    return `postgres://${user}${pw}@127.0.0.1:${port}/${db}`;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = new pg.Client({ connectionString: url('postgres') });
    try {
      await c.connect();
      await c.end();
      break;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (server.exitCode !== null || Date.now() > deadline) {
        server.kill('SIGKILL');
        const r = await server;
        throw new Error(`postgres did not start: ${(e as Error).message}\n${String(r.all ?? '')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    url,
    async createDatabase(name: string): Promise<string> {
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    async stop(): Promise<void> {
      // Fast shutdown of this cluster's postmaster (pg_ctl reads its pid from the data dir).
      await run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop'], { reject: false });
      if (server.exitCode === null) server.kill('SIGKILL');
      await server;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
