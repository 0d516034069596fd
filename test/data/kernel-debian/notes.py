# Makes vmlinux-6.12-notes.bin from a real vmlinux (the bzImage payload daxlab unpacks for a PVH
# boot, ~/.cache/daxlab/pvh/*/vmlinux): its ELF header and program headers, and the bytes of its
# PT_NOTE segment moved to offset 0x400 (that header's p_offset rewritten), nothing else.
# usage: python3 notes.py VMLINUX > vmlinux-6.12-notes.bin
import struct, sys
b = open(sys.argv[1], 'rb').read()
phoff, = struct.unpack_from('<Q', b, 32)
phentsize, phnum = struct.unpack_from('<HH', b, 54)
out = bytearray(b[:phoff + phentsize * phnum])
out += bytes(0x400 - len(out))
for i in range(phnum):
    ph = phoff + i * phentsize
    if struct.unpack_from('<I', b, ph)[0] == 4:
        off, = struct.unpack_from('<Q', b, ph + 8)
        size, = struct.unpack_from('<Q', b, ph + 32)
        struct.pack_into('<Q', out, ph + 8, len(out))
        out += b[off:off + size]
sys.stdout.buffer.write(bytes(out))
