// Writer for the "newc" cpio format the kernel unpacks as an initramfs. Written here rather than
// shelling out to cpio(1) so ownership and modes are exact and the output is reproducible.

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function header(ino: number, mode: number, size: number, nameLen: number, rdevMajor = 0, rdevMinor = 0): string {
  // magic ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  return (
    '070701' + hex8(ino) + hex8(mode) + hex8(0) + hex8(0) + hex8(1) + hex8(0) + hex8(size) +
    hex8(0) + hex8(0) + hex8(rdevMajor) + hex8(rdevMinor) + hex8(nameLen) + hex8(0)
  );
}

/** Serialise entries (parents must come before children) followed by the trailer. */
export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Buffer, maj = 0, min = 0): void => {
    const nameBuf = Buffer.from(name + '\0');
    const hdr = Buffer.from(header(ino++, mode, data.length, nameBuf.length, maj, min), 'latin1');
    parts.push(hdr, nameBuf, pad4(hdr.length + nameBuf.length), data, pad4(data.length));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    switch (e.type) {
      case 'dir':
        push(name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0));
        break;
      case 'file':
        push(name, S_IFREG | (e.mode ?? 0o644), e.data);
        break;
      case 'symlink':
        push(name, S_IFLNK | 0o777, Buffer.from(e.target));
        break;
      case 'chardev':
        push(name, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), e.major, e.minor);
        break;
    }
  }
  push('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** Parse a newc archive back into names and sizes (for tests and `daxlab image ls`). */
export function listCpio(buf: Buffer): { path: string; mode: number; size: number }[] {
  const out: { path: string; mode: number; size: number }[] = [];
  let off = 0;
  while (off + 110 <= buf.length) {
    const magic = buf.toString('latin1', off, off + 6);
    if (magic !== '070701') {
      // concatenated archives may be separated by zero padding
      if (buf[off] === 0) {
        off += 4;
        continue;
      }
      throw new Error(`bad cpio magic at ${off}`);
    }
    const field = (i: number): number => parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameLen = field(11);
    const name = buf.toString('latin1', off + 110, off + 110 + nameLen - 1);
    off += 110 + nameLen;
    off += (4 - (off % 4)) % 4;
    off += size;
    off += (4 - (off % 4)) % 4;
    if (name !== 'TRAILER!!!') out.push({ path: name, mode, size });
  }
  return out;
}
