// Types of init.mjs for the TypeScript side (bench/items/floor.ts, the test): the floor itself
// stays plain JavaScript so it starts as fast as a hand-written script does (no tsx).
export type FloorFs = 'ext4' | 'xfs';
export type FloorDax = 'always' | 'never' | 'inode';

export interface InitOptions {
  fs: FloorFs;
  dax: FloorDax;
  /** File names under the image's /lib/modules, in load order (empty for a monolithic kernel). */
  modules: string[];
  /** The reproducer's path in the guest. */
  repro: string;
  args: string[];
}

export interface FloorConsole {
  started: boolean;
  exitCode: number | undefined;
  /** What the reproducer printed (kernel lines with a printk timestamp left out). */
  lines: string[];
  /** The setup command that failed, if one did. */
  failed: string | undefined;
}

export const START: string;
export const EXIT: string;
export const FAILED: string;
export function shQuote(s: string): string;
export function mkfsCommand(fs: FloorFs): string;
export function initScript(o: InitOptions): string;
export function parseConsole(text: string): FloorConsole;
