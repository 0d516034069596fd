// The x86 boot protocol header carries a pointer to the kernel's version banner, so the
// release of any bzImage can be read without booting it.
import { open } from 'node:fs/promises';

export interface BzImageInfo {
  release: string;
  banner: string;
}

/** Parse the first 64 KiB of a bzImage; undefined if it is not one. */
export function parseBzImageHeader(head: Buffer): BzImageInfo | undefined {
  if (head.length < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const off = head.readUInt16LE(0x20e) + 0x200;
  if (off >= head.length) return undefined;
  const end = head.indexOf(0, off);
  const banner = head.toString('latin1', off, end < 0 ? Math.min(head.length, off + 256) : end).trim();
  const release = banner.split(' ')[0] ?? '';
  if (!release) return undefined;
  return { release, banner };
}

export async function readBzImageInfo(path: string): Promise<BzImageInfo | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(0x10000);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parseBzImageHeader(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
