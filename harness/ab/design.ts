// The A/B run design. Pure: which kernel boots in which slot, and the work items of each slot.
// Boots of A and B interleave in blocks of four, ABBA or BAAB by a seeded coin, so a slow drift
// of the host (thermal, another tenant, cache warm-up) falls on both sides alike; every boot
// runs all of the scenario's items, with one warm-up repetition (rep 0) that is discarded.
import type { WorkItem } from '../plan/plan.ts';
import type { Scenario } from '../scenario/schema.ts';

export type Side = 'A' | 'B';

export interface Slot {
  slot: number;
  side: Side;
  kernel: string;
}

/** Sides of `blocks` blocks of four boots, each block ABBA or BAAB by `rand`. */
export function blockOrder(blocks: number, rand: () => number): Side[] {
  const out: Side[] = [];
  for (let i = 0; i < blocks; i++) out.push(...(rand() < 0.5 ? (['A', 'B', 'B', 'A'] as const) : (['B', 'A', 'A', 'B'] as const)));
  return out;
}

/** Blocks needed for at least `bootsPerSide` boots of each side (two per side per block). */
export function blocksFor(bootsPerSide: number): number {
  return Math.max(1, Math.ceil(bootsPerSide / 2));
}

/** Slots `first..` for the given sides, A on kernel `a`, B on kernel `b`. */
export function slotsFor(sides: Side[], first: number, a: string, b: string): Slot[] {
  return sides.map((side, i) => ({ slot: first + i, side, kernel: side === 'A' ? a : b }));
}

export const WARMUP_REP = 0;

/**
 * The items of each slot: every scenario x filesystem x DAX mode, repetitions 0 (warm-up) to
 * `repetitions`. Keys are `KERNEL/scenario:fs:dax:rN@SLOT`: unique across the run, stable.
 */
export function slotItems(slots: Slot[], scenarios: readonly Scenario[], binaries: Map<string, string>, repetitions: (s: Scenario) => number): WorkItem[] {
  const items: WorkItem[] = [];
  for (const sl of slots) {
    for (const s of scenarios) {
      for (const fs of s.filesystems) {
        for (const dax of s.daxModes) {
          for (let rep = WARMUP_REP; rep <= repetitions(s); rep++) {
            items.push({
              key: `${sl.kernel}/${s.id}:${fs}:${dax}:r${rep}@${sl.slot}`,
              kernel: sl.kernel,
              scenario: s.id,
              variant: { fs, dax },
              rep,
              slot: sl.slot,
              binary: binaries.get(s.id) ?? s.id,
              args: s.args,
              timeoutS: s.timeoutS,
              scratch: s.scratch,
              scratchIops: s.scratchIops,
              ownBoot: false,
              ...(s.monitors ? { monitors: s.monitors } : {}),
            });
          }
        }
      }
    }
  }
  return items;
}
