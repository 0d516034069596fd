// Reproducers are C files compiled statically on the host, so the guest needs no libc of its own.
// Cached by source, headers, flags and compiler version. Flags by origin: repro/flags.ts.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { cachedEntry } from '../util/cache.ts';
import { fullLogNote, UserError, type SourceLocation } from '../util/errors.ts';
import { hashValue, shortHash } from '../util/hash.ts';
import { cacheRoot, displayPath, scenariosDir } from '../util/paths.ts';
import { ensureHostTools } from '../host/tools.ts';
import { CATALOG_CFLAGS, OWN_CFLAGS, compileArgs, libraryName, LIBRARY_PACKAGES, missingLibraries, missingLibraryMessage, staticLibraryPath, type CompileSettings } from './flags.ts';

/** Catalog entries' flags (tests and docs name them). */
export const CFLAGS = CATALOG_CFLAGS;
/** Plain text whatever the terminal or GCC_COLORS say; not part of the cache key (same binary). */
const DIAGNOSTIC_FLAGS = ['-fdiagnostics-color=never', '-fdiagnostics-urls=never'];
const includeDir = join(scenariosDir, 'include');

let gccVersion: string | undefined;

export interface CompiledReproducer {
  name: string;
  path: string;
  hit: boolean;
  /** gcc's warnings (a reproducer of one's own compiles with them). */
  warnings: number;
}

/** A reproducer in the catalog (scenarios/<id>/...) is held to -Werror; anything else is brought. */
export function isCatalogSource(source: string): boolean {
  return resolve(source).startsWith(resolve(scenariosDir) + sep);
}

export interface CompileOptions extends Partial<CompileSettings> {
  /** Where `libs:` was given, for a library that is not installed. */
  libsAt?: SourceLocation | undefined;
}

const WARNINGS_SHOWN = 20;

/** What a failed gcc run comes down to: its first error, where, with gcc's context lines. */
export interface CompilerFailure {
  /** File as gcc or ld named it (rewritten for display); undefined when neither named one. */
  file: string | undefined;
  line?: number;
  column?: number;
  /** `error: ...` / `fatal error: ...`, as gcc says it. */
  message: string;
  /** The source excerpt, caret, fix-it and notes gcc printed under the first error. */
  context: string[];
  /** Errors after the first one (compiler and linker). */
  more: number;
}

// `file:line[:col]: kind: message`
const DIAG = /^(.+?):(\d+):(?:(\d+):)? (fatal error|error|warning|note): (.*)$/;
// gcc's excerpt lines: `    5 |   return countr;` and the caret / fix-it lines under it.
const EXCERPT = /^\s*\d*\s\|/;
const INCLUDED = /^(?:In file included|\s+) from (.+?):(\d+)[:,]$/;
// ld: `x.c:(.text+0x6): undefined reference to ...`, optionally after `/usr/bin/ld: `.
const LD_AT = /^(?:\S*\bld: )?(?:\S+?:)?\([^)]*\): (.+)$/;
const LD_MSG = /^\S*\bld: (.+)$/;
const LD_IN_FUNCTION = /in function [`‘'](.+?)['’]:$/;
const CONTEXT_MAX = 12;

/** ld quotes `like this' and names gcc's temporary objects (/tmp/ccXXXXXX.o): neither helps. */
const ldText = (s: string): string => s.replace(/`([^`']*)'/g, "'$1'").replace(/\S*\/cc\w{6}\.o:/g, '');
const shownFile = (f: string): string => (f.startsWith('<') ? f : displayPath(f));
/** A gcc diagnostic line with its file shown the way daxlab shows paths. */
const rewritePath = (l: string): string => {
  const m = DIAG.exec(l);
  return m?.[1] ? shownFile(m[1]) + l.slice(m[1].length) : l;
};

/**
 * The first error of gcc's stderr, with the lines that explain it, and how many errors followed.
 * A link failure is reported by its undefined reference (or other ld error), not by the
 * `in function` line ld prints before it.
 */
export function parseCompilerOutput(stderr: string): CompilerFailure | undefined {
  const lines = stderr.split('\n');
  let first: CompilerFailure | undefined;
  let more = 0;
  let fn: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    const d = DIAG.exec(l);
    let found: CompilerFailure | undefined;
    if (d) {
      if (d[4] !== 'error' && d[4] !== 'fatal error') continue;
      const context: string[] = [];
      for (let j = i + 1; j < lines.length && context.length < CONTEXT_MAX; j++) {
        const c = lines[j] ?? '';
        if (EXCERPT.test(c)) context.push(c);
        else if (DIAG.exec(c)?.[4] === 'note') context.push(rewritePath(c));
        else break;
      }
      // An error in a header: say which reproducer line included it.
      for (let j = i - 1; j >= 0; j--) {
        const inc = INCLUDED.exec(lines[j] ?? '');
        if (inc?.[1]) context.push(`(in the file included from ${shownFile(inc[1])}:${inc[2]})`);
        else if (!/: (In function .*|At top level):$/.test(lines[j] ?? '')) break;
      }
      found = { file: shownFile(d[1] ?? ''), line: Number(d[2]), column: d[3] ? Number(d[3]) : undefined, message: `${d[4]}: ${d[5]}`, context, more: 0 };
    } else {
      const inFn = LD_IN_FUNCTION.exec(l);
      if (LD_MSG.test(l) && inFn) {
        fn = inFn[1];
        continue;
      }
      const m = LD_AT.exec(l)?.[1] ?? LD_MSG.exec(l)?.[1];
      if (m === undefined || /^warning: /.test(m)) continue;
      found = { file: undefined, message: `error: ${ldText(m)}${fn ? ` (in function '${fn}')` : ''}`, context: [], more: 0 };
    }
    if (first) more++;
    else first = found;
  }
  return first && { ...first, more };
}

/** gcc's first line that says error, for output the parser does not recognise (`gcc: error: ...`). */
function fallbackMessage(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim());
  const l = (lines.find((x) => /error/i.test(x)) ?? lines[0] ?? 'gcc failed without a message').trim();
  const m = /^\S+: ((?:fatal )?error: .*)$/.exec(l);
  return m?.[1] ?? `error: ${l}`;
}

/**
 * The compile error as the user sees it: gcc's `file:line:col: error: message` as the one line
 * (editors jump to it), then gcc's excerpt, how many errors followed, and the full log's path.
 */
export function compileError(stderr: string, source: string, logPath: string): UserError {
  const f = parseCompilerOutput(stderr);
  const more = f?.more ? `: ${f.more} more error${f.more === 1 ? '' : 's'}` : '';
  const summary = `reproducer ${displayPath(source)} does not compile${more} ${fullLogNote(logPath)}`;
  if (!f) return new UserError(fallbackMessage(stderr), { file: displayPath(source) }, [summary]);
  const where: SourceLocation = { file: f.file ?? displayPath(source), line: f.line, column: f.column };
  return new UserError(f.message, where, [...f.context, summary]);
}

/** Where a failed compile's full output is kept (a failure leaves no cache entry). */
export function compileLogPath(key: string): string {
  return join(cacheRoot(), 'logs', `repro-${key}.log`);
}

/**
 * Each `-lNAME` has a static archive gcc can find; a known one is installed (as root, like every
 * host package), anything else is one line naming what to install.
 */
async function checkLibraries(libs: readonly string[], at: SourceLocation | undefined, log: (s: string) => void): Promise<void> {
  const found = async (name: string): Promise<boolean> => (await execa('gcc', [`-print-file-name=lib${name}.a`])).stdout.trim().startsWith('/');
  for (const flag of libs) {
    const name = libraryName(flag);
    if (name === undefined || (await found(name))) continue;
    const pkg = LIBRARY_PACKAGES[name];
    if (pkg && process.getuid?.() === 0) {
      await ensureHostTools([], [staticLibraryPath(name)], log, { [staticLibraryPath(name)]: pkg });
      if (await found(name)) continue;
    }
    throw new UserError(missingLibraryMessage(name), at);
  }
}

export async function compileReproducer(source: string, log: (s: string) => void, o: CompileOptions = {}): Promise<CompiledReproducer> {
  const settings: CompileSettings = { catalog: o.catalog ?? isCatalogSource(source), cflags: o.cflags ?? [], libs: o.libs ?? [] };
  await ensureHostTools(['gcc'], ['/usr/lib/x86_64-linux-gnu/libc.a'], log);
  gccVersion ??= (await execa('gcc', ['-dumpfullversion'])).stdout.trim();
  const src = await readFile(source).catch(() => {
    throw new UserError(`reproducer source not found: ${displayPath(source)}`);
  });
  await checkLibraries(settings.libs, o.libsAt, log);
  const headers = await Promise.all((await readdir(includeDir)).sort().map(async (h) => [h, await readFile(join(includeDir, h))] as const));
  const name = basename(source).replace(/\.c$/, '');
  // A catalog entry's key is what it was before brought reproducers had flags of their own.
  const flags = settings.catalog ? CATALOG_CFLAGS : [...OWN_CFLAGS, ...settings.cflags, '--', ...settings.libs];
  const key = `${name}-${shortHash(hashValue({ src, headers: headers.map(([h, b]) => [h, b]), flags, gcc: gccVersion }))}`;
  const logPath = compileLogPath(key);
  const entry = await cachedEntry({
    kind: 'repro',
    key,
    onStale: log,
    build: async (tmp) => {
      log(`compiling ${displayPath(source)}`);
      const args = compileArgs(settings, includeDir, join(tmp, name), source, DIAGNOSTIC_FLAGS);
      const r = await execa('gcc', args, { reject: false, all: true });
      const warnings = countWarnings(r.stderr);
      if (r.exitCode !== 0 || warnings) {
        await mkdir(dirname(logPath), { recursive: true });
        await writeFile(logPath, `$ gcc ${args.join(' ')}\n${r.all ?? ''}\n`);
      }
      if (r.exitCode !== 0) {
        const lib = missingLibraries(r.stderr)[0];
        if (lib !== undefined) throw new UserError(missingLibraryMessage(lib), o.libsAt ?? { file: displayPath(source) });
        throw compileError(r.stderr, source, logPath);
      }
      if (warnings) showWarnings(r.stderr, source, warnings, logPath, log);
      return { source, gcc: gccVersion, warnings };
    },
  });
  const warnings = Number(entry.manifest.meta['warnings'] ?? 0);
  if (entry.hit && warnings) log(`${displayPath(source)}: ${warnings} compiler warning${warnings === 1 ? '' : 's'} (cached build) ${fullLogNote(logPath)}`);
  return { name, path: join(entry.dir, name), hit: entry.hit, warnings };
}

const countWarnings = (stderr: string): number => stderr.split('\n').filter((l) => / warning: /.test(l)).length;

/** gcc's warnings as it printed them (paths shown the daxlab way), cut short, and where the rest is. */
function showWarnings(stderr: string, source: string, n: number, logPath: string, log: (s: string) => void): void {
  log(`${displayPath(source)}: ${n} compiler warning${n === 1 ? '' : 's'}, not fatal for a reproducer of your own ${fullLogNote(logPath)}`);
  const lines = stderr.split('\n').filter((l) => l.trim() && !/: (In function .*|At top level):$/.test(l));
  for (const l of lines.slice(0, WARNINGS_SHOWN)) log(`  ${rewritePath(l)}`);
  if (lines.length > WARNINGS_SHOWN) log(`  ... ${lines.length - WARNINGS_SHOWN} more lines in the log`);
}
