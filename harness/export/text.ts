// Text that leaves daxlab in CI formats. Most of it came from the guest (verdict reasons, metric
// names, reproducer output, kernel reports) and is untrusted: escape sequences and control
// characters go, characters that XML 1.0 cannot carry at all go (a CI parser rejects the whole
// file for one of them; JSON consumers choke on lone surrogates and KCIDB forbids NUL), and every
// piece is size-capped. Pure.
import { scrub } from '../console/line.ts';

// C1 controls, and everything outside XML 1.0's Char production once scrub() has removed the C0
// controls: lone surrogates and U+FFFE/U+FFFF.
const NOT_CHAR = /[\x80-\x9f]|[^\t\n\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text kept as text (tabs and newlines stay), at most `max` characters with a note of what was cut. */
export function cleanText(s: string, max: number): string {
  const t = scrub(s).replace(NOT_CHAR, '');
  if (t.length <= max) return t;
  const note = `\n[... ${t.length - max} more characters cut]`;
  return dropHalfPair(t.slice(0, Math.max(0, max - note.length))) + note;
}

/** One line (an attribute, a name, a reason): newlines and tabs become spaces; `…` marks a cut. */
export function oneLine(s: string, max = 1024): string {
  const t = scrub(s.replace(/[\r\n\t]+/g, ' ')).replace(NOT_CHAR, '');
  return t.length <= max ? t : dropHalfPair(t.slice(0, max - 1)) + '…';
}

/** The last lines of a step's output within `max` characters (the end is where a failure shows). */
export function tailLines(lines: readonly string[], max: number): string {
  const text = lines.join('\n');
  if (text.length <= max) return cleanText(text, max);
  const cut = text.slice(text.length - max);
  const nl = cut.indexOf('\n');
  return cleanText(`[... earlier output cut]\n${nl >= 0 ? cut.slice(nl + 1) : cut}`, max + 32);
}

// A cut between the two halves of a surrogate pair would leave a lone high surrogate.
function dropHalfPair(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? s.slice(0, -1) : s;
}
