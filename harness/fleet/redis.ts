// Which Redis server the fleet uses and how it is reached: `--redis URL` (else $DAXLAB_REDIS),
// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` or `rediss://` for TLS; a password not in the URL
// comes from $REDISCLI_AUTH, as redis-cli takes it. Messages name the server without the
// password. A server that is down or refuses the password is one UserError line at once, never
// an endless reconnect loop; once connected, an outage is retried with a line per outage.
// ioredis is imported here, dynamically, so commands without a fleet never load it.
import type { Redis, RedisOptions } from 'ioredis';
import { UserError } from '../util/errors.ts';
import { redactUrl, scrubSecrets } from '../util/secrets.ts';
import { SOCKET_ERRORS } from '../util/socket-errors.ts';

export const REDIS_ENV = 'DAXLAB_REDIS';
export const REDIS_PASSWORD_ENV = 'REDISCLI_AUTH';

export interface RedisTarget {
  options: Pick<RedisOptions, 'host' | 'port' | 'username' | 'password' | 'db' | 'tls'>;
  /** The URL without its password. */
  display: string;
  /** What must never be printed: the password, raw and as the URL spells it. */
  secrets: string[];
}

const dec = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** `--redis VALUE` (or $DAXLAB_REDIS) as connection options. Pure. */
export function parseRedisTarget(value: string | undefined, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  const given = value ?? env[REDIS_ENV];
  const where = value !== undefined ? '--redis' : REDIS_ENV;
  if (!given) throw new UserError(`no Redis server: give --redis redis://HOST[:PORT][/DB] (or set ${REDIS_ENV})`);
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new UserError(`${where}: '${redactUrl(given)}' is not a URL (redis://[:PASSWORD@]HOST[:PORT][/DB])`);
  }
  const display = redactUrl(given);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UserError(`${where}: '${display}' is not a redis:// or rediss:// URL`);
  if (!u.hostname) throw new UserError(`${where}: '${display}' names no host`);
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw new UserError(`${where}: '${display}': the path is the database number (e.g. /0), got '/${dbText}'`);
  const password = u.password ? dec(u.password) : env[REDIS_PASSWORD_ENV] || undefined;
  const secrets = [...new Set([password, u.password].filter((s): s is string => Boolean(s)))];
  return {
    options: {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : 6379,
      ...(u.username ? { username: dec(u.username) } : {}),
      ...(password ? { password } : {}),
      db: dbText === '' ? 0 : Number(dbText),
      ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
    },
    display,
    secrets,
  };
}

/** What went wrong talking to the server, in one line without the password. Pure. */
export function redisMessage(e: unknown, t: RedisTarget): string {
  const x = e as { code?: unknown; message?: unknown } | null;
  const code = typeof x?.code === 'string' ? x.code : undefined;
  const msg = String(x?.message ?? e).split('\n')[0] ?? '';
  const why =
    (code && SOCKET_ERRORS[code]) ??
    (/^NOAUTH/.test(msg)
      ? `the server wants a password and none was given (in the URL or $${REDIS_PASSWORD_ENV})`
      : /^WRONGPASS|invalid password|invalid username-password/i.test(msg)
        ? 'wrong user name or password'
        : /connect ETIMEDOUT|timed? ?out/i.test(msg)
          ? 'timed out'
          : // The server's own words might quote what it was sent; daxlab's above never do.
            scrubSecrets(msg, t.secrets));
  return `${t.display}: ${why}`;
}

export interface ConnectOptions {
  /** A line when a connected client loses the server, and when it is back. */
  log: (s: string) => void;
  connectTimeoutMs?: number;
}

/**
 * A client that answered PING, for BullMQ (`maxRetriesPerRequest: null`, as its workers need).
 * Unreachable or refused: a UserError `cannot connect to URL: why`.
 */
export async function connectRedis(t: RedisTarget, o: ConnectOptions): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const timeout = o.connectTimeoutMs ?? 5000;
  // First a client that gives up at the first failure: a down server is one line, now.
  const probe = new Redis({ ...t.options, lazyConnect: true, connectTimeout: timeout, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  let first: unknown;
  probe.on('error', (e: unknown) => void (first ??= e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    probe.disconnect();
    throw new UserError(`cannot connect to ${redisMessage(first ?? e, t)}`);
  }
  await probe.quit().catch(() => undefined);
  let down = false;
  const client = new Redis({
    ...t.options,
    connectTimeout: timeout,
    maxRetriesPerRequest: null,
    // Retried with a growing pause, up to 5 s: a Redis restart during a night is waited out.
    retryStrategy: (n: number) => Math.min(500 * n, 5000),
  });
  client.on('error', (e: unknown) => {
    if (down) return;
    down = true;
    o.log(`lost ${redisMessage(e, t)}; retrying`);
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    o.log(`${t.display}: connected again`);
  });
  return client;
}
