// Which file QEMU boots for a kernel: its vmlinux through PVH when the kernel has a PVH entry
// (decompressed from the bzImage once, cached), else the bzImage. See pvh.ts for why.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cachedEntry } from '../util/cache.ts';
import { bzImagePayload, compressionOf, decompressor, hasPvhEntry, splitPayload } from './pvh.ts';
import type { Kernel } from './types.ts';

export type BootEntry = 'pvh' | 'bzimage';

export interface KernelEntry {
  how: BootEntry;
  /** What QEMU's -kernel gets. */
  path: string;
  /** Why a PVH boot was not possible, when it was asked for. */
  why?: string | undefined;
}

const FORMAT = 1;

class MissingTool extends Error {}

async function extract(bzImage: string): Promise<{ vmlinux: Buffer } | { why: string }> {
  const b = await readFile(bzImage);
  const at = bzImagePayload(b);
  if ('error' in at) return { why: at.error };
  const payload = b.subarray(at.offset, at.offset + at.length);
  const c = compressionOf(payload);
  if (!c) return { why: `unknown compression (payload starts ${payload.subarray(0, 4).toString('hex')})` };
  const { stream, size } = splitPayload(payload, c);
  const [cmd, ...args] = decompressor(c);
  const r = await execa(cmd as string, args, { input: stream, encoding: 'buffer', maxBuffer: 2 ** 31, reject: false, stderr: 'pipe' });
  // A missing host tool is not the kernel's answer: not cached, asked again next run.
  if ((r as { code?: string }).code === 'ENOENT') throw new MissingTool(`${cmd} is not installed`);
  const out = Buffer.from(r.stdout);
  if (r.exitCode !== 0 || out.length !== size) return { why: `${cmd} could not decompress the ${c} payload (exit ${r.exitCode}, ${out.length} of ${size} bytes)` };
  if (!hasPvhEntry(out)) return { why: 'no PVH entry note in the vmlinux (CONFIG_PVH is off)' };
  return { vmlinux: out };
}

export async function kernelEntry(kernel: Kernel, want: BootEntry, log: (s: string) => void): Promise<KernelEntry> {
  if (want === 'bzimage') return { how: 'bzimage', path: kernel.bzImage };
  const build = async (tmp: string): Promise<Record<string, unknown>> => {
    const r = await extract(kernel.bzImage);
    if ('why' in r) {
      await writeFile(join(tmp, 'no-pvh.txt'), r.why + '\n');
      return { pvh: false, why: r.why };
    }
    await writeFile(join(tmp, 'vmlinux'), r.vmlinux);
    return { pvh: true };
  };
  let entry;
  try {
    entry = await cachedEntry({ kind: 'pvh', key: `${kernel.key}-${FORMAT}`, build });
  } catch (e) {
    if (!(e instanceof MissingTool)) throw e;
    log(`kernel ${kernel.release}: booting the bzImage: ${e.message} to unpack its vmlinux for a PVH boot`);
    return { how: 'bzimage', path: kernel.bzImage, why: e.message };
  }
  const meta = entry.manifest.meta as { pvh: boolean; why?: string };
  if (!meta.pvh) {
    if (!entry.hit) log(`kernel ${kernel.release}: booting the bzImage: ${meta.why ?? 'no PVH entry'}`);
    return { how: 'bzimage', path: kernel.bzImage, why: meta.why };
  }
  if (!entry.hit) log(`kernel ${kernel.release}: PVH entry found; guests boot its vmlinux directly (no decompressor, so no KASLR)`);
  return { how: 'pvh', path: join(entry.dir, 'vmlinux') };
}
