// Choosing the accelerator. KVM can be present yet unusable (nested virtualisation: -cpu host
// aborts, other CPU models hang in firmware), and QEMU's own "-accel kvm -accel tcg" fallback does
// not catch a hang. So we boot the kernel under KVM with a short deadline and look for the
// kernel's first console line; no line in time means TCG. The verdict is cached per host boot.
import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheRoot } from '../util/paths.ts';
import { onCleanup } from '../util/cleanup.ts';
import { kvmProbeArgs, type Accel } from './args.ts';

export interface AccelChoice {
  accel: Accel;
  reason: string;
  probeMs?: number;
  cached: boolean;
}

async function hostBootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
}

/** Boot `bzImage` under KVM until it prints "Linux version" or `timeoutMs` passes. */
export async function probeKvm(bzImage: string, timeoutMs: number): Promise<{ ok: boolean; detail: string; ms: number }> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { ok: false, detail: '/dev/kvm is missing or not accessible', ms: 0 };
  }
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-kvmprobe-'));
  const sock = join(dir, 'console.sock');
  let seen = '';
  let resolveSeen: () => void = () => {};
  const gotBanner = new Promise<void>((r) => (resolveSeen = r));
  const srv = createServer((s) =>
    s.on('data', (d: Buffer) => {
      seen = (seen + d.toString('latin1')).slice(-8192);
      if (seen.includes('Linux version')) resolveSeen();
    }),
  );
  await new Promise<void>((r) => srv.listen(sock, r));
  const t0 = Date.now();
  const child = execa(
    'qemu-system-x86_64',
    kvmProbeArgs(bzImage, sock),
    { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', cleanup: true },
  );
  const unkill = onCleanup(() => child.kill('SIGKILL'));
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs));
  const first = await Promise.race([gotBanner.then(() => 'banner' as const), child.then(() => 'exit' as const), timer]);
  child.kill('SIGKILL');
  const r = await child;
  unkill();
  srv.close();
  await rm(dir, { recursive: true, force: true });
  const ms = Date.now() - t0;
  if (first === 'banner') return { ok: true, detail: 'kernel banner seen under KVM', ms };
  if (first === 'exit') {
    const err = String(r.stderr ?? '').split('\n').find((l) => l.trim()) ?? `exit ${r.exitCode}`;
    return { ok: false, detail: `QEMU with KVM exited: ${err.slice(0, 200)}`, ms };
  }
  return { ok: false, detail: `no console output under KVM within ${timeoutMs / 1000}s (hang)`, ms };
}

export async function chooseAccel(requested: Accel | 'auto', bzImage: string, log: (s: string) => void): Promise<AccelChoice> {
  if (requested !== 'auto') return { accel: requested, reason: `forced with --accel ${requested}`, cached: false };
  const cacheFile = join(cacheRoot(), 'accel-probe.json');
  const bootId = await hostBootId();
  try {
    const c = JSON.parse(await readFile(cacheFile, 'utf8')) as { bootId: string; accel: Accel; reason: string };
    if (c.bootId === bootId) return { accel: c.accel, reason: c.reason, cached: true };
  } catch {
    /* no verdict yet */
  }
  log('probing KVM (a hang falls back to TCG)');
  const p = await probeKvm(bzImage, 15000);
  const choice: AccelChoice = p.ok
    ? { accel: 'kvm', reason: p.detail, probeMs: p.ms, cached: false }
    : { accel: 'tcg', reason: `KVM unusable: ${p.detail}; using TCG`, probeMs: p.ms, cached: false };
  await mkdir(cacheRoot(), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ bootId, accel: choice.accel, reason: choice.reason }));
  return choice;
}
