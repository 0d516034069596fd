// Stack frames as the kernel prints them in call traces, RIP lines and lockdep "at:" locations.
// Accepted shapes (after the printk prefix):
//   " func+0x1c/0x80"                  plain kallsyms
//   " ? func+0x1c/0x80"                unreliable guess (the unwinder found a stale address)
//   " func+0x1c/0x80 [ext4]"           in a module
//   " func+0x1c/0x80 fs/dax.c:712"     symbolized, optionally followed by "[inline]"
//   " func fs/dax.c:712 [inline]"      symbolized inlined frame (no offset)
//   " func+0x1c/0x80 (fs/dax.c:712)"   decode_stacktrace.sh style
//   "[<ffffffff81234567>] func+0x1c/0x80"  older kernels and lockdep irq-trace lines
//   "RIP: 0010:func+0x1c/0x80"         faulting/warning instruction

export interface Frame {
  fn: string;
  offset?: string;
  file?: string;
  line?: number;
  inlined?: boolean;
}

export interface ParsedFrame extends Frame {
  /** Printed with "? ": the unwinder is not sure this frame is real. */
  unreliable: boolean;
  /** Size of the function ("+0x1c/0x80" -> "0x80"). */
  size?: string;
  /** The module the function is in (" [ext4]"); absent for vmlinux. */
  module?: string;
}

const FRAME =
  /^\s*(\? )?([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-fA-F]+)\/(0x[0-9a-fA-F]+))?(?: \[([\w-]+)\])?(?: \(?([\w./+-]+\.[chSs]):(\d+)(?::\d+)?\)?)?( \[inline\])?\s*$/;
const ADDR_PREFIX = /^\[<[0-9a-fA-F]+>\] /;

/** A call-trace frame line, or undefined. `text` is the message without the printk prefix. */
export function parseFrame(text: string): ParsedFrame | undefined {
  let s = text;
  if (s.length === 0 || s.length > 300) return undefined;
  if (s.charCodeAt(0) === 0x5b /* [ */) s = s.replace(ADDR_PREFIX, '');
  const m = FRAME.exec(s);
  if (!m) return undefined;
  const fn = m[2] as string;
  // Without an offset or a file the line is just a word ("Call", "Modules"): not a frame.
  if (m[3] === undefined && m[6] === undefined) return undefined;
  const f: ParsedFrame = { fn, unreliable: m[1] !== undefined };
  if (m[3] !== undefined) f.offset = m[3];
  if (m[4] !== undefined) f.size = m[4];
  if (m[5] !== undefined) f.module = m[5];
  if (m[6] !== undefined) f.file = m[6];
  if (m[7] !== undefined) f.line = Number(m[7]);
  if (m[8] !== undefined) f.inlined = true;
  return f;
}

const RIP = /^RIP: [0-9a-fA-F]{4}:(.*)$/;

/** The kernel function in a `RIP: 0010:func+0x..` line; undefined for user-space RIPs. */
export function parseRip(text: string): ParsedFrame | undefined {
  const m = RIP.exec(text.trim());
  if (!m) return undefined;
  return parseFrame(m[1] as string);
}

const AT = /(?:^|[ ,])at: ([A-Za-z_.$][\w.$]*\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+.*)$/;

/** The location in a lockdep "..., at: func+0x../0x.." line. */
export function parseAt(text: string): ParsedFrame | undefined {
  const m = AT.exec(text);
  return m ? parseFrame(m[1] as string) : undefined;
}

/** Stack section markers printed around interrupt and task parts of a trace. */
export function stackMarker(text: string): 'IRQ' | 'NMI' | 'SOFTIRQ' | 'TASK' | 'END-IRQ' | 'END-NMI' | 'END-SOFTIRQ' | 'END-TASK' | 'EOE' | undefined {
  const s = text.trim();
  if (s.length < 5 || s.length > 12 || s.charCodeAt(0) !== 0x3c /* < */) return undefined;
  switch (s) {
    case '<IRQ>':
      return 'IRQ';
    case '<NMI>':
      return 'NMI';
    case '<SOFTIRQ>':
      return 'SOFTIRQ';
    case '<TASK>':
      return 'TASK';
    case '</IRQ>':
      return 'END-IRQ';
    case '</NMI>':
      return 'END-NMI';
    case '</SOFTIRQ>':
      return 'END-SOFTIRQ';
    case '</TASK>':
      return 'END-TASK';
    case '<EOE>':
      return 'EOE';
    default:
      return undefined;
  }
}

/** A function name without compiler clone suffixes (.constprop.0, .isra.0, .cold, .part.0). */
export function baseName(fn: string): string {
  const dot = fn.indexOf('.');
  return dot > 0 ? fn.slice(0, dot) : fn;
}
