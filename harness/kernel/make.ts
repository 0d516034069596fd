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
  child.all?.on('data', (d: Buffer) => {
    out.write(d);
    const s = tail + d.toString('utf8');
    const lines = s.split('\n');
    tail = lines.pop() ?? '';
    for (const l of lines) {
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
  p.elapsedS = (Date.now() - t0) / 1000;
  if (r.exitCode !== 0) {
    const err = firstBuildError(text) ?? `exit ${r.exitCode}`;
    throw new UserError(`kernel build failed: ${err.trim()} (full log: ${logPath})`);
  }
  return p;
}
