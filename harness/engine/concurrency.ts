// How many guests to run at once when the user does not say. Pure.
import { freemem, cpus } from 'node:os';

export interface HostShape {
  cpus: number;
  freeMemBytes: number;
}

export function hostShape(): HostShape {
  return { cpus: cpus().length, freeMemBytes: freemem() };
}

/**
 * Host threads per guest: TCG with thread=single runs every vCPU on one thread; multi-threaded
 * TCG and KVM use one per vCPU. Memory: guest RAM plus ~256 MiB of QEMU itself; the NVDIMM is a
 * sparse shared file mapping that costs only what the guest touches. A quarter of free memory is
 * left to the host. Never fewer than 1.
 */
export function autoConcurrency(h: HostShape, g: { accel: string; tcgThread: string; cpus: number; memBytes: number }): number {
  const threads = g.accel === 'tcg' && g.tcgThread === 'single' ? 1 : g.cpus;
  const byCpu = Math.floor(h.cpus / threads);
  const byMem = Math.floor((h.freeMemBytes * 0.75) / (g.memBytes + 256 * 1024 ** 2));
  return Math.max(1, Math.min(byCpu, byMem));
}
