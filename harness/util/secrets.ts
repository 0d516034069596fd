// Credentials in URLs (a database's, a Redis server's) and the text that might quote them: a
// password must never reach a terminal, a log or a results file. Pure.

// Query parameters libpq and node-postgres read secrets from (Redis URLs carry none, but a
// `?password=` there is dropped as well).
export const SECRET_PARAMS = new Set(['password', 'sslpassword']);

/**
 * `postgres://user:pw@host/db?password=x` -> `postgres://user@host/db`, `redis://:pw@h:6379` ->
 * `redis://h:6379`: the password and any password parameter are dropped, not starred, so their
 * length is not shown either. Text that is not a URL comes back with anything between `://` and
 * `@` that looks like `user:pw` cut down to `user`.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/(\/\/[^/:@\s]*):[^@]*@/, '$1@');
  }
  u.password = '';
  for (const k of [...u.searchParams.keys()]) if (SECRET_PARAMS.has(k.toLowerCase())) u.searchParams.delete(k);
  return u.toString();
}

/** Every occurrence of a secret replaced by `***`, and any credentials left in URLs cut (redactUrl). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  // Also percent-encoded, as a URL carries it.
  for (const s of secrets) if (s && encodeURIComponent(s) !== s) out = out.split(encodeURIComponent(s)).join('***');
  return out.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^@\s]*@/gi, '$1@');
}

/**
 * A command line as runs record it (events, summary.json, ab.json): every URL in an argument
 * (`--db postgres://u:pw@h/db`, `--db=...`) through redactUrl, so a password given on the command
 * line never reaches a results file.
 */
export function recordedCommand(argv: readonly string[] = process.argv.slice(2)): string[] {
  return argv.map((a) => a.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, (url) => redactUrl(url)));
}
