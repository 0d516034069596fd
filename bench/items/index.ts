// The items `npm run bench` knows, in the order it runs them: the letters (a)..(f).
// Adding one: a module bench/items/NAME.ts exporting `item` (a BenchItem, bench/lib/item.ts) and
// its name below. A name whose module is not there yet is left out, so items can land one by one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchItem } from '../lib/item.ts';

const ORDER = ['floor', 'boot-phases', 'warm-cache', 'parallel', 'startup', 'kernel-build'] as const;

async function load(): Promise<BenchItem[]> {
  const items: BenchItem[] = [];
  for (const name of ORDER) {
    const file = join(import.meta.dirname, `${name}.ts`);
    if (!existsSync(file)) continue;
    const mod = (await import(file)) as { item: BenchItem };
    items.push(mod.item);
  }
  return items;
}

export const ITEMS: readonly BenchItem[] = await load();
