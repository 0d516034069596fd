// A guest's shape as far as it sets timings: clock (under TCG), vCPUs, memory, kernel command
// line. Nights and shards that differ in it measure differently. Pure; the fields are read
// loosely, as they come from the history database's JSON too.
export interface GuestShapeLike {
  cpus?: unknown;
  memBytes?: unknown;
  clock?: unknown;
  append?: unknown;
}

/** `clock=icount cpus=2 mem=2048M[ append=...]`; `withClock: false` (not TCG) leaves the clock out. */
export function guestShape(g: GuestShapeLike, withClock = true): string {
  const clock = withClock ? `clock=${g.clock === 'icount' ? 'icount' : 'host'} ` : '';
  const mem = typeof g.memBytes === 'number' ? `${Math.round(g.memBytes / 2 ** 20)}M` : '?';
  const append = Array.isArray(g.append) && g.append.length ? ` append=${g.append.join(' ')}` : '';
  return `${clock}cpus=${String(g.cpus ?? '?')} mem=${mem}${append}`;
}
