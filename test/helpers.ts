// Shared helpers for tests that run the real CLI.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';

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
