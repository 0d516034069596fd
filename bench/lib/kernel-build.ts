// Pure pieces of the kernel-build bench item (bench/items/kernel-build.ts): the one-line patch
// it rebuilds with, the spec that applies it, and what a build's cache entry says about it.
import { formatPhases, type BuildPhases } from '../../harness/kernel/make.ts';

/** The file the one-file rebuild patches. */
export const PATCHED_FILE = 'fs/dax.c';

/**
 * A unified diff adding one line before the first `#include` of `text` (the pristine file at
 * `path`): `static int __maybe_unused daxlab_bench_patch = N;`. Code, not a comment: ccache hashes
 * the preprocessed source, so a comment would be a cache hit and no compile at all; an unused
 * static compiles (and is then dropped), so the object file is what it was. N makes each rebuild
 * of a series a real compile.
 */
export function oneLinePatch(path: string, text: string, n: number): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('#include'));
  if (at < 0) throw new Error(`${path}: no #include line to patch before`);
  const from = Math.max(0, at - 3);
  const before = lines.slice(from, at);
  const after = lines.slice(at, Math.min(lines.length, at + 3));
  const added = `static int __maybe_unused daxlab_bench_patch = ${n};`;
  const hunk = [`@@ -${from + 1},${before.length + after.length} +${from + 1},${before.length + after.length + 1} @@`, ...before.map((l) => ` ${l}`), `+${added}`, ...after.map((l) => ` ${l}`)];
  return [`--- a/${path}`, `+++ b/${path}`, ...hunk, ''].join('\n');
}

/** A kernel spec YAML: `parent` (absolute path) plus the patch file next to it. */
export function patchedSpec(parent: string, patchFile: string): string {
  return [`description: bench one-file patch rebuild (${PATCHED_FILE})`, `extends: ${JSON.stringify(parent)}`, `patches: [${JSON.stringify(patchFile)}]`, ''].join('\n');
}

/** What a source-built kernel's cache entry (`.daxlab-entry.json` meta) says about its build. */
export interface BuildFacts {
  buildSeconds?: number;
  compiled?: number;
  phases?: BuildPhases;
  release?: string;
}

export function buildFacts(manifest: unknown): BuildFacts {
  const meta = (typeof manifest === 'object' && manifest !== null && 'meta' in manifest ? manifest.meta : undefined) as Record<string, unknown> | undefined;
  if (!meta) return {};
  const out: BuildFacts = {};
  if (typeof meta['buildSeconds'] === 'number') out.buildSeconds = meta['buildSeconds'];
  if (typeof meta['compiled'] === 'number') out.compiled = meta['compiled'];
  if (typeof meta['release'] === 'string') out.release = meta['release'];
  const p = meta['buildPhases'] as Partial<BuildPhases> | undefined;
  if (p && typeof p.compileS === 'number' && typeof p.linkS === 'number' && typeof p.imageS === 'number') {
    out.phases = { compileS: p.compileS, linkS: p.linkS, imageS: p.imageS };
    if (typeof p.compressS === 'number') out.phases.compressS = p.compressS;
    if (typeof p.compressor === 'string') out.phases.compressor = p.compressor;
  }
  return out;
}

/** `compile 4.8 s, link 4.9 s, image 6.3 s (XZKERN 6 s)`, or '' without phases. */
export function phaseNote(p: BuildPhases | undefined): string {
  return p ? formatPhases(p) : '';
}
