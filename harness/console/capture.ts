// Console capture to a file with a size cap. The kernel's output is untrusted: it is stored as
// bytes, never interpreted, and past the cap only a visible marker records what was dropped.
import { createWriteStream, type WriteStream } from 'node:fs';

export const DEFAULT_CONSOLE_CAP = 64 * 1024 * 1024;

export class CappedLog {
  private readonly stream: WriteStream;
  private written = 0;
  private dropped = 0;
  /** First write error (e.g. ENOSPC): the guest keeps running, the run reports it at the end. */
  error: string | undefined;
  constructor(path: string, private readonly cap = DEFAULT_CONSOLE_CAP) {
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (e) => {
      this.error ??= `${path}: ${e.message}`;
    });
  }
  write(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const room = this.cap - this.written;
    if (room > 0) {
      const part = b.length <= room ? b : b.subarray(0, room);
      this.stream.write(part);
      this.written += part.length;
      this.dropped += b.length - part.length;
    } else this.dropped += b.length;
  }
  get bytesDropped(): number {
    return this.dropped;
  }
  async close(): Promise<void> {
    if (this.dropped > 0) this.stream.write(`\n[daxlab: console truncated at ${this.cap} bytes; ${this.dropped} bytes dropped]\n`);
    if (this.stream.destroyed) return;
    await new Promise<void>((r) => {
      this.stream.once('error', () => r());
      this.stream.end(r);
    });
  }
}
