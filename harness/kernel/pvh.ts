// PVH direct boot: QEMU loads an uncompressed vmlinux that has a PVH entry note (CONFIG_PVH) and
// jumps to it, skipping the bzImage's decompressor (1.2-2.5 s of a Debian boot under TCG). The
// vmlinux is the bzImage's own payload, decompressed once per kernel. The decompressor is also
// what randomizes the kernel's placement, so a PVH boot runs without KASLR.
// Pure parts here (bzImage header, compression magic, ELF notes); entry.ts runs the tools.

/**
 * Where the compressed kernel sits in a bzImage (boot protocol 2.08+), or why it cannot be found;
 * `b` holds at least the setup header, `fileBytes` is the whole file's size.
 */
export function bzImagePayload(b: Buffer, fileBytes = b.length): { offset: number; length: number } | { error: string } {
  if (b.length < 0x250 || b.toString('latin1', 0x202, 0x206) !== 'HdrS') return { error: 'not a bzImage (no HdrS header)' };
  const version = b.readUInt16LE(0x206);
  if (version < 0x208) return { error: `boot protocol ${version.toString(16)} has no payload fields` };
  const setupSects = b[0x1f1] || 4;
  const offset = (setupSects + 1) * 512 + b.readUInt32LE(0x248);
  const length = b.readUInt32LE(0x24c);
  if (length < 8 || offset + length > fileBytes) return { error: 'payload outside the file' };
  return { offset, length };
}

export type Compression = 'gzip' | 'xz' | 'zstd' | 'lz4' | 'lzma' | 'bzip2' | 'lzo';

const MAGIC: [Compression, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]], // the legacy frame the kernel's lz4 build uses
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
  ['lzma', [0x5d, 0x00, 0x00]],
];

export function compressionOf(b: Buffer): Compression | undefined {
  return MAGIC.find(([, m]) => m.every((x, i) => b[i] === x))?.[0];
}

/** Host command that decompresses `c` from stdin to stdout. */
export function decompressor(c: Compression): string[] {
  return { gzip: ['gzip', '-dc'], xz: ['xz', '-dc', '--single-stream'], zstd: ['zstd', '-dcq'], lz4: ['lz4', '-dc'], lzma: ['lzma', '-dc'], bzip2: ['bzip2', '-dc'], lzo: ['lzop', '-dc'] }[c];
}

/**
 * The compressed stream to feed the decompressor and the size the kernel build appended after it
 * (all but gzip, whose trailer holds the size itself).
 */
export function splitPayload(payload: Buffer, c: Compression): { stream: Buffer; size: number } {
  if (c === 'gzip') return { stream: payload, size: payload.readUInt32LE(payload.length - 4) };
  return { stream: payload.subarray(0, payload.length - 4), size: payload.readUInt32LE(payload.length - 4) };
}

const PT_NOTE = 4;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/** True when `elf` is a 64-bit little-endian ELF with a Xen PHYS32_ENTRY note: QEMU can boot it through PVH. */
export function hasPvhEntry(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return false;
  const phoff = Number(elf.readBigUInt64LE(32));
  const phentsize = elf.readUInt16LE(54);
  const phnum = elf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length || elf.readUInt32LE(ph) !== PT_NOTE) continue;
    const off = Number(elf.readBigUInt64LE(ph + 8));
    const end = Math.min(elf.length, off + Number(elf.readBigUInt64LE(ph + 32)));
    for (let p = off; p + 12 <= end; ) {
      const namesz = elf.readUInt32LE(p);
      const descsz = elf.readUInt32LE(p + 4);
      const type = elf.readUInt32LE(p + 8);
      const name = elf.toString('latin1', p + 12, p + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
      p += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}
