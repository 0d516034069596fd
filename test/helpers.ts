// Shared helpers for tests that run the real CLI.
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result, type ResultPromise } from 'execa';
import type { RunEvent } from '../harness/results/events.ts';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** Run `daxlab ARGS` as a user would, from the repository root. */
export async function daxlab(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return execa('node', ['bin/daxlab.js', ...args], { cwd: root, reject: false, env, all: true, timeout: 20 * 60 * 1000 });
}

/** Guest temp dirs that exist right now (each holds an NVDIMM backing file while a guest runs). */
export function guestTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((d) => d.startsWith('daxlab-guest-'));
}

/** PIDs of QEMU processes whose command line mentions `needle`. */
export async function qemuPids(needle: string): Promise<number[]> {
  const r = await execa('pgrep', ['-f', `qemu-system-x86_64.*${needle}`], { reject: false });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/**
 * Poll until `fn` returns a value, or fail after `ms` (generous: TCG boots on a loaded 2-core
 * machine can take minutes). With `child`, fail at once, with its output, if it exits first.
 */
export async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 600_000, child?: ResultPromise): Promise<T> {
  const end = Date.now() + ms;
  let exited: Result | undefined;
  void child?.then((r) => (exited = r));
  for (;;) {
    const v = fn();
    if (v) return v;
    if (exited) throw new Error(`daxlab exited (${exited.exitCode}) before ${what}:\n${String(exited.all ?? '').slice(-2000)}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Read a file if it exists (partial results are read while a run is going). */
export function readIf(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The guest temp dir of boot `index` of a run, from the QEMU argv recorded in summary.json. */
export function guestDirOf(summaryText: string, index = 0): string | undefined {
  try {
    const s = JSON.parse(summaryText) as { boots: { argv: string[] }[] };
    const m = /mem-path=([^,]+)\/nv0\.img/.exec(s.boots[index]?.argv.join(' ') ?? '');
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** The events of a run so far (events.jsonl; a line still being written is skipped). */
export function runEvents(outDir: string): RunEvent[] {
  const lines = readIf(join(outDir, 'events.jsonl')).split('\n');
  lines.pop(); // '' after the last newline, or an unfinished line
  return lines.map((l) => JSON.parse(l) as RunEvent);
}

/**
 * The boot a run is in right now, from its event log: a boot can be retried (e.g. after an
 * emulator artifact), so "the first boot" is not necessarily the one running.
 */
export function currentBoot(outDir: string): { index: number; agentLog: string; guestDir: string | undefined } | undefined {
  const b = runEvents(outDir).filter((e) => e.type === 'boot-started').at(-1);
  if (b?.type !== 'boot-started') return undefined;
  return { index: b.boot, agentLog: readIf(join(outDir, b.agentLog)), guestDir: /mem-path=([^,]+)\/nv0\.img/.exec(b.argv.join(' '))?.[1] };
}
