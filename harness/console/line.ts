// One console line as the kernel printed it, split into the printk prefix (timestamp, caller id)
// and the message. Console text is untrusted: control characters are dropped and lines capped,
// so nothing downstream ever sees escape sequences or unbounded strings.

export interface ConsoleLine {
  /** The message without the printk prefix, trailing whitespace and control characters. */
  text: string;
  /** The line as kept in a report's text: prefix included, control characters dropped. */
  raw: string;
  /** Seconds since boot from `[   12.345678]`, when printk.time is on. */
  ts?: number;
  /** printk caller id (`T123` task, `C1` CPU) when CONFIG_PRINTK_CALLER is on. */
  caller?: string;
}

export const MAX_LINE_CHARS = 1024;

// ESC sequences (colour, cursor) and the other C0 controls except tab; DEL too.
const CONTROL = /\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]/g;
const HAS_CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;
const PREFIX = /^(?:<\d{1,2}>)?(?:\[\s*(\d+\.\d+)\])?(?:\[\s*([TC]\d+)\])?\s?/;

export function splitLine(input: string): ConsoleLine {
  let raw = input.length > MAX_LINE_CHARS ? input.slice(0, MAX_LINE_CHARS) : input;
  // Fast path: almost every line is plain printable text.
  if (HAS_CONTROL.test(raw)) raw = raw.replace(CONTROL, '');
  raw = raw.trimEnd();
  if (raw.charCodeAt(0) !== 0x5b /* [ */ && raw.charCodeAt(0) !== 0x3c /* < */) return { text: raw, raw };
  const m = PREFIX.exec(raw);
  if (!m || m[0].length === 0) return { text: raw, raw };
  const out: ConsoleLine = { text: raw.slice(m[0].length), raw };
  if (m[1] !== undefined) out.ts = Number(m[1]);
  if (m[2] !== undefined) out.caller = m[2];
  return out;
}
