// A private Redis server for the fleet tests: /usr/bin/redis-server on a free loopback port, no
// persistence, its working directory a temp dir, optionally with a password; stopped by the test.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureHostTools } from '../harness/host/tools.ts';
import { freePort } from './db-postgres.ts';

export { freePort };

export interface RedisServer {
  port: number;
  /** `redis://[:password@]127.0.0.1:port`; `password: false` leaves the password out. */
  url(o?: { password?: string | false }): string;
  stop(): Promise<void>;
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });

// Debian's redis-server, installed with apt when missing and root (as `npm test` installs what it
// needs); once per process, so tests starting servers at once do not race for dpkg's lock.
let installed: Promise<void> | undefined;

export async function startRedis(o: { password?: string } = {}): Promise<RedisServer> {
  await (installed ??= ensureHostTools(['redis-server']));
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(o.password ? ['--requirepass', o.password] : [])];
  const child = execa('redis-server', args, { reject: false, stdin: 'ignore' });
  for (let i = 0; !(await listening(port)); i++) {
    if (i > 100 || child.exitCode !== null) throw new Error(`redis-server did not start: ${String((await child).all ?? (await child).stderr)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (u = {}) => {
      const pw = u.password === undefined ? o.password : u.password || undefined;
      return `redis://${pw ? `:${encodeURIComponent(pw)}@` : ''}127.0.0.1:${port}`;
    },
    stop: async () => {
      child.kill('SIGKILL');
      await child;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
