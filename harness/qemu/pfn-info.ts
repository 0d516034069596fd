// The fsdax info block (struct nd_pfn_sb) that `ndctl create-namespace -m fsdax` has the kernel
// write 4 KiB into a namespace: where the data starts, how the memmap is placed. A label-less
// NVDIMM whose namespace starts with a valid one comes up in fsdax mode at boot (nd_pmem's
// autodetect), which is what a pmem template relies on. Layout: drivers/nvdimm/pfn.h.

/** Byte offset of the info block from the start of the namespace. */
export const PFN_INFO_OFFSET = 4096;
export const PFN_INFO_BYTES = 4096;
const SIGNATURE = 'NVDIMM_PFN_INFO\0';
const MODES: Record<number, PfnInfo['map']> = { 1: 'mem', 2: 'dev' };

export interface PfnInfo {
  versionMajor: number;
  versionMinor: number;
  /** Start of the data (the block device's byte 0) from the start of the namespace. */
  dataoff: number;
  npfns: number;
  /** Where the memmap lives: system RAM (`mem`) or the device itself (`dev`). */
  map: 'mem' | 'dev';
  startPad: number;
  endTrunc: number;
  align: number;
  pageSize: number;
  pageStructSize: number;
}

/** The kernel's Fletcher-64 over little-endian 32-bit words (nd_fletcher64). */
export function fletcher64(buf: Buffer): bigint {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i + 4 <= buf.length; i += 4) {
    lo = (lo + buf.readUInt32LE(i)) >>> 0;
    hi = (hi + lo) >>> 0; // only the low 32 bits of the high sum survive the final shift
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** The info block in `block` (4 KiB), or why it is not a usable one. */
export function parsePfnInfo(block: Buffer): PfnInfo | { error: string } {
  if (block.length < PFN_INFO_BYTES) return { error: `${block.length} bytes, not ${PFN_INFO_BYTES}` };
  const b = block.subarray(0, PFN_INFO_BYTES);
  if (b.toString('latin1', 0, 16) !== SIGNATURE) return { error: 'no NVDIMM_PFN_INFO signature' };
  const copy = Buffer.from(b);
  const sum = copy.readBigUInt64LE(4088);
  copy.writeBigUInt64LE(0n, 4088);
  if (fletcher64(copy) !== sum) return { error: 'checksum mismatch' };
  const map = MODES[b.readUInt32LE(72)];
  if (!map) return { error: `unknown memmap mode ${b.readUInt32LE(72)}` };
  return {
    versionMajor: b.readUInt16LE(52),
    versionMinor: b.readUInt16LE(54),
    dataoff: Number(b.readBigUInt64LE(56)),
    npfns: Number(b.readBigUInt64LE(64)),
    map,
    startPad: b.readUInt32LE(76),
    endTrunc: b.readUInt32LE(80),
    align: b.readUInt32LE(84),
    pageSize: b.readUInt32LE(88),
    pageStructSize: b.readUInt16LE(92),
  };
}

/** Bytes of the fsdax block device on a namespace of `namespaceBytes` with this info block. */
export function fsdaxCapacity(info: PfnInfo, namespaceBytes: number): number {
  return namespaceBytes - info.dataoff - info.startPad - info.endTrunc;
}
