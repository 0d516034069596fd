// The SQLite driver (better-sqlite3), installed on first use into the cache instead of by the main
// `npm ci`: it is a native module compiled from source here (no prebuilt binary can be fetched),
// which adds about five minutes to every `npm ci`, and bootstrap.sh runs `npm ci` on the first
// `./daxlab run` and again whenever package-lock.json changes. Pinned by its own lock file
// (sqlite-driver/), built once per lock file and Node ABI, and loaded only when a database is used.
import { copyFile, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { execa } from 'execa';
import { ensureHostTools } from '../../host/tools.ts';
import { cachedEntry } from '../../util/cache.ts';
import { UserError } from '../../util/errors.ts';
import { hashValue, shortHash } from '../../util/hash.ts';

export type SqliteConstructor = typeof BetterSqlite3;

const DRIVER_DIR = join(dirname(fileURLToPath(import.meta.url)), 'sqlite-driver');
const FILES = ['package.json', 'package-lock.json'];

let loaded: SqliteConstructor | undefined;

/** The better-sqlite3 constructor, building the driver into the cache first if needed. */
export async function sqliteDriver(log: (s: string) => void = () => {}): Promise<SqliteConstructor> {
  if (loaded) return loaded;
  const lock = await readFile(join(DRIVER_DIR, 'package-lock.json'), 'utf8');
  const version = (JSON.parse(lock) as { packages: Record<string, { version?: string }> }).packages['node_modules/better-sqlite3']?.version ?? '?';
  // The compiled module is tied to the Node ABI as well as to the lock file.
  const key = `better-sqlite3-${version}-abi${process.versions.modules}-${shortHash(hashValue([lock, process.platform, process.arch]))}`;
  const entry = await cachedEntry({
    kind: 'npm',
    key,
    onStale: log,
    build: async (tmp) => {
      log(`building the SQLite driver (better-sqlite3 ${version}, once per machine; a few minutes)`);
      await ensureHostTools(['make', 'g++', 'python3'], [], log);
      for (const f of FILES) await copyFile(join(DRIVER_DIR, f), join(tmp, f));
      const t0 = Date.now();
      // Under `npm test` the environment carries the outer project's npm settings
      // (npm_config_local_prefix=<repo> among them): this install must see only its own directory.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
      const r = await execa('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: tmp, env, extendEnv: false, reject: false, all: true });
      if (r.exitCode !== 0) {
        const last = String(r.all ?? '').trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit ${String(r.exitCode)}`;
        throw new UserError(`could not build the SQLite driver (npm ci in ${DRIVER_DIR}): ${last}`);
      }
      log(`SQLite driver built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      return { version, abi: process.versions.modules };
    },
  });
  const req = createRequire(join(entry.dir, 'package.json'));
  loaded = req('better-sqlite3') as SqliteConstructor;
  return loaded;
}
