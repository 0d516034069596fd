import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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
