// PVH direct boot's pure parts (harness/kernel/pvh.ts) on real Debian 6.12 bytes: the bzImage's
// setup header (test/data/kernel-debian/bzImage-6.12-head.bin) and the ELF and note headers of
// the vmlinux unpacked from it (vmlinux-6.12-notes.bin, made by notes.py beside it).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { bzImagePayload, compressionOf, decompressor, hasPvhEntry, splitPayload } from '../harness/kernel/pvh.ts';

const D = 'test/data/kernel-debian';
const head = readFileSync(`${D}/bzImage-6.12-head.bin`);
const notes = readFileSync(`${D}/vmlinux-6.12-notes.bin`);

test('the payload of a real bzImage is found from its setup header', (t) => {
  // setup_sects 39: protected-mode code at 40 * 512; payload_offset 716, payload_length 11838000.
  t.deepEqual(bzImagePayload(head, 12_085_248), { offset: 40 * 512 + 716, length: 11_838_000 });
  t.deepEqual(bzImagePayload(head), { error: 'payload outside the file' }, 'a cut file is refused');
  t.deepEqual(bzImagePayload(Buffer.alloc(4096)), { error: 'not a bzImage (no HdrS header)' });
  const old = Buffer.from(head);
  old.writeUInt16LE(0x206, 0x206);
  t.deepEqual(bzImagePayload(old, 12_085_248), { error: 'boot protocol 206 has no payload fields' });
});

test('compression by magic, and the size the kernel build appends after the stream', (t) => {
  t.is(compressionOf(Buffer.from('28b52ffd0488a404', 'hex')), 'zstd'); // Debian 6.12's payload
  t.is(compressionOf(Buffer.from('02214c18', 'hex')), 'lz4');
  t.is(compressionOf(Buffer.from('fd377a585a000004', 'hex')), 'xz');
  t.is(compressionOf(Buffer.from('1f8b0800', 'hex')), 'gzip');
  t.is(compressionOf(Buffer.from('00000000', 'hex')), undefined);
  t.deepEqual(decompressor('xz'), ['xz', '-dc', '--single-stream']);
  const p = Buffer.concat([Buffer.from('28b52ffd0011', 'hex'), Buffer.from([0xf8, 0xa2, 0x6f, 0x03])]);
  const s = splitPayload(p, 'zstd');
  t.is(s.stream.length, 6);
  t.is(s.size, 57_647_864);
  t.is(splitPayload(p, 'gzip').stream.length, 10, "gzip's own trailer holds the size: nothing cut");
});

test("a real vmlinux's Xen PHYS32_ENTRY note makes it PVH-bootable; without it, or not an ELF, it is not", (t) => {
  t.true(hasPvhEntry(notes));
  // Turn every PHYS32_ENTRY note (type 18) into another type: no PVH entry left.
  const none = Buffer.from(notes);
  for (let p = 0x400; p + 12 <= none.length; ) {
    const namesz = none.readUInt32LE(p);
    const descsz = none.readUInt32LE(p + 4);
    if (none.readUInt32LE(p + 8) === 18) none.writeUInt32LE(99, p + 8);
    p += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
  }
  t.false(hasPvhEntry(none));
  t.false(hasPvhEntry(head), 'a bzImage is not an ELF');
  t.false(hasPvhEntry(notes.subarray(0, 32)));
});
