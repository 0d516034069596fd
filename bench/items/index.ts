// The items `npm run bench` knows, in the order it runs them. Adding one: a module here that
// exports a BenchItem (bench/lib/item.ts), and a line below.
import type { BenchItem } from '../lib/item.ts';
import { startup } from './startup.ts';
import { warmCache } from './warm-cache.ts';

export const ITEMS: readonly BenchItem[] = [warmCache, startup];
