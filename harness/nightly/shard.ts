// `--shard i/n`: the matrix split deterministically and evenly by estimated cost, so a CI matrix
// or a Kubernetes Indexed Job can hand each machine its index. The unit is one kernel's boot slot
// for one scenario: items of a unit share a boot, as they would unsharded. Pure.
import type { WorkItem } from '../plan/plan.ts';
import { UserError } from '../util/errors.ts';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function parseShard(v: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || count > 1000 || index < 1 || index > count) throw new UserError(`--shard must be i/n with 1 <= i <= n <= 1000 (e.g. 2/4), got '${v}'`);
  return { index, count };
}

/** Seconds a unit is expected to take: a boot, plus per item its step (capped by its timeout) and share of setup. */
export function unitCost(items: readonly WorkItem[], stepSeconds: (i: WorkItem) => number = (i) => Math.min(i.timeoutS, 10)): number {
  const BOOT_S = 15; // agent up under TCG, from the measurements in the README
  const SETUP_S = 3; // mkfs + mount + umount per item, amortised
  return BOOT_S + items.reduce((n, i) => n + SETUP_S + stepSeconds(i), 0);
}

const unitKey = (i: WorkItem): string => `${i.kernel}\0${i.slot ?? 0}\0${i.scenario}`;

/**
 * The items of shard `s`: units assigned longest first to the least-loaded shard (ties to the
 * lowest index, units in key order), so every shard computes the same assignment on its own.
 */
export function shardItems(items: readonly WorkItem[], s: Shard, stepSeconds?: (i: WorkItem) => number): WorkItem[] {
  if (s.count === 1) return [...items];
  const units = new Map<string, WorkItem[]>();
  for (const i of items) {
    const k = unitKey(i);
    if (!units.has(k)) units.set(k, []);
    units.get(k)?.push(i);
  }
  const costed = [...units].map(([k, us]) => ({ k, cost: unitCost(us, stepSeconds) })).sort((a, b) => b.cost - a.cost || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const load = new Array<number>(s.count).fill(0);
  const mine = new Set<string>();
  for (const u of costed) {
    let best = 0;
    for (let j = 1; j < s.count; j++) if ((load[j] ?? 0) < (load[best] ?? 0)) best = j;
    load[best] = (load[best] ?? 0) + u.cost;
    if (best === s.index - 1) mine.add(u.k);
  }
  return items.filter((i) => mine.has(unitKey(i)));
}

/** Items for `boots` independent boots per kernel: slot 1..boots, keys `...@SLOT` (one boot: unchanged). */
export function bootSlots(items: readonly WorkItem[], boots: number): WorkItem[] {
  if (boots <= 1) return [...items];
  return Array.from({ length: boots }, (_, b) => items.map((i) => ({ ...i, key: `${i.key}@${b + 1}`, slot: b + 1 }))).flat();
}
