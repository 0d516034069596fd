// One console line as the kernel printed it, split into the printk prefix (timestamp, caller id)
// and the message. Console text is untrusted: lines are capped here, and whatever is kept (report
// text, titles, task names) goes through scrub() so no escape sequence reaches a terminal or file.
// Scrubbing only what is kept, not every line, is what makes the parser fast.

export interface ConsoleLine {
  /** The message without the printk prefix and trailing whitespace. */
  text: string;
  /** The line with its prefix (what a report's text keeps, after scrub()). */
  raw: string;
  /** The line had a `[   12.345678]` timestamp (printk.time on). */
  timed: boolean;
  /** That timestamp, in seconds since the kernel's clock started. */
  timeS?: number;
  /** printk caller id (`T123` task, `C1` CPU) when CONFIG_PRINTK_CALLER is on. */
  caller?: string;
}

export const MAX_LINE_CHARS = 1024;

// ESC sequences (colour, cursor) and the other C0 controls except tab; DEL too.
const CONTROL = /\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]/g;
const HAS_CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

/** Drop escape sequences and control characters (tab stays). */
export function scrub(s: string): string {
  return HAS_CONTROL.test(s) ? s.replace(CONTROL, '') : s;
}

export function splitLine(input: string): ConsoleLine {
  // A slice would pin the whole input line in memory for as long as a report keeps it (V8
  // sliced strings share their parent): copy the kept prefix of an over-long line instead.
  let raw = input.length > MAX_LINE_CHARS ? Buffer.from(input.slice(0, MAX_LINE_CHARS), 'utf16le').toString('utf16le') : input;
  // Serial consoles end lines with \r\n.
  const last = raw.charCodeAt(raw.length - 1);
  if (last === 0x0d || last === 0x20 || last === 0x09 || last === 0x0a) raw = raw.trimEnd();
  let i = 0;
  // Optional syslog level "<N>" (kmsg dumps), then "[  12.345678]" and/or "[    T123]".
  if (raw.charCodeAt(0) === 0x3c /* < */) {
    const close = raw.indexOf('>');
    if (close > 1 && close <= 3 && isDigits(raw, 1, close)) i = close + 1;
  }
  let timed = false;
  let timeS = 0;
  let caller: string | undefined;
  for (let round = 0; round < 2 && raw.charCodeAt(i) === 0x5b /* [ */; round++) {
    const close = raw.indexOf(']', i);
    if (close < 0 || close - i > 20) break;
    let j = i + 1;
    while (raw.charCodeAt(j) === 0x20) j++;
    const c = raw.charCodeAt(j);
    if (c === 0x54 /* T */ || c === 0x43 /* C */) {
      if (caller !== undefined || !isDigits(raw, j + 1, close)) break;
      caller = raw.slice(j, close);
    } else {
      if (timed || !isTimestamp(raw, j, close)) break;
      timed = true;
      timeS = Number(raw.slice(j, close));
    }
    i = close + 1;
  }
  if (i === 0) return { text: raw, raw, timed };
  if (raw.charCodeAt(i) === 0x20) i++;
  const out: ConsoleLine = { text: raw.slice(i), raw, timed };
  if (timed) out.timeS = timeS;
  if (caller !== undefined) out.caller = caller;
  return out;
}

function isDigits(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let k = from; k < to; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function isTimestamp(s: string, from: number, to: number): boolean {
  const dot = s.indexOf('.', from);
  return dot > from && dot < to - 1 && isDigits(s, from, dot) && isDigits(s, dot + 1, to);
}
