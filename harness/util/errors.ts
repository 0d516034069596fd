// User-facing errors: one line (gcc-style detail lines may follow), exit code 2. Anything else is
// a bug and keeps its stack.
import { displayPath } from './paths.ts';

export interface SourceLocation {
  file: string;
  line?: number;
  /** Only with line: `file:line:col:`, as gcc prints it. */
  column?: number;
  field?: string;
}

export class UserError extends Error {
  readonly location: SourceLocation | undefined;
  /**
   * Lines printed after the one line, for errors the one line cannot explain on its own (gcc's
   * source excerpt and caret). Tools that want one line per error still get it first.
   */
  readonly detail: readonly string[];
  constructor(message: string, location?: SourceLocation, detail: readonly string[] = []) {
    super(message);
    this.name = 'UserError';
    this.location = location;
    this.detail = detail;
  }

  /** `file:line: field: message`, the shape compilers use so editors can jump to it. */
  oneLine(): string {
    const loc = this.location;
    if (!loc) return oneLineSafe(`daxlab: ${this.message}`);
    const where = loc.line === undefined ? loc.file : loc.column === undefined ? `${loc.file}:${loc.line}` : `${loc.file}:${loc.line}:${loc.column}`;
    const field = loc.field ? ` ${loc.field}:` : '';
    return oneLineSafe(`${where}:${field} ${this.message}`);
  }

  /** The one line, then the detail lines, each made safe for a terminal on its own. */
  lines(): string[] {
    // A tab would become '?'; gcc's caret lines are aligned with spaces already.
    return [this.oneLine(), ...this.detail.map((l) => oneLineSafe(l.replace(/\t/g, '    ')))];
  }
}

export const USER_ERROR_EXIT = 2;

/** How a failed build's message points at its kept output (a kernel build's, a reproducer's). */
export function fullLogNote(logPath: string): string {
  return `(full log: ${displayPath(logPath)})`;
}

/**
 * Messages quote user files (YAML parser excerpts, gcc diagnostics, garbage bytes): a newline
 * would break the one-line contract and an escape sequence would reach the user's terminal.
 */
export function oneLineSafe(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, '?');
}
