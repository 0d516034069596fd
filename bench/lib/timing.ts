// Wall and CPU time of a child process as the user would start it. CPU comes from GNU time
// (`/usr/bin/time -f`), which counts the whole process tree (the launcher's bash and node);
// without it the CPU column is left out.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { quantile } from '../../harness/stats/summary.ts';
import type { BenchRow } from './item.ts';

const GNU_TIME = '/usr/bin/time';

export interface Timed {
  wallMs: number;
  cpuMs: number | undefined;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** Run `file args` once in `cwd`, timing it. */
export async function timeCommand(file: string, args: readonly string[], o: { cwd: string; env?: Record<string, string> }): Promise<Timed> {
  const withTime = existsSync(GNU_TIME);
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-bench-time-'));
  const out = join(dir, 'time');
  try {
    const [cmd, argv] = withTime ? [GNU_TIME, ['-f', '%U %S', '-o', out, file, ...args]] : [file, [...args]];
    const t0 = process.hrtime.bigint();
    const r = await execa(cmd, argv, { cwd: o.cwd, env: o.env ?? {}, reject: false, stdin: 'ignore' });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    let cpuMs: number | undefined;
    if (withTime) {
      const [u, s] = readFileSync(out, 'utf8').trim().split('\n').pop()?.split(' ').map(Number) ?? [];
      if (u !== undefined && s !== undefined && Number.isFinite(u + s)) cpuMs = (u + s) * 1000;
    }
    return { wallMs, cpuMs, exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(xs: readonly number[]): number {
  return xs.length ? quantile([...xs], 0.5) : NaN;
}

/** The 1-, 5- and 15-minute load averages, rounded: the noise floor of every timing here. */
export function load(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/** A bench row summarising samples `xs`: their median, min and max (NaN when there are none). */
export function sampleRow(metric: string, xs: readonly number[], unit: BenchRow['unit'], extra: Partial<BenchRow> = {}): BenchRow {
  const some = xs.length > 0;
  return { metric, value: median(xs), unit, n: xs.length, min: some ? Math.min(...xs) : NaN, max: some ? Math.max(...xs) : NaN, ...extra };
}
