// The CLI as one prebuilt ESM file, so a start does not pay tsx's per-file transpiling (~1 s of
// CPU). esbuild (tsx's own dependency) bundles harness/cli.ts and the npm packages it imports
// into node_modules/.cache/daxlab-cli/, with a source map so stack traces name the .ts files.
// The database and Redis clients stay outside, loaded only by the commands that use them.
//
// Never stale: a manifest records every bundled harness file's mtime, ctime and size, plus
// node_modules/.package-lock.json (npm rewrites it on every install), tsconfig.json and this
// file; any difference, or a file gone, means rebuild before running. A build that fails (a
// syntax error, no esbuild, a read-only checkout) returns nothing and bin/daxlab.js runs the
// sources through tsx as before, which reports the error its own way.
//
// Concurrent first starts: each build writes its files (the bundle, its import() chunks, their
// source maps) into a temp directory and renames it into place, named by its content hash; the
// manifest, written last (temp + rename), names it, so a reader sees an old complete build or a
// new complete one.
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'daxlab-cli');
const MANIFEST = join(CACHE_DIR, 'manifest.json');
const ENTRY = join(ROOT, 'harness', 'cli.ts');
/** Loaded only by commands that need them (test/db-load-probe.mjs checks it). */
const LAZY = ['bullmq', 'ioredis', 'kysely', 'pg', 'better-sqlite3'];
/** Not bundled, but they change what the bundle would be. */
const EXTRA_INPUTS = ['node_modules/.package-lock.json', 'tsconfig.json', 'bin/cli-bundle.js'];
/** Bump when the build options change in a way the inputs do not show. */
const FORMAT = 2;

/** @typedef {[number, number, number]} Stamp mtimeMs, ctimeMs, size */
/** @typedef {{ format: number, bundle: string, inputs: Record<string, Stamp> }} Manifest */

/** @param {string} rel @returns {Stamp | undefined} */
function stamp(rel) {
  const s = statSync(join(ROOT, rel), { throwIfNoEntry: false });
  return s ? [s.mtimeMs, s.ctimeMs, s.size] : undefined;
}

/** @returns {Manifest | undefined} */
function readManifest() {
  try {
    return JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The bundle's path when it was built from exactly today's sources, else undefined. */
export function freshBundle() {
  const m = readManifest();
  if (!m || m.format !== FORMAT || typeof m.bundle !== 'string' || !m.inputs) return undefined;
  for (const [rel, want] of Object.entries(m.inputs)) {
    const got = stamp(rel);
    if (!got || got[0] !== want[0] || got[1] !== want[1] || got[2] !== want[2]) return undefined;
  }
  const bundle = join(CACHE_DIR, m.bundle);
  return statSync(bundle, { throwIfNoEntry: false }) ? bundle : undefined;
}

/** Every file under dir, repo-relative with '/' separators. @param {string} dir @returns {string[]} */
function walk(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = `${dir}/${d.name}`;
    return d.isDirectory() ? walk(rel) : d.isFile() ? [rel] : [];
  });
}

/** Write via a temp name and rename, so no reader sees half a file. @param {string} file @param {string} text */
function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Each harness file's `import.meta.url` becomes its own URL, relative to the bundle's file, so
 * repoRoot and friends resolve as they do from the sources (and survive moving the checkout).
 * @returns {import('esbuild').Plugin}
 */
/** @param {string} outdir */
function ownImportMetaUrl(outdir) {
  return {
    name: 'own-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(join(ROOT, 'harness') + sep)) return undefined;
        const src = readFileSync(args.path, 'utf8');
        const rel = relative(outdir, args.path).split(sep).join('/');
        return { contents: src.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}

/**
 * Bundle harness/cli.ts into the cache and record its inputs; the bundle's path, or undefined
 * when it cannot be built here (the caller falls back to tsx). Modules the sources import with
 * import() become chunks of their own, read only by the commands that need them.
 */
export async function buildBundle() {
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    accessSync(CACHE_DIR, constants.W_OK);
  } catch {
    return undefined;
  }
  // Stamps taken before esbuild reads the files: an edit during the build shows next time.
  /** @type {Map<string, Stamp | undefined>} */
  const before = new Map([...walk('harness'), ...EXTRA_INPUTS].map((rel) => [rel, stamp(rel)]));
  // Built for a directory at the final one's depth: source map and import.meta.url paths are relative.
  const outdir = join(CACHE_DIR, 'b-building');
  let result;
  try {
    const esbuild = await import('esbuild');
    result = await esbuild.build({
      entryPoints: { cli: ENTRY },
      absWorkingDir: ROOT,
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: LAZY,
      outdir,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      write: false,
      metafile: true,
      sourcemap: 'linked',
      sourcesContent: false,
      // Less to read and parse at every start; names stay for stack traces.
      minifyWhitespace: true,
      minifySyntax: true,
      logLevel: 'silent',
      plugins: [ownImportMetaUrl(outdir)],
      // Bundled CommonJS packages require() Node built-ins.
      banner: { js: "import { createRequire as __daxlabRequire } from 'node:module'; const require = __daxlabRequire(import.meta.url);" },
    });
  } catch {
    return undefined;
  }
  /** @type {Record<string, Stamp>} */
  const inputs = {};
  const files = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
  for (const rel of [...files, ...EXTRA_INPUTS]) {
    // A file esbuild read that was not there before the build: never matches, rebuild next time.
    inputs[rel] = before.get(rel) ?? stamp(rel) ?? [0, 0, -1];
  }
  const hash = createHash('sha256');
  for (const f of result.outputFiles) hash.update(relative(outdir, f.path)).update(f.contents);
  const dir = `b-${hash.digest('hex').slice(0, 16)}`;
  const bundle = `${dir}/cli.mjs`;
  try {
    // The files under a temp directory, then one rename publishes them all.
    if (!statSync(join(CACHE_DIR, dir), { throwIfNoEntry: false })) {
      const tmp = join(CACHE_DIR, `${dir}.${process.pid}.${Date.now()}.tmp`);
      for (const f of result.outputFiles) {
        const file = join(tmp, relative(outdir, f.path));
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, f.contents);
      }
      try {
        renameSync(tmp, join(CACHE_DIR, dir));
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        // Another start published the same build first.
        if (!statSync(join(CACHE_DIR, dir), { throwIfNoEntry: false })) throw e;
      }
    }
    const previous = readManifest()?.bundle;
    writeAtomic(MANIFEST, JSON.stringify({ format: FORMAT, bundle, inputs }));
    removeOldBundles([dir, previous?.split('/')[0]]);
  } catch {
    return undefined;
  }
  return join(CACHE_DIR, bundle);
}

/**
 * Earlier bundles, except the one the previous manifest named (a start that read it a moment
 * ago may be importing it now), and temp files of builds that died (an hour old).
 * @param {(string | undefined)[]} keep
 */
function removeOldBundles(keep) {
  const cutoff = Date.now() - 3600_000;
  for (const f of readdirSync(CACHE_DIR)) {
    if (keep.includes(f)) continue;
    const old = /\.tmp$/.test(f) ? (statSync(join(CACHE_DIR, f), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < cutoff : /^b-[0-9a-f]+$|^cli-[0-9a-f]+\.mjs(\.map)?$/.test(f);
    if (old) rmSync(join(CACHE_DIR, f), { recursive: true, force: true });
  }
}

/**
 * The bundle to import (fresh, or rebuilt now), or undefined to run through tsx: when the build
 * fails, or DAXLAB_TSX=1 asks for the sources as they are.
 * @returns {Promise<string | undefined>}
 */
export async function cliBundle() {
  if (process.env.DAXLAB_TSX === '1') return undefined;
  return freshBundle() ?? (await buildBundle());
}
