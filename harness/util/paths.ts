import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (where package.json lives). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Cache of kernels, images and compiled reproducers; shared between runs. */
export function cacheRoot(): string {
  const env = process.env['DAXLAB_CACHE'];
  if (env) return resolve(env);
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg ? xdg : join(homedir(), '.cache'), 'daxlab');
}

export const scenariosDir = join(repoRoot, 'scenarios');
export const imagesDir = join(repoRoot, 'images');

/** A path as messages show it: relative to the current directory when under it, else absolute. */
export function displayPath(file: string): string {
  const abs = resolve(file);
  const r = relative(process.cwd(), abs);
  return r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? abs : r;
}
