// Running kbuild: the common make arguments (out-of-tree, ccache, reproducible banner), and a
// long build that reports progress on the log callback and keeps its full output in a file.
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../util/errors.ts';
import { cacheRoot } from '../util/paths.ts';
import type { Workspace } from './workspace.ts';

export function makeJobs(): number {
  const env = Number(process.env['DAXLAB_MAKE_JOBS']);
  return env > 0 ? env : availableParallelism() + 1;
}

/** Same variables for every make call: kconfig records $(CC) --version, so it must not vary. */
export function makeArgs(ws: Workspace): string[] {
  return ['-C', ws.src, `O=${ws.obj}`, 'CC=ccache gcc', 'KBUILD_BUILD_USER=daxlab', 'KBUILD_BUILD_HOST=daxlab'];
}

export function makeEnv(): Record<string, string> {
  return {
    CCACHE_DIR: process.env['CCACHE_DIR'] ?? join(cacheRoot(), 'ccache'),
    // Workspaces live at different paths under the cache; relative paths let them share hits.
    CCACHE_BASEDIR: cacheRoot(),
    CCACHE_MAXSIZE: process.env['CCACHE_MAXSIZE'] ?? '5G',
    CCACHE_COMPRESS: '1',
  };
}

/** A short make step (config targets): output kept for the error message. */
export async function makeQuick(ws: Workspace, targets: string[]): Promise<string> {
  const r = await execa('make', [...makeArgs(ws), ...targets], { env: makeEnv(), reject: false, all: true });
  if (r.exitCode !== 0) {
    const err = (r.all ?? '').split('\n').filter((l) => /error|\*\*\*/i.test(l)).slice(0, 2).join(' | ');
    throw new UserError(`make ${targets.join(' ')} failed in ${ws.src}: ${err || `exit ${r.exitCode}`}`);
  }
  return r.all ?? '';
}

export interface MakeProgress {
  compiled: number;
  elapsedS: number;
  last: string;
  /** Where the time went (see BuildPhases), once make has ended. */
  phases?: BuildPhases;
}

/**
 * A kbuild bzImage build split by what its output says it is doing, in seconds: `compile` from
 * make's start to `LD vmlinux.o` (kbuild's preparation, dependency checks, every CC/AS/AR),
 * `link` from there to the first arch/x86/boot line after it (vmlinux.o, modpost, the kallsyms
 * passes, vmlinux, System.map, sorttable), `image` from there to make's end (objcopy, the
 * compression, the decompressor, setup and bzImage). `compress` is the part of `image` from the
 * compressor's line (GZIP, XZKERN, LZ4, ZSTD22...) to MKPIGGY (piggy.S needs the compressed
 * image; other lines in between are parallel jobs), and `compressor` its name.
 * kbuild prints a command's line when it starts it, so each mark is when that step began.
 */
export interface BuildPhases {
  compileS: number;
  linkS: number;
  imageS: number;
  compressS?: number;
  compressor?: string;
}

const LINK_START = /^\s+LD\s+vmlinux\.o\s*$/;
const IMAGE_LINE = /^\s+[A-Z0-9_]+\s+arch\/x86\/boot\//;
/** piggy.S embeds the compressed image: its line comes when the compressor is done. */
const PIGGY_LINE = /^\s+MKPIGGY\s/;
const COMPRESS_LINE = /^\s+(GZIP|XZKERN|LZ4|LZMA|LZO|BZIP2|ZSTD22|ZSTD)\s+arch\/x86\/boot\/compressed\/vmlinux\.bin\.\w+\s*$/;

/** Feed it make's output lines with the time each arrived; `finish` gives the phases. */
export class PhaseClock {
  private linkAt: number | undefined;
  private imageAt: number | undefined;
  private compressAt: number | undefined;
  private compressEnd: number | undefined;
  private compressor: string | undefined;

  constructor(private readonly t0: number) {}

  line(l: string, at: number): void {
    if (this.compressAt !== undefined && this.compressEnd === undefined && PIGGY_LINE.test(l)) this.compressEnd = at;
    if (this.linkAt === undefined) {
      if (LINK_START.test(l)) this.linkAt = at;
      return;
    }
    if (this.imageAt === undefined && IMAGE_LINE.test(l)) this.imageAt = at;
    const c = COMPRESS_LINE.exec(l);
    if (c && this.compressAt === undefined) {
      this.compressAt = at;
      this.compressor = c[1];
    }
  }

  /** The phases when make ended at `end`; a phase make never reached is 0 (an up-to-date tree). */
  finish(end: number): BuildPhases {
    const link = this.linkAt ?? end;
    const image = this.imageAt ?? end;
    const s = (ms: number): number => Math.round(ms / 100) / 10;
    const p: BuildPhases = { compileS: s(link - this.t0), linkS: s(Math.max(0, image - link)), imageS: s(Math.max(0, end - Math.max(image, link))) };
    if (this.compressAt !== undefined) {
      p.compressS = s((this.compressEnd ?? end) - this.compressAt);
      if (this.compressor !== undefined) p.compressor = this.compressor;
    }
    return p;
  }
}

export function formatPhases(p: BuildPhases): string {
  return `compile ${p.compileS} s, link ${p.linkS} s, image ${p.imageS} s${p.compressS !== undefined ? ` (${p.compressor ?? 'compression'} ${p.compressS} s)` : ''}`;
}

export function formatProgress(p: MakeProgress): string {
  const m = Math.floor(p.elapsedS / 60);
  const s = Math.floor(p.elapsedS % 60);
  return `make: ${p.compiled} CC, ${m}m${String(s).padStart(2, '0')}s elapsed${p.last ? `, at ${p.last}` : ''}`;
}

/** First compiler or linker error of a failed build log, for the one-line message. */
export function firstBuildError(logText: string): string | undefined {
  const lines = logText.split('\n');
  return lines.find((l) => /^[^\s:]+:\d+:\d+: (fatal )?error: /.test(l)) ?? lines.find((l) => /(error:|undefined reference|\*\*\*)/.test(l));
}

/**
 * `make -jN [VARS] TARGETS` with a progress line every `everyS` seconds; output goes to `logPath`.
 * `vars` (`NAME=VALUE`) are for the build only, never the config targets.
 */
export async function makeBuild(ws: Workspace, targets: string[], logPath: string, log: (s: string) => void, o: { vars?: string[]; everyS?: number } = {}): Promise<MakeProgress> {
  const everyS = o.everyS ?? 20;
  const out = createWriteStream(logPath);
  const t0 = Date.now();
  const p: MakeProgress = { compiled: 0, elapsedS: 0, last: '' };
  const child = execa('make', [...makeArgs(ws), `-j${makeJobs()}`, ...(o.vars ?? []), ...targets], { env: makeEnv(), reject: false, all: true, buffer: false });
  const timer = setInterval(() => {
    p.elapsedS = (Date.now() - t0) / 1000;
    log(formatProgress(p));
  }, everyS * 1000);
  let tail = '';
  let text = '';
  const clock = new PhaseClock(t0);
  child.all?.on('data', (d: Buffer) => {
    out.write(d);
    const s = tail + d.toString('utf8');
    const lines = s.split('\n');
    tail = lines.pop() ?? '';
    const at = Date.now();
    for (const l of lines) {
      clock.line(l, at);
      const m = /^\s+(CC|AS|LD|AR|OBJCOPY|GEN|KSYMS|BUILD)\s+(\S+)/.exec(l);
      if (m?.[1] === 'CC') p.compiled++;
      if (m) p.last = `${m[1]} ${m[2]}`;
      // Keep only what can explain a failure, not the whole log, in memory.
      if (/error|warning: |\*\*\*|undefined reference/.test(l)) text += l + '\n';
    }
  });
  const r = await child;
  clearInterval(timer);
  await new Promise<void>((res) => out.end(res));
  const end = Date.now();
  p.elapsedS = (end - t0) / 1000;
  p.phases = clock.finish(end);
  if (r.exitCode !== 0) {
    const err = firstBuildError(text) ?? `exit ${r.exitCode}`;
    throw new UserError(`kernel build failed: ${err.trim()} (full log: ${logPath})`);
  }
  return p;
}
