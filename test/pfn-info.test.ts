// The fsdax info block reader, on a block the Debian 6.12 kernel wrote in a daxlab guest
// (test/data/pfn-info/README.md), with its expected reading beside it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fletcher64, fsdaxCapacity, parsePfnInfo } from '../harness/qemu/pfn-info.ts';

const D = 'test/data/pfn-info';
const block = readFileSync(`${D}/debian-6.12-1g.bin`);
const expected = JSON.parse(readFileSync(`${D}/debian-6.12-1g.json`, 'utf8')) as { info: object; namespaceBytes: number; capacity: number };

test('a real info block reads as the kernel wrote it, and gives pmem0 its size', (t) => {
  const info = parsePfnInfo(block);
  t.deepEqual(info, expected.info);
  if ('error' in info) return;
  t.is(fsdaxCapacity(info, expected.namespaceBytes), expected.capacity, 'the size the guest saw for /dev/pmem0');
});

test('a damaged or foreign block is refused, never half-read', (t) => {
  const flipped = Buffer.from(block);
  flipped[100] = (flipped[100] ?? 0) ^ 1; // inside the zero padding: only the checksum can tell
  t.deepEqual(parsePfnInfo(flipped), { error: 'checksum mismatch' });
  const dax = Buffer.from(block);
  dax.write('NVDIMM_DAX_INFO\0', 0, 'latin1'); // a devdax namespace's block
  t.deepEqual(parsePfnInfo(dax), { error: 'no NVDIMM_PFN_INFO signature' });
  t.deepEqual(parsePfnInfo(Buffer.alloc(4096)), { error: 'no NVDIMM_PFN_INFO signature' });
  t.deepEqual(parsePfnInfo(block.subarray(0, 512)), { error: '512 bytes, not 4096' });
});

test('fletcher64 sums 32-bit little-endian words with the high half wrapping at 32 bits', (t) => {
  t.is(fletcher64(Buffer.from([1, 0, 0, 0, 2, 0, 0, 0])), (4n << 32n) | 3n); // lo 1, 3; hi 1 + 3
  const big = Buffer.alloc(16, 0xff); // four words of 0xffffffff
  // lo: ffffffff, fffffffe, fffffffd, fffffffc; hi: their sum mod 2^32 = fffffff6
  t.is(fletcher64(big), (0xfffffff6n << 32n) | 0xfffffffcn);
});
