// Reproducers are C files compiled statically on the host, so the guest needs no libc of its own.
// Cached by source, headers, flags and compiler version.
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { execa } from 'execa';
import { cachedEntry } from '../util/cache.ts';
import { UserError } from '../util/errors.ts';
import { hashValue, shortHash } from '../util/hash.ts';
import { repoRoot, scenariosDir } from '../util/paths.ts';
import { ensureHostTools } from '../host/tools.ts';

export const CFLAGS = ['-static', '-O2', '-Wall', '-Werror', '-pthread'];
const includeDir = join(scenariosDir, 'include');

let gccVersion: string | undefined;

export interface CompiledReproducer {
  name: string;
  path: string;
  hit: boolean;
}

/** First gcc diagnostic as `file:line: message`, relative to the repository when inside it. */
export function firstCompilerError(stderr: string): { file: string; line: number; message: string } | undefined {
  for (const l of stderr.split('\n')) {
    const m = /^(.+?):(\d+):(?:\d+:)?\s*(?:fatal )?error:\s*(.*)$/.exec(l);
    if (m && m[1] && m[2] && m[3] !== undefined) return { file: m[1], line: Number(m[2]), message: m[3] };
  }
  return undefined;
}

export async function compileReproducer(source: string, log: (s: string) => void): Promise<CompiledReproducer> {
  await ensureHostTools(['gcc'], ['/usr/lib/x86_64-linux-gnu/libc.a'], log);
  gccVersion ??= (await execa('gcc', ['-dumpfullversion'])).stdout.trim();
  const src = await readFile(source).catch(() => {
    throw new UserError(`reproducer source not found: ${source}`);
  });
  const headers = await Promise.all((await readdir(includeDir)).sort().map(async (h) => [h, await readFile(join(includeDir, h))] as const));
  const name = basename(source).replace(/\.c$/, '');
  const key = `${name}-${shortHash(hashValue({ src, headers: headers.map(([h, b]) => [h, b]), flags: CFLAGS, gcc: gccVersion }))}`;
  const entry = await cachedEntry({
    kind: 'repro',
    key,
    onStale: log,
    build: async (tmp) => {
      log(`compiling ${relative(repoRoot, source)}`);
      const out = join(tmp, name);
      const r = await execa('gcc', [...CFLAGS, '-I', includeDir, '-o', out, source], { reject: false });
      if (r.exitCode !== 0) {
        const e = firstCompilerError(r.stderr);
        if (e) throw new UserError(`does not compile: ${e.message}`, { file: relative(process.cwd(), e.file), line: e.line });
        throw new UserError(`does not compile: ${r.stderr.split('\n')[0] ?? ''}`, { file: source });
      }
      return { source, gcc: gccVersion };
    },
  });
  return { name, path: join(entry.dir, name), hit: entry.hit };
}
