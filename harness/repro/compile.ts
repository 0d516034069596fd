// Reproducers are C files compiled statically on the host, so the guest needs no libc of its own.
// Cached by source, headers, flags and compiler version.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { cachedEntry } from '../util/cache.ts';
import { fullLogNote, UserError, type SourceLocation } from '../util/errors.ts';
import { hashValue, shortHash } from '../util/hash.ts';
import { cacheRoot, displayPath, scenariosDir } from '../util/paths.ts';
import { ensureHostTools } from '../host/tools.ts';

export const CFLAGS = ['-static', '-O2', '-Wall', '-Werror', '-pthread'];
/** Plain text whatever the terminal or GCC_COLORS say; not part of the cache key (same binary). */
const DIAGNOSTIC_FLAGS = ['-fdiagnostics-color=never', '-fdiagnostics-urls=never'];
const includeDir = join(scenariosDir, 'include');

let gccVersion: string | undefined;

export interface CompiledReproducer {
  name: string;
  path: string;
  hit: boolean;
}

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

export async function compileReproducer(source: string, log: (s: string) => void): Promise<CompiledReproducer> {
  await ensureHostTools(['gcc'], ['/usr/lib/x86_64-linux-gnu/libc.a'], log);
  gccVersion ??= (await execa('gcc', ['-dumpfullversion'])).stdout.trim();
  const src = await readFile(source).catch(() => {
    throw new UserError(`reproducer source not found: ${displayPath(source)}`);
  });
  const headers = await Promise.all((await readdir(includeDir)).sort().map(async (h) => [h, await readFile(join(includeDir, h))] as const));
  const name = basename(source).replace(/\.c$/, '');
  const key = `${name}-${shortHash(hashValue({ src, headers: headers.map(([h, b]) => [h, b]), flags: CFLAGS, gcc: gccVersion }))}`;
  const entry = await cachedEntry({
    kind: 'repro',
    key,
    onStale: log,
    build: async (tmp) => {
      log(`compiling ${displayPath(source)}`);
      const args = [...CFLAGS, ...DIAGNOSTIC_FLAGS, '-I', includeDir, '-o', join(tmp, name), source];
      const r = await execa('gcc', args, { reject: false, all: true });
      if (r.exitCode !== 0) {
        const logPath = compileLogPath(key);
        await mkdir(dirname(logPath), { recursive: true });
        await writeFile(logPath, `$ gcc ${args.join(' ')}\n${r.all ?? ''}\n`);
        throw compileError(r.stderr, source, logPath);
      }
      return { source, gcc: gccVersion };
    },
  });
  return { name, path: join(entry.dir, name), hit: entry.hit };
}
