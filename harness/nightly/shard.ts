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

export interface ShardUnit {
  kernel: string;
  /** Boot slot (0: a plan of one boot). */
  slot: number;
  scenario: string;
  cost: number;
  items: WorkItem[];
}

/** The units of the matrix, longest first (ties in key order): the order shards are dealt them. */
export function shardUnits(items: readonly WorkItem[], stepSeconds?: (i: WorkItem) => number): ShardUnit[] {
  const units = new Map<string, WorkItem[]>();
  for (const i of items) {
    const k = unitKey(i);
    if (!units.has(k)) units.set(k, []);
    units.get(k)?.push(i);
  }
  return [...units]
    .map(([k, us]) => ({ k, cost: unitCost(us, stepSeconds), us }))
    .sort((a, b) => b.cost - a.cost || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map(({ cost, us }) => ({ kernel: us[0]?.kernel ?? '', slot: us[0]?.slot ?? 0, scenario: us[0]?.scenario ?? '', cost, items: us }));
}

/**
 * The items of shard `s`: units assigned longest first to the least-loaded shard (ties to the
 * lowest index), so every shard computes the same assignment on its own. With as many shards as
 * units, shard j gets exactly unit j of shardUnits: the fleet's jobs are such shards.
 */
export function shardItems(items: readonly WorkItem[], s: Shard, stepSeconds?: (i: WorkItem) => number): WorkItem[] {
  if (s.count === 1) return [...items];
  const load = new Array<number>(s.count).fill(0);
  const mine = new Set<string>();
  for (const u of shardUnits(items, stepSeconds)) {
    let best = 0;
    for (let j = 1; j < s.count; j++) if ((load[j] ?? 0) < (load[best] ?? 0)) best = j;
    load[best] = (load[best] ?? 0) + u.cost;
    if (best === s.index - 1) for (const i of u.items) mine.add(i.key);
  }
  return items.filter((i) => mine.has(i.key));
}

/** Items for `boots` independent boots per kernel: slot 1..boots, keys `...@SLOT` (one boot: unchanged). */
export function bootSlots(items: readonly WorkItem[], boots: number): WorkItem[] {
  if (boots <= 1) return [...items];
  return Array.from({ length: boots }, (_, b) => items.map((i) => ({ ...i, key: `${i.key}@${b + 1}`, slot: b + 1 }))).flat();
}
