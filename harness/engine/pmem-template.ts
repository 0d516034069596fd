// pmem templates: an NVDIMM backing file that already holds an fsdax namespace and a fresh
// filesystem, copied sparse into each boot, so the boot's first group skips `ndctl
// create-namespace` and mkfs in the guest (~1-2 s under TCG).
// - The namespace's info block is the kernel's own: taken from the backing file of an earlier
//   boot of the same kernel and NVDIMM size, right after its create-namespace succeeded.
// - The filesystem is made on the host by the same mkfs binary the guest image carries, with the
//   guest's words and the pmem device's geometry (4 KiB physical sectors), on a file the size of
//   /dev/pmem0: the superblocks match an in-guest mkfs field for field but UUIDs and times.
// Every boot gets its own copy: each starts on an identical, never-mounted filesystem.
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Filesystem } from '../scenario/schema.ts';
import { mkfsArgv, NAMESPACE_ARGV } from '../plan/plan.ts';
import { fsdaxCapacity, parsePfnInfo, PFN_INFO_BYTES, PFN_INFO_OFFSET, type PfnInfo } from '../qemu/pfn-info.ts';
import { cachedEntry } from '../util/cache.ts';
import { hashValue, shortHash, type HashInput } from '../util/hash.ts';
import { cacheRoot } from '../util/paths.ts';
import type { PreparedKernel } from './types.ts';

const INFO_KIND = 'pmem-info';
const TEMPLATE_KIND = 'pmem-templates';
const FORMAT = 1; // bump when the way a template is made changes

export interface PmemTemplate {
  /** Backing file to copy for the boot. */
  image: string;
  key: string;
  fs: Filesystem;
  /** How the namespace and the filesystem were made, for the results. */
  made: string;
  /** The info block was built into the template just now (first use). */
  built: boolean;
}

const hash = (parts: HashInput[]): string => shortHash(hashValue(parts));

/** The info block depends on the kernel (struct page size, info-block version) and the namespace's size and words. */
function infoKey(pk: PreparedKernel, pmemBytes: number): string {
  return hash([FORMAT, pk.kernel.key, pmemBytes, NAMESPACE_ARGV]);
}

/** The info block taken from an earlier boot, if one is cached and still checks out. */
async function cachedInfo(key: string): Promise<{ block: Buffer; info: PfnInfo } | undefined> {
  const block = await readFile(join(cacheRoot(), INFO_KIND, key, 'info.bin')).catch(() => undefined);
  if (!block) return undefined;
  const info = parsePfnInfo(block);
  return 'error' in info ? undefined : { block, info };
}

/** Layouts the template path knows how to fill: what `ndctl create-namespace -m fsdax -a 2M` makes today. */
function usable(info: PfnInfo): boolean {
  return info.map === 'dev' && info.startPad === 0 && info.align === 2 * 1024 * 1024 && info.pageSize === 4096;
}

/**
 * After a boot whose create-namespace step succeeded: keep the kernel's info block for the next
 * boots of this kernel and NVDIMM size. Nothing is kept if one is already there or the block is
 * not the expected layout (a reproducer may have reconfigured the namespace).
 */
export async function harvestInfoBlock(pk: PreparedKernel, pmemBytes: number, backing: string): Promise<PfnInfo | undefined> {
  const key = infoKey(pk, pmemBytes);
  if (await cachedInfo(key)) return undefined;
  const fh = await open(backing, 'r');
  const block = Buffer.alloc(PFN_INFO_BYTES);
  try {
    await fh.read(block, 0, PFN_INFO_BYTES, PFN_INFO_OFFSET);
  } finally {
    await fh.close();
  }
  const info = parsePfnInfo(block);
  if ('error' in info || !usable(info)) return undefined;
  await cachedEntry({
    kind: INFO_KIND,
    key,
    build: async (tmp) => {
      await writeFile(join(tmp, 'info.bin'), block);
      return { kernel: pk.kernel.release, pmemBytes, info };
    },
  });
  return info;
}

/** Drops a template a boot showed not to work (the guest fell back to making the namespace itself) and its info block. */
export async function forgetTemplate(pk: PreparedKernel, pmemBytes: number, t: PmemTemplate): Promise<void> {
  await rm(join(cacheRoot(), INFO_KIND, infoKey(pk, pmemBytes)), { recursive: true, force: true });
  await rm(join(cacheRoot(), TEMPLATE_KIND, t.key), { recursive: true, force: true });
}

/** mkfs words on the host for a file standing in for /dev/pmem0: the guest's, plus what the device would tell mkfs. */
function hostMkfs(fs: Filesystem, file: string): { argv: string[]; env: Record<string, string> } {
  const argv = mkfsArgv(fs, file);
  // pmem has 4 KiB physical sectors and no discard: mkfs.xfs would take 512-byte sectors from a
  // file, and both mkfs would punch the file (ext4 then marks inode tables zeroed, which the
  // guest's mkfs does not). The guest image has no /etc/mke2fs.conf: built-in defaults.
  if (fs === 'xfs') return { argv: [...argv.slice(0, -1), '-s', 'size=4096', '-K', file], env: {} };
  return { argv: [...argv.slice(0, -1), '-E', 'nodiscard', file], env: { MKE2FS_CONFIG: '/nonexistent/mke2fs.conf' } };
}

/**
 * The template for a boot of `pk` with a `pmemBytes` NVDIMM whose first group is `fs`, or
 * undefined while no earlier boot has given the info block.
 */
export async function pmemTemplate(pk: PreparedKernel, pmemBytes: number, fs: Filesystem): Promise<PmemTemplate | undefined> {
  const ik = infoKey(pk, pmemBytes);
  const got = await cachedInfo(ik);
  if (!got || !usable(got.info)) return undefined;
  const { block, info } = got;
  const capacity = fsdaxCapacity(info, pmemBytes);
  const mkfs = hostMkfs(fs, 'fs.img');
  const key = hash([FORMAT, ik, block, pk.image.key, fs, mkfs.argv]);
  const made = `namespace: ${pk.kernel.release}'s fsdax info block (map=${info.map}, align=${info.align / 1048576}M, data at ${info.dataoff}); ${fs}: \`${mkfs.argv.slice(0, -1).join(' ')}\` on the host, ${capacity} bytes`;
  const entry = await cachedEntry({
    kind: TEMPLATE_KIND,
    key,
    build: async (tmp) => {
      const fsImg = join(tmp, 'fs.img');
      const image = join(tmp, 'nv.img');
      for (const [f, size] of [[fsImg, capacity], [image, pmemBytes]] as const) {
        const fh = await open(f, 'w');
        await fh.truncate(size);
        await fh.close();
      }
      const m = hostMkfs(fs, fsImg);
      await execa(m.argv[0] as string, m.argv.slice(1), { env: m.env });
      const fh = await open(image, 'r+');
      await fh.write(block, 0, PFN_INFO_BYTES, PFN_INFO_OFFSET);
      await fh.close();
      // Only the blocks mkfs wrote: the rest of the file stays a hole.
      await execa('dd', [`if=${fsImg}`, `of=${image}`, 'bs=1M', `seek=${info.dataoff}`, 'oflag=seek_bytes', 'conv=sparse,notrunc', 'status=none']);
      await rm(fsImg);
      return { made, capacity, info };
    },
  });
  return { image: join(entry.dir, 'nv.img'), key, fs, made, built: !entry.hit };
}
